"""extract: the part of a raw value matched by a regular expression's one capture group."""

from __future__ import annotations

import re
from typing import Literal

import pandas as pd
from pydantic import field_validator

from converter.mapping.fast import clean_uniques, take
from converter.mapping.steps import AlgorithmSpec, StepBase, StepContext


class Extract(StepBase):
    algorithm: Literal["extract"]
    source: str
    pattern: str

    @field_validator("pattern")
    @classmethod
    def _one_group(cls, v: str) -> str:
        try:
            rx = re.compile(v)
        except re.error as exc:
            raise ValueError(f"pattern is not a valid regular expression: {exc}") from None
        if rx.groups != 1:
            raise ValueError("pattern must have exactly one capture group, e.g. '-(\\d+)$'")
        return v

    def columns(self) -> list[str]:
        return [self.source]


def run(p: Extract, ctx: StepContext) -> pd.Series:
    codes, uniques = ctx.col_codes(p.source)
    clean = clean_uniques(uniques)
    got = clean.str.extract(p.pattern, expand=False)
    got = got.astype(object).where(got.notna() & got.astype(str).ne(""), None)
    miss_u = (clean.notna() & got.isna()).to_numpy()
    if miss_u.any():
        ctx.issue(take(miss_u, codes, missing=False).astype(bool), "MAP.EXTRACT",
                  f"value does not match pattern {p.pattern}",
                  take(clean.to_numpy(dtype=object), codes), expected=p.pattern)
    return ctx.result(got.to_numpy(dtype=object), codes)


ALGORITHM = AlgorithmSpec(
    name="extract", params=Extract, run=run, origin="Derived",
    summary="Take the part of a raw value matched by a regex capture group.",
    describe=lambda p: f"Part of {p.source} matched by {p.pattern}",
    source=lambda p, f: f"{f} {p.source}")
