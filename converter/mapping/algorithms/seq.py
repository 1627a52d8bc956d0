"""seq: --SEQ numbered 1, 2, … within each subject in a declared, deterministic order.

Records are ordered by ``by`` then ``order`` (mapped variables; numbers as numbers, missing
last), then by source order (file row, or wide row then column after a transpose), so the same
input always gives the same numbers.

Groups are exact: records share a group only when every ``by`` key is equal (the keys are
compared one by one, never hashed into one number). A missing ``by`` value is a value of its own
(sorted last): records without a USUBJID are numbered among themselves, per combination of the
other keys, after the records that have one.
"""

# pydantic copies mutable defaults per instance, so list/dict defaults are safe here.
# ruff: noqa: RUF012
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from converter.mapping.fast import sort_rank
from converter.mapping.steps import AlgorithmSpec, StepBase, StepContext


class Seq(StepBase):
    algorithm: Literal["seq"]
    by: list[str] = ["USUBJID"]
    order: list[str] = []

    def variables(self) -> list[str]:
        return [*self.by, *self.order]


def run(p: Seq, ctx: StepContext) -> pd.Series:
    n = len(ctx.out)
    by = [sort_rank(*ctx.var_codes(v), numeric=True) for v in p.by]
    order = [sort_rank(*ctx.var_codes(v), numeric=True) for v in p.order]
    keys = [*by, *order]
    sizes = [int(k.max()) + 1 if len(k) else 1 for k in keys]
    if np.prod([float(x) for x in sizes]) < 2.0 ** 62:   # exact: no int64 overflow
        # one composite integer key; a stable sort keeps source order among ties
        composite = np.zeros(n, dtype=np.int64)
        for k, size in zip(keys, sizes):
            composite = composite * size + k
        idx = np.argsort(composite, kind="stable")
    else:  # source order (the domain's rows are in raw file/row order) breaks ties
        idx = np.lexsort([np.arange(n), *order[::-1], *by[::-1]])
    new_group = np.ones(n, dtype=bool)
    for k in by:
        ks = k[idx]
        new_group[1:] &= ks[1:] == ks[:-1]
    new_group = ~new_group
    new_group[:1] = True
    steps = np.arange(n)
    starts = np.maximum.accumulate(np.where(new_group, steps, 0))
    seq = np.empty(n, dtype="float64")
    seq[idx] = steps - starts + 1
    return pd.Series(seq, index=ctx.out.index)


ALGORITHM = AlgorithmSpec(
    name="seq", params=Seq, run=run, phase=4, origin="Derived",
    summary="Number records 1, 2, … per subject in a deterministic order.",
    describe=lambda p: "Sequence number within " + ", ".join(p.by)
    + (" ordered by " + ", ".join(p.order) if p.order else "") + " and source order")
