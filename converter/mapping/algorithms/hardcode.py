"""hardcode: the same value on every row (e.g. DOMAIN, AGEU)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from converter.mapping.steps import AlgorithmSpec, StepBase, StepContext


class Hardcode(StepBase):
    algorithm: Literal["hardcode"]
    value: str


def run(p: Hardcode, ctx: StepContext) -> pd.Series:
    return ctx.result(np.array([p.value], dtype=object), np.zeros(len(ctx.out), dtype=np.int64))


ALGORITHM = AlgorithmSpec(
    name="hardcode", params=Hardcode, run=run, origin="Assigned",
    summary="Set a constant value on every record.",
    describe=lambda p: f"Set to '{p.value}'")
