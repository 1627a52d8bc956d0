"""transpose: reshape a wide raw source to long before the steps run (findings domains).

Each listed wide column becomes one record per raw row, with its name code in
``name_column`` and its value in ``value_column`` (both then readable by steps like any raw
column). Every long record keeps the provenance (file, row) of its wide row. With
``drop_missing: true`` (default) empty cells make no record; a raw row whose cells are all
empty is reported in the reconciliation as "no values to transpose".
"""

from __future__ import annotations

import pandas as pd
from pydantic import model_validator

from converter.mapping.base import Strict
from converter.mapping.stacking import SOURCE_NAME
from converter.model import SRC_FILE, SRC_ROW


class Transpose(Strict):
    columns: dict[str, str]
    name_column: str = "TRANSPOSE_NAME"
    value_column: str = "TRANSPOSE_VALUE"
    keep: list[str] | None = None
    drop_missing: bool = True

    @model_validator(mode="after")
    def _check(self) -> Transpose:
        if not self.columns:
            raise ValueError("transpose.columns needs at least one wide column")
        return self

    def needed(self) -> list[str]:
        return list(self.columns) + list(self.keep or [])


def transpose(raw: pd.DataFrame, spec: Transpose, positions: bool = False) -> pd.DataFrame:
    """Wide → long, vectorised (``pd.melt``); order: raw row, then declared column order.

    With ``positions`` the result keeps ``__pos``, the wide row's position in ``raw``.
    """
    wide = list(spec.columns)
    keep = spec.keep if spec.keep is not None else [c for c in raw.columns if c not in wide]
    keep = [c for c in keep if c not in (SRC_FILE, SRC_ROW)] + [SRC_FILE, SRC_ROW]
    if SOURCE_NAME in raw.columns and SOURCE_NAME not in keep:  # stacked: record's source
        keep.append(SOURCE_NAME)
    frame = raw[keep + wide].copy()
    frame["__pos"] = range(len(frame))
    long = frame.melt(id_vars=keep + ["__pos"], value_vars=wide,
                      var_name=spec.name_column, value_name=spec.value_column)
    long["__col"] = long[spec.name_column].map({c: i for i, c in enumerate(wide)})
    long[spec.name_column] = long[spec.name_column].map(spec.columns)
    if spec.drop_missing:
        v = long[spec.value_column]
        long = long[v.notna() & v.astype(str).str.strip().ne("")]
    long = long.sort_values(["__pos", "__col"], kind="mergesort")
    drop = ["__col"] if positions else ["__pos", "__col"]
    return long.drop(columns=drop).reset_index(drop=True)
