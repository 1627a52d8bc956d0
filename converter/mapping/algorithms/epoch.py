"""epoch: EPOCH of the subject's element (SE) that contains the record's date.

The SE domain (built from trial elements and DM dates) gives each subject's element start
dates. A record takes the EPOCH of the latest element starting on or before it; records
without a complete date, or before the first element, get no EPOCH.

Times count when both sides have one: a sample taken at 08:35 on the day the first infusion
starts at 11:10 is still in the screening element. Without a time on one side the comparison
is by date, and a record on the day an element starts belongs to that element (a date-only
record counts as the end of its day, a date-only element start as the start of its day).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from converter.mapping.dates import to_date
from converter.mapping.fast import plain_frame, text_match
from converter.mapping.steps import AlgorithmSpec, StepBase, StepContext


class Epoch(StepBase):
    algorithm: Literal["epoch"]
    dtc: str

    def variables(self) -> list[str]:
        return [self.dtc, "USUBJID"]

    def domains(self) -> list[str]:
        return ["SE"]


def _moments(values: np.ndarray, *, end_of_day: bool) -> np.ndarray:
    """datetime64[ns] of ISO 8601 values for the comparison: the date and time when a time is
    given, else the start (or, with ``end_of_day``, the last instant) of the date; NaT when the
    date is not complete."""
    day = to_date(pd.Series(values, dtype=object)).to_numpy().astype("datetime64[ns]")
    out = day + (np.timedelta64(1, "D") - np.timedelta64(1, "ns")) if end_of_day else day.copy()
    timed = text_match(values, r"\d{4}-\d{2}-\d{2}T\d{2}") & ~np.isnat(day)
    if timed.any():
        text = pd.Series(values[timed], dtype=object).str.slice(0, 19)   # no zone, no fraction
        full = pd.to_datetime(text, format="ISO8601", errors="coerce").to_numpy()
        ok = ~np.isnat(full)
        idx = np.flatnonzero(timed)[ok]
        out[idx] = full[ok].astype("datetime64[ns]")
    return out


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
    u_date = _moments(np.asarray(d_uniques, dtype=object), end_of_day=True)
    rec = pd.DataFrame({"subj": p_subj,
                        "date": np.append(u_date, np.datetime64("NaT"))[p_date],
                        "row": np.arange(len(pair_u))})
    rec = rec[rec["date"].notna() & (rec["subj"] >= 0)].sort_values("date", kind="stable")
    se = plain_frame(se)
    el = pd.DataFrame({"subj": pd.Index(subjects).get_indexer(se["USUBJID"]).astype(np.int64),
                       "date": _moments(se["SESTDTC"].to_numpy(dtype=object),
                                        end_of_day=False),
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
    summary="EPOCH of the subject's trial element (SE) containing the record date/time.",
    describe=lambda p: f"EPOCH of the SE element whose start is the latest on or before {p.dtc} "
    "(date and time when both have a time, else by date)")
