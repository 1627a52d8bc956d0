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
from converter.mapping.fast import plain_frame
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
    d_codes, d_uniques = ctx.var_codes(p.dtc)
    # the work is done once per distinct (subject, date value) pair, then broadcast
    nd = len(d_uniques) + 1
    pairs, pair_u = pd.factorize((codes + 1) * nd + (d_codes + 1))
    pair_u = np.asarray(pair_u, dtype=np.int64)
    p_subj, p_date = pair_u // nd - 1, pair_u % nd - 1
    u_date = to_date(pd.Series(np.asarray(d_uniques, dtype=object), dtype=object)).to_numpy()
    rec = pd.DataFrame({"subj": p_subj,
                        "date": np.append(u_date, np.datetime64("NaT"))[p_date],
                        "row": np.arange(len(pair_u))})
    rec = rec[rec["date"].notna() & (rec["subj"] >= 0)].sort_values("date", kind="stable")
    se = plain_frame(se)
    el = pd.DataFrame({"subj": pd.Index(subjects).get_indexer(se["USUBJID"]).astype(np.int64),
                       "date": to_date(se["SESTDTC"]).to_numpy(),
                       "epoch": se["EPOCH"].to_numpy(),
                       "ord": pd.to_numeric(se.get("TAETORD"), errors="coerce")})
    el = el[el["date"].notna() & (el["subj"] >= 0)].sort_values(["date", "ord"])
    hit = pd.merge_asof(rec, el[["subj", "date", "epoch"]], on="date", by="subj",
                        direction="backward")
    per_pair = np.full(len(pair_u), None, dtype=object)
    per_pair[hit["row"].to_numpy()] = hit["epoch"].where(hit["epoch"].notna(), None).to_numpy()
    return ctx.result(per_pair, pairs.astype(np.int64))


ALGORITHM = AlgorithmSpec(
    name="epoch", params=Epoch, run=run, phase=3, origin="Derived",
    summary="EPOCH of the subject's trial element (SE) containing the record date.",
    describe=lambda p: f"EPOCH of the SE element whose start is the latest on or before {p.dtc}")
