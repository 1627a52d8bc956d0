"""Helpers shared by the derivations: masks, sorting, column checks.

A *mask* argument (``filter``, ``filter_add``) is either ``None`` (all rows), a boolean Series
aligned to the frame, or a callable taking the frame and returning such a Series. Configuration
compiles its declarative filters into callables (``converter.adam.filters``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

Mask = pd.Series | np.ndarray | Callable[[pd.DataFrame], pd.Series] | None


class DerivationError(ValueError):
    """A derivation was called with arguments that cannot work (missing column, bad value)."""


def evaluate_mask(dataset: pd.DataFrame, mask: Mask) -> pd.Series:
    """Boolean Series aligned to ``dataset`` (missing results count as False)."""
    if mask is None:
        return pd.Series(True, index=dataset.index)
    if callable(mask):
        mask = mask(dataset)
    if isinstance(mask, np.ndarray):
        mask = pd.Series(mask, index=dataset.index)
    return mask.reindex(dataset.index).fillna(False).astype(bool)


def require_columns(dataset: pd.DataFrame, columns: Sequence[str], *, what: str) -> None:
    missing = [c for c in columns if c not in dataset.columns]
    if missing:
        raise DerivationError(
            f"{what}: column(s) {missing} not in the dataset (has {sorted(dataset.columns)[:30]})")


def split_order(order: Sequence[str]) -> tuple[list[str], list[bool]]:
    """``["ADT", "-AVAL"]`` → columns and ascending flags (a leading '-' means descending)."""
    cols, asc = [], []
    for item in order:
        if item.startswith("-"):
            cols.append(item[1:])
            asc.append(False)
        else:
            cols.append(item)
            asc.append(True)
    return cols, asc


def sort_frame(dataset: pd.DataFrame, by_vars: Sequence[str], order: Sequence[str]) -> pd.DataFrame:
    """Stable sort by ``by_vars`` then ``order``; missing values sort last (as dplyr does)."""
    cols, asc = split_order(order)
    keys = list(by_vars) + cols
    if not keys:
        return dataset
    return dataset.sort_values(keys, ascending=[True] * len(by_vars) + asc, kind="mergesort",
                               na_position="last")


def unique_index(dataset: pd.DataFrame, what: str) -> None:
    if not dataset.index.is_unique:
        raise DerivationError(f"{what}: the dataset index must be unique (call reset_index first)")


def match_rows(dataset: pd.DataFrame, keys: pd.DataFrame, by_vars: Sequence[str]) -> np.ndarray:
    """Position in ``keys`` (unique on ``by_vars``) of each ``dataset`` row; −1 without a match.

    Cheaper than a merge on big frames: only the key columns are touched.
    """
    by_vars = list(by_vars)
    if len(by_vars) == 1:
        right = pd.Index(keys[by_vars[0]])
        left = pd.Index(dataset[by_vars[0]])
    else:
        right = pd.MultiIndex.from_frame(keys[by_vars])
        left = pd.MultiIndex.from_frame(dataset[by_vars])
    if not right.is_unique:
        raise DerivationError(f"keys {by_vars} are not unique in the added dataset")
    return right.get_indexer(left)


def take_column(values: pd.Series, pos: np.ndarray, index: pd.Index) -> pd.Series:
    """``values`` at positions ``pos`` (−1 → missing), aligned to ``index``."""
    hit = pos >= 0
    if not len(values):
        return pd.Series([None] * len(pos), index=index, dtype=object)
    taken = values.iloc[np.where(hit, pos, 0)].reset_index(drop=True)
    taken.index = index
    if hit.all():
        return taken
    if pd.api.types.is_bool_dtype(taken.dtype) or taken.dtype == object:
        return taken.astype(object).where(hit, None)
    return taken.where(hit)
