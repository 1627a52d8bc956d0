"""Results that mix numbers and text (``conditional`` branches of different algorithms).

A variable is either numeric or character. When every branch of a ``conditional`` that ran
gave numbers, the result is a float column (missing = NaN); when numbers and text mix, the
numbers are written as text (plain notation without trailing zeros, as ``to_text``) so the
variable is character. Either way no Python float hides in a text column.

>>> import pandas as pd
>>> kind_of(pd.Series([1.5, None], dtype=object)), kind_of(pd.Series(["<50", None]))
('number', 'text')
>>> as_text(np.array([1.5, "<50", None, 3.0], dtype=object)).tolist()
['1.5', '<50', None, '3']
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def kind_of(values: pd.Series) -> str | None:
    """'number' for a numeric result, 'text' for text, None when every value is missing."""
    if values.dtype.kind in "fiu":
        return "number"
    if isinstance(values.dtype, pd.CategoricalDtype):
        if values.isna().all():
            return None
        values = pd.Series(np.asarray(values.cat.categories, dtype=object))
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


def as_text(values: np.ndarray) -> np.ndarray:
    """Distinct values of a result mixing numbers and text, all as text (numbers written
    without a trailing '.0'); missing stays None."""
    return np.array([_text(u) for u in values], dtype=object)
