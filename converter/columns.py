"""Column values shared by every stage.

Text columns travel as pandas Categoricals (codes into the distinct values) from the readers
to the writers; code that needs plain Python values (issue rows, lineage, ordinary pandas
semantics) decodes them here, in one place.

>>> import pandas as pd
>>> decoded(pd.Series(["a", None, "a"], dtype="category")).tolist()
['a', None, 'a']
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def decoded(values: pd.Series | pd.Categorical | np.ndarray) -> np.ndarray:
    """Object array of a Categorical (Series or array): its values, None where missing, equal
    values sharing one object. Any other column: its values as they are (``to_numpy``)."""
    cat = values.array if isinstance(values, pd.Series) else values
    if isinstance(getattr(cat, "dtype", None), pd.CategoricalDtype):
        out = np.empty(len(cat.categories) + 1, dtype=object)
        out[:-1] = cat.categories.to_numpy(dtype=object)
        out[-1] = None
        return out.take(cat.codes)          # code -1 (missing) takes the last entry: None
    return values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
