"""Analysis visits: by study-day windows (AVISIT/AVISITN/AWLO/AWHI/AWTARGET) or by visit name."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from converter.adam.derivations._common import (
    DerivationError,
    Mask,
    evaluate_mask,
    require_columns,
)

WINDOW_COLUMNS = ["AVISIT", "AVISITN", "AWLO", "AWHI", "AWTARGET"]


def check_windows(windows: pd.DataFrame) -> pd.DataFrame:
    """Windows sorted by AWLO; raises DerivationError when they overlap or are inverted."""
    require_columns(windows, WINDOW_COLUMNS, what="analysis windows")
    w = windows.sort_values("AWLO", kind="mergesort").reset_index(drop=True)
    bad = w[w["AWLO"] > w["AWHI"]]
    if len(bad):
        raise DerivationError(f"analysis window {bad.iloc[0]['AVISIT']!r}: AWLO > AWHI")
    overlap = w["AWLO"].iloc[1:].to_numpy() <= w["AWHI"].iloc[:-1].to_numpy()
    if overlap.any():
        i = int(np.argmax(overlap))
        raise DerivationError(f"analysis windows {w.loc[i, 'AVISIT']!r} and "
                              f"{w.loc[i + 1, 'AVISIT']!r} overlap")
    if not (w["AWLO"] <= w["AWTARGET"]).all() or not (w["AWTARGET"] <= w["AWHI"]).all():
        raise DerivationError("every analysis window needs AWLO <= AWTARGET <= AWHI")
    return w


def derive_vars_visit_window(dataset: pd.DataFrame, windows: pd.DataFrame, *,
                             day_var: str = "ADY", filter: Mask = None) -> pd.DataFrame:
    """Assign each record the analysis window containing its study day.

    Adds AVISIT, AVISITN, AWLO, AWHI, AWTARGET, AWTDIFF (|day − target|) and AWU ("DAYS").
    Records outside every window (or outside ``filter``) get missing values.

    >>> import pandas as pd
    >>> w = pd.DataFrame({"AVISIT": ["Baseline", "Week 4"], "AVISITN": [0, 4],
    ...                   "AWLO": [-30, 2], "AWHI": [1, 42], "AWTARGET": [1, 29]})
    >>> df = pd.DataFrame({"ADY": [-3, 25, 60]})
    >>> derive_vars_visit_window(df, w)["AVISIT"].tolist()
    ['Baseline', 'Week 4', None]
    """
    require_columns(dataset, [day_var], what="derive_vars_visit_window")
    w = check_windows(windows)
    day = pd.to_numeric(dataset[day_var], errors="coerce").to_numpy(dtype=float)
    pos = np.searchsorted(w["AWLO"].to_numpy(dtype=float), day, side="right") - 1
    valid = (pos >= 0) & ~np.isnan(day)
    pos_c = np.clip(pos, 0, len(w) - 1)
    inside = valid & (day <= w["AWHI"].to_numpy(dtype=float)[pos_c])
    inside &= evaluate_mask(dataset, filter).to_numpy()
    out = dataset.copy(deep=False)  # columns are replaced, never written in place
    for col in WINDOW_COLUMNS:
        vals = w[col].to_numpy()[pos_c]
        if col == "AVISIT":
            out[col] = pd.Series(np.where(inside, vals, None), index=dataset.index, dtype=object)
        else:
            out[col] = np.where(inside, vals.astype(float), np.nan)
    out["AWTDIFF"] = np.where(inside, np.abs(day - out["AWTARGET"].to_numpy(dtype=float)), np.nan)
    out["AWU"] = pd.Series(np.where(inside, "DAYS", None), index=dataset.index, dtype=object)
    return out


def derive_vars_visit_map(dataset: pd.DataFrame, rules: Sequence[dict], *,
                          visit_var: str = "VISIT", visitnum_var: str = "VISITNUM",
                          default_case: str = "title") -> pd.DataFrame:
    """AVISIT/AVISITN from the collected visit: the first rule whose regex ``match`` finds the
    visit name gives ``avisit`` (and ``avisitn``); other visits keep their name (title-cased
    with ``default_case="title"``) and VISITNUM.
    """
    require_columns(dataset, [visit_var, visitnum_var], what="derive_vars_visit_map")
    visit = dataset[visit_var].astype("string")
    avisit = visit.str.title() if default_case == "title" else visit
    avisitn = pd.to_numeric(dataset[visitnum_var], errors="coerce").astype(float)
    done = pd.Series(False, index=dataset.index)
    for rule in rules:
        if "match" not in rule or "avisit" not in rule:
            raise DerivationError("derive_vars_visit_map: each rule needs 'match' and 'avisit'")
        hit = visit.str.contains(rule["match"], regex=True).fillna(False).astype(bool) & ~done
        avisit = avisit.mask(hit, rule["avisit"])
        if rule.get("avisitn") is not None:
            avisitn = avisitn.mask(hit, float(rule["avisitn"]))
        done |= hit
    out = dataset.copy(deep=False)
    out["AVISIT"] = avisit.astype(object).where(avisit.notna(), None)
    out["AVISITN"] = avisitn
    return out
