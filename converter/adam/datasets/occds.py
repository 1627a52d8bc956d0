"""OCCDS datasets (ADAE from AE): analysis dates with imputation, TRTEMFL, occurrence flags."""

from __future__ import annotations

import pandas as pd

from converter.adam.config import OccdsConfig
from converter.adam.datasets._common import (
    coalesce,
    keep_adsl_subjects,
    log_bad_dtc,
    log_rows,
    origin,
    require,
)
from converter.adam.derivations import (
    derive_var_extreme_flag,
    derive_var_obs_number,
    derive_var_trtemfl,
    derive_vars_dt,
    derive_vars_dy,
    derive_vars_merged,
)
from converter.adam.filters import compile_filter
from converter.issues import IssueLog
from converter.model import PROVENANCE_COLUMNS

KEYS = ["STUDYID", "USUBJID"]


def derive_occds(cfg: OccdsConfig, sdtm: dict[str, pd.DataFrame], adsl: pd.DataFrame,
                 issues: IssueLog) -> tuple[pd.DataFrame, dict[str, dict]]:
    name = cfg.dataset
    data = require(sdtm, cfg.source, needed_by=name)
    data = data.drop(columns=[c for c in ("DOMAIN",) if c in data.columns]).reset_index(drop=True)
    orig = {c: origin("Predecessor", f"{cfg.source}.{c}") for c in data.columns
            if c not in PROVENANCE_COLUMNS}
    data = keep_adsl_subjects(data, adsl, sdtm, issues, source=cfg.source, name=name)
    adsl_vars = [v for v in cfg.adsl_vars if v not in data.columns]
    data = derive_vars_merged(data, adsl, KEYS, new_vars=adsl_vars)
    for v in adsl_vars:
        orig[v] = origin("Predecessor", f"ADSL.{v}")
    for new, old in cfg.treatment_vars.items():
        data[new] = data[old] if old in data.columns else None
        orig[new] = origin("Derived", f"ADSL.{old}")

    for spec, prefix in ((cfg.start, cfg.start_prefix), (cfg.end, cfg.end_prefix)):
        if spec is None:
            continue
        data["__dtc"] = coalesce(data, spec.dtc_list)
        log_bad_dtc(issues, data, "__dtc", cfg.source)
        caps = ["__cap"] if prefix == cfg.end_prefix and "DTHDT" in data.columns else []
        if caps:
            data["__cap"] = data["DTHDT"]
        data = derive_vars_dt(data, prefix, "__dtc", highest_imputation=spec.highest_imputation,
                              date_imputation=spec.date_imputation, max_dates=caps)
        data = data.drop(columns=["__dtc", *caps])
        data = derive_vars_dy(data, cfg.reference_date, {f"{prefix}DY": f"{prefix}DT"})
        orig[f"{prefix}DT"] = origin("Derived", f"{'/'.join(spec.dtc_list)} as a date, "
                                     f"imputed up to level {spec.highest_imputation} "
                                     f"({spec.date_imputation})")
        if f"{prefix}DTF" in data.columns:
            orig[f"{prefix}DTF"] = origin("Derived", "highest imputed date component")
        orig[f"{prefix}DY"] = origin("Derived", f"{prefix}DT relative to {cfg.reference_date}")
    start = f"{cfg.start_prefix}DT"
    no_start = data[start].isna()
    log_rows(issues, data.loc[no_start], rule_id="ADAM.NOSTART", dataset=name, variable=start,
             severity="warning", message="no usable start date; treatment emergence judged "
             "from the end date")

    if cfg.trtemfl is not None:
        t = cfg.trtemfl
        data = derive_var_trtemfl(data, start_date=start,
                                  end_date=f"{cfg.end_prefix}DT" if cfg.end else None,
                                  trt_start_date=t.ref_start, trt_end_date=t.ref_end,
                                  end_window=t.end_window)
        orig["TRTEMFL"] = origin("Derived", f"{start} >= {t.ref_start} and <= {t.ref_end} + "
                                 f"{t.end_window} days")
    for flag, spec in cfg.flags.items():
        data = derive_var_extreme_flag(data, spec.by_vars, spec.order, flag, mode=spec.mode,
                                       filter=compile_filter(spec.filter))
        orig[flag] = origin("Derived", f"{spec.mode} record by {spec.order} per {spec.by_vars}")
    if cfg.seq is not None:
        data = derive_var_obs_number(data, cfg.seq.by_vars, cfg.seq.order, cfg.seq.new_var,
                                     check_type="none")
        orig[cfg.seq.new_var] = origin("Derived", f"record number by {cfg.seq.order}")
    return data, orig
