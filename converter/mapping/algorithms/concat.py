"""concat: join raw columns, mapped variables and literals with a separator (e.g. USUBJID)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import model_validator

from converter.mapping.base import Strict
from converter.mapping.fast import clean_uniques
from converter.mapping.steps import AlgorithmSpec, StepBase, StepContext


class Part(Strict):
    column: str | None = None
    variable: str | None = None
    value: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Part:
        if sum(x is not None for x in (self.column, self.variable, self.value)) != 1:
            raise ValueError("a part is exactly one of column (raw), variable or value")
        return self

    def text(self) -> str:
        return self.column or self.variable or repr(self.value)


class Concat(StepBase):
    algorithm: Literal["concat"]
    parts: list[Part]
    separator: str = ""

    def columns(self) -> list[str]:
        return [p.column for p in self.parts if p.column]

    def variables(self) -> list[str]:
        return [p.variable for p in self.parts if p.variable]


def _part_codes(part: Part, ctx: StepContext) -> tuple[np.ndarray, np.ndarray]:
    """Codes (-1 where missing or blank) and distinct cleaned texts of one part."""
    c, u = ctx.col_codes(part.column) if part.column else ctx.var_codes(part.variable)
    clean = clean_uniques(u.astype(object)).to_numpy(dtype=object)
    blank = np.append(pd.isna(clean), True)
    return np.where(blank[c], -1, c), clean


def run(p: Concat, ctx: StepContext) -> pd.Series:
    n = len(ctx.out)
    parts = [None if part.value is not None else _part_codes(part, ctx) for part in p.parts]
    coded = [x for x in parts if x is not None]
    if not coded:
        text = p.separator.join(part.value for part in p.parts)
        return pd.Series(text, index=ctx.out.index, dtype=object)
    missing = np.zeros(n, dtype=bool)
    all_missing = np.ones(n, dtype=bool)
    for c, _ in coded:
        missing |= c < 0
        all_missing &= c < 0
    # one combined code per record, built on integers; strings only for distinct combinations
    key = np.zeros(n, dtype=np.int64)
    for c, u in coded:
        key = key * (len(u) + 1) + np.where(c < 0, len(u), c)
    kc, ku = pd.factorize(key)
    pieces = []
    rest = np.asarray(ku)
    for c, u in reversed(coded):
        idx = rest % (len(u) + 1)
        rest = rest // (len(u) + 1)
        pieces.append(np.append(u, None)[idx])
    pieces.reverse()
    it = iter(pieces)
    texts = None
    for part in p.parts:
        piece = (pd.Series(part.value, index=range(len(ku)), dtype=object)
                 if part.value is not None else pd.Series(next(it), dtype=object))
        texts = piece.astype(str) if texts is None else texts + p.separator + piece.astype(str)
    ku_missing = np.zeros(len(ku), dtype=bool)
    rest = np.asarray(ku)
    for c, u in reversed(coded):
        ku_missing |= rest % (len(u) + 1) == len(u)
        rest = rest // (len(u) + 1)
    values = texts.to_numpy(dtype=object)
    values[ku_missing] = None
    out = ctx.result(values, kc.astype(np.int64))
    # a missing part would give a misleading identifier: the result is empty instead
    ctx.issue(missing & ~all_missing, "MAP.CONCAT", "a part is missing; value left empty",
              severity="warning")
    return out


ALGORITHM = AlgorithmSpec(
    name="concat", params=Concat, run=run, origin="Derived",
    summary="Join columns, variables and literals with a separator.",
    describe=lambda p: "Concatenation of " + ", ".join(x.text() for x in p.parts)
    + (f" separated by '{p.separator}'" if p.separator else ""),
    source=lambda p, f: f"{f} " + ", ".join(x.column for x in p.parts if x.column)
    if any(x.column for x in p.parts) else None)
