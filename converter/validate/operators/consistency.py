"""Within-record and within-dataset consistency: paired variables, ordered numbers, timing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from converter.model import Dataset
from converter.validate.context import Context
from converter.validate.operators import Skip, findings, operator
from converter.validate.operators.identity import group_codes


def _need(ctx: Context, ds: Dataset, *variables: str) -> list[str]:
    names = [ctx.expand(ds.name, v) for v in variables]
    missing = [n for n in names if n not in ds.data.columns]
    if missing:
        raise Skip(f"{ds.name} has no {', '.join(missing)}")
    return names


@operator("consistent_within")
def consistent_within(ctx: Context, ds: Dataset, variable: str, within: str) -> pd.DataFrame:
    """``variable`` takes one value for each value of ``within`` (e.g. --TEST within
    --TESTCD, VISIT within VISITNUM). One finding per ``within`` value, on its first record."""
    var, key = _need(ctx, ds, variable, within)
    present = ~ctx.blank(ds, var) & ~ctx.blank(ds, key)
    pairs = group_codes(ctx, ds, [key, var])
    frame = pd.DataFrame({"k": group_codes(ctx, ds, [key]), "p": pairs,
                          "row": np.arange(len(ds.data))})[present]
    distinct = frame.drop_duplicates("p")
    counts = distinct["k"].value_counts()
    bad = counts.index[counts > 1]
    if len(bad) == 0:
        return None
    hits = distinct[distinct["k"].isin(bad)]
    values = ds.data[var].to_numpy()
    listed = hits.groupby("k", observed=True)["row"].agg(
        lambda r: ", ".join(sorted(map(str, values[r.to_numpy()]))))
    first = hits.groupby("k", observed=True)["row"].min()
    rows = first.loc[listed.index].to_numpy()
    return findings(row=rows, variable=var, value=listed.to_numpy(),
                    within=key, within_value=ds.data[key].to_numpy()[rows])


@operator("numeric_not_greater")
def numeric_not_greater(ctx: Context, ds: Dataset, left: str, right: str) -> pd.DataFrame:
    """``left`` <= ``right`` where both are populated (e.g. --STDY <= --ENDY)."""
    lcol, rcol = _need(ctx, ds, left, right)
    lv = pd.to_numeric(ds.data[lcol], errors="coerce").to_numpy(dtype=float)
    rv = pd.to_numeric(ds.data[rcol], errors="coerce").to_numpy(dtype=float)
    rows = np.flatnonzero(lv > rv)       # NaN compares False
    return findings(row=rows, variable=lcol, value=lv[rows], expected=rv[rows], right=rcol)


@operator("one_of_populated")
def one_of_populated(ctx: Context, ds: Dataset, variables: list[str],
                     unless: dict[str, str] | None = None) -> pd.DataFrame:
    """At least one of ``variables`` is populated on each record, unless another variable
    holds a given value (e.g. --OCCUR = N). Skipped when none of the variables exists."""
    present = [c for c in (ctx.expand(ds.name, v) for v in variables) if c in ds.data.columns]
    if not present:
        raise Skip(f"{ds.name} has none of {', '.join(variables)}")
    empty = np.ones(len(ds.data), dtype=bool)
    for col in present:
        empty &= ctx.blank(ds, col)
    for other, value in (unless or {}).items():
        col = ctx.expand(ds.name, other)
        if col in ds.data.columns:
            empty &= (ds.data[col] != value).to_numpy()
    rows = np.flatnonzero(empty)
    return findings(row=rows, variable=present[0], value=None,
                    expected=" or ".join(present))
