"""Preparation shared by the dataset pipelines: SDTM hygiene, typed columns, issues, origins."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from converter.adam.derivations import compute_dtc_parts
from converter.adam.derivations._common import match_rows
from converter.errors import InputError
from converter.issues import IssueLog
from converter.model import SRC_FILE, SRC_ROW

STAGE = "adam"
# SDTM variables that are numeric by the standard (by name suffix or exact name)
_NUMERIC = re.compile(r"^(?:[A-Z]{2}(?:SEQ|STRESN|STNRLO|STNRHI|DOSE|DY|STDY|ENDY|TPTNUM|"
                      r"GRPID_N)|VISITNUM|VISITDY|AGE|TAETORD|DTHADY|EXDOSE|EXSEQ|LBSEQ|AESEQ)$")


def prepare_sdtm(frames: Mapping[str, pd.DataFrame], issues: IssueLog) -> dict[str, pd.DataFrame]:
    """Upper-case names; blank strings → missing; standard numeric variables typed.

    Values that should be numeric but are not are logged (ADAM.NUMERIC) and become missing
    in the derivation input only.
    """
    out: dict[str, pd.DataFrame] = {}
    for name, frame in frames.items():
        df = frame.copy()
        df.columns = [str(c) if str(c).startswith("__") else str(c).upper() for c in df.columns]
        for col in df.columns:
            s = df[col]
            if s.dtype == object or pd.api.types.is_string_dtype(s):
                df[col] = _blank_to_none(s)
            if _NUMERIC.match(col) and not pd.api.types.is_numeric_dtype(df[col]):
                num = _to_numeric(df[col])
                bad = num.isna() & df[col].notna()
                if bad.any():
                    log_rows(issues, df.loc[bad], rule_id="ADAM.NUMERIC", dataset=name.upper(),
                             variable=col, value=df.loc[bad, col],
                             message=f"{col} is not a number; treated as missing in ADaM",
                             severity="warning")
                df[col] = num.astype(float)
        out[name.upper()] = df.reset_index(drop=True)
    return out


def _blank_to_none(s: pd.Series) -> pd.Series:
    """Empty or all-blank strings → None (vectorised through Arrow)."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    u = pd.Series(uniques, dtype=object)
    blank_u = u.astype(str).str.strip().eq("").to_numpy()
    blank = (codes < 0) | np.where(codes < 0, False, blank_u[np.clip(codes, 0, None)]) \
        if len(u) else codes < 0
    values = s.to_numpy(dtype=object, copy=True)
    values[blank] = None
    return pd.Series(values, index=s.index, dtype=object)


def _to_numeric(s: pd.Series) -> pd.Series:
    """pd.to_numeric over distinct values only (columns repeat heavily)."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    nums = pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce").to_numpy(dtype=float)
    out = np.where(codes < 0, np.nan, nums[np.clip(codes, 0, None)] if len(nums) else np.nan)
    return pd.Series(out, index=s.index, dtype=float)


def require(sdtm: Mapping[str, pd.DataFrame], name: str, *, needed_by: str) -> pd.DataFrame:
    if name not in sdtm:
        raise InputError(f"{needed_by} needs SDTM dataset {name}, which is not in the input "
                         f"(have {sorted(sdtm)})", hint=f"add {name.lower()}.xpt/.json/.csv to "
                         "the SDTM folder or change the ADaM configuration")
    return sdtm[name]


def log_rows(issues: IssueLog, rows: pd.DataFrame, *, rule_id: str, dataset: str, message: str,
             variable: str | None = None, value: pd.Series | None = None,
             severity: str = "error") -> int:
    """One issue per row of ``rows`` with its USUBJID and source provenance."""
    if len(rows) == 0:
        return 0
    frame = pd.DataFrame(index=range(len(rows)))
    frame["usubjid"] = rows["USUBJID"].to_numpy() if "USUBJID" in rows else None
    frame["source_file"] = rows[SRC_FILE].to_numpy() if SRC_FILE in rows else None
    frame["source_row"] = rows[SRC_ROW].to_numpy() if SRC_ROW in rows else None
    seq = [c for c in rows.columns if c.endswith("SEQ") and len(c) == 5]
    frame["seq"] = rows[seq[0]].to_numpy() if seq else None
    if value is not None:
        frame["value"] = value.to_numpy()
    return issues.add_frame(frame, rule_id=rule_id, message=message, severity=severity,
                            stage=STAGE, dataset=dataset, variable=variable)


def log_bad_dtc(issues: IssueLog, frame: pd.DataFrame, dtc: str, dataset: str) -> None:
    parts = compute_dtc_parts(frame[dtc])
    bad = ~parts["valid"]
    log_rows(issues, frame.loc[bad], rule_id="ADAM.DATE", dataset=dataset, variable=dtc,
             value=frame.loc[bad, dtc], message=f"{dtc} is not an ISO 8601 date; "
             "the analysis date is left missing")


def coalesce(frame: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """First non-missing value across ``columns`` (those present)."""
    cols = [c for c in columns if c in frame.columns]
    if not cols:
        return pd.Series(None, index=frame.index, dtype=object)
    out = frame[cols[0]].copy()
    for c in cols[1:]:
        out = out.where(out.notna(), frame[c])
    return out


def format_template(frame: pd.DataFrame, template: str) -> pd.Series:
    """Vectorised ``"{LBTEST} ({LBSTRESU})"``; missing when a referenced variable is missing.

    Each distinct combination of the referenced values is formatted once (findings domains
    repeat them millions of times; one shared string object per combination also saves memory).
    """
    pieces = list(string.Formatter().parse(template))
    fields = list(dict.fromkeys(f for _, f, _, _ in pieces if f))
    if not fields:
        return pd.Series(template, index=frame.index, dtype=object)
    keys = frame[fields]
    combos = keys.drop_duplicates()
    codes = match_rows(keys, combos, fields)
    out = pd.Series("", index=combos.index, dtype=object)
    missing = pd.Series(False, index=combos.index)
    for literal, field, _spec, _conv in pieces:
        out = out + literal
        if field:
            col = combos[field]
            missing |= col.isna()
            out = out + col.astype(object).where(col.notna(), "").astype(str)
    formatted = out.where(~missing, None).to_numpy(dtype=object)
    return pd.Series(formatted[codes], index=frame.index, dtype=object)


def origin(kind: str, text: str) -> dict:
    if kind == "Predecessor":
        return {"origin": "Predecessor", "source": text}
    return {"origin": "Derived", "method": text}


def object_none(s: pd.Series) -> pd.Series:
    return s.astype(object).where(s.notna(), None)


def obj_where(cond: np.ndarray | pd.Series, value: object, index: pd.Index) -> pd.Series:
    return pd.Series(np.where(np.asarray(cond), value, None), index=index, dtype=object)


def keep_adsl_subjects(data: pd.DataFrame, adsl: pd.DataFrame, sdtm: Mapping[str, pd.DataFrame],
                       issues: IssueLog, *, source: str, name: str) -> pd.DataFrame:
    """Records of ADSL subjects only. Subjects of DM left out of ADSL by its population filter
    get one notice each (ADAM.NOTINPOP); subjects unknown to DM are errors per record
    (ADAM.ORPHAN). Either way the records are not carried and the log says so."""
    known = data["USUBJID"].isin(adsl["USUBJID"])
    if known.all():
        return data
    in_dm = data["USUBJID"].isin(sdtm["DM"]["USUBJID"]) if "DM" in sdtm else \
        pd.Series(False, index=data.index)
    excluded = data.loc[~known & in_dm]
    counts = excluded.groupby("USUBJID", observed=True).size()
    first = excluded.drop_duplicates("USUBJID")
    log_rows(issues, first, rule_id="ADAM.NOTINPOP", dataset=name, variable="USUBJID",
             value=first["USUBJID"].map(counts).astype(str) + f" {source} records",
             severity="notice", message=f"subject left out of ADSL by its population filter; "
             f"its {source} records are not carried into {name}")
    orphan = data.loc[~known & ~in_dm]
    log_rows(issues, orphan, rule_id="ADAM.ORPHAN", dataset=name, variable="USUBJID",
             value=orphan["USUBJID"], message=f"{source} record of a subject not in DM; not "
             f"carried into {name}")
    return data.loc[known].reset_index(drop=True)
