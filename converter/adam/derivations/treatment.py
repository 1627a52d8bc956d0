"""Treatment-relative flags: on-treatment (ONTRTFL) and treatment-emergent (TRTEMFL)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from converter.adam.derivations._common import Mask, evaluate_mask, require_columns


def _date(ds: pd.DataFrame, var: str | None) -> pd.Series | None:
    return None if var is None else pd.to_datetime(ds[var]).dt.normalize()


def derive_var_ontrtfl(dataset: pd.DataFrame, *, start_date: str, ref_start_date: str,
                       ref_end_date: str | None = None, ref_end_window: int = 0,
                       filter_pre_timepoint: Mask = None, new_var: str = "ONTRTFL"
                       ) -> pd.DataFrame:
    """"Y" when ref_start ≤ start ≤ ref_end + window (no end: any date from ref_start on).

    Records matching ``filter_pre_timepoint`` (e.g. pre-dose baseline) on the start day are not
    on treatment.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"ADT": pd.to_datetime(["2014-01-01", "2014-01-05", "2014-03-01"]),
    ...                    "TRTSDT": pd.to_datetime(["2014-01-02"] * 3),
    ...                    "TRTEDT": pd.to_datetime(["2014-02-01"] * 3)})
    >>> derive_var_ontrtfl(df, start_date="ADT", ref_start_date="TRTSDT",
    ...                    ref_end_date="TRTEDT")["ONTRTFL"].tolist()
    [None, 'Y', None]
    """
    cols = [start_date, ref_start_date] + ([ref_end_date] if ref_end_date else [])
    require_columns(dataset, cols, what="derive_var_ontrtfl")
    start = _date(dataset, start_date)
    ref_start = _date(dataset, ref_start_date)
    on = start.notna() & ref_start.notna() & (start >= ref_start)
    if ref_end_date is not None:
        ref_end = _date(dataset, ref_end_date) + pd.Timedelta(days=ref_end_window)
        on &= ref_end.isna() | (start <= ref_end)
    if filter_pre_timepoint is not None:
        pre = evaluate_mask(dataset, filter_pre_timepoint)
        on &= ~(pre & (start == ref_start))
    out = dataset.copy(deep=False)  # columns are replaced, never written in place
    out[new_var] = pd.Series(np.where(on, "Y", None), index=dataset.index, dtype=object)
    return out


def derive_var_trtemfl(dataset: pd.DataFrame, *, start_date: str = "ASTDT",
                       end_date: str | None = "AENDT", trt_start_date: str = "TRTSDT",
                       trt_end_date: str | None = None, end_window: int | None = None,
                       new_var: str = "TRTEMFL") -> pd.DataFrame:
    """"Y" for events starting on/after treatment start (and, with ``trt_end_date`` and
    ``end_window``, no later than end + window days). An event with unknown start that ends on
    or after treatment start (or has no end) counts as emergent — the cautious reading.
    Subjects never treated get no flag.
    """
    cols = [start_date, trt_start_date] + [c for c in (end_date, trt_end_date) if c]
    require_columns(dataset, cols, what="derive_var_trtemfl")
    start = _date(dataset, start_date)
    trt_start = _date(dataset, trt_start_date)
    emergent = trt_start.notna() & start.notna() & (start >= trt_start)
    if trt_end_date is not None and end_window is not None:
        limit = _date(dataset, trt_end_date) + pd.Timedelta(days=end_window)
        emergent &= limit.isna() | (start <= limit)
    if end_date is not None:
        end = _date(dataset, end_date)
        emergent |= trt_start.notna() & start.isna() & (end.isna() | (end >= trt_start))
    out = dataset.copy(deep=False)
    out[new_var] = pd.Series(np.where(emergent, "Y", None), index=dataset.index, dtype=object)
    return out
