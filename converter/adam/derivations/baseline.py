"""Baseline and change from baseline: BASE (and BASEC, BNRIND …), CHG, PCHG."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from converter.adam.derivations._common import (
    DerivationError,
    Mask,
    evaluate_mask,
    match_rows,
    require_columns,
    take_column,
)


def _default_baseline(ds: pd.DataFrame) -> pd.Series:
    return ds["ABLFL"] == "Y"


def derive_var_base(dataset: pd.DataFrame, by_vars: Sequence[str], *, source_var: str = "AVAL",
                    new_var: str = "BASE", filter: Mask = _default_baseline) -> pd.DataFrame:
    """Copy ``source_var`` of the baseline record (``filter``, default ABLFL = "Y") to every
    record of its ``by_vars`` group (e.g. STUDYID, USUBJID, PARAMCD, BASETYPE).

    >>> import pandas as pd
    >>> df = pd.DataFrame({"USUBJID": ["1", "1"], "PARAMCD": ["CD4"] * 2,
    ...                    "AVAL": [180.0, 240.0], "ABLFL": ["Y", None]})
    >>> derive_var_base(df, ["USUBJID", "PARAMCD"])["BASE"].tolist()
    [180.0, 180.0]
    """
    by_vars = list(by_vars)
    require_columns(dataset, by_vars + [source_var], what="derive_var_base")
    base = dataset.loc[evaluate_mask(dataset, filter), by_vars + [source_var]]
    if base.duplicated(by_vars).any():
        dup = base.loc[base.duplicated(by_vars, keep=False), by_vars].head(4)
        raise DerivationError(f"derive_var_base: more than one baseline record per {by_vars} "
                              f"(e.g. {dup.to_dict('records')})")
    pos = match_rows(dataset, base, by_vars)
    out = dataset.copy(deep=False)
    out[new_var] = take_column(base[source_var], pos, dataset.index)
    return out


def derive_var_chg(dataset: pd.DataFrame, *, filter: Mask = None,
                   analysis_var: str = "AVAL", base_var: str = "BASE",
                   new_var: str = "CHG") -> pd.DataFrame:
    """CHG = AVAL − BASE on ``filter`` records (e.g. post-baseline only), missing elsewhere."""
    require_columns(dataset, [analysis_var, base_var], what="derive_var_chg")
    mask = evaluate_mask(dataset, filter)
    aval = pd.to_numeric(dataset[analysis_var], errors="coerce")
    base = pd.to_numeric(dataset[base_var], errors="coerce")
    out = dataset.copy(deep=False)  # columns are replaced, never written in place
    out[new_var] = (aval - base).where(mask).astype(float)
    return out


def derive_var_pchg(dataset: pd.DataFrame, *, filter: Mask = None,
                    analysis_var: str = "AVAL", base_var: str = "BASE",
                    new_var: str = "PCHG") -> pd.DataFrame:
    """PCHG = (AVAL − BASE) / |BASE| × 100; missing where BASE is 0 or missing."""
    require_columns(dataset, [analysis_var, base_var], what="derive_var_pchg")
    mask = evaluate_mask(dataset, filter)
    aval = pd.to_numeric(dataset[analysis_var], errors="coerce").astype(float)
    base = pd.to_numeric(dataset[base_var], errors="coerce").astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        pchg = (aval - base) / base.abs() * 100.0
    out = dataset.copy(deep=False)
    out[new_var] = pchg.where(mask & (base != 0)).astype(float)
    return out
