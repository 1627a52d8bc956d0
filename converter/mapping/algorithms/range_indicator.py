"""range_indicator: --NRIND from a numeric result and its reference range.

"LOW" below ``low``, "HIGH" above ``high``, "NORMAL" otherwise — only when the result is a
number and the bound it is compared with is present (with only ``low`` known, a result at or
above it is NORMAL; likewise for ``high``). No number or no bounds → empty.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import model_validator

from converter.mapping.algorithms.convert_unit import numbers
from converter.mapping.steps import AlgorithmSpec, StepBase, StepContext


class RangeIndicator(StepBase):
    algorithm: Literal["range_indicator"]
    value: str
    low: str | None = None
    high: str | None = None

    @model_validator(mode="after")
    def _bound(self) -> RangeIndicator:
        if self.low is None and self.high is None:
            raise ValueError("name at least one of 'low' or 'high'")
        return self

    def variables(self) -> list[str]:
        return [self.value] + [v for v in (self.low, self.high) if v]


def run(p: RangeIndicator, ctx: StepContext) -> pd.Series:
    n = len(ctx.out)
    v = numbers(ctx, p.value)
    lo = numbers(ctx, p.low) if p.low else np.full(n, np.nan)
    hi = numbers(ctx, p.high) if p.high else np.full(n, np.nan)
    out = np.full(n, None, dtype=object)
    known = ~np.isnan(v) & (~np.isnan(lo) | ~np.isnan(hi))
    out[known] = "NORMAL"
    with np.errstate(invalid="ignore"):
        out[known & (v < lo)] = "LOW"
        out[known & (v > hi)] = "HIGH"
    return pd.Series(out, index=ctx.out.index)


ALGORITHM = AlgorithmSpec(
    name="range_indicator", params=RangeIndicator, run=run, origin="Derived",
    summary="LOW / NORMAL / HIGH from a numeric result and its reference range.",
    describe=lambda p: f"LOW if {p.value} < {p.low}, HIGH if > {p.high}, else NORMAL")
