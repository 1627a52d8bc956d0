"""epoch: EPOCH of the subject's element (SE) that contains the record's date.

The SE domain (built from trial elements and DM dates) gives each subject's element start
dates. A record takes the EPOCH of the latest element starting on or before its date; records
without a complete date, or before the first element, get no EPOCH.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from converter.mapping.dates import to_date
from converter.mapping.steps import AlgorithmSpec, StepBase, StepContext


class Epoch(StepBase):
    algorithm: Literal["epoch"]
    dtc: str

    def variables(self) -> list[str]:
        return [self.dtc, "USUBJID"]

    def domains(self) -> list[str]:
        return ["SE"]


def run(p: Epoch, ctx: StepContext) -> pd.Series:
    se = ctx.frames.get("SE")
    out = np.full(len(ctx.out), None, dtype=object)
    if se is None or not len(se):
        return pd.Series(out, index=ctx.out.index)
    codes, subjects = ctx.var_codes("USUBJID")
    rec = pd.DataFrame({"subj": codes, "date": to_date(ctx.var(p.dtc), ctx.var_codes(p.dtc)),
                        "row": np.arange(len(ctx.out))})
    rec = rec[rec["date"].notna() & (rec["subj"] >= 0)].sort_values("date", kind="stable")
    el = pd.DataFrame({"subj": pd.Index(subjects).get_indexer(se["USUBJID"]).astype(np.int64),
                       "date": to_date(se["SESTDTC"]).to_numpy(),
                       "epoch": se["EPOCH"].to_numpy(),
                       "ord": pd.to_numeric(se.get("TAETORD"), errors="coerce")})
    el = el[el["date"].notna() & (el["subj"] >= 0)].sort_values(["date", "ord"])
    hit = pd.merge_asof(rec, el[["subj", "date", "epoch"]], on="date", by="subj",
                        direction="backward")
    out[hit["row"].to_numpy()] = hit["epoch"].where(hit["epoch"].notna(), None).to_numpy()
    return pd.Series(out, index=ctx.out.index)


ALGORITHM = AlgorithmSpec(
    name="epoch", params=Epoch, run=run, phase=3, origin="Derived",
    summary="EPOCH of the subject's trial element (SE) containing the record date.",
    describe=lambda p: f"EPOCH of the SE element whose start is the latest on or before {p.dtc}")
