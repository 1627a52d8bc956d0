"""baseline_flag: "Y" on the last record with a non-missing result on or before the reference.

Used for --BLFL (reference RFXSTDTC, the first exposure) and --LOBXFL (same rule, SDTMIG 3.4).
Within each ``by`` group the candidates are records whose ``result`` is present and whose
``dtc`` is a complete date not after the subject's DM ``ref`` (compared on date and time when
both carry a time, otherwise on the date). The latest candidate (then the last in source order)
is flagged; all other records stay empty.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from converter.mapping.algorithms.study_day import reference
from converter.mapping.dates import to_date
from converter.mapping.fast import clean_uniques, factorize, sort_rank, take
from converter.mapping.steps import AlgorithmSpec, StepBase, StepContext


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
    n = len(ctx.out)
    dtc_c, dtc_u = ctx.var_codes(p.dtc)
    ref = reference(ctx, p.ref)
    ref_c, ref_u = factorize(ref)
    d = to_date(ctx.var(p.dtc), (dtc_c, dtc_u)).to_numpy()
    r = to_date(ref, (ref_c, ref_u)).to_numpy()
    d_time = take(dtc_u.astype(str).str.len().gt(10).to_numpy(), dtc_c, missing=False)
    r_time = take(ref_u.astype(str).str.len().gt(10).to_numpy(), ref_c, missing=False)
    both = d_time.astype(bool) & r_time.astype(bool)
    same_day = d == r
    on_or_before = (d < r) | (same_day & ~both)
    tie = np.flatnonzero(same_day & both)
    if len(tie):  # same day, both timed: compare the date-time text (same precision prefix)
        dt = take(dtc_u.astype(str).str[:16].to_numpy(dtype=object), dtc_c)[tie]
        rt = take(ref_u.astype(str).str[:16].to_numpy(dtype=object), ref_c)[tie]
        on_or_before[tie] = dt <= rt
    res_c, res_u = ctx.var_codes(p.result)
    present = take(clean_uniques(res_u.astype(object)).notna().to_numpy(), res_c,
                   missing=False).astype(bool)
    cand = np.flatnonzero(present & on_or_before & ~np.isnat(d))
    out = np.full(n, None, dtype=object)
    if not len(cand):
        return pd.Series(out, index=ctx.out.index)
    by = [sort_rank(*ctx.var_codes(v), numeric=True)[cand] for v in p.by]
    when = sort_rank(dtc_c, dtc_u)[cand]
    order = np.lexsort([cand, when, *by[::-1]])
    last = np.ones(len(order), dtype=bool)   # last record of each by-group in sorted order
    same_next = np.ones(len(order) - 1, dtype=bool)
    for k in by:
        ks = k[order]
        same_next &= ks[1:] == ks[:-1]
    last[:-1] = ~same_next
    out[cand[order][last]] = "Y"
    return pd.Series(out, index=ctx.out.index)


ALGORITHM = AlgorithmSpec(
    name="baseline_flag", params=BaselineFlag, run=run, phase=3, origin="Derived",
    summary="'Y' on the last non-missing result on or before DM's reference date (--BLFL, "
            "--LOBXFL).",
    describe=lambda p: f"Y for the last record per {', '.join(p.by)} with {p.result} present "
    f"and {p.dtc} on or before DM.{p.ref}")
