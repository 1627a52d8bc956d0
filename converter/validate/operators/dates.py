"""Dates and study days: ISO 8601 formats, --DY against --DTC, start before end, consent.

Every check runs once per distinct value and is spread back to the rows.

>>> iso8601_valid(pd.Series(["2014-02-28", "2014-02-30", "2014---15", "2014-1-5", None])).tolist()
[True, False, True, False, True]
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from converter.model import Dataset
from converter.validate.context import Context
from converter.validate.operators import Skip, findings, operator

# Components may be replaced by a hyphen when unknown (SDTMIG 4.4.2), e.g. 2003---15.
_DT = (r"(\d{4}|-)(?:-(\d{2}|-)(?:-(\d{2}|-)(?:T(\d{2}|-)(?::(\d{2}|-)"
       r"(?::(\d{2}(?:\.\d+)?|-))?)?)?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?")
DATETIME_RE = re.compile(f"^{_DT}$")
# Right-truncated values (no inner hyphens): the only ones with computable bounds.
TRUNCATED_RE = (r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.\d+)?)?)?)?)?)?"
                r"(?:Z|[+-]\d{2}(?::?\d{2})?)?$")
_NUM = r"\d+(?:[.,]\d+)?"
DURATION_RE = re.compile(
    rf"^-?P(?=\d|T\d)(?:{_NUM}Y)?(?:{_NUM}M)?(?:{_NUM}W)?(?:{_NUM}D)?"
    rf"(?:T(?=\d)(?:{_NUM}H)?(?:{_NUM}M)?(?:{_NUM}S)?)?$")
DURATION_SUFFIXES = ("DUR", "ELTM", "EVLINT", "STINT", "ENINT")


def _datetime_valid(text: pd.Series) -> np.ndarray:
    parts = text.str.extract(DATETIME_RE)
    ok = text.str.match(DATETIME_RE).fillna(False).to_numpy(dtype=bool, copy=True)
    ok &= text.str.contains(r"\d", regex=True).fillna(False).to_numpy(dtype=bool)
    ok &= ~text.str.rstrip("Z").str.endswith("-").fillna(False).to_numpy(dtype=bool)

    def num(i: int) -> pd.Series:
        return pd.to_numeric(parts[i].where(parts[i] != "-"), errors="coerce")
    for i, low, high in ((1, 1, 12), (2, 1, 31), (3, 0, 23), (4, 0, 59), (5, 0, 59.999999)):
        v = num(i)
        ok &= ~(v.notna() & ((v < low) | (v > high))).to_numpy()
    y, m, d = num(0), num(1), num(2)
    full = (y.notna() & m.notna() & d.notna()).to_numpy()
    if full.any():
        dates = pd.to_datetime(pd.DataFrame({"year": y[full], "month": m[full], "day": d[full]}),
                               errors="coerce")
        bad = np.zeros(len(text), dtype=bool)
        bad[np.flatnonzero(full)] = dates.isna().to_numpy()
        ok &= ~bad
    return ok


def iso8601_valid(values: pd.Series, *, duration: bool = False) -> np.ndarray:
    """True for missing values and valid ISO 8601 dates/datetimes (incl. partial dates and
    intervals ``start/end``); with ``duration`` also ISO 8601 durations such as ``P2DT4H``."""
    s = pd.Series(values, dtype=object)
    missing = (s.isna() | (s.astype(str).str.strip() == "")).to_numpy()
    text = s.where(~missing, "2000").astype(str)
    halves = text.str.split("/", n=1, expand=True)
    if halves.shape[1] == 1:
        halves[1] = None
    ok = np.ones(len(s), dtype=bool)
    for i in (0, 1):
        part = halves[i]
        present = part.notna().to_numpy()
        p = part.where(present, "2000").astype(str)
        good = _datetime_valid(p).copy()
        # durations are allowed in --DUR-like variables and as one side of an interval
        if duration or halves[1].notna().any():
            good |= p.str.match(DURATION_RE).fillna(False).to_numpy(dtype=bool)
        ok &= good | ~present
    if duration:
        # a duration variable holds a duration (or interval), not a plain date
        plain = halves[1].isna().to_numpy()
        ok &= ~plain | text.str.match(DURATION_RE).fillna(False).to_numpy(dtype=bool) | missing
    return ok | missing


def iso_bounds(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Earliest and latest instant a right-truncated ISO value may mean, and whether it has
    at least day precision. Other values give NaT."""
    s = pd.Series(values, dtype=object).astype(str)
    p = s.str.extract(TRUNCATED_RE)
    c = [pd.to_numeric(p[i], errors="coerce") for i in range(6)]
    y, mo, d, h, mi, se = c
    lo = pd.to_datetime(pd.DataFrame({
        "year": y, "month": mo.fillna(1), "day": d.fillna(1), "hour": h.fillna(0),
        "minute": mi.fillna(0), "second": se.fillna(0)}), errors="coerce")
    one_s = pd.Timedelta(seconds=1)
    next_year = pd.to_datetime(pd.DataFrame({"year": y + 1, "month": 1, "day": 1}),
                               errors="coerce")
    next_month = pd.to_datetime(pd.DataFrame({
        "year": y + (mo == 12), "month": mo % 12 + 1, "day": 1}), errors="coerce")
    # the latest instant at the value's own precision (year ... second)
    hi = next_year - one_s
    hi = hi.where(mo.isna(), next_month - one_s)
    hi = hi.where(d.isna(), lo + pd.Timedelta(days=1) - one_s)
    hi = hi.where(h.isna(), lo + pd.Timedelta(hours=1) - one_s)
    hi = hi.where(mi.isna(), lo + pd.Timedelta(minutes=1) - one_s)
    hi = hi.where(se.isna(), lo + one_s - pd.Timedelta(microseconds=1))
    hi = hi.where(lo.notna())
    return lo, hi, d.notna() & lo.notna()


def _date_columns(ctx: Context, ds: Dataset, duration: bool) -> list[str]:
    # numeric variables are SAS dates/durations (e.g. ADaM TRTDUR), not ISO 8601 text
    cols = [c for c in ctx.columns(ds) if not pd.api.types.is_numeric_dtype(ds.data[c].dtype)]
    if duration:
        return [c for c in cols if c.endswith(DURATION_SUFFIXES)]
    return [c for c in cols if c.endswith("DTC")]


@operator("iso8601")
def iso8601(ctx: Context, ds: Dataset, duration: bool = False) -> pd.DataFrame:
    """Every --DTC (or, with ``duration``, --DUR/--ELTM/--EVLINT) value is valid ISO 8601."""
    cols = _date_columns(ctx, ds, duration)
    if not cols:
        raise Skip(f"{ds.name} has no {'duration' if duration else '--DTC'} variables")
    parts = []
    for col in cols:
        ok = ctx.per_unique(ds, col, lambda u: iso8601_valid(u, duration=duration))
        rows = np.flatnonzero(~ok.astype(bool))
        if len(rows):
            parts.append(findings(row=rows, variable=col, value=ds.data[col].to_numpy()[rows],
                                  expected="ISO 8601 duration" if duration else "ISO 8601"))
    return pd.concat(parts, ignore_index=True) if parts else None


def _day_of(ctx: Context, ds: Dataset, column: str) -> np.ndarray:
    """Date (datetime64[D]) of each row where the value has at least day precision."""
    def dates(u: pd.Series) -> np.ndarray:
        lo, _, has_day = iso_bounds(u)
        return lo.dt.floor("D").where(has_day).to_numpy(dtype="datetime64[ns]")
    return ctx.per_unique(ds, column, dates)


def _subject_dates(ctx: Context, ds: Dataset, reference: str, bound: str = "lo") -> np.ndarray:
    """Per row: the reference date of the row's subject (from DM), lower or upper bound."""
    ref = ctx.subject_values(reference)
    if ref is None:
        raise Skip(f"DM.{reference} not available (DM absent or without {reference})")
    if "USUBJID" not in ds.data.columns:
        raise Skip(f"{ds.name} has no USUBJID")
    lo, hi, has_day = iso_bounds(ref.to_numpy())
    value = (lo.dt.floor("D").where(has_day) if bound == "day" else (lo if bound == "lo" else hi))
    by_subject = pd.Series(value.to_numpy(dtype="datetime64[ns]"), index=ref.index)
    if by_subject.isna().all():
        raise Skip(f"DM.{reference} is not populated")
    return ctx.per_unique(ds, "USUBJID",
                          lambda u: u.map(by_subject).to_numpy(dtype="datetime64[ns]"))


@operator("study_day")
def study_day(ctx: Context, ds: Dataset, reference: str = "RFSTDTC") -> pd.DataFrame:
    """--DY equals the day count from DM.RFSTDTC to --DTC, with no day 0 (day 1 = RFSTDTC)."""
    pairs = [(c, c[:-2] + "DTC") for c in ctx.columns(ds)
             if c.endswith("DY") and c[:-2] + "DTC" in ds.data.columns]
    if not pairs:
        raise Skip(f"{ds.name} has no --DY/--DTC pair")
    ref = _subject_dates(ctx, ds, reference, bound="day")
    parts = []
    for dy, dtc in pairs:
        day = _day_of(ctx, ds, dtc)
        delta = ((day - ref) / np.timedelta64(1, "D"))
        expected = np.where(delta >= 0, delta + 1, delta)
        actual = pd.to_numeric(ds.data[dy], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isnan(actual) & ~np.isnan(expected) & (actual != expected)
        rows = np.flatnonzero(bad)
        if len(rows):
            parts.append(findings(row=rows, variable=dy, value=actual[rows],
                                  expected=expected[rows], date_variable=dtc,
                                  date=ds.data[dtc].to_numpy()[rows]))
    return pd.concat(parts, ignore_index=True) if parts else None


@operator("study_day_not_zero")
def study_day_not_zero(ctx: Context, ds: Dataset) -> pd.DataFrame:
    """Study day variables (--DY, --STDY, --ENDY, VISITDY) are never 0."""
    cols = [c for c in ctx.columns(ds) if c.endswith("DY")
            and pd.api.types.is_numeric_dtype(ds.data[c].dtype)]
    if not cols:
        raise Skip(f"{ds.name} has no numeric study day variable")
    parts = []
    for col in cols:
        rows = np.flatnonzero((ds.data[col] == 0).to_numpy())
        if len(rows):
            parts.append(findings(row=rows, variable=col, value=0))
    return pd.concat(parts, ignore_index=True) if parts else None


@operator("start_before_end")
def start_before_end(ctx: Context, ds: Dataset, start: str = "--STDTC",
                     end: str = "--ENDTC") -> pd.DataFrame:
    """The start cannot be after the end. Partial dates are compared by their bounds: only a
    start whose earliest possible instant is after the end's latest one is reported."""
    s_col, e_col = ctx.expand(ds.name, start), ctx.expand(ds.name, end)
    missing = [c for c in (s_col, e_col) if c not in ds.data.columns]
    if missing:
        raise Skip(f"{ds.name} has no {', '.join(missing)}")
    s_lo = ctx.per_unique(ds, s_col, lambda u: iso_bounds(u)[0].to_numpy("datetime64[ns]"))
    e_hi = ctx.per_unique(ds, e_col, lambda u: iso_bounds(u)[1].to_numpy("datetime64[ns]"))
    rows = np.flatnonzero(s_lo > e_hi)   # NaT compares False
    start_v = ds.data[s_col].to_numpy()[rows]
    end_v = ds.data[e_col].to_numpy()[rows]
    return findings(row=rows, variable=s_col, value=start_v, expected=f"<= {e_col}",
                    end_variable=e_col, end=end_v)


@operator("after_reference_date")
def after_reference_date(ctx: Context, ds: Dataset, reference: str = "RFICDTC",
                         variables: list[str] | None = None) -> pd.DataFrame:
    """Record dates are not before the subject's DM reference date (e.g. informed consent).
    A record is reported only when its latest possible instant precedes the reference's
    earliest one."""
    cols = [ctx.expand(ds.name, v) for v in (variables or ["--DTC", "--STDTC"])]
    cols = [c for c in cols if c in ds.data.columns]
    if not cols:
        raise Skip(f"{ds.name} has none of {', '.join(variables or ['--DTC', '--STDTC'])}")
    ref = _subject_dates(ctx, ds, reference, bound="lo")
    parts = []
    for col in cols:
        hi = ctx.per_unique(ds, col, lambda u: iso_bounds(u)[1].to_numpy("datetime64[ns]"))
        rows = np.flatnonzero(hi < ref)
        if len(rows):
            parts.append(findings(row=rows, variable=col, value=ds.data[col].to_numpy()[rows],
                                  expected=f">= DM.{reference}", reference=reference))
    return pd.concat(parts, ignore_index=True) if parts else None
