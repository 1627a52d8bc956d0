"""SAS special missing values (``.A``-``.Z``, ``._``) in float64 columns.

A numeric column stays a plain ``float64`` column: every missing value is a NaN, so pandas and
numpy treat it as missing. A *special* missing value is a NaN whose payload carries the letter:
the 64 bits are ``0x7FF8_534D_0000_00cc`` where ``cc`` is the ASCII code of ``A``-``Z`` or ``_``
(``0x534D`` spells "SM"). An ordinary ``.`` is any other NaN. Copies, ``take``/``sort``, concat,
Parquet round-trips keep the bits; arithmetic produces ordinary NaNs (as SAS does).

>>> import numpy as np, pandas as pd
>>> s = pd.Series([1.0, special_missing("A"), np.nan, special_missing("_")])
>>> missing_codes(s).tolist()
[None, 'A', '.', '_']
>>> s.isna().tolist()
[False, True, True, True]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_BASE = np.uint64(0x7FF8_534D_0000_0000)
_MASK = np.uint64(0xFFFF_FFFF_FFFF_FF00)
LETTERS = tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ") + ("_",)


def special_missing(letter: str) -> float:
    """The float64 NaN standing for SAS ``.<letter>`` (``letter`` in A-Z or ``_``)."""
    letter = letter.lstrip(".").upper()
    if letter not in LETTERS:
        raise ValueError(f"not a SAS special missing value: {letter!r}")
    return np.array([_BASE | np.uint64(ord(letter))], dtype=np.uint64).view(np.float64)[0]


def special_codes_array(values: np.ndarray) -> np.ndarray:
    """uint8 array: 0 for non-missing, ord('.') for plain NaN, letter code for special missing."""
    arr = np.ascontiguousarray(values, dtype=np.float64)
    bits = arr.view(np.uint64)
    nan = np.isnan(arr)
    special = nan & ((bits & _MASK) == _BASE)
    low = (bits & np.uint64(0xFF)).astype(np.uint8)
    special &= ((low >= 65) & (low <= 90)) | (low == 95)
    out = np.zeros(arr.shape, dtype=np.uint8)
    out[nan] = ord(".")
    out[special] = low[special]
    return out


def missing_codes(series: pd.Series) -> pd.Series:
    """Per value: None if present, '.' for an ordinary missing value, else the special letter."""
    codes = special_codes_array(series.to_numpy(dtype=np.float64))
    out = pd.Series(codes.view("S1").astype(str), index=series.index, dtype=object)
    return out.where(codes != 0, None)


def from_codes(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Put special missing letters (uint8 codes; 0 or '.' = leave) into a float64 array."""
    out = np.array(values, dtype=np.float64, copy=True)
    special = (codes != 0) & (codes != ord("."))
    bits = out.view(np.uint64)
    bits[special] = _BASE | codes[special].astype(np.uint64)
    out[(codes == ord("."))] = np.nan
    return out


def has_special(series: pd.Series) -> bool:
    codes = special_codes_array(series.to_numpy(dtype=np.float64))
    return bool(((codes != 0) & (codes != ord("."))).any())
