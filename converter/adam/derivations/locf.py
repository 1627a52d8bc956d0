"""Last observation carried forward: new records (DTYPE = "LOCF") for expected visits."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from converter.adam.derivations._common import Mask, evaluate_mask, require_columns


def derive_locf_records(dataset: pd.DataFrame, dataset_ref: pd.DataFrame, by_vars: Sequence[str],
                        *, order: str = "AVISITN", analysis_var: str = "AVAL",
                        keep_vars: Sequence[str] = (), filter: Mask = None,
                        after_last_only: bool = True, dtype: str = "LOCF") -> pd.DataFrame:
    """Append LOCF records for expected visits that have no observed ``analysis_var``.

    ``dataset_ref`` lists the expected records: ``by_vars`` (e.g. STUDYID, USUBJID, PARAMCD)
    plus the visit variables (``order`` = AVISITN and e.g. AVISIT). For each expected record
    without an observation among ``filter`` records, a new record copies ``analysis_var`` and
    ``keep_vars`` from the latest observation before it (by ``order``) and sets DTYPE.
    With ``after_last_only`` (default) only visits after the last observation are filled:
    the subjects lost to follow-up, not intermittent gaps. Nothing is created when no earlier
    observation exists.

    >>> import pandas as pd
    >>> adlb = pd.DataFrame({"USUBJID": ["1", "1"], "AVISITN": [0.0, 4.0],
    ...                      "AVISIT": ["Baseline", "Week 4"], "AVAL": [180.0, 200.0]})
    >>> ref = pd.DataFrame({"USUBJID": ["1"] * 3, "AVISITN": [0.0, 4.0, 12.0],
    ...                     "AVISIT": ["Baseline", "Week 4", "Week 12"]})
    >>> out = derive_locf_records(adlb, ref, ["USUBJID"])
    >>> out[["AVISIT", "AVAL", "DTYPE"]].values.tolist()[-1]
    ['Week 12', 200.0, 'LOCF']
    """
    by_vars = list(by_vars)
    visit_vars = [c for c in dataset_ref.columns if c not in by_vars]
    require_columns(dataset, by_vars + [order, analysis_var, *keep_vars], what="derive_locf_records")
    require_columns(dataset_ref, by_vars + [order], what="derive_locf_records (dataset_ref)")
    obs_mask = evaluate_mask(dataset, filter) & dataset[analysis_var].notna() \
        & dataset[order].notna()
    obs = dataset.loc[obs_mask, by_vars + [order, analysis_var, *keep_vars]]
    present = obs[by_vars + [order]].drop_duplicates()
    ref = dataset_ref[by_vars + visit_vars].drop_duplicates()
    ref = ref.merge(present.assign(_seen=True), on=by_vars + [order], how="left")
    missing = ref.loc[ref.pop("_seen").isna()].copy()
    if after_last_only:
        last = obs.groupby(by_vars, dropna=False, observed=True)[order].max().rename("_last").reset_index()
        missing = missing.merge(last, on=by_vars, how="inner")
        missing = missing.loc[missing[order] > missing.pop("_last")]
    if missing.empty:
        return dataset.copy()
    # latest observation strictly before the missing visit, per group
    obs_sorted = obs.sort_values([order], kind="mergesort").drop_duplicates(
        by_vars + [order], keep="last")
    carry = [c for c in [analysis_var, *keep_vars] if c not in visit_vars]
    left = missing.sort_values(order, kind="mergesort")
    left[order] = left[order].astype(float)
    right = obs_sorted[by_vars + [order] + carry].rename(columns={order: "_obs_order"})
    right["_obs_order"] = right["_obs_order"].astype(float)
    right = right.sort_values("_obs_order", kind="mergesort")
    filled = pd.merge_asof(left, right, left_on=order, right_on="_obs_order", by=by_vars,
                           allow_exact_matches=False, direction="backward")
    filled = filled.loc[filled.pop("_obs_order").notna()]
    filled["DTYPE"] = dtype
    out = pd.concat([dataset, filled], ignore_index=True)
    if "DTYPE" in out.columns:
        out["DTYPE"] = out["DTYPE"].astype(object).where(out["DTYPE"].notna(), None)
    return out


def expected_visits(subjects: pd.DataFrame, visits: pd.DataFrame) -> pd.DataFrame:
    """Cross join of subject/parameter keys with the scheduled visits (a ``dataset_ref``)."""
    return subjects.drop_duplicates().merge(visits.drop_duplicates(), how="cross")


