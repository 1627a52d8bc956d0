"""hardcode: the same value on every row (e.g. DOMAIN, AGEU)."""

from __future__ import annotations

from typing import Literal

import pandas as pd

from converter.mapping.steps import AlgorithmSpec, StepBase, StepContext


class Hardcode(StepBase):
    algorithm: Literal["hardcode"]
    value: str


def run(p: Hardcode, ctx: StepContext) -> pd.Series:
    return pd.Series(p.value, index=ctx.out.index, dtype=object)


ALGORITHM = AlgorithmSpec(
    name="hardcode", params=Hardcode, run=run, origin="Assigned",
    summary="Set a constant value on every record.",
    describe=lambda p: f"Set to '{p.value}'")
