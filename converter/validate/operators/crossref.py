"""Cross-dataset references: subjects in DM, arms in TA, epochs in SE/TA, visits in TV, and
SUPP--/RELREC records that must point at an existing parent record."""

from __future__ import annotations

import numpy as np
import pandas as pd

from converter.model import Dataset
from converter.validate.context import Context, number_text
from converter.validate.operators import Skip, findings, operator
from converter.validate.operators.identity import group_codes


@operator("subject_in_reference")
def subject_in_reference(ctx: Context, ds: Dataset, reference: str = "DM") -> pd.DataFrame:
    """Every USUBJID of the dataset is a subject of the reference dataset (DM or ADSL)."""
    if ds.name == reference:
        raise Skip(f"{ds.name} is the reference dataset")
    ref = ctx.frame(reference)
    if ref is None:
        raise Skip(f"dataset {reference} not present")
    if "USUBJID" not in ds.data.columns:
        raise Skip(f"{ds.name} has no USUBJID")
    known = set(ref["USUBJID"].dropna())
    blank = ctx.blank(ds, "USUBJID")
    ok = ctx.per_unique(ds, "USUBJID", lambda u: u.isin(known)) | blank
    rows = np.flatnonzero(~ok.astype(bool))
    return findings(row=rows, variable="USUBJID", value=ds.data["USUBJID"].to_numpy()[rows],
                    reference=reference)


@operator("arm_in_trial_arms")
def arm_in_trial_arms(ctx: Context, ds: Dataset, pairs: list[list[str]] | None = None,
                      exempt: list[str] | None = None) -> pd.DataFrame:
    """DM ARMCD/ARM (and ACTARMCD/ACTARM) pairs are arms of TA, except the exempt codes
    (screen failures, not assigned, not treated, unplanned)."""
    ta = ctx.frame("TA")
    if ta is None:
        raise Skip("dataset TA not present")
    if not {"ARMCD", "ARM"} <= set(ta.columns):
        raise Skip("TA has no ARMCD/ARM")
    arms = set(zip(ta["ARMCD"], ta["ARM"]))
    # compared case-insensitively: older studies (e.g. the CDISC pilot) wrote "Scrnfail"
    exempt_codes = {c.upper() for c in (exempt or ["SCRNFAIL", "NOTASSGN", "NOTTRT", "UNPLAN"])}
    parts = []
    for code, label in pairs or [["ARMCD", "ARM"], ["ACTARMCD", "ACTARM"]]:
        if not {code, label} <= set(ds.data.columns):
            continue
        frame = ds.data[[code, label]]
        combo = pd.Series(list(zip(frame[code], frame[label])), dtype=object)
        ok = combo.isin(arms).to_numpy() | frame[code].astype(str).str.upper().isin(exempt_codes).to_numpy() \
            | ctx.blank(ds, code)
        rows = np.flatnonzero(~ok)
        if len(rows):
            parts.append(findings(row=rows, variable=code,
                                  value=(frame[code].astype(str) + " / "
                                         + frame[label].astype(str)).to_numpy()[rows],
                                  expected="an ARMCD/ARM pair of TA"))
    if not parts and not any({c, lab} <= set(ds.data.columns)
                             for c, lab in pairs or [["ARMCD", "ARM"]]):
        raise Skip(f"{ds.name} has no ARMCD/ARM")
    return pd.concat(parts, ignore_index=True) if parts else None


def _pairs_ok(ctx: Context, ds: Dataset, columns: list[str], check) -> np.ndarray:
    """Evaluate ``check(frame of distinct value combinations) -> bool array`` once per
    distinct combination of ``columns`` and spread the answer to every row."""
    key = group_codes(ctx, ds, columns)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    distinct = ds.data[columns].iloc[first].reset_index(drop=True)
    return np.asarray(check(distinct), dtype=bool)[inverse]


@operator("epoch_in_design")
def epoch_in_design(ctx: Context, ds: Dataset) -> pd.DataFrame:
    """EPOCH is an epoch the subject went through according to SE (SE.EPOCH, or the epochs
    of the subject's elements in TA); without SE, an epoch of TA."""
    if "EPOCH" not in ds.data.columns:
        raise Skip(f"{ds.name} has no EPOCH")
    se, ta = ctx.frame("SE"), ctx.frame("TA")
    blank = ctx.blank(ds, "EPOCH")
    if se is not None and "USUBJID" in ds.data.columns and ds.name != "SE":
        if "EPOCH" in se.columns:
            allowed = se[["USUBJID", "EPOCH"]]
        elif ta is not None and {"ETCD", "EPOCH"} <= set(ta.columns):
            allowed = se[["USUBJID", "ETCD"]].merge(ta[["ETCD", "EPOCH"]].drop_duplicates(),
                                                   on="ETCD")[["USUBJID", "EPOCH"]]
        else:
            raise Skip("neither SE.EPOCH nor TA.ETCD/EPOCH available")
        known = pd.MultiIndex.from_frame(allowed.drop_duplicates().astype(object))
        ok = _pairs_ok(ctx, ds, ["USUBJID", "EPOCH"],
                       lambda d: pd.MultiIndex.from_frame(d.astype(object)).isin(known)) | blank
        expected = "an epoch of the subject in SE"
    elif ta is not None and "EPOCH" in ta.columns:
        epochs = set(ta["EPOCH"].dropna())
        ok = ctx.per_unique(ds, "EPOCH", lambda u: u.isin(epochs)).astype(bool) | blank
        expected = "an epoch of TA"
    else:
        raise Skip("datasets SE and TA not present")
    rows = np.flatnonzero(~ok)
    return findings(row=rows, variable="EPOCH", value=ds.data["EPOCH"].to_numpy()[rows],
                    expected=expected)


@operator("visit_in_trial_visits")
def visit_in_trial_visits(ctx: Context, ds: Dataset,
                          unscheduled_pattern: str = r"UNSCHED|UNPLAN|EARLY|RETRIEVAL|AMBUL"
                          ) -> pd.DataFrame:
    """Planned visits (VISITNUM, and VISIT when present) are visits of TV. Unscheduled visits
    (non-integer VISITNUM or a VISIT naming them unscheduled) are exempt."""
    if "VISITNUM" not in ds.data.columns:
        raise Skip(f"{ds.name} has no VISITNUM")
    if ds.name == "TV":
        raise Skip("TV is the reference")
    tv = ctx.frame("TV")
    if tv is None:
        raise Skip("dataset TV not present")
    columns = ["VISITNUM", "VISIT"] if "VISIT" in ds.data.columns else ["VISITNUM"]
    tv_nums = pd.to_numeric(tv["VISITNUM"], errors="coerce")
    tv_pairs = set(zip(tv_nums, tv["VISIT"])) if "VISIT" in tv.columns else set()

    def bad(distinct: pd.DataFrame) -> np.ndarray:
        num = pd.to_numeric(distinct["VISITNUM"], errors="coerce")
        planned = num.notna() & (num == np.floor(num.fillna(0)))
        if "VISIT" in distinct.columns and tv_pairs:
            planned &= ~distinct["VISIT"].astype(str).str.upper().str.contains(
                unscheduled_pattern, regex=True)
            known = pd.Series(list(zip(num, distinct["VISIT"])), dtype=object).isin(tv_pairs)
        else:
            known = num.isin(set(tv_nums))
        return (planned & ~known).to_numpy()
    wrong = _pairs_ok(ctx, ds, columns, bad)
    rows = np.flatnonzero(wrong)
    value = number_text(pd.to_numeric(ds.data["VISITNUM"].iloc[rows], errors="coerce"))
    if "VISIT" in ds.data.columns and tv_pairs:
        value = value.astype(str) + " / " + ds.data["VISIT"].iloc[rows].astype(str)
        expected = "a VISITNUM/VISIT pair of TV"
    else:
        expected = "a VISITNUM of TV"
    return findings(row=rows, variable="VISITNUM", value=value.to_numpy(), expected=expected)


def _stripped(values: pd.Series) -> np.ndarray:
    """Text of a column, stripped, missing -> '' (object, Categorical or string columns)."""
    return values.astype(object).where(values.notna(), "").astype(str).str.strip().to_numpy()


@operator("qualifier_parent_exists")
def qualifier_parent_exists(ctx: Context, ds: Dataset) -> pd.DataFrame:
    """SUPP--/RELREC records resolve to a parent: RDOMAIN is a dataset, IDVAR one of its
    variables, and USUBJID + IDVAR=IDVARVAL a record of it (subject level when IDVAR is
    blank)."""
    need = {"RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL"}
    if not need <= set(ds.data.columns):
        raise Skip(f"{ds.name} lacks {', '.join(sorted(need - set(ds.data.columns)))}")
    data = ds.data
    rdomain = _stripped(data["RDOMAIN"])
    idvar = _stripped(data["IDVAR"])
    idval = _stripped(ctx.text(ds, "IDVARVAL"))
    usubjid = _stripped(data["USUBJID"])
    problem = np.full(len(data), None, dtype=object)
    groups = pd.DataFrame({"d": rdomain, "v": idvar}).groupby(["d", "v"], sort=True, observed=True).indices
    for (dom, var), idx in groups.items():
        parent = ctx.get(dom) if dom else None
        if parent is None:
            problem[idx] = f"RDOMAIN '{dom}' is not a dataset of the study"
            continue
        if var and var not in parent.data.columns:
            problem[idx] = f"IDVAR {var} is not a variable of {dom}"
            continue
        if "USUBJID" in parent.data.columns:
            subj = _stripped(parent.data["USUBJID"])
        else:
            subj = np.full(len(parent.data), "", dtype=object)
        if var:
            pv = _stripped(ctx.text(parent, var))
            found = pd.MultiIndex.from_arrays([usubjid[idx], idval[idx]]).isin(
                pd.MultiIndex.from_arrays([subj, pv]))
            what = f"no {dom} record with this USUBJID and {var}=IDVARVAL"
        else:
            found = pd.Index(usubjid[idx]).isin(subj)
            what = f"no {dom} record for this USUBJID"
        # dataset-level RELREC rows (no subject) do not point at one record
        found |= usubjid[idx] == ""
        problem[idx[~found]] = what
    rows = np.flatnonzero(pd.notna(problem))
    value = pd.Series(rdomain).str.cat([pd.Series(idvar), pd.Series(idval)], sep="|")
    return findings(row=rows, variable="IDVARVAL", value=value.to_numpy()[rows],
                    expected=problem[rows], problem=problem[rows])


@operator("qnam_valid")
def qnam_valid(ctx: Context, ds: Dataset) -> pd.DataFrame:
    """QNAM values are valid variable names: <= 8 characters, letter first, A-Z0-9_."""
    if "QNAM" not in ds.data.columns:
        raise Skip(f"{ds.name} has no QNAM")
    ok = ctx.per_unique(ds, "QNAM", lambda u: u.isna()
                        | u.astype(str).str.fullmatch(r"[A-Z][A-Z0-9_]{0,7}"))
    rows = np.flatnonzero(~ok.astype(bool))
    return findings(row=rows, variable="QNAM", value=ds.data["QNAM"].to_numpy()[rows])
