"""visit: VISITNUM or VISIT from the trial visits declared in study.yaml.

A collected visit name is matched, ignoring case and repeated spaces, against each trial
visit's ``visit`` and ``aliases``. A name matching ``unscheduled`` (default: starts with
"unsch") is an unscheduled visit: VISITNUM is the subject's previous scheduled VISITNUM in this
domain (by ``date``) plus .01, .02 … in date order (4.01 after visit 4); VISIT is the collected
name upper-cased. Any other unknown name is a MAP.VISIT issue and stays empty.
"""

from __future__ import annotations

import re
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import field_validator

from converter.mapping.dates import to_date
from converter.mapping.fast import clean_uniques, take
from converter.mapping.steps import AlgorithmSpec, StepBase, StepContext


class Visit(StepBase):
    algorithm: Literal["visit"]
    source: str
    value: Literal["number", "name"] = "number"
    date: str | None = None
    unscheduled: str = r"(?i)^\s*unsch"

    @field_validator("unscheduled")
    @classmethod
    def _regex(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"'unscheduled' is not a valid regular expression: {exc}") from None
        return v

    def columns(self) -> list[str]:
        return [self.source]

    def variables(self) -> list[str]:
        return ([self.date] if self.date else []) + ["USUBJID"]


def normalise(s: pd.Series) -> pd.Series:
    return s.astype(str).str.upper().str.replace(r"\s+", " ", regex=True).str.strip()


def run(p: Visit, ctx: StepContext) -> pd.Series:
    codes, uniques = ctx.col_codes(p.source)
    clean = clean_uniques(uniques)                       # distinct collected names only
    table = ctx.study.visit_table().set_index("key")
    key = normalise(clean).where(clean.notna())
    num_u = key.map(table["visitnum"]).astype("float64")
    name_u = key.map(table["visit"]).astype(object)
    unsched_u = clean.notna() & num_u.isna() & clean.fillna("").astype(str).str.contains(
        p.unscheduled, regex=True)
    unknown_u = (clean.notna() & num_u.isna() & ~unsched_u).to_numpy()
    name_u[unsched_u] = normalise(clean[unsched_u])
    if unknown_u.any():
        ctx.issue(take(unknown_u, codes, missing=False).astype(bool), "MAP.VISIT",
                  "visit not among the trial visits; left empty",
                  take(clean.to_numpy(dtype=object), codes),
                  expected="a visit or alias declared in study.yaml trial_design.visits")
    if p.value == "name":
        name_u = name_u.where(name_u.notna(), None)
        return ctx.result(name_u.to_numpy(dtype=object), codes)
    num = ctx.result(num_u.to_numpy(dtype="float64"), codes)
    unsched = pd.Series(take(unsched_u.to_numpy(), codes, missing=False).astype(bool),
                        index=ctx.out.index)
    raw = pd.Series(take(clean.to_numpy(dtype=object), codes), index=ctx.out.index) \
        if unsched.any() else None
    if unsched.any():
        if p.date is None:
            ctx.issue(unsched, "MAP.VISIT", "unscheduled visit cannot be numbered without a "
                      "date (set 'date' on the visit step)", raw, severity="warning")
        else:
            ctx.codes.forget("var", ctx.target)
            num = _number_unscheduled(num, unsched, pd.Series(ctx.var_codes("USUBJID")[0]),
                                      to_date(ctx.var(p.date), ctx.var_codes(p.date)))
    return num


def _number_unscheduled(num: pd.Series, unsched: pd.Series, subj: pd.Series,
                        date: pd.Series) -> pd.Series:
    frame = pd.DataFrame({"subj": subj.to_numpy(), "date": date.to_numpy(),
                          "num": num.to_numpy(), "row": np.arange(len(num))})
    sched = frame[~unsched.to_numpy() & frame["num"].notna() & frame["date"].notna()]
    todo = frame[unsched.to_numpy()].copy()
    sched = sched.sort_values(["date", "num"]).rename(columns={"num": "prev"})
    dated = todo[todo["date"].notna()].sort_values("date")
    hit = pd.merge_asof(dated, sched[["subj", "date", "prev"]], on="date", by="subj",
                        direction="backward")
    hit["prev"] = hit["prev"].fillna(0.0)
    hit = hit.sort_values(["subj", "prev", "date", "row"])
    hit["k"] = hit.groupby(["subj", "prev"], observed=True).cumcount() + 1
    out = num.to_numpy().copy()
    out[hit["row"].to_numpy()] = (hit["prev"] + hit["k"] / 100).round(2).to_numpy()
    return pd.Series(out, index=num.index, dtype="float64")


ALGORITHM = AlgorithmSpec(
    name="visit", params=Visit, run=run, origin="Derived",
    summary="VISITNUM/VISIT from the trial visits; unscheduled visits numbered after "
            "the previous one.",
    describe=lambda p: f"{'VISITNUM' if p.value == 'number' else 'VISIT'} of the trial visit "
    f"named in {p.source}; unscheduled visits numbered previous visit + .01",
    source=lambda p, f: f"{f} {p.source}")
