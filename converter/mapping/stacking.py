"""Stacking: several raw sources give the records of one domain (``stack:``).

``sources: [ds, ic, rand]`` with ``stack: [ic, rand]`` maps the records of ``ds``, then those of
``ic``, then those of ``rand`` (in that order, each in file order). Columns a stacked source
does not have read as empty; every record keeps its own ``__source_file``/``__source_row``.
A condition ``{source: ic}`` (in ``filter`` or ``conditional``) holds for the records of that
source. The reconciliation counts each stacked file (``parts`` below).

>>> import pandas as pd
>>> from converter.mapping.models import DomainMapping
>>> m = DomainMapping.model_validate({"domain": "DS", "sources": ["ds", "ic"],
...                                   "stack": ["ic"], "steps": []})
>>> a = pd.DataFrame({"S": ["1"], "R": ["x"]})
>>> b = pd.DataFrame({"S": ["2"], "D": ["2020"]})
>>> raw, parts = stack_frames(m, {"ds": a, "ic": b})
>>> raw[["S", "R", "D", SOURCE_NAME]].values.tolist(), parts
([['1', 'x', None, 'ds'], ['2', None, '2020', 'ic']], [('ds', 0, 1), ('ic', 1, 2)])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from converter.errors import ConfigError
from converter.mapping.base import suggest
from converter.mapping.fast import plain

if TYPE_CHECKING:  # pragma: no cover
    from converter.mapping.models import DomainMapping
    from converter.mapping.steps import StepContext
    from converter.mapping.study import Study

# reserved raw column of a stacked domain: the name of the source each record comes from
SOURCE_NAME = "__source_name"


def record_sources(m: DomainMapping) -> list[str]:
    """The sources whose records the domain maps: the first source, then ``stack``."""
    return [m.sources[0], *m.stack] if m.sources else []


def stack_frames(m: DomainMapping, sources: dict[str, pd.DataFrame]
                 ) -> tuple[pd.DataFrame, list[tuple[str, int, int]]]:
    """The domain's raw records (stacked in order) and each source's (name, start, stop) rows.

    Without ``stack`` the first source's frame is returned as is (no copy)."""
    names = record_sources(m)
    if len(names) == 1:
        return sources[names[0]], [(names[0], 0, len(sources[names[0]]))]
    frames = [sources[n] for n in names]
    cols = list(dict.fromkeys(c for f in frames for c in f.columns))
    parts, start = [], 0
    for name, f in zip(names, frames):
        parts.append((name, start, start + len(f)))
        start += len(f)
    data = {}
    for c in cols:   # column by column: no frame-wide concat (slow on all-empty columns)
        have = [f[c] if c in f.columns else None for f in frames]
        if all(h is not None and isinstance(h.dtype, pd.CategoricalDtype) for h in have):
            data[c] = union_categoricals([h.array for h in have], ignore_order=True)
        else:   # a column missing from a source reads as empty (None, never NaN)
            data[c] = np.concatenate([
                np.full(len(f), None, dtype=object) if h is None
                else plain(h).to_numpy(dtype=object) for h, f in zip(have, frames)])
    raw = pd.DataFrame(data, index=pd.RangeIndex(start), columns=cols)
    raw[SOURCE_NAME] = pd.Categorical(
        np.repeat(np.array(names, dtype=object), [len(f) for f in frames]), categories=names)
    return raw, parts


def source_mask(name: str, ctx: StepContext) -> pd.Series:
    """True for the records of source ``name`` (a single-source domain: all or none)."""
    if SOURCE_NAME in ctx.raw.columns:
        hit = (ctx.raw[SOURCE_NAME].astype(object) == name).to_numpy()
    else:
        m = ctx.study.domains.get(ctx.domain) if ctx.study is not None else None
        first = m.sources[0] if m is not None and m.sources else None
        hit = np.full(len(ctx.out), name == first)
    return pd.Series(hit, index=ctx.out.index)


def source_of(parts: list[tuple[str, int, int]], pos: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """(index into ``parts``, row position within that source) of stacked positions."""
    starts = np.array([p[1] for p in parts], dtype=np.int64)
    which = np.searchsorted(starts, pos, side="right") - 1
    return which, pos - starts[which]


def check_stack(study: Study, m: DomainMapping, file: str, lines: dict) -> list[ConfigError]:
    """``stack`` names other sources of the domain; ``source`` conditions name record sources."""
    from converter.mapping.study import _walk

    problems: list[ConfigError] = []
    names = record_sources(m)
    for i, name in enumerate(m.stack):
        line = lines.get(("stack", i), lines.get(("stack",)))
        if name not in m.sources[1:]:
            problems.append(ConfigError(
                f"stacked source '{name}' is not among this domain's other sources "
                f"({', '.join(m.sources[1:]) or 'none'})", file=file, line=line, key="stack",
                hint="list it in 'sources' after the first source"))
        elif m.stack.count(name) > 1:
            problems.append(ConfigError(f"source '{name}' is stacked twice", file=file,
                                        line=line, key="stack"))
    where = [(c, lines.get(("filter", i), lines.get(("filter",))))
             for i, c in enumerate(m.filter)]
    for i, step in enumerate(m.steps):
        line = lines.get(("steps", i))
        for s in _walk([step]):
            for r in getattr(s, "rules", None) or []:
                where += [(c, line) for c in r.when]
            for f in getattr(s, "from_", None) or []:
                for c in f.where:
                    if c.source is not None:
                        problems.append(ConfigError(
                            "a 'source' condition tests the records of this domain; it cannot "
                            "select records of another domain", file=file, line=line,
                            key="source", hint="test a variable of that domain instead"))
    for c, line in where:
        if c.source is not None and c.source not in names:
            problems.append(ConfigError(
                f"condition on source '{c.source}', which gives no records to {m.domain} "
                f"(record sources: {', '.join(names)})", file=file, line=line, key="source",
                hint=suggest(c.source, names) or "add it to 'stack'"))
    return problems
