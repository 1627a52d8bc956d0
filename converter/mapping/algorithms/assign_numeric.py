"""assign_numeric: a raw value as a number; anything else ("<50", "ND", "1,234.5") is an issue.

Nothing is guessed: "1,234.5" is not read as 1234.5 because the comma may be a decimal mark.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

from converter.mapping.fast import clean_uniques, take
from converter.mapping.steps import AlgorithmSpec, StepBase, StepContext

NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"


class AssignNumeric(StepBase):
    algorithm: Literal["assign_numeric"]
    source: str
    on_invalid: Literal["issue", "ignore"] = "issue"

    def columns(self) -> list[str]:
        return [self.source]


def run(p: AssignNumeric, ctx: StepContext) -> pd.Series:
    codes, uniques = ctx.col_codes(p.source)
    clean = clean_uniques(uniques)
    ok = (clean.fillna("").astype(str).str.fullmatch(NUMBER) & clean.notna()).to_numpy()
    nums = pd.to_numeric(clean.where(ok), errors="coerce").to_numpy(dtype="float64")
    out = pd.Series(take(nums, codes), index=ctx.out.index, dtype="float64")
    bad_u = clean.notna().to_numpy() & ~ok
    if p.on_invalid == "issue" and bad_u.any():
        ctx.issue(take(bad_u, codes, missing=False).astype(bool), "MAP.NUM",
                  "value is not a number; left empty", take(clean.to_numpy(dtype=object), codes),
                  expected="a plain decimal number")
    return out


ALGORITHM = AlgorithmSpec(
    name="assign_numeric", params=AssignNumeric, run=run, origin="Collected",
    summary="Copy a raw column as a number; non-numeric values are issues.",
    describe=lambda p: f"Numeric value of {p.source}",
    source=lambda p, f: f"{f} {p.source}")
