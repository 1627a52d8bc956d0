"""Collected date/time strings → ISO 8601, vectorised over distinct values.

Formats are declared per mapping step with these tokens (case-sensitive):

``YYYY`` year · ``MM`` month number · ``MON`` month name (JAN, Jun, JUNE) · ``DD`` day ·
``hh`` hour (24 h) · ``mm`` minute · ``ss`` second · ``ISO8601`` an already-ISO value.
Any other character is literal; a space matches one or more spaces.

Unknown parts written as ``UN``, ``UK``, ``UNK``, ``UNKN``, ``NK``, ``--``, ``XX``… truncate the
ISO value at the first unknown part (``UN JUN 2014`` → ``2014-06``); nothing is invented. A
whole value of ``UNK``/``UNKNOWN``/``NK`` gives an empty result without an issue. Values that
match no declared format, or name an impossible date/time (31 FEB, month 13, 25:61), give an
empty result and are reported as invalid.

>>> import pandas as pd
>>> iso, bad = parse_dates(pd.Series(["12 MAR 2014", "UN JUN 2014", "31 FEB 2014", None]),
...                        ["DD MON YYYY"])
>>> iso.tolist(), bad.tolist()
(['2014-03-12', '2014-06', None, None], [False, False, True, False])
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

UNKNOWN_PART = r"(?:UNKN|UNK|UN|UK|NK|-{1,4}|X{2,4}|\?{2,4})"
UNKNOWN_VALUES = {"UNK", "UNKNOWN", "NK", "UN", "UK", "N/K"}
MONTHS = {m: i for i, m in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1)}

_TOKENS = [
    ("ISO8601", None),
    ("YYYY", rf"(?P<y>\d{{4}}|{UNKNOWN_PART})"),
    ("MON", rf"(?P<mon>[A-Za-z]{{3,9}}|{UNKNOWN_PART})"),
    ("MM", rf"(?P<m>\d{{1,2}}|{UNKNOWN_PART})"),
    ("DD", rf"(?P<d>\d{{1,2}}|{UNKNOWN_PART})"),
    ("hh", rf"(?P<H>\d{{1,2}}|{UNKNOWN_PART})"),
    ("mm", rf"(?P<M>\d{{2}}|{UNKNOWN_PART})"),
    ("ss", rf"(?P<S>\d{{2}}(?:\.\d+)?|{UNKNOWN_PART})"),
]
_ISO = (r"(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
        r"(?:T(?P<H>\d{2})(?::(?P<M>\d{2})(?::(?P<S>\d{2}(?:\.\d+)?))?)?)?)?)?")
PARTS = ["y", "m", "d", "H", "M", "S"]
FORMAT_TOKENS = [t for t, _ in _TOKENS]


def format_regex(fmt: str) -> str:
    """Translate a declared format (e.g. ``DD MON YYYY``) to an anchored regex."""
    if fmt == "ISO8601":
        return _ISO
    out, i = [], 0
    while i < len(fmt):
        for token, rx in _TOKENS:
            if rx and fmt.startswith(token, i):
                out.append(rx)
                i += len(token)
                break
        else:
            ch = fmt[i]
            out.append(r"\s+" if ch == " " else re.escape(ch))
            i += 1
    return "".join(out)


def check_format(fmt: str) -> str | None:
    """Why a declared format is unusable, or None."""
    if fmt == "ISO8601":
        return None
    rx = format_regex(fmt)
    if "(?P<" not in rx:
        return f"format '{fmt}' has no date/time token; use {', '.join(FORMAT_TOKENS)}"
    try:
        re.compile(rx)
    except re.error:
        return f"format '{fmt}' repeats a token"
    return None


def _components(values: pd.Series, formats: list[str]) -> pd.DataFrame:
    """Parts (y, m, d, H, M, S) as strings for each distinct value; ``matched`` flag."""
    parts = pd.DataFrame(index=values.index, columns=PARTS + ["mon"], dtype=object)
    matched = pd.Series(False, index=values.index)
    for fmt in formats:
        todo = ~matched
        if not todo.any():
            break
        rx = f"^\\s*(?:{format_regex(fmt)})\\s*$"
        ex = values[todo].str.extract(rx, flags=re.IGNORECASE)
        hit = values[todo].str.match(rx, flags=re.IGNORECASE).fillna(False).astype(bool)
        idx = hit[hit].index
        for col in ex.columns:
            parts.loc[idx, col] = ex.loc[idx, col]
        matched.loc[idx] = True
    parts["matched"] = matched
    return parts


def _num(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s.where(s.str.fullmatch(r"\d+(?:\.\d+)?")), errors="coerce")


def parse_dates(values: pd.Series, formats: list[str],
                codes: tuple[np.ndarray, pd.Series] | None = None) -> tuple[pd.Series, pd.Series]:
    """ISO 8601 strings (None where empty/invalid) and an ``invalid`` mask, same index.

    Each distinct string is parsed once (factorised), so 5 M rows with 2,000 dates cost 2,000.
    ``codes`` may pass a cached factorisation of ``values``.
    """
    values = pd.Series(values, dtype=object)
    if codes is None:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    else:
        codes, uniques = codes
    uniq = pd.Series(np.asarray(uniques, dtype=object), dtype=object).astype(str)
    iso_u, bad_u = _parse_unique(uniq, formats)
    iso_arr = np.append(iso_u.to_numpy(dtype=object), None)
    bad_arr = np.append(bad_u.to_numpy(dtype=bool), False)
    iso = pd.Series(iso_arr[codes], index=values.index, dtype=object)
    bad = pd.Series(bad_arr[codes], index=values.index, dtype=bool)
    return iso, bad


def _parse_unique(uniq: pd.Series, formats: list[str]) -> tuple[pd.Series, pd.Series]:
    stripped = uniq.str.strip()
    blank = stripped.eq("")
    unknown_whole = stripped.str.upper().isin(UNKNOWN_VALUES)
    comp = _components(uniq, formats)
    unk = {p: comp[p].notna() & comp[p].fillna("").astype(str).str.fullmatch(
        UNKNOWN_PART, case=False) for p in PARTS + ["mon"]}
    # month from name
    mon_name = comp["mon"].where(~unk["mon"]).str.upper().str[:3]
    mon_from_name = mon_name.map(MONTHS)
    bad_name = comp["mon"].notna() & ~unk["mon"] & mon_from_name.isna()
    m_num = _num(comp["m"].where(~unk["m"]).fillna("").astype(str))
    month = m_num.where(comp["mon"].isna(), mon_from_name)
    m_unknown = unk["m"] | unk["mon"]
    y = _num(comp["y"].where(~unk["y"]).fillna("").astype(str))
    d = _num(comp["d"].where(~unk["d"]).fillna("").astype(str))
    hh = _num(comp["H"].where(~unk["H"]).fillna("").astype(str))
    mi = _num(comp["M"].where(~unk["M"]).fillna("").astype(str))
    ss = _num(comp["S"].where(~unk["S"]).fillna("").astype(str))

    invalid = ~comp["matched"] | bad_name
    invalid |= month.notna() & ~month.between(1, 12)
    mon_i = month.fillna(1).clip(1, 12).astype(int)
    # an unknown year counts as leap (2000) so that 29 FEB stays possible
    days = pd.to_datetime(
        pd.DataFrame({"year": y.fillna(2000).astype(int).clip(1000, 9999), "month": mon_i,
                      "day": 1}), errors="coerce").dt.days_in_month
    dim = days.where(month.notna(), 31)
    invalid |= d.notna() & ((d < 1) | (d > dim))
    invalid |= hh.notna() & ~hh.between(0, 23)
    invalid |= mi.notna() & ~mi.between(0, 59)
    invalid |= ss.notna() & ((ss < 0) | (ss >= 60))
    invalid &= ~blank & ~unknown_whole

    # compose, truncating at the first missing/unknown part
    y_s = y.map(lambda v: f"{int(v):04d}" if pd.notna(v) else None) if len(y) else y
    iso = pd.Series(None, index=uniq.index, dtype=object)
    has_y = y.notna()
    iso[has_y] = y_s[has_y]
    has_m = has_y & month.notna() & ~m_unknown
    iso[has_m] = iso[has_m] + "-" + month[has_m].astype(int).map("{:02d}".format)
    has_d = has_m & d.notna()
    iso[has_d] = iso[has_d] + "-" + d[has_d].astype(int).map("{:02d}".format)
    has_h = has_d & hh.notna()
    iso[has_h] = iso[has_h] + "T" + hh[has_h].astype(int).map("{:02d}".format)
    has_mi = has_h & mi.notna()
    iso[has_mi] = iso[has_mi] + ":" + mi[has_mi].astype(int).map("{:02d}".format)
    has_s = has_mi & ss.notna()
    iso[has_s] = iso[has_s] + ":" + comp["S"][has_s].astype(str)
    iso[invalid | blank | unknown_whole] = None
    return iso, invalid


def parse_times(values: pd.Series, formats: list[str]) -> tuple[pd.Series, pd.Series]:
    """Time strings → ``hh``, ``hh:mm`` or ``hh:mm:ss`` (None where empty) and an invalid mask."""
    values = pd.Series(values, dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    u = pd.Series(np.asarray(uniques, dtype=object), dtype=object).astype(str)
    iso, bad = parse_dates("2000-01-01 " + u, [f"YYYY-MM-DD {f}" for f in formats])
    out = iso.str[11:].where(iso.notna() & (iso.str.len() > 10))
    blank = u.str.strip().eq("")
    out = out.where(~blank & out.notna(), None).astype(object)
    bad = (bad & ~blank).to_numpy()
    t = np.append(out.to_numpy(dtype=object), None)[codes]
    b = np.append(bad, False)[codes]
    return pd.Series(t, index=values.index, dtype=object), pd.Series(b, index=values.index)


def combine_date_time(date_iso: pd.Series, time_iso: pd.Series) -> pd.Series:
    """Attach a time only to complete dates (ISO forbids a time after a partial date)."""
    full = date_iso.str.len().eq(10).fillna(False) & time_iso.notna()
    out = date_iso.copy()
    out[full] = date_iso[full] + "T" + time_iso[full]
    return out


def to_date(iso: pd.Series, codes: tuple[np.ndarray, pd.Series] | None = None) -> pd.Series:
    """Complete ISO dates (first 10 characters) as datetime64; NaT for partial/empty.

    Works on the distinct values (``codes`` may pass a cached factorisation).
    """
    from converter.mapping.fast import factorize, text_match

    s = iso if isinstance(iso, pd.Series) else pd.Series(iso, dtype=object)
    if codes is None:
        c, uniques = factorize(s if isinstance(s.dtype, pd.CategoricalDtype)
                               else s.astype(object))
    else:
        c, uniques = codes
    u = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
    head = u.astype(str).str[:10]
    full = pd.Series(text_match(head.where(u.notna()), r"\d{4}-\d{2}-\d{2}", full=True),
                     index=u.index)
    conv = pd.to_datetime(head.where(full), format="%Y-%m-%d", errors="coerce")
    arr = np.append(conv.to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT"))
    return pd.Series(arr[c], index=s.index)


def study_day(dtc: pd.Series, ref: pd.Series, dtc_codes=None, ref_codes=None) -> pd.Series:
    """--DY: days from the reference date, +1 on/after it, no day 0; partial dates → NaN."""
    d = to_date(dtc, dtc_codes).to_numpy()
    r = to_date(ref, ref_codes).to_numpy()
    bad = np.isnat(d) | np.isnat(r)
    with np.errstate(invalid="ignore"):
        delta = ((d - r) // np.timedelta64(1, "D")).astype("float64")
    delta[bad] = np.nan
    return pd.Series(np.where(delta < 0, delta, delta + 1), index=pd.Series(dtc).index)
