"""assign: copy a raw column as collected (optionally upper/lower-cased, stripped)."""

from __future__ import annotations

from typing import Literal

import pandas as pd

from converter.mapping.steps import AlgorithmSpec, StepBase, StepContext, clean_text


class Assign(StepBase):
    algorithm: Literal["assign"]
    source: str
    case: Literal["as_is", "upper", "lower"] = "as_is"
    strip: bool = True

    def columns(self) -> list[str]:
        return [self.source]


def run(p: Assign, ctx: StepContext) -> pd.Series:
    out = clean_text(ctx.col(p.source), strip=p.strip)
    if p.case == "upper":
        out = out.str.upper()
    elif p.case == "lower":
        out = out.str.lower()
    return out.astype(object).where(out.notna(), None)


ALGORITHM = AlgorithmSpec(
    name="assign", params=Assign, run=run, origin="Collected",
    summary="Copy a raw column as collected.",
    describe=lambda p: f"Collected value of {p.source}"
    + ("" if p.case == "as_is" else f", {p.case}-cased"),
    source=lambda p, f: f"{f} {p.source}")
