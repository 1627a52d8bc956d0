"""BDS datasets from a findings domain (ADLB from LB): parameters, visits, baseline, LOCF."""

from __future__ import annotations

import numpy as np
import pandas as pd

from converter.adam.config import BdsConfig
from converter.adam.datasets._common import (
    coalesce,
    format_template,
    keep_adsl_subjects,
    log_bad_dtc,
    log_rows,
    object_none,
    origin,
    require,
)
from converter.adam.derivations import (
    derive_locf_records,
    derive_var_anrind,
    derive_var_base,
    derive_var_chg,
    derive_var_extreme_flag,
    derive_var_obs_number,
    derive_var_ontrtfl,
    derive_var_pchg,
    derive_var_shift,
    derive_vars_dt,
    derive_vars_dy,
    derive_vars_merged,
    derive_vars_visit_map,
    derive_vars_visit_window,
    expected_visits,
)
from converter.adam.derivations._common import require_columns
from converter.adam.filters import compile_filter
from converter.issues import IssueLog
from converter.model import PROVENANCE_COLUMNS

KEYS = ["STUDYID", "USUBJID"]


def windows_frame(cfg: BdsConfig) -> pd.DataFrame:
    return pd.DataFrame({"AVISIT": [w.avisit for w in cfg.visits.windows],
                         "AVISITN": [w.avisitn for w in cfg.visits.windows],
                         "AWLO": [w.lo for w in cfg.visits.windows],
                         "AWHI": [w.hi for w in cfg.visits.windows],
                         "AWTARGET": [w.target for w in cfg.visits.windows]})


def derive_bds(cfg: BdsConfig, sdtm: dict[str, pd.DataFrame], adsl: pd.DataFrame,
               issues: IssueLog) -> tuple[pd.DataFrame, dict[str, dict]]:
    name = cfg.dataset
    src = require(sdtm, cfg.source, needed_by=name)
    orig: dict[str, dict] = {}
    p = cfg.parameters
    require_columns(src, ["STUDYID", "USUBJID", p.by], what=f"{name} parameters")
    data = src
    if p.include is not None:
        data = data.loc[data[p.by].isin(p.include)]
    data = data.drop(columns=[c for c in ("DOMAIN",) if c in data.columns]).reset_index(drop=True)
    for c in data.columns:
        if c not in PROVENANCE_COLUMNS:
            orig[c] = origin("Predecessor", f"{cfg.source}.{c}")

    # subjects must be in ADSL
    data = keep_adsl_subjects(data, adsl, sdtm, issues, source=cfg.source, name=name)
    adsl_vars = [v for v in cfg.adsl_vars if v not in data.columns]
    data = derive_vars_merged(data, adsl, KEYS, new_vars=adsl_vars)
    for v in adsl_vars:
        orig[v] = origin("Predecessor", f"ADSL.{v}")

    # dates and study day
    data["__dtc"] = coalesce(data, cfg.date.dtc_list)
    log_bad_dtc(issues, data, "__dtc", cfg.source)
    data = derive_vars_dt(data, "A", "__dtc", highest_imputation=cfg.date.highest_imputation,
                          date_imputation=cfg.date.date_imputation).drop(columns="__dtc")
    data = derive_vars_dy(data, cfg.reference_date, ["ADT"])
    orig["ADT"] = origin("Derived", f"date part of {'/'.join(cfg.date.dtc_list)}")
    orig["ADY"] = origin("Derived", f"ADT - {cfg.reference_date} + 1 on or after, "
                         f"ADT - {cfg.reference_date} before (no day 0)")

    # parameters and values
    code = data[p.by].astype(object)
    data["PARAMCD"] = object_none(code.map(lambda c: p.rename.get(c, c)) if p.rename else code)
    with_unit = format_template(data, p.param)
    without = format_template(data, p.param_no_unit)
    param = with_unit.where(with_unit.notna(), without)
    if p.labels:
        param = data["PARAMCD"].map(p.labels).where(data["PARAMCD"].isin(list(p.labels)), param)
    data["PARAM"] = object_none(param)
    if p.paramn:
        data["PARAMN"] = data["PARAMCD"].map(p.paramn).astype(float)
        orig["PARAMN"] = origin("Derived", "numeric code of PARAMCD (parameters.paramn)")
    long = data["PARAMCD"].astype("string").str.len() > 8
    log_rows(issues, data.loc[long.fillna(False)], rule_id="ADAM.PARAMCD", dataset=name,
             variable="PARAMCD", value=data.loc[long.fillna(False), "PARAMCD"],
             message="PARAMCD longer than 8 characters; add a rename in the configuration")
    orig["PARAMCD"] = origin("Derived", f"{cfg.source}.{p.by}" + (" renamed per configuration"
                                                                  if p.rename else ""))
    orig["PARAM"] = origin("Derived", f"template {p.param!r}")
    for new, old in cfg.values.items():
        if old not in data.columns:
            data[new] = None
            issues.add("ADAM.NOSOURCE", f"{cfg.source} has no {old}; {new} is left empty",
                       severity="notice", stage="adam", dataset=name, variable=new)
        elif new in ("AVAL", "ANRLO", "ANRHI", "BASE"):
            data[new] = pd.to_numeric(data[old], errors="coerce").astype(float)
        else:
            data[new] = object_none(data[old])
        orig[new] = origin("Predecessor", f"{cfg.source}.{old}")

    # analysis visits
    v = cfg.visits
    if v.method == "windows":
        data = derive_vars_visit_window(data, windows_frame(cfg), day_var=v.day_var)
        orig["AVISIT"] = origin("Derived", f"analysis window containing {v.day_var}")
        for var, words in (("AWLO", "first study day of the analysis window"),
                           ("AWHI", "last study day of the analysis window"),
                           ("AWTARGET", "target study day of the analysis window"),
                           ("AWTDIFF", f"|{v.day_var} - AWTARGET|"),
                           ("AWU", "unit of the window days (DAYS)")):
            orig[var] = origin("Derived", words)
        outside = data["AVISIT"].isna() & data[v.day_var].notna()
        log_rows(issues, data.loc[outside], rule_id="ADAM.WINDOW", dataset=name,
                 variable=v.day_var, value=data.loc[outside, v.day_var], severity="notice",
                 message="study day outside every analysis window; record kept without AVISIT")
        no_ref = data["ADT"].notna() & data[cfg.reference_date].isna()
        first = data.loc[no_ref].drop_duplicates("USUBJID")   # one notice per subject
        log_rows(issues, first, rule_id="ADAM.NOREFDT", dataset=name,
                 variable=cfg.reference_date, severity="notice",
                 message=f"subject has no {cfg.reference_date} (e.g. screen failure): its "
                 "records are kept without study day or analysis visit")
    else:
        data = derive_vars_visit_map(data, [r.model_dump() for r in v.rules],
                                     visit_var=v.visit_var, visitnum_var=v.visitnum_var)
        orig["AVISIT"] = origin("Derived", f"{v.visit_var} mapped by the configured rules")
    orig["AVISITN"] = origin("Derived", "numeric code of AVISIT")

    if cfg.on_treatment is not None:
        o = cfg.on_treatment
        data = derive_var_ontrtfl(data, start_date="ADT", ref_start_date=o.ref_start,
                                  ref_end_date=o.ref_end, ref_end_window=o.end_window,
                                  filter_pre_timepoint=compile_filter(o.pre_timepoint))
        orig["ONTRTFL"] = origin("Derived", f"{o.ref_start} <= ADT <= {o.ref_end} + {o.end_window}")

    if cfg.anrind:
        data = derive_var_anrind(data)
        orig["ANRIND"] = origin("Derived", "AVAL against ANRLO/ANRHI: LOW, NORMAL, HIGH")

    # baseline
    b = cfg.baseline
    data["BASETYPE"] = b.basetype
    data = derive_var_extreme_flag(data, b.by_vars, b.order, "ABLFL", mode=b.mode,
                                   filter=compile_filter(b.filter))
    data = derive_var_base(data, b.by_vars, source_var="AVAL", new_var="BASE")
    if "AVALC" in data.columns:
        data = derive_var_base(data, b.by_vars, source_var="AVALC", new_var="BASEC")
    if "ANRIND" in data.columns:
        data = derive_var_base(data, b.by_vars, source_var="ANRIND", new_var="BNRIND")
    orig["ABLFL"] = origin("Derived", f"{b.mode} record by {b.order} per {b.by_vars} meeting the "
                           "baseline filter")
    orig["BASE"] = origin("Derived", "AVAL of the ABLFL = Y record")
    orig["BASEC"] = origin("Derived", "AVALC of the ABLFL = Y record")
    orig["BNRIND"] = origin("Derived", "ANRIND of the ABLFL = Y record")
    orig["BASETYPE"] = origin("Derived", f"constant {b.basetype!r}")

    for flag, spec in cfg.flags.items():
        data = derive_var_extreme_flag(data, spec.by_vars, spec.order, flag, mode=spec.mode,
                                       filter=compile_filter(spec.filter))
        orig[flag] = origin("Derived", f"{spec.mode} record by {spec.order} per {spec.by_vars}")

    if cfg.locf is not None:
        data = _locf(cfg, data, orig)

    chg_filter = compile_filter(cfg.change_filter)
    data = derive_var_chg(data, filter=chg_filter)
    data = derive_var_pchg(data, filter=chg_filter)
    orig["CHG"] = origin("Derived", "AVAL - BASE")
    orig["PCHG"] = origin("Derived", "(AVAL - BASE) / |BASE| * 100")
    if cfg.anrind:
        data = derive_var_anrind(data)
    for new, (frm, to) in cfg.shifts.items():
        data = derive_var_shift(data, new, frm, to)
        orig[new] = origin("Derived", f"{frm} to {to}")
    if cfg.seq is not None:
        data = derive_var_obs_number(data, cfg.seq.by_vars, cfg.seq.order, cfg.seq.new_var,
                                     check_type="none")
        orig[cfg.seq.new_var] = origin("Derived", f"record number by {cfg.seq.order}")
    return data, orig


def _locf(cfg: BdsConfig, data: pd.DataFrame, orig: dict) -> pd.DataFrame:
    lo = cfg.locf
    if lo.visits == "windows":
        if cfg.visits.method != "windows":
            visits = data[["AVISITN", "AVISIT"]].dropna().drop_duplicates()
        else:
            visits = windows_frame(cfg)[["AVISITN", "AVISIT"]]
    else:
        visits = data[["AVISITN", "AVISIT"]].dropna().drop_duplicates()
        visits = visits.loc[visits["AVISITN"].isin(lo.visits)]
    visits = visits.loc[visits["AVISITN"] > lo.from_visitn]
    params = data[["STUDYID", "USUBJID", "PARAMCD"]].drop_duplicates()
    if lo.parameters is not None:
        params = params.loc[params["PARAMCD"].isin(lo.parameters)]
    ref = expected_visits(params, visits)
    keep = [c for c in ["PARAM", "PARAMN", "PARCAT1", "BASETYPE", "BASE", "BASEC", "BNRIND",
                        "ANRLO", "ANRHI", "AVALC", "ONTRTFL", *cfg.adsl_vars,
                        *PROVENANCE_COLUMNS] if c in data.columns]
    for spec in cfg.flags:
        keep = [k for k in keep if k != spec]
    before = len(data)
    out = derive_locf_records(data, ref, ["STUDYID", "USUBJID", "PARAMCD"], order="AVISITN",
                              keep_vars=keep, filter=compile_filter(lo.filter),
                              after_last_only=lo.after_last_only)
    new = np.arange(len(out)) >= before
    for var, value in lo.set_values_to.items():
        if var not in out.columns:
            out[var] = None
        out.loc[new, var] = value
    orig["DTYPE"] = origin("Derived", "LOCF: last observed AVAL carried to the scheduled visits "
                           "after the last observation")
    if "DTYPE" not in out.columns:
        out["DTYPE"] = None
    return out
