"""Dates and times from ISO 8601 --DTC values, with imputation and imputation flags.

Imputation levels (``highest_imputation``), lowest to highest: ``"n"`` none, then for times
``"s"``, ``"m"``, ``"h"``, then for dates ``"D"`` (day), ``"M"`` (month and day), ``"Y"`` (year
too: a missing year is never guessed, so "Y" imputes the same as "M" and a date without year stays
missing). ``date_imputation`` is ``"first"``, ``"mid"`` (day 15, or June 30 when the month is
missing) or ``"last"``; ``time_imputation`` is ``"first"`` (00:00:00) or ``"last"`` (23:59:59).
Flags follow ADaMIG: --DTF "Y"/"M"/"D" = highest date component imputed; --TMF "H"/"M"/"S".

>>> import pandas as pd
>>> df = pd.DataFrame({"AESTDTC": ["2014-03-12", "2014-03", "2014", None]})
>>> out = derive_vars_dt(df, "AST", "AESTDTC", highest_imputation="M")
>>> out["ASTDT"].dt.strftime("%Y-%m-%d").tolist()
['2014-03-12', '2014-03-01', '2014-01-01', nan]
>>> out["ASTDTF"].tolist()
[None, 'D', 'M', None]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from converter.adam.derivations._common import DerivationError, require_columns

_DTC_PATTERN = (
    r"^(?P<y>\d{4}|-)?(?:-(?P<m>\d{2}|-)(?:-(?P<d>\d{2}|-))?)?"
    r"(?:T(?P<H>\d{2}|-)(?::(?P<M>\d{2}|-)(?::(?P<S>\d{2})(?:\.\d+)?)?)?)?$"
)
_LEVELS = {"n": 0, "s": 1, "m": 2, "h": 3, "D": 4, "M": 5, "Y": 6}
_DATE_IMPUTATIONS = ("first", "mid", "last")
_TIME_IMPUTATIONS = ("first", "last")


def compute_dtc_parts(dtc: pd.Series) -> pd.DataFrame:
    """Split --DTC strings into numeric components y, m, d, H, M, S plus ``valid``.

    ``valid`` is False for a non-empty value that is not ISO 8601 (or has an impossible
    month/day/time); empty values are valid and give all components missing.
    """
    # parse each distinct value once: dates repeat heavily in findings domains
    values = dtc.to_numpy(dtype=object) if dtc.dtype != object else dtc.to_numpy()
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    parts_u = _parts_of_unique(pd.Series(uniques, dtype="string").str.strip())
    na = codes < 0
    take = np.clip(codes, 0, None)
    out = pd.DataFrame(index=dtc.index)
    for col in ("y", "m", "d", "H", "M", "S"):
        vals = parts_u[col].to_numpy(dtype=float)
        out[col] = np.where(na, np.nan, vals[take]) if len(vals) else np.nan
    valid = parts_u["valid"].to_numpy(dtype=bool)
    out["valid"] = np.where(na, True, valid[take]) if len(valid) else True
    return out


def _parts_of_unique(text: pd.Series) -> pd.DataFrame:
    empty = text.isna() | (text == "")
    parts = text.str.extract(_DTC_PATTERN)
    matched = (parts.notna().any(axis=1)
               | text.str.fullmatch(r"-*").fillna(False).astype(bool)).astype(bool)
    empty = empty.fillna(True).astype(bool)
    out = pd.DataFrame(index=text.index)
    for col in ("y", "m", "d", "H", "M", "S"):
        raw = parts[col].astype(object).where(parts[col].notna() & (parts[col] != "-"), None)
        out[col] = pd.to_numeric(raw, errors="coerce").astype(float)
    bad_range = ((out["m"] < 1) | (out["m"] > 12) | (out["d"] < 1) | (out["d"] > 31)
                 | (out["H"] > 23) | (out["M"] > 59) | (out["S"] > 59))
    # a complete date must exist in the calendar (no 31 FEB)
    full = out[["y", "m", "d"]].notna().all(axis=1) & ~bad_range
    cal = pd.to_datetime(
        pd.DataFrame({"year": out["y"].where(full, 2000), "month": out["m"].where(full, 1),
                      "day": out["d"].where(full, 1)}), errors="coerce")
    bad_cal = full & cal.isna()
    out["valid"] = ((empty | (matched & ~bad_range)) & ~bad_cal).fillna(False).astype(bool)
    # invalid values give no components at all
    out.loc[~out["valid"], ["y", "m", "d", "H", "M", "S"]] = np.nan
    return out


def _check_levels(highest_imputation: str, date_imputation: str, time_imputation: str) -> None:
    if highest_imputation not in _LEVELS:
        raise DerivationError(f"highest_imputation {highest_imputation!r} not one of {list(_LEVELS)}")
    if date_imputation not in _DATE_IMPUTATIONS:
        raise DerivationError(f"date_imputation {date_imputation!r} not one of {_DATE_IMPUTATIONS}")
    if time_imputation not in _TIME_IMPUTATIONS:
        raise DerivationError(f"time_imputation {time_imputation!r} not one of {_TIME_IMPUTATIONS}")


def _impute_date(parts: pd.DataFrame, level: int, date_imputation: str
                 ) -> tuple[pd.Series, pd.Series]:
    y, m, d = parts["y"], parts["m"], parts["d"]
    has_y = y.notna()
    miss_m = has_y & m.isna()
    miss_d = has_y & m.notna() & d.isna()
    complete = has_y & m.notna() & d.notna()
    ok_m = miss_m & (level >= _LEVELS["M"])
    ok_d = miss_d & (level >= _LEVELS["D"])
    usable = complete | ok_m | ok_d
    month = m.copy()
    month[ok_m] = {"first": 1, "mid": 6, "last": 12}[date_imputation]
    first_of_month = pd.to_datetime(
        pd.DataFrame({"year": y.where(usable, 2000), "month": month.where(usable, 1), "day": 1}),
        errors="coerce")
    if date_imputation == "first":
        imputed_day = first_of_month
    elif date_imputation == "mid":
        imputed_day = first_of_month + pd.Timedelta(days=14)
        imputed_day = imputed_day.where(~ok_m, first_of_month + pd.offsets.MonthEnd(0))
    else:
        imputed_day = first_of_month + pd.offsets.MonthEnd(0)
    exact = pd.to_datetime(
        pd.DataFrame({"year": y.where(complete, 2000), "month": m.where(complete, 1),
                      "day": d.where(complete, 1)}), errors="coerce")
    date = exact.where(complete, imputed_day).where(usable)
    flag = np.select([ok_m.to_numpy(), ok_d.to_numpy()], ["M", "D"], default=None)
    return date, pd.Series(flag.astype(object), index=parts.index, dtype=object)


def derive_vars_dt(dataset: pd.DataFrame, new_vars_prefix: str, dtc: str, *,
                   highest_imputation: str = "n", date_imputation: str = "first",
                   flag_imputation: str = "auto", max_dates: Sequence[str] = ()
                   ) -> pd.DataFrame:
    """Add ``<prefix>DT`` (and ``<prefix>DTF`` when imputation is allowed) from ``dtc``.

    ``max_dates``: columns of dates that an imputed date may not exceed (e.g. a death date).
    Invalid or non-imputable values give a missing date (find them with ``compute_dtc_parts``).
    """
    require_columns(dataset, [dtc, *max_dates], what="derive_vars_dt")
    _check_levels(highest_imputation, date_imputation, "first")
    def per_value(u: pd.Series) -> pd.DataFrame:
        d, f = _impute_date(compute_dtc_parts(u), _LEVELS[highest_imputation], date_imputation)
        return pd.DataFrame({"date": d, "flag": f})

    res = _by_distinct(dataset[dtc], per_value)
    date, flag = res["date"], res["flag"]
    for col in max_dates:
        cap = pd.to_datetime(dataset[col]).dt.normalize()
        over = flag.notna() & cap.notna() & (date > cap)
        date = date.mask(over, cap)
    out = dataset.copy(deep=False)  # columns are replaced, never written in place
    out[f"{new_vars_prefix}DT"] = date.astype("datetime64[ns]")
    if flag_imputation == "date" or (flag_imputation == "auto" and highest_imputation != "n"):
        out[f"{new_vars_prefix}DTF"] = flag
    return out


def derive_vars_dtm(dataset: pd.DataFrame, new_vars_prefix: str, dtc: str, *,
                    highest_imputation: str = "h", date_imputation: str = "first",
                    time_imputation: str = "first", flag_imputation: str = "auto"
                    ) -> pd.DataFrame:
    """Add ``<prefix>DTM``, ``<prefix>DTF`` and ``<prefix>TMF`` from ``dtc``.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"EXSTDTC": ["2014-01-02T08:30", "2014-01-02"]})
    >>> out = derive_vars_dtm(df, "TRTS", "EXSTDTC")
    >>> out["TRTSDTM"].astype(str).tolist(), out["TRTSTMF"].tolist()
    (['2014-01-02 08:30:00', '2014-01-02 00:00:00'], ['S', 'H'])
    """
    require_columns(dataset, [dtc], what="derive_vars_dtm")
    _check_levels(highest_imputation, date_imputation, time_imputation)
    level = _LEVELS[highest_imputation]
    res = _by_distinct(dataset[dtc], lambda u: _dtm_of(u, level, date_imputation,
                                                       time_imputation))
    dtm, dflag, tflag, ok = res["dtm"], res["dflag"], res["tflag"], res["ok"].astype(bool)
    out = dataset.copy(deep=False)
    out[f"{new_vars_prefix}DTM"] = dtm.astype("datetime64[ns]")
    if flag_imputation in ("auto", "both", "date") and level >= _LEVELS["D"]:
        out[f"{new_vars_prefix}DTF"] = dflag.where(ok, None)
    if flag_imputation in ("auto", "both", "time"):
        out[f"{new_vars_prefix}TMF"] = tflag
    return out


def _dtm_of(u: pd.Series, level: int, date_imputation: str, time_imputation: str
            ) -> pd.DataFrame:
    parts = compute_dtc_parts(u)
    date, dflag = _impute_date(parts, level, date_imputation)
    first = time_imputation == "first"
    hh, mm, ss = parts["H"], parts["M"], parts["S"]
    date_imputed = dflag.notna()
    miss_h = hh.isna() | date_imputed
    miss_m = ~miss_h & mm.isna()
    miss_s = ~miss_h & ~miss_m & ss.isna()
    ok = date.notna() & ~(miss_h & (level < _LEVELS["h"])) & ~(miss_m & (level < _LEVELS["m"])) \
        & ~(miss_s & (level < _LEVELS["s"]))
    h = hh.where(~miss_h, 0 if first else 23)
    mi = mm.where(~(miss_h | miss_m), 0 if first else 59)
    s = ss.where(~(miss_h | miss_m | miss_s), 0 if first else 59)
    dtm = (date + pd.to_timedelta(h.fillna(0) * 3600 + mi.fillna(0) * 60 + s.fillna(0), unit="s"))
    tflag = np.select([(ok & miss_h).to_numpy(), (ok & miss_m).to_numpy(),
                       (ok & miss_s).to_numpy()], ["H", "M", "S"], default=None).astype(object)
    return pd.DataFrame({"dtm": dtm.where(ok), "dflag": dflag, "tflag": tflag, "ok": ok},
                        index=u.index)


def _by_distinct(values: pd.Series, fn) -> pd.DataFrame:
    """Run ``fn`` (Series → DataFrame, one row per input) on the distinct values only and
    spread the result back to every row: dates repeat heavily in findings domains."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    distinct = pd.Series(list(uniques) + [None], dtype=object)
    res = fn(distinct).reset_index(drop=True)
    out = res.iloc[np.where(codes < 0, len(distinct) - 1, codes)].reset_index(drop=True)
    out.index = values.index
    return out


def derive_vars_dtm_to_dt(dataset: pd.DataFrame, source_vars: Sequence[str]) -> pd.DataFrame:
    """``TRTSDTM`` → ``TRTSDT``: the date part of datetime variables."""
    require_columns(dataset, source_vars, what="derive_vars_dtm_to_dt")
    out = dataset.copy(deep=False)
    for var in source_vars:
        if not var.endswith("DTM"):
            raise DerivationError(f"derive_vars_dtm_to_dt: {var!r} does not end in DTM")
        out[var[:-1]] = pd.to_datetime(out[var]).dt.normalize()
    return out


def compute_dy(reference_date: pd.Series, date: pd.Series) -> pd.Series:
    """Study day: date − reference + 1 on or after the reference, date − reference before (no day 0)."""
    ref = pd.to_datetime(reference_date).dt.normalize()
    days = (pd.to_datetime(date).dt.normalize() - ref).dt.days
    return days.where(days < 0, days + 1).astype("Float64")


def derive_vars_dy(dataset: pd.DataFrame, reference_date: str,
                   source_vars: Sequence[str] | dict[str, str]) -> pd.DataFrame:
    """Add study days: ``ADT`` → ``ADY``, ``ASTDT``/``ASTDTM`` → ``ASTDY`` (or ``{new: source}``).

    >>> import pandas as pd
    >>> df = pd.DataFrame({"TRTSDT": pd.to_datetime(["2014-01-02"] * 3),
    ...                    "ADT": pd.to_datetime(["2014-01-01", "2014-01-02", "2014-01-09"])})
    >>> derive_vars_dy(df, "TRTSDT", ["ADT"])["ADY"].tolist()
    [-1.0, 1.0, 8.0]
    """
    if isinstance(source_vars, dict):
        pairs = dict(source_vars)
    else:
        pairs = {}
        for var in source_vars:
            stem = var[:-3] if var.endswith("DTM") else var[:-2] if var.endswith("DT") else None
            if stem is None:
                raise DerivationError(f"derive_vars_dy: cannot name the day of {var!r}; "
                                      "pass a mapping {new_var: source_var}")
            pairs[stem + "DY"] = var
    require_columns(dataset, [reference_date, *pairs.values()], what="derive_vars_dy")
    out = dataset.copy(deep=False)
    for new, src in pairs.items():
        out[new] = compute_dy(out[reference_date], out[src]).astype(float)
    return out


def derive_vars_duration(dataset: pd.DataFrame, new_var: str, start_date: str, end_date: str, *,
                         out_unit: str = "days", add_one: bool = True,
                         new_var_unit: str | None = None) -> pd.DataFrame:
    """Duration between two dates in days or weeks (``add_one``: count both ends, ADaM habit)."""
    require_columns(dataset, [start_date, end_date], what="derive_vars_duration")
    divisor = {"days": 1.0, "weeks": 7.0}.get(out_unit)
    if divisor is None:
        raise DerivationError(f"derive_vars_duration: out_unit {out_unit!r} not in days, weeks")
    days = (pd.to_datetime(dataset[end_date]).dt.normalize()
            - pd.to_datetime(dataset[start_date]).dt.normalize()).dt.days.astype(float)
    if add_one:
        days = days.where(days < 0, days + 1)
    out = dataset.copy(deep=False)
    out[new_var] = days / divisor
    if new_var_unit:
        out[new_var_unit] = np.where(out[new_var].notna(), out_unit.upper(), None)
    return out
