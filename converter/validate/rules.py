"""Validation rules are data: YAML entries in ``converter/validate/rules/*.yaml``.

Each entry names the operator that executes it and its parameters (what the rule does) apart
from its severity and scope (how strictly and where it runs)::

    - id: SDTM.SEQ.UNIQUE
      title: --SEQ unique within subject
      severity: error
      scope: {standard: SDTM}
      operator: seq_unique
      message: "{variable} {value} is used more than once for subject {usubjid}"
      authority: "SDTMIG 3.3 section 4.1.9; FDA validator rule SD0005"
      p21: [SD0005]

>>> rules = load_rules()
>>> len({r.id for r in rules}) == len(rules)
True
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from converter.errors import ConfigError
from converter.validate.operators import OPERATORS, parameters
from converter.validate.yamlio import LINE_KEY, load_yaml, strip_lines

RULES_DIR = Path(__file__).resolve().parent / "rules"
STATES = ("passed", "issues_found", "skipped", "execution_error")


class Scope(BaseModel):
    """Where a rule runs. Dataset patterns are globs (``SUPP*``); ``requires`` lists variables
    (``--`` = the domain prefix) without which the rule is skipped for that dataset."""

    model_config = ConfigDict(extra="forbid")
    standard: Literal["SDTM", "ADaM", "any"] = "any"
    classes: list[str] = Field(default_factory=list)
    exclude_classes: list[str] = Field(default_factory=list)
    datasets: list[str] = Field(default_factory=list)
    exclude_datasets: list[str] = Field(default_factory=list)
    requires: list[str] = Field(default_factory=list)


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[A-Z][A-Z0-9_.-]*$")
    title: str
    severity: Literal["error", "warning", "notice"]
    level: Literal["dataset", "study"] = "dataset"
    scope: Scope = Field(default_factory=Scope)
    operator: str
    params: dict = Field(default_factory=dict)
    message: str
    authority: str
    p21: list[str] = Field(default_factory=list)
    source: str = ""   # file:line, filled by the loader

    @field_validator("operator")
    @classmethod
    def _known_operator(cls, name: str) -> str:
        if name not in OPERATORS:
            raise ValueError(f"unknown operator '{name}'; known: {', '.join(sorted(OPERATORS))}")
        return name


def _check_params(rule: Rule, file: str, line: int | None) -> None:
    accepted = parameters(rule.operator)
    unknown = sorted(set(rule.params) - set(accepted))
    if unknown:
        raise ConfigError(f"rule {rule.id}: operator {rule.operator} takes no parameter "
                          f"{', '.join(unknown)}", file=file, line=line, key="params",
                          hint=f"accepted: {', '.join(accepted) or 'none'}")
    missing = [n for n, p in accepted.items()
               if p.default is inspect.Parameter.empty and n not in rule.params]
    if missing:
        raise ConfigError(f"rule {rule.id}: operator {rule.operator} needs parameter "
                          f"{', '.join(missing)}", file=file, line=line, key="params")


def load_rule_file(path: str | Path) -> list[Rule]:
    """Rules of one YAML file (a top-level list, or a mapping with a ``rules`` list)."""
    data = load_yaml(path)
    file = str(path)
    if isinstance(data, dict):
        data = data.get("rules")
    if not isinstance(data, list):
        raise ConfigError("a rules file holds a list of rules (or 'rules:' with a list)",
                          file=file, line=1)
    rules = []
    for entry in data:
        line = entry.get(LINE_KEY) if isinstance(entry, dict) else None
        if not isinstance(entry, dict):
            raise ConfigError(f"a rule must be a mapping, not {type(entry).__name__}", file=file)
        try:
            rule = Rule(**strip_lines(entry), source=f"{Path(file).name}:{line}")
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err["loc"])
            raise ConfigError(f"rule {entry.get('id', '?')}: {err['msg']}", file=file,
                              line=line, key=key,
                              hint=f"got {err.get('input')!r}") from None
        _check_params(rule, file, line)
        rules.append(rule)
    return rules


def load_rules(paths: list[str | Path] | None = None) -> list[Rule]:
    """All rules of the shipped catalogue (or of ``paths``), in file order; ids unique."""
    files = [Path(p) for p in paths] if paths else sorted(RULES_DIR.glob("*.yaml"))
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for f in files:
        for rule in load_rule_file(f):
            if rule.id in seen:
                raise ConfigError(f"rule id {rule.id} defined twice (first at {seen[rule.id]})",
                                  file=str(f), key="id")
            seen[rule.id] = rule.source
            rules.append(rule)
    return rules
