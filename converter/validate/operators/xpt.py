"""Operators for the SAS transport (XPT v5) limits the FDA requires."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from converter.model import Dataset
from converter.validate.context import Context
from converter.validate.operators import findings, operator
from converter.validate.operators.metadata import _is_num, byte_lengths

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _bad_name(name: str, max_length: int) -> str | None:
    if len(name) > max_length:
        return f"longer than {max_length} characters"
    if not NAME_RE.match(name):
        return "must start with a letter and hold only letters, digits and underscores"
    if name != name.upper():
        return "must be upper case"
    return None


@operator("xpt_names")
def xpt_names(ctx: Context, ds: Dataset, max_length: int = 8) -> pd.DataFrame:
    """Dataset and variable names: <= 8 characters, letters/digits/underscore, upper case."""
    rows = []
    problem = _bad_name(ds.name, max_length)
    if problem:
        rows.append({"variable": None, "value": ds.name, "expected": problem})
    for col in ctx.columns(ds):
        problem = _bad_name(str(col), max_length)
        if problem:
            rows.append({"variable": col, "value": col, "expected": problem})
    return pd.DataFrame(rows)


@operator("xpt_labels")
def xpt_labels(ctx: Context, ds: Dataset, max_bytes: int = 40) -> pd.DataFrame:
    """Dataset and variable labels: <= 40 bytes of ASCII."""
    rows = []
    labelled = [(None, ds.meta.label)] + [(v.name, v.label) for v in ds.meta.variables]
    for variable, label in labelled:
        label = label or ""
        if len(label.encode("utf-8")) > max_bytes or not label.isascii():
            rows.append({"variable": variable, "value": label,
                         "expected": f"<= {max_bytes} ASCII characters"})
    return pd.DataFrame(rows)


@operator("xpt_char_length")
def xpt_char_length(ctx: Context, ds: Dataset, max_bytes: int = 200) -> pd.DataFrame:
    """Character values: at most 200 bytes (the XPT v5 limit), counted in bytes, not chars."""
    parts = []
    for col in ctx.columns(ds):
        if _is_num(ds.data[col]):
            continue
        lengths = byte_lengths(ctx, ds, col)
        rows = np.flatnonzero(lengths > max_bytes)
        if len(rows):
            parts.append(findings(row=rows, variable=col, value=lengths[rows],
                                  expected=f"<= {max_bytes} bytes"))
    return pd.concat(parts, ignore_index=True) if parts else None


@operator("ascii_only")
def ascii_only(ctx: Context, ds: Dataset) -> pd.DataFrame:
    """Character values hold ASCII only (XPT v5 has no encoding field)."""
    parts = []
    for col in ctx.columns(ds):
        if _is_num(ds.data[col]):
            continue
        ok = ctx.per_unique(ds, col, lambda u: u.map(lambda v: v is None or pd.isna(v)
                                                                  or str(v).isascii()))
        rows = np.flatnonzero(~ok.astype(bool))
        if len(rows):
            parts.append(findings(row=rows, variable=col, value=ds.data[col].to_numpy()[rows],
                                  expected="ASCII characters only"))
    return pd.concat(parts, ignore_index=True) if parts else None
