"""ADTTE: one record per subject and parameter from declared event and censoring sources."""

from __future__ import annotations

import pandas as pd

from converter.adam.config import TteConfig
from converter.adam.datasets._common import log_rows, origin
from converter.adam.derivations import (
    CensorSource,
    EventSource,
    derive_param_tte,
    derive_vars_duration,
    derive_vars_merged,
)
from converter.adam.filters import compile_filter
from converter.errors import ConfigError
from converter.issues import IssueLog

KEYS = ["STUDYID", "USUBJID"]


def derive_tte(cfg: TteConfig, sources: dict[str, pd.DataFrame], adsl: pd.DataFrame,
               issues: IssueLog, *, file: str | None = None) -> tuple[pd.DataFrame, dict]:
    parts = []
    population = compile_filter(cfg.population)
    for i, p in enumerate(cfg.parameters):
        for kind, specs in (("events", p.events), ("censors", p.censors)):
            for j, s in enumerate(specs):
                if s.dataset not in sources:
                    raise ConfigError(f"source dataset {s.dataset!r} is neither SDTM input nor a "
                                      f"derived ADaM dataset (have {sorted(sources)})", file=file,
                                      key=f"parameters.{i}.{kind}.{j}.dataset")
        events = [EventSource(s.dataset, s.date, compile_filter(s.filter), s.set_values_to,
                              s.seq_var, 0 if s.censor is None else s.censor) for s in p.events]
        censors = [CensorSource(s.dataset, s.date, compile_filter(s.filter), s.set_values_to,
                                s.seq_var, 1 if s.censor is None else s.censor)
                   for s in p.censors]
        values: dict[str, object] = {"PARAMCD": p.paramcd, "PARAM": p.param}
        if p.paramn is not None:
            values["PARAMN"] = float(p.paramn)
        rec = derive_param_tte(adsl, sources, start_date=cfg.start_date,
                               event_conditions=events, censor_conditions=censors,
                               set_values_to=values, subject_keys=KEYS, filter_adsl=population)
        pop = adsl.loc[population(adsl)] if population is not None else adsl
        lost = pop.loc[~pop["USUBJID"].isin(rec["USUBJID"])]
        log_rows(issues, lost, rule_id="ADAM.TTE.NODATE", dataset=cfg.dataset,
                 variable="ADT", severity="warning",
                 message=f"{p.paramcd}: subject has no start date, event or censoring date; "
                 "no record")
        parts.append(rec)
    data = pd.concat(parts, ignore_index=True)
    data = derive_vars_duration(data, "AVAL", "STARTDT", "ADT", out_unit=cfg.unit,
                                new_var_unit="AVALU")
    adsl_vars = [v for v in cfg.adsl_vars if v not in data.columns and v in adsl.columns]
    data = derive_vars_merged(data, adsl, KEYS, new_vars=adsl_vars)
    orig = {v: origin("Predecessor", f"ADSL.{v}") for v in adsl_vars}
    orig.update({
        "STUDYID": origin("Predecessor", "ADSL.STUDYID"),
        "USUBJID": origin("Predecessor", "ADSL.USUBJID"),
        "PARAMCD": origin("Derived", "endpoint declared in adtte.yaml"),
        "PARAM": origin("Derived", "parameter label declared in adtte.yaml"),
        "PARAMN": origin("Derived", "parameter number declared in adtte.yaml"),
        "AVALU": origin("Derived", f"unit of AVAL ({cfg.unit.upper()})"),
        "STARTDT": origin("Derived", f"ADSL.{cfg.start_date}"),
        "ADT": origin("Derived", "date of the earliest event, else of the latest censoring"),
        "CNSR": origin("Derived", "0 for an event, the censoring source's value otherwise"),
        "AVAL": origin("Derived", f"ADT - STARTDT + 1, in {cfg.unit}"),
        "EVNTDESC": origin("Derived", "from the event or censoring source"),
        "CNSDTDSC": origin("Derived", "from the censoring source"),
        "SRCDOM": origin("Derived", "dataset of the chosen source record"),
        "SRCVAR": origin("Derived", "date variable of the chosen source record"),
        "SRCSEQ": origin("Derived", "sequence number of the chosen source record"),
    })
    return data, orig
