"""The domain mapping file model (``mappings/<study>/sdtm/<domain>.yaml``).

>>> m = DomainMapping.model_validate({"domain": "AE", "sources": ["ae"], "steps": [
...     {"target": "DOMAIN", "algorithm": "hardcode", "value": "AE"}]})
>>> m.targets()
['DOMAIN']
"""

# pydantic copies mutable defaults per instance, so list/dict defaults are safe here.
# ruff: noqa: RUF012
from __future__ import annotations

from typing import Any, Literal

from pydantic import field_validator, model_validator

from converter.mapping.algorithms import BUILDERS, AnyStep
from converter.mapping.algorithms.transpose import Transpose
from converter.mapping.base import Strict
from converter.mapping.joins import Join
from converter.mapping.steps import Condition, StepBase

Builder = Literal[BUILDERS]  # type: ignore[valid-type]


class DomainMapping(Strict):
    """One SDTM domain: its raw source(s), an optional row filter and its ordered steps.

    - ``sources``: names declared in study.yaml ``sources``; the first one gives the records,
      the others are available to ``lookup`` steps.
    - ``stack``: other sources whose records are mapped too, after the first one's.
    - ``join``: left joins adding columns of other sources to the records, before the steps.
    - ``filter``: conditions on raw columns; records failing them are not mapped and are
      reported in the reconciliation with the filter as reason.
    - ``transpose``: wide → long reshape of the first source before the steps.
    - ``steps``: each writes one ``target`` variable with one algorithm; a variable is written
      by exactly one step (a second step for the same target is a configuration error).
    - ``unique``: variables that identify a record; duplicates are MAP.DUPKEY issues.
    - ``build``: instead of sources/steps, build the domain from the trial design or from the
      other domains (ts, ta, te, tv, ti, se, sv).
    """

    domain: str
    label: str | None = None
    sources: list[str] = []
    stack: list[str] = []           # other sources whose records are appended (stacking.py)
    join: list[Join] = []           # left joins on raw columns before the steps (joins.py)
    filter: list[Condition] = []
    transpose: Transpose | None = None
    unique: list[str] = []
    build: Builder | None = None
    steps: list[AnyStep] = []

    @field_validator("filter", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return [v] if isinstance(v, dict) else v

    @field_validator("domain")
    @classmethod
    def _domain(cls, v: str) -> str:
        if not (v.isalnum() and v.isupper() and 2 <= len(v) <= 8):
            raise ValueError(f"domain '{v}' must be 2-8 upper-case letters/digits, e.g. AE")
        return v

    @model_validator(mode="after")
    def _shape(self) -> DomainMapping:
        if self.build is not None:
            if (self.sources or self.steps or self.transpose or self.filter or self.stack
                    or self.join):
                raise ValueError("a 'build' domain has no sources, stack, join, filter, "
                                 "transpose or steps")
            return self
        if not self.sources:
            raise ValueError("missing required key 'sources' (or 'build')")
        for c in self.filter:
            if c.variable is not None:
                raise ValueError("filter conditions test raw columns ('column'), not variables")
        return self

    def targets(self) -> list[str]:
        return [s.target for s in self.steps if s.target]

    def all_steps(self) -> list[StepBase]:
        return list(self.steps)
