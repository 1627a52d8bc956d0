"""Time-to-event parameters from declared event and censoring sources (admiral style).

An endpoint is a list of :class:`EventSource` and :class:`CensorSource` objects: each names a
source dataset, the records that count (``filter``), the date variable and the values to set
(EVNTDESC, CNSDTDSC, SRCDOM …). Per subject the earliest event wins; without an event the
latest censoring date is used (CNSR = the source's ``censor`` value, 1 by default).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from converter.adam.derivations._common import (
    DerivationError,
    Mask,
    evaluate_mask,
    require_columns,
)

TTE_VARS = ["STARTDT", "ADT", "CNSR", "EVNTDESC", "CNSDTDSC", "SRCDOM", "SRCVAR", "SRCSEQ"]


@dataclass(frozen=True)
class EventSource:
    """Records of ``dataset_name`` meeting ``filter`` are events on ``date``."""

    dataset_name: str
    date: str
    filter: Mask = None
    set_values_to: Mapping[str, object] = field(default_factory=dict)
    seq_var: str | None = None
    censor: int = 0


@dataclass(frozen=True)
class CensorSource:
    """Records of ``dataset_name`` meeting ``filter`` are censoring times on ``date``."""

    dataset_name: str
    date: str
    filter: Mask = None
    set_values_to: Mapping[str, object] = field(default_factory=dict)
    seq_var: str | None = None
    censor: int = 1


def _extract(source: EventSource | CensorSource, datasets: Mapping[str, pd.DataFrame],
             subject_keys: list[str], rank: int, mode: str) -> pd.DataFrame:
    if source.dataset_name not in datasets:
        raise DerivationError(f"derive_param_tte: source dataset {source.dataset_name!r} not given "
                              f"(have {sorted(datasets)})")
    ds = datasets[source.dataset_name]
    need = subject_keys + [source.date] + ([source.seq_var] if source.seq_var else [])
    require_columns(ds, need, what=f"derive_param_tte ({source.dataset_name})")
    sub = ds.loc[evaluate_mask(ds, source.filter)]
    rec = pd.DataFrame({k: sub[k].to_numpy() for k in subject_keys})
    rec["ADT"] = pd.to_datetime(sub[source.date]).dt.normalize().to_numpy()
    rec["SRCSEQ"] = (pd.to_numeric(sub[source.seq_var], errors="coerce").to_numpy(dtype=float)
                     if source.seq_var else np.nan)
    rec = rec.loc[rec["ADT"].notna()]
    seq_key = rec["SRCSEQ"] if mode == "first" else -rec["SRCSEQ"]
    rec = rec.assign(_seq=seq_key).sort_values(subject_keys + ["ADT", "_seq"], kind="mergesort")
    g = rec.groupby(subject_keys, sort=False, observed=True)
    rec = (g.head(1) if mode == "first" else g.tail(1)).drop(columns="_seq")
    rec["CNSR"] = float(source.censor)
    rec["_rank"] = rank
    rec["SRCDOM"] = source.dataset_name
    rec["SRCVAR"] = source.date
    for var, value in source.set_values_to.items():
        rec[var] = value
    return rec


def derive_param_tte(dataset_adsl: pd.DataFrame, source_datasets: Mapping[str, pd.DataFrame], *,
                     start_date: str, event_conditions: Sequence[EventSource],
                     censor_conditions: Sequence[CensorSource],
                     set_values_to: Mapping[str, object],
                     subject_keys: Sequence[str] = ("STUDYID", "USUBJID"),
                     filter_adsl: Mask = None) -> pd.DataFrame:
    """One record per ADSL subject (``filter_adsl``) with STARTDT, ADT, CNSR, EVNTDESC,
    CNSDTDSC, SRCDOM, SRCVAR, SRCSEQ and ``set_values_to`` (PARAMCD, PARAM …).

    Subjects with neither an event nor a censoring date get no record. AVAL is left to
    :func:`converter.adam.derivations.dates.derive_vars_duration`.

    >>> import pandas as pd
    >>> adsl = pd.DataFrame({"USUBJID": ["1", "2"],
    ...                      "TRTSDT": pd.to_datetime(["2014-01-01", "2014-01-01"])})
    >>> adlb = pd.DataFrame({"USUBJID": ["1", "1", "2"], "PCHG": [10.0, 40.0, 5.0],
    ...                      "ADT": pd.to_datetime(["2014-02-01", "2014-03-01", "2014-04-01"])})
    >>> ev = EventSource("ADLB", "ADT", filter=lambda d: d["PCHG"] > 30)
    >>> cn = CensorSource("ADLB", "ADT")
    >>> out = derive_param_tte(adsl, {"ADLB": adlb}, start_date="TRTSDT",
    ...     event_conditions=[ev], censor_conditions=[cn], set_values_to={"PARAMCD": "TTR30"},
    ...     subject_keys=["USUBJID"])
    >>> out[["USUBJID", "CNSR"]].values.tolist()
    [['1', 0.0], ['2', 1.0]]
    """
    subject_keys = list(subject_keys)
    require_columns(dataset_adsl, subject_keys + [start_date], what="derive_param_tte (ADSL)")
    if not event_conditions:
        raise DerivationError("derive_param_tte: at least one event source is needed")
    adsl = dataset_adsl.loc[evaluate_mask(dataset_adsl, filter_adsl), subject_keys + [start_date]]
    sources = {**dict(source_datasets)}
    events = pd.concat([_extract(s, sources, subject_keys, i, "first")
                        for i, s in enumerate(event_conditions)], ignore_index=True)
    events = events.sort_values(subject_keys + ["ADT", "_rank"], kind="mergesort") \
        .groupby(subject_keys, sort=False, observed=True).head(1)
    censors = [_extract(s, sources, subject_keys, i, "last") for i, s in enumerate(censor_conditions)]
    if censors:
        cens = pd.concat(censors, ignore_index=True)
        cens = cens.sort_values(subject_keys + ["ADT", "_rank"], ascending=[True] * len(
            subject_keys) + [False, True], kind="mergesort").groupby(subject_keys, sort=False, observed=True).head(1)
        cens = cens.merge(events[subject_keys].assign(_ev=True), on=subject_keys, how="left")
        cens = cens.loc[cens.pop("_ev").isna()]
        chosen = pd.concat([events, cens], ignore_index=True)
    else:
        chosen = events
    out = adsl.merge(chosen.drop(columns="_rank"), on=subject_keys, how="inner")
    out = out.rename(columns={start_date: "STARTDT"}) if start_date != "STARTDT" else out
    out["STARTDT"] = pd.to_datetime(out["STARTDT"]).dt.normalize()
    for var in ("EVNTDESC", "CNSDTDSC"):
        if var not in out.columns:
            out[var] = None
    for var, value in set_values_to.items():
        out[var] = value
    for var in ("EVNTDESC", "CNSDTDSC"):
        out[var] = out[var].astype(object).where(out[var].notna(), None)
    return out.reset_index(drop=True)
