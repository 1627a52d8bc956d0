"""assign: copy a raw column as collected (optionally upper/lower-cased, stripped)."""

from __future__ import annotations

from typing import Literal

import pandas as pd

from converter.mapping.fast import clean_uniques
from converter.mapping.steps import AlgorithmSpec, StepBase, StepContext


class Assign(StepBase):
    algorithm: Literal["assign"]
    source: str
    case: Literal["as_is", "upper", "lower"] = "as_is"
    strip: bool = True

    def columns(self) -> list[str]:
        return [self.source]


def run(p: Assign, ctx: StepContext) -> pd.Series:
    def fn(u: pd.Series) -> pd.Series:
        t = clean_uniques(u, p.strip)
        if p.case == "upper":
            t = t.str.upper()
        elif p.case == "lower":
            t = t.str.lower()
        return t

    codes, uniques = ctx.col_codes(p.source)
    res = fn(uniques).to_numpy(dtype=object)
    res[pd.isna(res)] = None
    return ctx.result(res, codes)


ALGORITHM = AlgorithmSpec(
    name="assign", params=Assign, run=run, origin="Collected",
    summary="Copy a raw column as collected.",
    describe=lambda p: f"Collected value of {p.source}"
    + ("" if p.case == "as_is" else f", {p.case}-cased"),
    source=lambda p, f: f"{f} {p.source}")
