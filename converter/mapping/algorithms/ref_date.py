"""ref_date: a subject-level date taken from other domains (DM RFSTDTC, RFXENDTC, DTHDTC…).

``from`` lists (domain, variable, optional ``where`` conditions on that domain); the earliest
(``pick: first``) or latest (``pick: last``) complete date per subject is taken. Only values
with at least a complete date count unless ``partial: true``.
"""

# pydantic copies mutable defaults per instance, so list/dict defaults are safe here.
# ruff: noqa: RUF012
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from converter.mapping.base import Strict
from converter.mapping.fast import clean_uniques, factorize, text_match
from converter.mapping.steps import (
    AlgorithmSpec,
    Condition,
    StepBase,
    StepContext,
    clean_text,
    evaluate_all,
)


class RefSource(Strict):
    domain: str
    variable: str
    where: list[Condition] = []

    @field_validator("where", mode="before")
    @classmethod
    def _listify(cls, v: object) -> object:
        return [v] if isinstance(v, dict) else v


class RefDate(StepBase):
    algorithm: Literal["ref_date"]
    from_: list[RefSource] = Field(alias="from")
    pick: Literal["first", "last"]
    partial: bool = False

    def variables(self) -> list[str]:
        return ["USUBJID"]

    def domains(self) -> list[str]:
        return [s.domain for s in self.from_]


def _best_per_subject(subj: pd.Series, dtc: pd.Series, mask, p: RefDate) -> pd.DataFrame:
    """(USUBJID, dtc) with the earliest/latest valid date of each subject of one source,
    computed on factorised codes: text work on the distinct values only, one integer groupby."""
    sc, su = factorize(subj)
    dc, du = factorize(dtc)
    if mask is not None:
        sc, dc = sc[mask], dc[mask]
    su = clean_uniques(su).to_numpy(dtype=object)
    du = clean_uniques(du)
    ok = du.notna()
    if not p.partial:
        ok &= text_match(du.where(ok), r"\d{4}-\d{2}-\d{2}")
    valid_d = np.append(ok.to_numpy(dtype=bool), False)
    valid_s = np.append(pd.notna(su), False)
    keep = valid_d[dc] & valid_s[sc]
    if not keep.any():
        return pd.DataFrame({"USUBJID": [], "dtc": []}, dtype=object)
    du = du.to_numpy(dtype=object)
    # rank of each distinct date in text order (ISO strings of one precision order lexically)
    order = np.flatnonzero(valid_d[:-1])
    order = order[np.argsort(du[order], kind="stable")]
    rank = np.full(len(du), -1, dtype=np.int64)
    rank[order] = np.arange(len(order))
    r = pd.Series(rank[dc[keep]])
    best = r.groupby(sc[keep], sort=False).agg("min" if p.pick == "first" else "max")
    return pd.DataFrame({"USUBJID": su[best.index.to_numpy()],
                         "dtc": du[order[best.to_numpy()]]}, dtype=object)


def run(p: RefDate, ctx: StepContext) -> pd.Series:
    parts = []
    for src in p.from_:
        frame = ctx.frames.get(src.domain)
        if frame is None or src.variable not in frame:
            continue
        sub = StepContext(domain=src.domain, raw=frame, out=frame, study=ctx.study,
                          issues=ctx.issues)
        mask = evaluate_all(src.where, sub).to_numpy() if src.where else None
        parts.append(_best_per_subject(frame["USUBJID"], frame[src.variable], mask, p))
    if not parts:
        return pd.Series(None, index=ctx.out.index, dtype=object)
    allv = pd.concat(parts, ignore_index=True)
    # ISO strings of the same precision order lexically; compare on the date+time text
    # (a sort + drop_duplicates: pandas' groupby min/max on text calls Python per subject)
    agg = (allv.sort_values(["USUBJID", "dtc"], kind="mergesort")
           .drop_duplicates("USUBJID", keep="first" if p.pick == "first" else "last")
           .set_index("USUBJID")["dtc"])
    got = clean_text(ctx.var("USUBJID")).map(agg).astype(object)
    return got.where(got.notna(), None)


def _describe(p: RefDate) -> str:
    srcs = " or ".join(
        f"{s.domain}.{s.variable}"
        + (" where " + " and ".join(c.describe() for c in s.where) if s.where else "")
        for s in p.from_)
    return f"{'Earliest' if p.pick == 'first' else 'Latest'} {srcs} per subject"


ALGORITHM = AlgorithmSpec(
    name="ref_date", params=RefDate, run=run, phase=2, origin="Derived",
    summary="Earliest/latest date per subject from other domains (DM RF* dates, DTHDTC).",
    describe=_describe)
