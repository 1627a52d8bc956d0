"""Record flags and sequence numbers: first/last record per group, ASEQ, extreme records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from converter.adam.derivations._common import (
    DerivationError,
    Mask,
    evaluate_mask,
    require_columns,
    sort_frame,
    split_order,
    unique_index,
)


def derive_var_extreme_flag(dataset: pd.DataFrame, by_vars: Sequence[str], order: Sequence[str],
                            new_var: str, *, mode: str = "last", filter: Mask = None,
                            true_value: object = "Y", false_value: object = None
                            ) -> pd.DataFrame:
    """Flag the first or last record (by ``order``) of each ``by_vars`` group among ``filter`` rows.

    Order items with a leading ``-`` sort descending; missing values sort last.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"USUBJID": ["1", "1", "2"], "ADT": [2, 1, 5]})
    >>> derive_var_extreme_flag(df, ["USUBJID"], ["ADT"], "LASTFL")["LASTFL"].tolist()
    ['Y', None, 'Y']
    """
    if mode not in ("first", "last"):
        raise DerivationError(f"derive_var_extreme_flag: mode {mode!r} not 'first' or 'last'")
    require_columns(dataset, list(by_vars) + split_order(order)[0],
                    what="derive_var_extreme_flag")
    unique_index(dataset, "derive_var_extreme_flag")
    keys = list(dict.fromkeys(list(by_vars) + split_order(order)[0]))
    sub = dataset.loc[evaluate_mask(dataset, filter), keys]   # only the key columns: big frames
    ordered = sort_frame(sub, by_vars, order)
    if by_vars:
        g = ordered.groupby(list(by_vars), dropna=False, sort=False, observed=True)
        picked = (g.head(1) if mode == "first" else g.tail(1)).index
    else:
        picked = ordered.index[:1] if mode == "first" else ordered.index[-1:]
    out = dataset.copy(deep=False)  # columns are replaced, never written in place
    values = np.full(len(dataset), false_value, dtype=object)
    values[dataset.index.get_indexer(picked)] = true_value
    out[new_var] = pd.Series(values, index=dataset.index, dtype=object)
    return out


def derive_var_obs_number(dataset: pd.DataFrame, by_vars: Sequence[str], order: Sequence[str],
                          new_var: str = "ASEQ", *, check_type: str = "error") -> pd.DataFrame:
    """Number records 1, 2, … within ``by_vars`` in ``order`` (ASEQ).

    ``check_type="error"`` refuses keys that do not identify records uniquely.
    """
    require_columns(dataset, list(by_vars) + split_order(order)[0], what="derive_var_obs_number")
    unique_index(dataset, "derive_var_obs_number")
    keys = list(by_vars) + split_order(order)[0]
    if check_type == "error" and dataset.duplicated(keys).any():
        dup = dataset.loc[dataset.duplicated(keys, keep=False), keys].head(4)
        raise DerivationError(f"derive_var_obs_number: {keys} do not identify records uniquely "
                              f"(e.g. {dup.to_dict('records')})")
    ordered = sort_frame(dataset[list(dict.fromkeys(keys))], by_vars, order)
    if by_vars:
        num = ordered.groupby(list(by_vars), dropna=False, sort=False, observed=True).cumcount() + 1
    else:
        num = pd.Series(np.arange(1, len(ordered) + 1), index=ordered.index)
    out = dataset.copy(deep=False)
    out[new_var] = num.reindex(dataset.index).astype(float)
    return out


def derive_extreme_records(dataset: pd.DataFrame, by_vars: Sequence[str], order: Sequence[str],
                           *, mode: str = "last", filter: Mask = None,
                           set_values_to: Mapping[str, object] | None = None,
                           dataset_add: pd.DataFrame | None = None) -> pd.DataFrame:
    """Append, per ``by_vars`` group, a copy of its first/last record with ``set_values_to``.

    Source records come from ``dataset_add`` if given, else from ``dataset`` itself.
    """
    if mode not in ("first", "last"):
        raise DerivationError(f"derive_extreme_records: mode {mode!r} not 'first' or 'last'")
    source = dataset if dataset_add is None else dataset_add
    require_columns(source, list(by_vars) + split_order(order)[0], what="derive_extreme_records")
    sub = sort_frame(source.loc[evaluate_mask(source, filter)], by_vars, order)
    g = sub.groupby(list(by_vars), dropna=False, sort=False, observed=True)
    new = (g.head(1) if mode == "first" else g.tail(1)).copy()
    for var, value in (set_values_to or {}).items():
        new[var] = value
    return pd.concat([dataset, new], ignore_index=True)
