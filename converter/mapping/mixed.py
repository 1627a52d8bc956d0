"""Results that mix numbers and text (``conditional`` branches of different algorithms).

A variable is either numeric or character. When every branch of a ``conditional`` that ran
gave numbers, the result is a float column (missing = NaN); when numbers and text mix, the
numbers are written as text (plain notation without trailing zeros, as ``to_text``) so the
variable is character. Either way no Python float hides in a text column.

>>> import pandas as pd
>>> settle(pd.Series([1.5, None, 3.0], dtype=object), {"number"}).tolist()
[1.5, nan, 3.0]
>>> settle(pd.Series([1.5, "<50", None], dtype=object), {"number", "text"}).tolist()
['1.5', '<50', None]
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def kind_of(values: pd.Series) -> str | None:
    """'number' for a numeric result, 'text' for text, None when every value is missing."""
    if values.dtype.kind in "fiu":
        return "number"
    inferred = pd.api.types.infer_dtype(values, skipna=True)
    if inferred == "empty":
        return None
    return "number" if inferred in ("floating", "integer", "mixed-integer-float",
                                    "decimal") else "text"


def _text(x: object) -> object:
    if x is None or isinstance(x, str):
        return x
    if isinstance(x, (float, np.floating)) and np.isnan(x):
        return None
    if isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool):
        return np.format_float_positional(float(x), trim="-")
    return str(x)


def settle(result: pd.Series, kinds: set[str]) -> pd.Series:
    """The conditional's object result as one type: float when only numbers were produced,
    else text (numbers formatted on their distinct values)."""
    kinds = kinds - {None}
    if kinds == {"number"}:
        return pd.to_numeric(result, errors="coerce").astype("float64")
    if "number" not in kinds:
        return result
    codes, uniques = pd.factorize(result, use_na_sentinel=True)
    text = np.array([_text(u) for u in uniques] + [None], dtype=object)  # distinct values
    return pd.Series(text[codes], index=result.index, dtype=object)
