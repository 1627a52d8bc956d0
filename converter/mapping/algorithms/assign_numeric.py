"""assign_numeric: a raw value as a number; anything else ("<50", "ND", "1,234.5") is an issue.

Nothing is guessed: "1,234.5" is not read as 1234.5 because the comma may be a decimal mark.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

from converter.mapping.steps import AlgorithmSpec, StepBase, StepContext, clean_text

NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"


class AssignNumeric(StepBase):
    algorithm: Literal["assign_numeric"]
    source: str
    on_invalid: Literal["issue", "ignore"] = "issue"

    def columns(self) -> list[str]:
        return [self.source]


def run(p: AssignNumeric, ctx: StepContext) -> pd.Series:
    raw = clean_text(ctx.col(p.source))
    ok = raw.fillna("").astype(str).str.fullmatch(NUMBER) & raw.notna()
    codes, uniques = pd.factorize(raw.where(ok))
    nums = pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce").to_numpy()
    out = pd.Series(float("nan"), index=raw.index, dtype="float64")
    has = codes >= 0
    out[has] = nums[codes[has]]
    if p.on_invalid == "issue":
        ctx.issue(raw.notna() & ~ok, "MAP.NUM", "value is not a number; left empty", raw,
                  expected="a plain decimal number")
    return out


ALGORITHM = AlgorithmSpec(
    name="assign_numeric", params=AssignNumeric, run=run, origin="Collected",
    summary="Copy a raw column as a number; non-numeric values are issues.",
    describe=lambda p: f"Numeric value of {p.source}",
    source=lambda p, f: f"{f} {p.source}")
