"""Reference-range indicators and shifts: ANRIND, BNRIND (via derive_var_base), SHIFTn."""

from __future__ import annotations

import numpy as np
import pandas as pd

from converter.adam.derivations._common import require_columns


def _signif(x: pd.Series, digits: int) -> pd.Series:
    """Round to ``digits`` significant digits (comparisons immune to float noise)."""
    arr = x.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where((arr == 0) | np.isnan(arr), 0, np.floor(np.log10(np.abs(arr))))
    scale = 10.0 ** (digits - 1 - mag)
    return pd.Series(np.round(arr * scale) / scale, index=x.index)


def derive_var_anrind(dataset: pd.DataFrame, *, new_var: str = "ANRIND",
                      analysis_var: str = "AVAL", low_var: str = "ANRLO",
                      high_var: str = "ANRHI", signif_dig: int = 15) -> pd.DataFrame:
    """LOW / NORMAL / HIGH against the reference range; missing when AVAL or both limits are.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"AVAL": [1.0, 5.0, 9.0, None], "ANRLO": [2.0] * 4, "ANRHI": [8.0] * 4})
    >>> derive_var_anrind(df)["ANRIND"].tolist()
    ['LOW', 'NORMAL', 'HIGH', None]
    """
    require_columns(dataset, [analysis_var, low_var, high_var], what="derive_var_anrind")
    aval = _signif(pd.to_numeric(dataset[analysis_var], errors="coerce"), signif_dig)
    lo = _signif(pd.to_numeric(dataset[low_var], errors="coerce"), signif_dig)
    hi = _signif(pd.to_numeric(dataset[high_var], errors="coerce"), signif_dig)
    low = lo.notna() & (aval < lo)
    high = hi.notna() & (aval > hi)
    normal = aval.notna() & (lo.notna() | hi.notna()) & ~low & ~high
    result = np.select([aval.isna(), low, high, normal], [None, "LOW", "HIGH", "NORMAL"],
                       default=None)
    out = dataset.copy(deep=False)  # columns are replaced, never written in place
    out[new_var] = pd.Series(result, index=dataset.index, dtype=object)
    return out


def derive_var_shift(dataset: pd.DataFrame, new_var: str, from_var: str, to_var: str, *,
                     sep: str = " to ", missing_value: str = "NULL") -> pd.DataFrame:
    """``"NORMAL to HIGH"``: baseline category to analysis category (missing → ``missing_value``,
    so both missing gives ``"NULL to NULL"`` as in admiral)."""
    require_columns(dataset, [from_var, to_var], what="derive_var_shift")
    pairs = pd.DataFrame({"a": dataset[from_var].astype(object).fillna(missing_value).astype(str),
                          "b": dataset[to_var].astype(object).fillna(missing_value).astype(str)})
    codes, uniques = pd.factorize(pd.MultiIndex.from_frame(pairs))
    labels = np.array([f"{a}{sep}{b}" for a, b in uniques], dtype=object)  # one per category pair
    out = dataset.copy(deep=False)
    out[new_var] = pd.Series(labels[codes], index=dataset.index, dtype=object)
    return out
