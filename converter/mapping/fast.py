"""Work on distinct values: factorise a column once, compute on its uniques, broadcast back.

Raw exports repeat values massively (5 M lab rows hold a few thousand dates, ten test names,
ten thousand subjects), so every text operation in the mapping algorithms runs on the distinct
values and is mapped back with one integer ``take``. Factorisations are cached per domain
(``Codes``) because several steps read the same column.

>>> import pandas as pd
>>> s = pd.Series([" a", "b", None, " a"], dtype=object)
>>> unique_apply(s, lambda u: u.str.strip().str.upper()).tolist()
['A', 'B', None, 'A']
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from converter.columns import decoded


def factorize(s: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """(codes, uniques): codes are int64 with -1 for missing; uniques an object Series.

    A Categorical column is not hashed again: its codes and categories are the answer (the
    categories may include values no record holds)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = np.asarray(s.cat.categories)
        if cats.dtype.kind not in "fiub":
            cats = cats.astype(object)
        return (s.cat.codes.to_numpy().astype(np.int64, copy=False),
                pd.Series(cats, dtype=cats.dtype))
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    arr = np.asarray(uniques)
    if arr.dtype.kind not in "fiub":   # text and mixed values stay Python objects
        arr = arr.astype(object)
    return codes.astype(np.int64, copy=False), pd.Series(arr, dtype=arr.dtype)


def is_text(dtype) -> bool:
    """A text column: object (str/None) or Categorical."""
    return dtype == object or isinstance(dtype, pd.CategoricalDtype)


def plain(s: pd.Series) -> pd.Series:
    """A Categorical text column as plain object values (missing = None); others unchanged.
    For code that needs ordinary pandas semantics (group-wise min/max, setting new values)."""
    if not isinstance(s.dtype, pd.CategoricalDtype):
        return s
    return pd.Series(decoded(s), index=s.index, name=s.name, dtype=object)


def plain_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its Categorical columns as plain object columns (see ``plain``)."""
    cats = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    if not cats:
        return frame
    return frame.assign(**{c: plain(frame[c]) for c in cats})


def take(values: np.ndarray | pd.Series, codes: np.ndarray, missing: object = None
         ) -> np.ndarray:
    """``values[codes]`` with ``missing`` where the code is -1."""
    arr = np.asarray(values)
    if arr.dtype.kind in "fc" and missing is None:
        missing = np.nan
    ext = np.empty(len(arr) + 1, dtype=arr.dtype if arr.dtype.kind != "U" else object)
    ext[:-1] = arr
    ext[-1] = missing
    return ext[codes]


def clean_uniques(u: pd.Series, strip: bool = True) -> pd.Series:
    """Text of distinct values; blank (after strip) becomes None."""
    if strip and u.dtype == object and len(u) > 1000:
        # many distinct values (dates with times, identifiers): those that begin and end with
        # a letter or digit are already clean; only the others go through str.strip
        arr = u.to_numpy(dtype=object)
        ok = text_match(arr, r"[0-9A-Za-z](?:.*[0-9A-Za-z])?", full=True)
        if ok.any():
            out = arr.copy()
            if not ok.all():
                out[~ok] = _clean(u[~ok], strip).to_numpy(dtype=object)
            return pd.Series(out, index=u.index, dtype=object)
    return _clean(u, strip)


def _clean(u: pd.Series, strip: bool) -> pd.Series:
    text = u.astype(str)
    if strip:
        text = text.str.strip()
    text = text.where(u.notna() & text.ne(""), None)
    return text.astype(object).where(text.notna(), None)


def unique_apply(s: pd.Series, fn: Callable[[pd.Series], pd.Series],
                 codes: tuple[np.ndarray, pd.Series] | None = None) -> pd.Series:
    """``fn`` applied to the distinct non-missing values of ``s``, broadcast back (None/NaN
    where ``s`` is missing)."""
    c, u = codes if codes is not None else factorize(s)
    res = fn(u)
    arr = res.to_numpy()
    if arr.dtype == object:
        arr = arr.copy()
        arr[pd.isna(arr)] = None
    return pd.Series(take(arr, c), index=s.index)


# what pd.to_numeric may read as a number (the test before parsing distinct values)
NUMBER_SHAPE = r"(?i)\s*[-+]?((\d+\.?\d*|\.\d+)(e[-+]?\d+)?|inf|infinity)\s*"


def sort_rank(c: np.ndarray, u: pd.Series, numeric: bool = False) -> np.ndarray:
    """Codes re-numbered so that their order is the sorted order of the values (missing last).

    With ``numeric`` the uniques are compared as numbers when all of them are numbers.
    """
    key = u
    # numbers as numbers only if every distinct value is one (a cheap shape test first:
    # identifiers such as 'L0000001' are not parsed value by value)
    if u.dtype != object or (numeric and text_match(u.to_numpy(dtype=object), NUMBER_SHAPE,
                                                    full=True).all()):
        num = pd.to_numeric(u, errors="coerce")
        if num.notna().all():
            key = num
    if not len(u):
        order = np.array([], dtype=np.int64)
    elif key.dtype == object and pd.api.types.infer_dtype(key, skipna=False) == "string":
        # text: Arrow's sort (UTF-8 byte order is code point order, as Python compares str)
        order = pc.sort_indices(pa.array(key.to_numpy(dtype=object), type=pa.string())
                                ).to_numpy().astype(np.int64)
    else:
        order = np.argsort(key.to_numpy(dtype=object if key.dtype == object else None),
                           kind="stable")
    rank = np.empty(len(u) + 1, dtype=np.int64)
    rank[order] = np.arange(len(u))
    rank[-1] = len(u)  # missing sorts last
    return rank[c]


class Codes:
    """Per-domain cache of factorised raw columns and mapped variables."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], tuple[np.ndarray, pd.Series]] = {}

    def get(self, kind: str, name: str, series: pd.Series) -> tuple[np.ndarray, pd.Series]:
        key = (kind, name)
        hit = self._cache.get(key)
        if hit is None or len(hit[0]) != len(series):
            hit = factorize(series)
            self._cache[key] = hit
        return hit

    def forget(self, kind: str, name: str) -> None:
        self._cache.pop((kind, name), None)

    def put(self, kind: str, name: str, codes: np.ndarray, values: np.ndarray,
            index: pd.Index) -> pd.Series:
        """The column ``values[codes]`` (missing where the code is -1) on ``index``, with its
        factorisation registered (values may repeat: they are factorised again, which costs
        only their number). Text comes back as a Categorical (no array of millions of Python
        strings); numbers and mixed values as a plain column."""
        full, uniq, out = _broadcast(values, codes, index)
        self._cache[(kind, name)] = (full, pd.Series(uniq, dtype=uniq.dtype))
        return out


def _broadcast(values: np.ndarray, codes: np.ndarray, index: pd.Index
               ) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """(codes into distinct values, the distinct values, the column ``values[codes]``)."""
    values = np.asarray(values)
    inner, uniques = pd.factorize(pd.Series(values, dtype=values.dtype), use_na_sentinel=True)
    full = take(inner.astype(np.int64), codes, missing=-1)
    uniq = np.asarray(uniques)
    if values.dtype == object:
        uniq = uniq.astype(object)
    if uniq.dtype == object and pd.api.types.infer_dtype(uniq, skipna=False) in (
            "string", "empty"):
        cat = pd.Categorical.from_codes(full, dtype=pd.CategoricalDtype(
            pd.Index(uniq, dtype=object)), validate=False)
        return full, uniq, pd.Series(cat, index=index)
    return full, uniq, pd.Series(take(uniq, full), index=index)


def broadcast(values: np.ndarray, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """The column ``values[codes]`` (missing where the code is -1): a Categorical for text,
    a plain column for numbers or mixed values."""
    return _broadcast(values, codes, index)[2]


def text_match(values, pattern: str, *, full: bool = False) -> np.ndarray:
    """Whether ``pattern`` matches at the start of each value (``full``: the whole value),
    run by Arrow's regex engine over all values at once (``\\d`` means 0-9). Missing values
    and values that are not text never match."""
    arr = np.asarray(values, dtype=object)
    try:
        text = pa.array(arr, type=pa.string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        keep = np.fromiter((isinstance(v, str) for v in arr), dtype=bool, count=len(arr))
        text = pa.array(np.where(keep, arr, None), type=pa.string(), from_pandas=True)
    rx = f"^(?:{pattern})$" if full else f"^(?:{pattern})"
    hit = pc.match_substring_regex(text, rx)
    return pc.fill_null(hit, False).to_numpy(zero_copy_only=False).astype(bool)


def utf8_lengths(s: pd.Series) -> np.ndarray:
    """Byte length of each value in UTF-8 (0 for missing), computed by Arrow. Values that are
    not text (a number in an object column) are measured as their text."""
    values = s.to_numpy(dtype=object)
    try:
        arr = pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        values = pd.Series(values, dtype=object)
        text = values.where(values.isna() | values.map(lambda v: isinstance(v, str)),
                            values.astype(str))
        arr = pa.array(text.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    return pc.fill_null(pc.binary_length(arr.cast(pa.binary())), 0).to_numpy(
        zero_copy_only=False)
