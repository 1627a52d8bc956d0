"""baseline_flag: "Y" on the last record with a non-missing result on or before the reference.

Used for --BLFL (reference RFXSTDTC, the first exposure) and --LOBXFL (same rule, SDTMIG 3.4).
Within each ``by`` group the candidates are records whose ``result`` is present and whose
``dtc`` is a complete date not after the subject's DM ``ref`` (compared on date and time when
both carry a time, otherwise on the date). The latest candidate (then the highest source row)
is flagged; all other records stay empty.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from converter.mapping.algorithms.study_day import reference
from converter.mapping.dates import to_date
from converter.mapping.steps import AlgorithmSpec, StepBase, StepContext, clean_text
from converter.model import SRC_ROW


class BaselineFlag(StepBase):
    algorithm: Literal["baseline_flag"]
    by: list[str]
    dtc: str
    result: str
    ref: str = "RFXSTDTC"

    def variables(self) -> list[str]:
        return [*self.by, self.dtc, self.result, "USUBJID"]

    def domains(self) -> list[str]:
        return ["DM"]


def run(p: BaselineFlag, ctx: StepContext) -> pd.Series:
    dtc = clean_text(ctx.var(p.dtc).astype(object))
    ref = clean_text(reference(ctx, p.ref).astype(object))
    both_time = dtc.str.len().gt(10).fillna(False) & ref.str.len().gt(10).fillna(False)
    d, r = to_date(dtc), to_date(ref)
    on_or_before = (d <= r) & ~(both_time & (d == r))
    on_or_before |= both_time & (d == r) & (dtc.str[:16] <= ref.str[:16])
    result = ctx.var(p.result)
    present = result.notna() & result.astype(str).str.strip().ne("")
    cand = (present & on_or_before & d.notna()).to_numpy()
    frame = pd.DataFrame({c: ctx.var(c).astype(str).to_numpy() for c in p.by})
    frame["dtc"] = dtc.fillna("").to_numpy()
    frame["row"] = pd.to_numeric(ctx.raw[SRC_ROW], errors="coerce").to_numpy() \
        if SRC_ROW in ctx.raw else np.arange(len(frame))
    frame["pos"] = np.arange(len(frame))
    sub = frame[cand].sort_values([*p.by, "dtc", "row"], kind="mergesort")
    last = sub.drop_duplicates(p.by, keep="last")["pos"].to_numpy()
    out = np.full(len(frame), None, dtype=object)
    out[last] = "Y"
    return pd.Series(out, index=ctx.out.index)


ALGORITHM = AlgorithmSpec(
    name="baseline_flag", params=BaselineFlag, run=run, phase=3, origin="Derived",
    summary="'Y' on the last non-missing result on or before DM's reference date (--BLFL, "
            "--LOBXFL).",
    describe=lambda p: f"Y for the last record per {', '.join(p.by)} with {p.result} present "
    f"and {p.dtc} on or before DM.{p.ref}")
