"""Helper variables: steps with ``keep: false``.

A helper is written like any variable and may be read by later steps of its domain (``variable``
arguments, conditions), but it is dropped from the domain before the ``supp`` phase: it never
reaches the output, SUPP-- or the origins (define.xml).

>>> from converter.mapping.models import DomainMapping
>>> m = DomainMapping.model_validate({"domain": "DM", "sources": ["dm"], "steps": [
...     {"target": "_R", "algorithm": "assign", "source": "R", "keep": False}]})
>>> helper_targets(m)
['_R']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from converter.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from converter.mapping.models import DomainMapping
    from converter.mapping.steps import StepBase


def helper_targets(m: DomainMapping) -> list[str]:
    """Targets of the domain's ``keep: false`` steps."""
    return [s.target for s in m.steps if s.target and not s.keep]


def check_helper(step: StepBase, m: DomainMapping, file: str, line: int | None
                 ) -> list[ConfigError]:
    """``keep: false`` only on a top-level step writing a variable, never read by ``supp``."""
    from converter.mapping.study import _walk

    problems = []
    for nested in _walk([step])[1:]:
        if not nested.keep:
            problems.append(ConfigError(
                "'keep' applies to a whole step, not to a step inside 'conditional'",
                file=file, line=line, key="keep", hint="put keep: false on the outer step"))
    if step.algorithm == "supp":
        if not step.keep:
            problems.append(ConfigError("a supp step cannot be 'keep: false'", file=file,
                                        line=line, key="keep"))
        helpers = set(helper_targets(m))
        for q in step.qualifiers:
            if q.variable in helpers:
                problems.append(ConfigError(
                    f"qualifier '{q.variable}' is a helper (keep: false) and never goes to "
                    "SUPP--", file=file, line=line, key=q.variable,
                    hint="remove keep: false to send it to SUPP--"))
    return problems


def drop_helpers(out: pd.DataFrame, m: DomainMapping, origins: dict[str, dict]) -> pd.DataFrame:
    """The domain frame without its helper variables (and their origins removed)."""
    helpers = [t for t in helper_targets(m) if t in out.columns]
    for t in helpers:
        origins.pop(t, None)
    return out.drop(columns=helpers) if helpers else out
