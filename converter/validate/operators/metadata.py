"""Operators comparing a dataset with its spec: presence, emptiness, types, lengths, labels."""

from __future__ import annotations

import numpy as np
import pandas as pd

from converter.model import Dataset
from converter.validate.context import Context
from converter.validate.operators import Skip, findings, operator


def _spec(ctx: Context, ds: Dataset):
    meta = ctx.spec_meta(ds.name)
    if meta is None:
        raise Skip(f"dataset {ds.name} is not described in the spec"
                   if ctx.specs else "no spec given")
    return meta


def _is_num(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
        series.dtype)


@operator("variables_present")
def variables_present(ctx: Context, ds: Dataset, core: str = "Req") -> pd.DataFrame:
    """Spec variables whose Core is ``core`` (Req/Exp) must be columns of the dataset."""
    meta = _spec(ctx, ds)
    have = set(ds.data.columns)
    missing = [v.name for v in meta.variables if (v.core or "").lower().startswith(core.lower())
               and v.name not in have]
    return findings(variable=missing, value=None, expected=core)


@operator("required_not_null")
def required_not_null(ctx: Context, ds: Dataset) -> pd.DataFrame:
    """Req variables must be populated on every record."""
    meta = _spec(ctx, ds)
    parts = []
    for var in meta.variables:
        if (var.core or "").lower().startswith("req") and var.name in ds.data.columns:
            rows = np.flatnonzero(ctx.blank(ds, var.name))
            if len(rows):
                parts.append(findings(row=rows, variable=var.name, value=None))
    return pd.concat(parts, ignore_index=True) if parts else None


@operator("expected_not_empty")
def expected_not_empty(ctx: Context, ds: Dataset, core: str = "Exp") -> pd.DataFrame:
    """Variables with Core ``core`` that are present should not be empty on every record."""
    meta = _spec(ctx, ds)
    if len(ds.data) == 0:
        raise Skip(f"dataset {ds.name} has no records")
    empty = [v.name for v in meta.variables
             if (v.core or "").lower().startswith(core.lower()) and v.name in ds.data.columns
             and ctx.blank(ds, v.name).all()]
    return findings(variable=empty, value=None)


@operator("variable_types")
def variable_types(ctx: Context, ds: Dataset) -> pd.DataFrame:
    """Char variables hold text and Num variables numbers, as the spec says."""
    meta = _spec(ctx, ds)
    bad, got, want = [], [], []
    for var in meta.variables:
        if var.name not in ds.data.columns:
            continue
        s = ds.data[var.name]
        actual = "Num" if _is_num(s) else "Char"
        if s.isna().all():   # an all-missing column carries no type evidence
            continue
        if actual != (var.type or "Char"):
            bad.append(var.name)
            got.append(actual)
            want.append(var.type)
    return findings(variable=bad, value=got, expected=want)


def byte_lengths(ctx: Context, ds: Dataset, column: str, encoding: str = "utf-8") -> np.ndarray:
    """Length in bytes of every value of a character column (0 for missing)."""
    def lengths(u: pd.Series) -> np.ndarray:
        return u.map(lambda v: 0 if v is None or pd.isna(v) else len(str(v).encode(encoding))
                     ).to_numpy(dtype=np.int64)
    return ctx.per_unique(ds, column, lengths)


@operator("variable_lengths")
def variable_lengths(ctx: Context, ds: Dataset) -> pd.DataFrame:
    """Character values fit the declared length (dataset metadata) and the spec's length."""
    spec = ctx.spec_meta(ds.name)
    if not limits_known(ds, spec):
        raise Skip(f"no lengths declared for {ds.name} in dataset metadata or spec")
    rows = []
    for col in ctx.columns(ds):
        if _is_num(ds.data[col]):
            continue
        limits = []
        declared = ds.meta.variable(col)
        if declared is not None and declared.length:
            limits.append(("dataset metadata", declared.length))
        sv = spec.variable(col) if spec is not None else None
        if sv is not None and sv.length:
            limits.append(("spec", sv.length))
        if not limits:
            continue
        longest = int(byte_lengths(ctx, ds, col).max(initial=0))
        for source, limit in limits:
            if longest > limit:
                rows.append({"variable": col, "value": longest,
                             "expected": f"<= {limit} bytes ({source})"})
    return pd.DataFrame(rows)


def limits_known(ds: Dataset, spec) -> bool:
    return any(v.length for v in ds.meta.variables) or (
        spec is not None and any(v.length for v in spec.variables))


@operator("variable_labels")
def variable_labels(ctx: Context, ds: Dataset) -> pd.DataFrame:
    """Variable labels in the dataset match the spec's labels."""
    meta = _spec(ctx, ds)
    if not any(v.label for v in ds.meta.variables):
        raise Skip(f"dataset {ds.name} carries no variable labels")
    rows = []
    for var in meta.variables:
        have = ds.meta.variable(var.name)
        if have is None or var.name not in ds.data.columns or not var.label:
            continue
        if (have.label or "").strip() != var.label.strip():
            rows.append({"variable": var.name, "value": have.label, "expected": var.label})
    return pd.DataFrame(rows)


@operator("variables_in_spec")
def variables_in_spec(ctx: Context, ds: Dataset) -> pd.DataFrame:
    """Every column of the dataset is a variable of the spec."""
    meta = _spec(ctx, ds)
    known = set(meta.names)
    extra = [c for c in ctx.columns(ds) if c not in known]
    return findings(variable=extra, value=extra)


@operator("domain_value")
def domain_value(ctx: Context, ds: Dataset) -> pd.DataFrame:
    """DOMAIN equals the dataset's domain code (dataset name, or its first two letters when
    the dataset is a split such as LBCH)."""
    if "DOMAIN" not in ds.data.columns:
        raise Skip(f"{ds.name} has no DOMAIN variable")
    allowed = {ds.name, ds.name[:2]}
    if ds.name.startswith("SUPP"):
        raise Skip("SUPP-- datasets use RDOMAIN")
    ok = ctx.per_unique(ds, "DOMAIN", lambda u: u.isin(allowed))
    rows = np.flatnonzero(~ok)
    return findings(row=rows, variable="DOMAIN", value=ds.data["DOMAIN"].to_numpy()[rows],
                    expected=ds.name)


@operator("has_records")
def has_records(ctx: Context, ds: Dataset) -> pd.DataFrame:
    """A submitted dataset has at least one record."""
    return findings(value=[0] if len(ds.data) == 0 else [])
