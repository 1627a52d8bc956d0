"""ADSL: one record per subject from DM, exposure, disposition and declared merges."""

from __future__ import annotations

import numpy as np
import pandas as pd

from converter.adam.config import AdslConfig
from converter.adam.datasets._common import (
    coalesce,
    log_bad_dtc,
    log_rows,
    obj_where,
    object_none,
    origin,
    require,
)
from converter.adam.derivations import (
    DerivationError,
    derive_vars_dt,
    derive_vars_dtm,
    derive_vars_dtm_to_dt,
    derive_vars_duration,
    derive_vars_merged,
)
from converter.adam.derivations._common import require_columns
from converter.adam.filters import evaluate_filter
from converter.issues import IssueLog
from converter.model import PROVENANCE_COLUMNS

KEYS = ["STUDYID", "USUBJID"]


def derive_adsl(cfg: AdslConfig, sdtm: dict[str, pd.DataFrame], issues: IssueLog
                ) -> tuple[pd.DataFrame, dict[str, dict]]:
    dm = require(sdtm, cfg.source, needed_by="ADSL")
    orig: dict[str, dict] = {}
    dup = dm.duplicated(KEYS, keep="first")
    log_rows(issues, dm.loc[dup], rule_id="ADAM.DUPSUBJ", dataset="ADSL", variable="USUBJID",
             value=dm.loc[dup, "USUBJID"], message="subject appears twice in DM; the first "
             "record is used for ADSL")
    dm = dm.loc[~dup].reset_index(drop=True)
    if cfg.population is not None:
        inside = evaluate_filter(cfg.population, dm)
        log_rows(issues, dm.loc[~inside], rule_id="ADAM.NOTINPOP", dataset="ADSL",
                 variable="USUBJID", value=dm.loc[~inside, "USUBJID"], severity="notice",
                 message="DM subject outside the ADSL population filter (adsl.yaml population); "
                 "not in ADSL")
        dm = dm.loc[inside].reset_index(drop=True)
    keep = cfg.keep or [c for c in dm.columns if c not in ("DOMAIN",)]
    cols = [c for c in KEYS if c not in keep] + [c for c in keep if c in dm.columns]
    cols += [c for c in PROVENANCE_COLUMNS if c in dm.columns]
    adsl = dm[list(dict.fromkeys(cols))].copy()
    for c in adsl.columns:
        if c not in PROVENANCE_COLUMNS:
            orig[c] = origin("Predecessor", f"{cfg.source}.{c}")

    # treatment
    t = cfg.treatment
    require_columns(dm, [t.planned, t.actual], what=f"ADSL treatment (from {cfg.source})")
    adsl["TRT01P"] = object_none(dm[t.planned])
    adsl["TRT01A"] = object_none(dm[t.actual])
    orig["TRT01P"] = origin("Predecessor", f"{cfg.source}.{t.planned}")
    orig["TRT01A"] = origin("Predecessor", f"{cfg.source}.{t.actual}")
    if t.numeric:
        keys = t.numeric_keys or [t.planned, t.actual]
        for var, key in zip(("TRT01P", "TRT01A"), keys, strict=False):
            src = dm[key] if key in dm.columns else adsl[var]
            adsl[var + "N"] = src.map(t.numeric).astype(float)
            unknown = src.notna() & adsl[var + "N"].isna() & ~adsl[var].isin(t.not_treated)
            log_rows(issues, adsl.loc[unknown], rule_id="ADAM.TRTCODE", dataset="ADSL",
                     variable=var, value=src.loc[unknown], severity="warning",
                     message=f"{key} value has no numeric code in adsl.yaml treatment.numeric")
            orig[var + "N"] = origin("Derived", f"numeric code of {key} (treatment.numeric)")

    # exposure → TRTSDT/TRTEDT
    e = cfg.exposure
    if e.dataset in {k for k in sdtm}:
        ex = sdtm[e.dataset]
        ex = ex.loc[evaluate_filter(e.filter, ex)].copy()
        ex["__start"] = coalesce(ex, e.start.dtc_list)
        ex["__end"] = coalesce(ex, e.end.dtc_list)
        log_bad_dtc(issues, ex, "__start", e.dataset)
        ex = derive_vars_dtm(ex, "S_", "__start",
                             highest_imputation=max_level(e.start.highest_imputation, "h"),
                             date_imputation=e.start.date_imputation,
                             time_imputation=e.start.time_imputation)
        ex = derive_vars_dtm(ex, "E_", "__end",
                             highest_imputation=max_level(e.end.highest_imputation, "h"),
                             date_imputation=e.end.date_imputation,
                             time_imputation=e.end.time_imputation)
        adsl = derive_vars_merged(adsl, ex.loc[ex["S_DTM"].notna()], KEYS,
                                  new_vars={"TRTSDTM": "S_DTM", "TRTSTMF": "S_TMF"},
                                  order=["S_DTM"], mode="first")
        adsl = derive_vars_merged(adsl, ex.loc[ex["E_DTM"].notna()], KEYS,
                                  new_vars={"TRTEDTM": "E_DTM", "TRTETMF": "E_TMF"},
                                  order=["E_DTM"], mode="last")
        adsl = derive_vars_dtm_to_dt(adsl, ["TRTSDTM", "TRTEDTM"])
        adsl = derive_vars_duration(adsl, "TRTDURD", "TRTSDT", "TRTEDT")
        src = f"{e.dataset}.{'/'.join(e.start.dtc_list)}"
        orig["TRTSDTM"] = origin("Derived", f"first {src} of valid exposure records, time imputed")
        orig["TRTSTMF"] = origin("Derived", "imputation level of the TRTSDTM time (H, M, S)")
        orig["TRTETMF"] = origin("Derived", "imputation level of the TRTEDTM time (H, M, S)")
        orig["TRTSDT"] = origin("Derived", f"date of the first {src} of valid exposure records")
        orig["TRTEDTM"] = origin("Derived", f"last {e.dataset}.{'/'.join(e.end.dtc_list)}")
        orig["TRTEDT"] = origin("Derived", f"date of the last {'/'.join(e.end.dtc_list)}")
        orig["TRTDURD"] = origin("Derived", "TRTEDT - TRTSDT + 1")
    else:
        for v in ("TRTSDTM", "TRTEDTM", "TRTSDT", "TRTEDT"):
            adsl[v] = pd.Series(pd.NaT, index=adsl.index, dtype="datetime64[ns]")

    # dates from other datasets (RANDDT …)
    for d in cfg.dates:
        src = require(sdtm, d.dataset, needed_by=f"ADSL.{d.new_var}")
        sub = src.loc[evaluate_filter(d.filter, src)].copy()
        log_bad_dtc(issues, sub, d.dtc, d.dataset)
        sub = derive_vars_dt(sub, "D_", d.dtc, highest_imputation=d.highest_imputation,
                             date_imputation=d.date_imputation)
        sub = sub.loc[sub["D_DT"].notna()]
        adsl = derive_vars_merged(adsl, sub, KEYS, new_vars={d.new_var: "D_DT"},
                                  order=["D_DT"], mode=d.mode)
        orig[d.new_var] = origin("Derived", f"{d.mode} {d.dataset}.{d.dtc} of the records "
                                 f"meeting the filter, as a date")

    # disposition → EOSSTT, DCSREAS, EOSDT
    if cfg.disposition is not None and cfg.disposition.dataset in sdtm:
        adsl = _disposition(adsl, cfg, sdtm, issues, orig)

    for m in cfg.merged:
        if m.optional and m.dataset not in sdtm:
            for new in m.new_vars:
                adsl[new] = np.nan if new in m.numeric else None
            issues.add("ADAM.NOSOURCE", f"{m.dataset} not in the SDTM input; "
                       f"{', '.join(m.new_vars)} left empty", severity="notice", stage="adam",
                       dataset="ADSL", variable=next(iter(m.new_vars)))
            continue
        src = require(sdtm, m.dataset, needed_by="ADSL merged variables")
        adsl = derive_vars_merged(adsl, src, m.by_vars, new_vars=m.new_vars,
                                  filter_add=None if m.filter is None else m.filter.compile(),
                                  order=m.order, mode=m.mode)
        for new, old in m.new_vars.items():
            orig[new] = origin("Derived", f"{m.dataset}.{old} of the {m.mode or 'single'} record "
                               "meeting the configured filter")
        for new in m.numeric:
            num = pd.to_numeric(adsl[new], errors="coerce").astype(float)
            bad = num.isna() & adsl[new].notna()
            log_rows(issues, adsl.loc[bad], rule_id="ADAM.NUMERIC", dataset="ADSL", variable=new,
                     value=adsl.loc[bad, new], message=f"{new} from {m.dataset} is not a number; "
                     "left missing")
            adsl[new] = num

    for var, levels in cfg.categories.items():
        conds = [evaluate_filter(lv.where, adsl).to_numpy() for lv in levels]
        values = [lv.value for lv in levels]
        numeric = all(isinstance(v, (int, float)) for v in values)
        res = np.select(conds, values, default=np.nan if numeric else None)
        adsl[var] = res.astype(float) if numeric else pd.Series(res, index=adsl.index,
                                                                 dtype=object)
        orig[var] = origin("Derived", "first matching level of: " + "; ".join(
            f"{lv.value}" for lv in levels))

    for var, flt in cfg.flags.items():
        adsl[var] = np.where(evaluate_filter(flt, adsl).to_numpy(), "Y", "N").astype(object)
        orig[var] = origin("Derived", f"Y when {sorted(flt.variables())} meet the configured "
                           "condition, else N")
    return adsl, orig


def max_level(level: str, floor: str) -> str:
    order = ["n", "s", "m", "h", "D", "M", "Y"]
    return level if order.index(level) >= order.index(floor) else floor


def _disposition(adsl: pd.DataFrame, cfg: AdslConfig, sdtm: dict[str, pd.DataFrame],
                 issues: IssueLog, orig: dict) -> pd.DataFrame:
    d = cfg.disposition
    ds = sdtm[d.dataset]
    if "DSDECOD" not in ds.columns:
        raise DerivationError(f"disposition: {d.dataset} has no DSDECOD")
    ev = ds.loc[evaluate_filter(d.filter, ds)].copy()
    order = [c for c in d.order if c in ev.columns]
    ev["__status"] = np.select(
        [ev["DSDECOD"].isin(d.completed).to_numpy(), ev["DSDECOD"].isin(d.not_applicable).to_numpy(),
         ev["DSDECOD"].notna().to_numpy()], ["COMPLETED", "__NA__", "DISCONTINUED"], default=None)
    ev["__reason"] = ev["DSDECOD"].where(ev["__status"] == "DISCONTINUED", None)
    if "DSSTDTC" in ev:
        log_bad_dtc(issues, ev, "DSSTDTC", d.dataset)
        ev = derive_vars_dt(ev, "EOS_", "DSSTDTC")
    else:
        ev["EOS_DT"] = pd.NaT
    ev["EOS_DT"] = ev["EOS_DT"].where(ev["__status"].isin(["COMPLETED", "DISCONTINUED"]))
    new = {"__st": "__status", "__rs": "__reason", "__dt": "EOS_DT"}
    adsl = derive_vars_merged(adsl, ev, KEYS, new_vars=new, order=order, mode="last")
    no_record = adsl["__st"].isna()
    status = adsl.pop("__st")
    status = status.where(~no_record, "ONGOING" if d.ongoing_when_missing else None)
    adsl[d.status_var] = obj_where(status.notna() & (status != "__NA__"), status, adsl.index)
    orig[d.status_var] = origin("Derived", f"COMPLETED if DSDECOD in {d.completed}, missing if in "
                                f"{d.not_applicable}, DISCONTINUED otherwise"
                                + (", ONGOING without a disposition record"
                                   if d.ongoing_when_missing else ""))
    reason, date = adsl.pop("__rs"), adsl.pop("__dt")
    if d.reason_var:
        adsl[d.reason_var] = object_none(reason)
        orig[d.reason_var] = origin("Derived", "DSDECOD of the discontinuation record")
    if d.date_var:
        adsl[d.date_var] = pd.to_datetime(date)
        orig[d.date_var] = origin("Derived", "DSSTDTC of the end-of-study disposition record")
    return adsl
