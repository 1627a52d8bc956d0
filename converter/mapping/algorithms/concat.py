"""concat: join raw columns, mapped variables and literals with a separator (e.g. USUBJID)."""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import model_validator

from converter.mapping.base import Strict
from converter.mapping.steps import AlgorithmSpec, StepBase, StepContext, clean_text


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


def run(p: Concat, ctx: StepContext) -> pd.Series:
    pieces = []
    for part in p.parts:
        if part.value is not None:
            pieces.append(pd.Series(part.value, index=ctx.out.index, dtype=object))
        elif part.column:
            pieces.append(clean_text(ctx.col(part.column)))
        else:
            pieces.append(clean_text(ctx.var(part.variable).astype(object)))
    missing = pd.Series(False, index=ctx.out.index)
    out = None
    for s in pieces:
        missing |= s.isna()
        out = s.astype(str) if out is None else out + p.separator + s.astype(str)
    # a missing part would give a misleading identifier: the result is empty instead
    ctx.issue(missing & ~pd.concat(pieces, axis=1).isna().all(axis=1), "MAP.CONCAT",
              "a part is missing; value left empty", severity="warning")
    return out.where(~missing, None).astype(object)


ALGORITHM = AlgorithmSpec(
    name="concat", params=Concat, run=run, origin="Derived",
    summary="Join columns, variables and literals with a separator.",
    describe=lambda p: "Concatenation of " + ", ".join(x.text() for x in p.parts)
    + (f" separated by '{p.separator}'" if p.separator else ""),
    source=lambda p, f: f"{f} " + ", ".join(x.column for x in p.parts if x.column)
    if any(x.column for x in p.parts) else None)
