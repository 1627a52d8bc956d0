"""Variables merged from another dataset (admiral ``derive_vars_merged`` and friends)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from converter.adam.derivations._common import (
    DerivationError,
    Mask,
    evaluate_mask,
    match_rows,
    require_columns,
    sort_frame,
    take_column,
)


def _pick(dataset_add: pd.DataFrame, by_vars: Sequence[str], order: Sequence[str] | None,
          mode: str | None, what: str) -> pd.DataFrame:
    if mode is None:
        dup = dataset_add.duplicated(list(by_vars), keep=False)
        if dup.any():
            keys = dataset_add.loc[dup, list(by_vars)].drop_duplicates().head(5)
            raise DerivationError(
                f"{what}: dataset_add has more than one record per {list(by_vars)} "
                f"(e.g. {keys.to_dict('records')}); give order and mode ('first'/'last')")
        return dataset_add
    if mode not in ("first", "last"):
        raise DerivationError(f"{what}: mode {mode!r} not 'first' or 'last'")
    ordered = sort_frame(dataset_add, by_vars, order or [])
    g = ordered.groupby(list(by_vars), dropna=False, sort=False, observed=True)
    return g.head(1) if mode == "first" else g.tail(1)


def derive_vars_merged(dataset: pd.DataFrame, dataset_add: pd.DataFrame, by_vars: Sequence[str],
                       *, new_vars: Sequence[str] | Mapping[str, str] | None = None,
                       order: Sequence[str] | None = None, mode: str | None = None,
                       filter_add: Mask = None,
                       missing_values: Mapping[str, object] | None = None) -> pd.DataFrame:
    """Add variables from ``dataset_add`` matched on ``by_vars`` (one add record per key).

    ``new_vars`` is a list of names or ``{new_name: source_name}`` (default: every column of
    ``dataset_add`` not already in ``dataset``). With ``order``/``mode`` the first or last add
    record per key is taken. ``missing_values`` sets values for records without a match.

    >>> import pandas as pd
    >>> dm = pd.DataFrame({"USUBJID": ["1", "2"]})
    >>> ex = pd.DataFrame({"USUBJID": ["1", "1"], "EXSTDTC": ["2014-01-05", "2014-01-02"]})
    >>> derive_vars_merged(dm, ex, ["USUBJID"], new_vars={"FIRSTDTC": "EXSTDTC"},
    ...                    order=["EXSTDTC"], mode="first")["FIRSTDTC"].tolist()
    ['2014-01-02', None]
    """
    by_vars = list(by_vars)
    require_columns(dataset, by_vars, what="derive_vars_merged (dataset)")
    require_columns(dataset_add, by_vars, what="derive_vars_merged (dataset_add)")
    if new_vars is None:
        pairs = {c: c for c in dataset_add.columns if c not in dataset.columns}
    elif isinstance(new_vars, Mapping):
        pairs = dict(new_vars)
    else:
        pairs = {c: c for c in new_vars}
    require_columns(dataset_add, list(pairs.values()), what="derive_vars_merged (new_vars)")
    clash = [n for n in pairs if n in dataset.columns and n not in by_vars]
    if clash:
        raise DerivationError(f"derive_vars_merged: {clash} already in the dataset; "
                              "drop or rename them first (a merge never overwrites)")
    add = dataset_add.loc[evaluate_mask(dataset_add, filter_add)]
    add = _pick(add, by_vars, order, mode, "derive_vars_merged")
    pos = match_rows(dataset, add, by_vars)
    out = dataset.copy(deep=False)
    for new, src in pairs.items():
        col = take_column(add[src], pos, dataset.index)
        if missing_values and new in missing_values:
            col = col.astype(object).where(pos >= 0, missing_values[new])
        out[new] = col
    return out


def derive_var_merged_exist_flag(dataset: pd.DataFrame, dataset_add: pd.DataFrame,
                                 by_vars: Sequence[str], new_var: str, *,
                                 condition: Mask = None, true_value: object = "Y",
                                 false_value: object = "N", missing_value: object = None
                                 ) -> pd.DataFrame:
    """Flag records of ``dataset`` having at least one ``dataset_add`` record meeting ``condition``.

    ``missing_value`` is used when the key has no ``dataset_add`` record at all.
    """
    by_vars = list(by_vars)
    require_columns(dataset_add, by_vars, what="derive_var_merged_exist_flag")
    cond = evaluate_mask(dataset_add, condition)
    keys = dataset_add[by_vars].assign(_hit=cond.to_numpy())
    agg = keys.groupby(by_vars, dropna=False, sort=False, observed=True)["_hit"].any().reset_index()
    pos = match_rows(dataset, agg, by_vars)
    hit = agg["_hit"].to_numpy(dtype=bool)[np.where(pos >= 0, pos, 0)] if len(agg) else \
        np.zeros(len(dataset), dtype=bool)
    values = np.where(pos < 0, missing_value, np.where(hit, true_value, false_value))
    out = dataset.copy(deep=False)
    out[new_var] = pd.Series(values, index=dataset.index, dtype=object).where(
        pd.notna(values), None)
    return out


