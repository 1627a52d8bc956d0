"""conditional: rules tried in order; the first rule whose ``when`` holds sets the value.

Each ``then`` (and the optional ``else``) is an ordinary step without ``target``; it runs only
on the records its rule selected, so issues are logged only for those records.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from converter.mapping.base import Strict
from converter.mapping.fast import Codes, factorize
from converter.mapping.mixed import as_text, kind_of
from converter.mapping.steps import (
    AlgorithmSpec,
    Condition,
    StepBase,
    StepContext,
    evaluate_all,
)
from converter.model import SRC_FILE, SRC_ROW


class Rule(Strict):
    when: list[Condition]
    then: Any  # AnyStep, bound when the registry is complete

    @field_validator("when", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return [v] if isinstance(v, dict) else v


class Conditional(StepBase):
    algorithm: Literal["conditional"]
    rules: list[Rule]
    else_: Any = Field(default=None, alias="else")

    def nested(self) -> list[StepBase]:
        steps = [r.then for r in self.rules]
        return steps + ([self.else_] if self.else_ is not None else [])

    def columns(self) -> list[str]:
        cols = [c.column for r in self.rules for c in r.when if c.column]
        return cols + [c for s in self.nested() for c in s.columns()]

    def variables(self) -> list[str]:
        vs = [c.variable for r in self.rules for c in r.when if c.variable]
        return vs + [v for s in self.nested() for v in s.variables()]

    def domains(self) -> list[str]:
        return [d for s in self.nested() for d in s.domains()]


def run(p: Conditional, ctx: StepContext) -> pd.Series:
    from converter.mapping.algorithms import REGISTRY

    n = len(ctx.out)
    todo = np.ones(n, dtype=bool)
    branches = [(evaluate_all(r.when, ctx).to_numpy(), r.then) for r in p.rules]
    if p.else_ is not None:
        branches.append((np.ones(n, dtype=bool), p.else_))
    kinds: set[str | None] = set()
    results: list[tuple[np.ndarray, pd.Series]] = []
    for mask, step in branches:
        take = mask & todo
        todo &= ~take
        if not take.any():
            continue
        if take.all():
            sub = ctx
        else:
            # only the columns the branch reads (plus provenance and USUBJID for issues) are
            # subset: copying every raw column for every branch dominated large domains
            rows = np.flatnonzero(take)
            raw_cols = [c for c in dict.fromkeys([*step.columns(), SRC_FILE, SRC_ROW])
                        if c in ctx.raw.columns]
            out_cols = [c for c in dict.fromkeys([*step.variables(), "USUBJID"])
                        if c in ctx.out.columns]
            sub = replace(ctx, raw=ctx.raw[raw_cols].iloc[rows],
                          out=ctx.out[out_cols].iloc[rows], codes=Codes())
        values = REGISTRY[step.algorithm].run(step, sub)
        if values.dtype != object and take.all():
            return values
        kinds.add(kind_of(values))
        results.append((take, values))
    # numbers from some branches: a float column, or text when they mix with text (mixed.py)
    kinds -= {None}
    if kinds == {"number"}:
        out = np.full(n, np.nan)
        for take, values in results:
            out[take] = (values.to_numpy(dtype=np.float64) if values.dtype.kind in "fiu" else
                         pd.to_numeric(values.astype(object), errors="coerce").to_numpy(
                             dtype=np.float64))
        return pd.Series(out, index=ctx.out.index, dtype="float64")
    # text: assembled as codes into the distinct values of every branch (no column-sized
    # object arrays written branch by branch)
    codes = np.full(n, -1, dtype=np.int64)
    distinct: list[np.ndarray] = []
    offset = 0
    for take, values in results:
        c, u = factorize(values)
        codes[take] = np.where(c >= 0, c + offset, -1)
        distinct.append(np.asarray(u, dtype=object))
        offset += len(u)
    uniques = np.concatenate(distinct) if distinct else np.empty(0, dtype=object)
    if "number" in kinds:
        uniques = as_text(uniques)
    else:
        uniques = uniques.copy()
        uniques[pd.isna(uniques)] = None
    return ctx.result(uniques, codes)


def _origin(p: Conditional) -> str:
    from converter.mapping.algorithms import REGISTRY

    origins = {REGISTRY[s.algorithm].origin_of(s) for s in p.nested()}
    return origins.pop() if len(origins) == 1 else "Derived"


def _describe(p: Conditional) -> str:
    from converter.mapping.algorithms import REGISTRY

    parts = []
    for r in p.rules:
        cond = " and ".join(c.describe() for c in r.when)
        parts.append(f"if {cond}: {REGISTRY[r.then.algorithm].describe(r.then)}")
    if p.else_ is not None:
        parts.append(f"otherwise: {REGISTRY[p.else_.algorithm].describe(p.else_)}")
    return "; ".join(parts)


def _source(p: Conditional, f: str) -> str | None:
    from converter.mapping.algorithms import REGISTRY

    texts = [REGISTRY[s.algorithm].source(s, f) for s in p.nested()]
    texts = [t for t in texts if t]
    return "; ".join(dict.fromkeys(texts)) or None


ALGORITHM = AlgorithmSpec(
    name="conditional", params=Conditional, run=run, origin=_origin,
    summary="Ordered when/then rules; the first matching rule sets the value.",
    describe=_describe, source=_source)
