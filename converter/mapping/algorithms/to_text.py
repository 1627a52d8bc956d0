"""to_text: a mapped variable as text (e.g. LBSTRESC from LBSTRESN).

Numbers are written in plain positional notation without trailing zeros (12.50 → "12.5",
3.0 → "3"), or with a fixed number of ``decimals`` when given; text is copied unchanged.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from converter.mapping.steps import AlgorithmSpec, StepBase, StepContext


class ToText(StepBase):
    algorithm: Literal["to_text"]
    variable: str
    decimals: int | None = None

    def variables(self) -> list[str]:
        return [self.variable]


def _fmt(x: float, decimals: int | None) -> str:
    if decimals is not None:
        return f"{x:.{decimals}f}"
    return np.format_float_positional(x, trim="-")


def run(p: ToText, ctx: StepContext) -> pd.Series:
    codes, uniques = ctx.var_codes(p.variable)
    if uniques.dtype.kind in "fiu":
        text = np.array([_fmt(float(x), p.decimals) for x in uniques], dtype=object)  # distinct
    else:
        text = uniques.astype(object).to_numpy()
    return ctx.result(text, codes)


ALGORITHM = AlgorithmSpec(
    name="to_text", params=ToText, run=run, origin="Derived",
    summary="A mapped variable as text (numbers without trailing zeros).",
    describe=lambda p: f"Text of {p.variable}")
