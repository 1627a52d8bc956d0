"""seq: --SEQ numbered 1, 2, … within each subject in a declared, deterministic order.

Records are ordered by ``by`` then ``order`` (mapped variables), then by source file and source
row, so the same input always gives the same numbers.
"""

# pydantic copies mutable defaults per instance, so list/dict defaults are safe here.
# ruff: noqa: RUF012
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from converter.mapping.steps import AlgorithmSpec, StepBase, StepContext
from converter.model import SRC_FILE, SRC_ROW


class Seq(StepBase):
    algorithm: Literal["seq"]
    by: list[str] = ["USUBJID"]
    order: list[str] = []

    def variables(self) -> list[str]:
        return [*self.by, *self.order]


def sort_keys(frame: pd.DataFrame, names: list[str]) -> list[np.ndarray]:
    """Integer sort codes per column (missing last), for np.lexsort."""
    keys = []
    for name in names:
        s = frame[name] if name in frame.columns else pd.Series(None, index=frame.index)
        if s.dtype == object:
            num = pd.to_numeric(s, errors="coerce")
            if num.notna().sum() == s.notna().sum() and s.notna().any():
                s = num
        codes, _ = pd.factorize(s, sort=True, use_na_sentinel=True)
        codes = np.where(codes < 0, np.iinfo(np.int64).max, codes)
        keys.append(codes)
    return keys


def run(p: Seq, ctx: StepContext) -> pd.Series:
    out = ctx.out
    names = [*p.by, *p.order, SRC_FILE, SRC_ROW]
    frame = out.copy()
    for prov in (SRC_FILE, SRC_ROW):
        if prov not in frame and prov in ctx.raw:
            frame[prov] = ctx.raw[prov].to_numpy()
    keys = sort_keys(frame, names)
    order = np.lexsort(keys[::-1])
    group_keys = sort_keys(frame, p.by)
    grp = np.zeros(len(frame), dtype=np.int64)
    for k in group_keys:
        grp = grp * (k.max() + 2 if len(k) else 1) + k
    sorted_grp = grp[order]
    new_group = np.ones(len(order), dtype=bool)
    new_group[1:] = sorted_grp[1:] != sorted_grp[:-1]
    idx = np.arange(len(order))
    starts = np.maximum.accumulate(np.where(new_group, idx, 0))
    seq_sorted = idx - starts + 1
    seq = np.empty(len(order), dtype="float64")
    seq[order] = seq_sorted
    return pd.Series(seq, index=out.index)


ALGORITHM = AlgorithmSpec(
    name="seq", params=Seq, run=run, phase=4, origin="Derived",
    summary="Number records 1, 2, … per subject in a deterministic order.",
    describe=lambda p: "Sequence number within " + ", ".join(p.by)
    + (" ordered by " + ", ".join(p.order) if p.order else "") + " and source row")
