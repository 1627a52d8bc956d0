"""ADaM checks: BDS baseline and change arithmetic, flags, time-to-event values."""

from __future__ import annotations

import numpy as np
import pandas as pd

from converter.model import Dataset
from converter.validate.context import Context
from converter.validate.operators import Skip, findings, operator
from converter.validate.operators.identity import group_codes


def _need(ds: Dataset, *columns: str) -> None:
    missing = [c for c in columns if c not in ds.data.columns]
    if missing:
        raise Skip(f"{ds.name} has no {', '.join(missing)}")


def _by(ds: Dataset, by: list[str] | None) -> list[str]:
    """Grouping variables that are present (BASETYPE is optional in BDS)."""
    wanted = by or ["USUBJID", "PARAMCD", "BASETYPE"]
    return [c for c in wanted if c in ds.data.columns]


def _num(ds: Dataset, column: str) -> np.ndarray:
    return pd.to_numeric(ds.data[column], errors="coerce").to_numpy(dtype=float)


@operator("constant_within_group")
def constant_within_group(ctx: Context, ds: Dataset, variable: str = "BASE",
                          by: list[str] | None = None) -> pd.DataFrame:
    """``variable`` holds one value within each group (BASE per USUBJID/PARAMCD/BASETYPE).
    One finding per group, on its first record, listing the distinct values."""
    _need(ds, variable, "USUBJID", "PARAMCD")
    groups = _by(ds, by)
    key = group_codes(ctx, ds, groups)
    values = ds.data[variable]
    frame = pd.DataFrame({"key": key, "v": values.to_numpy()}).dropna(subset=["v"])
    distinct = frame.drop_duplicates()
    counts = distinct["key"].value_counts()
    bad_keys = counts.index[counts > 1]
    if len(bad_keys) == 0:
        return None
    listed = distinct[distinct["key"].isin(bad_keys)].groupby("key", observed=True)["v"].agg(
        lambda s: ", ".join(map(str, sorted(s.tolist()))))
    first = pd.Series(np.arange(len(key)), index=key).groupby(level=0, observed=True).min()
    rows = first.loc[listed.index].to_numpy()
    return findings(row=rows, variable=variable, value=listed.to_numpy(),
                    by=", ".join(groups))


@operator("change_from_baseline")
def change_from_baseline(ctx: Context, ds: Dataset, tolerance: float = 1e-6) -> pd.DataFrame:
    """CHG = AVAL - BASE wherever all three are populated (relative tolerance)."""
    _need(ds, "CHG", "AVAL", "BASE")
    chg, aval, base = _num(ds, "CHG"), _num(ds, "AVAL"), _num(ds, "BASE")
    want = aval - base
    bad = ~np.isnan(chg) & ~np.isnan(want) & (
        np.abs(chg - want) > tolerance * np.maximum(1.0, np.abs(want)))
    rows = np.flatnonzero(bad)
    return findings(row=rows, variable="CHG", value=chg[rows], expected=want[rows])


@operator("percent_change_from_baseline")
def percent_change_from_baseline(ctx: Context, ds: Dataset, tolerance: float = 1e-4
                                 ) -> pd.DataFrame:
    """PCHG = 100 * (AVAL - BASE) / BASE; PCHG stays empty when BASE is 0."""
    _need(ds, "PCHG", "AVAL", "BASE")
    pchg, aval, base = _num(ds, "PCHG"), _num(ds, "AVAL"), _num(ds, "BASE")
    with np.errstate(divide="ignore", invalid="ignore"):
        want = np.where(base == 0, np.nan, 100.0 * (aval - base) / base)
    wrong = ~np.isnan(pchg) & ~np.isnan(want) & (
        np.abs(pchg - want) > tolerance * np.maximum(1.0, np.abs(want)))
    zero_base = ~np.isnan(pchg) & (base == 0)
    rows = np.flatnonzero(wrong | zero_base)
    return findings(row=rows, variable="PCHG", value=pchg[rows], expected=want[rows])


@operator("flag_at_most_once")
def flag_at_most_once(ctx: Context, ds: Dataset, flag: str = "ABLFL", value: str = "Y",
                      by: list[str] | None = None) -> pd.DataFrame:
    """At most one record per group carries ``flag`` = ``value`` (ABLFL per
    USUBJID/PARAMCD/BASETYPE); every flagged record after the first is reported."""
    _need(ds, flag, "USUBJID", "PARAMCD")
    groups = _by(ds, by)
    flagged = (ds.data[flag] == value).to_numpy()
    key = group_codes(ctx, ds, groups)[flagged]
    dup = pd.Series(key).duplicated(keep="first").to_numpy()
    rows = np.flatnonzero(flagged)[dup]
    return findings(row=rows, variable=flag, value=value, by=", ".join(groups))


@operator("values_in_set")
def values_in_set(ctx: Context, ds: Dataset, variable: str, allowed: list) -> pd.DataFrame:
    """Populated values of ``variable`` are among ``allowed`` (e.g. CNSR in {0, 1})."""
    _need(ds, variable)
    s = ds.data[variable]
    ok = s.isna() | s.isin(allowed)
    rows = np.flatnonzero(~ok.to_numpy())
    return findings(row=rows, variable=variable, value=s.to_numpy()[rows],
                    expected=", ".join(map(str, allowed)))


@operator("value_at_least")
def value_at_least(ctx: Context, ds: Dataset, variable: str, minimum: float) -> pd.DataFrame:
    """Populated numeric values of ``variable`` are >= ``minimum`` (e.g. ADTTE AVAL >= 0,
    --DOSE >= 0; ``--`` stands for the domain prefix)."""
    variable = ctx.expand(ds.name, variable)
    _need(ds, variable)
    v = _num(ds, variable)
    rows = np.flatnonzero(~np.isnan(v) & (v < minimum))
    return findings(row=rows, variable=variable, value=v[rows], expected=f">= {minimum}")
