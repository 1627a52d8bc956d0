"""iso_datetime: assemble an ISO 8601 --DTC from a date column and an optional time column.

Formats are declared (see ``converter.mapping.dates``). Partial or unknown parts truncate the
value; nothing is invented. Impossible dates/times (31 FEB, month 13, 25:61) are logged as
MAP.DATE and left empty. A time is attached only to a complete date; a valid time collected
with a partial, missing or invalid date is logged as MAP.TIMELOST (warning, with the collected
date and time), never dropped silently.
"""

# pydantic copies mutable defaults per instance, so list/dict defaults are safe here.
# ruff: noqa: RUF012
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import field_validator

from converter.mapping.dates import check_format, combine_date_time, parse_dates, parse_times
from converter.mapping.fast import take
from converter.mapping.steps import AlgorithmSpec, StepBase, StepContext


class IsoDatetime(StepBase):
    algorithm: Literal["iso_datetime"]
    date: str
    date_formats: list[str]
    time: str | None = None
    time_formats: list[str] = ["hh:mm", "hh:mm:ss"]

    @field_validator("date_formats", "time_formats")
    @classmethod
    def _formats(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("declare at least one format")
        for f in v:
            why = check_format(f)
            if why:
                raise ValueError(why)
        return v

    def columns(self) -> list[str]:
        return [self.date] + ([self.time] if self.time else [])


def run(p: IsoDatetime, ctx: StepContext) -> pd.Series:
    raw_d = ctx.col(p.date)
    codes, uniques = ctx.col_codes(p.date)
    iso_u, bad_u = parse_dates(uniques, p.date_formats)    # distinct values only
    iso_u = iso_u.to_numpy(dtype=object)
    iso = ctx.result(iso_u, codes) if not p.time else None
    bad = pd.Series(take(bad_u.to_numpy(), codes, missing=False).astype(bool),
                    index=ctx.out.index)
    ctx.issue(bad, "MAP.DATE", "invalid or unrecognised date; left empty", raw_d,
              expected=" or ".join(p.date_formats))
    if p.time:
        raw_t = ctx.col(p.time)
        t_codes, t_uniques = ctx.col_codes(p.time)
        t_u, bad_tu = parse_times(t_uniques, p.time_formats)    # distinct values only
        bad_t = take(bad_tu.to_numpy(), t_codes, missing=False).astype(bool)
        ctx.issue(bad_t, "MAP.DATE", "invalid or unrecognised time; value left empty", raw_t,
                  expected=" or ".join(p.time_formats))
        # distinct (date, time) pairs: one integer factorisation, text work on the pairs only
        nt = len(t_uniques) + 1
        pairs, pair_u = pd.factorize((codes.astype(np.int64) + 1) * nt + (t_codes + 1))
        d_idx, t_idx = pair_u // nt - 1, pair_u % nt - 1
        iso_p = pd.Series(take(iso_u, d_idx), dtype=object)
        t_p = pd.Series(take(t_u.to_numpy(dtype=object), t_idx), dtype=object)
        both = combine_date_time(iso_p, t_p)
        both = both.where(~take(bad_tu.to_numpy(), t_idx, missing=False).astype(bool), None)
        _time_lost(p, ctx, iso_p, t_p, d_idx, t_idx, pairs, uniques, t_uniques)
        return ctx.result(both.where(both.notna(), None).to_numpy(dtype=object),
                          pairs.astype(np.int64))
    return iso


def _time_lost(p: IsoDatetime, ctx: StepContext, iso_p: pd.Series, t_p: pd.Series,
               d_idx: np.ndarray, t_idx: np.ndarray, pairs: np.ndarray, uniques: pd.Series,
               t_uniques: pd.Series) -> None:
    """MAP.TIMELOST: a valid time collected with a partial, missing or invalid date is not in
    the --DTC (ISO 8601 carries a time only after a complete date); log it, never silently."""
    lost_p = (t_p.notna() & ~iso_p.str.len().eq(10).fillna(False)).to_numpy(dtype=bool)
    if not lost_p.any():
        return
    d_text = pd.Series(take(uniques.to_numpy(dtype=object), d_idx), dtype=object).fillna("")
    t_text = pd.Series(take(t_uniques.to_numpy(dtype=object), t_idx), dtype=object).fillna("")
    value_p = ("date '" + d_text.astype(str) + "', time '" + t_text.astype(str) + "'"
               ).to_numpy(dtype=object)
    lost = lost_p[pairs]
    ctx.issue(lost, "MAP.TIMELOST", f"time {p.time} not kept: date {p.date} is partial, missing"
              " or invalid (ISO 8601 allows a time only after a complete date); date truncated",
              pd.Series(value_p[pairs], index=ctx.out.index), severity="warning",
              expected="a complete date with the time")


ALGORITHM = AlgorithmSpec(
    name="iso_datetime", params=IsoDatetime, run=run, origin="Collected",
    summary="Assemble ISO 8601 date/time from date and time fields in declared formats.",
    describe=lambda p: f"ISO 8601 from {p.date} ({' or '.join(p.date_formats)})"
    + (f" and {p.time}" if p.time else "") + "; partial dates truncated",
    source=lambda p, f: f"{f} {p.date}" + (f", {p.time}" if p.time else ""))
