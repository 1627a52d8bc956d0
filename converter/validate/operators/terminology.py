"""Controlled terminology: values of coded variables must be terms of their codelist."""

from __future__ import annotations

import fnmatch

import numpy as np
import pandas as pd

from converter.errors import ConfigError
from converter.model import Dataset
from converter.validate.context import Context
from converter.validate.operators import Skip, findings, operator


def codelist_for(ctx: Context, ds: Dataset, variable: str,
                 defaults: dict[str, str]) -> str | None:
    """The codelist of ``variable``: the spec's, else the dataset metadata's, else the
    rule's default map (patterns such as ``--SEV`` or ``??BLFL``)."""
    spec = ctx.spec_meta(ds.name)
    spec_var = spec.variable(variable) if spec is not None else None
    if spec_var is not None:   # the spec is authoritative, also when it names no codelist
        return spec_var.codelist
    declared = ds.meta.variable(variable)
    if declared is not None and declared.codelist:
        return declared.codelist
    for pattern, codelist in defaults.items():
        if fnmatch.fnmatchcase(variable, ctx.expand(ds.name, pattern)):
            return codelist
    return None


@operator("codelist_values")
def codelist_values(ctx: Context, ds: Dataset, extensible: bool,
                    codelists: dict[str, str] | None = None,
                    conditions: dict[str, dict[str, str]] | None = None) -> pd.DataFrame:
    """Values not in the variable's codelist, for codelists whose extensibility is
    ``extensible`` (non-extensible -> strict error rule; extensible -> warning rule).

    ``conditions`` limits a variable to records where other variables hold given values,
    e.g. ``{"--DECOD": {"--CAT": "DISPOSITION EVENT"}}`` (DSDECOD's codelist depends on DSCAT).
    """
    if ctx.ct is None:
        raise Skip("no controlled terminology package given")
    parts = []
    checked = 0
    for col in ctx.columns(ds):
        name = codelist_for(ctx, ds, col, codelists or {})
        if name is None:
            continue
        if not ctx.ct.has(name):
            ctx.note(f"codelist {name} of {ds.name}.{col} is not in CT package {ctx.ct.name}")
            continue
        try:
            cl = ctx.ct.codelist(name)
        except ConfigError:
            continue
        if cl.extensible != extensible:
            continue
        checked += 1
        terms = set(cl.values)
        ok = ctx.per_unique(ds, col, lambda u, terms=terms: u.isna() | u.isin(terms)
                            | (u.astype(str).str.strip() == ""))
        bad = ~ok.astype(bool)
        for pattern, where in (conditions or {}).items():
            if fnmatch.fnmatchcase(col, ctx.expand(ds.name, pattern)):
                for other, wanted in where.items():
                    other = ctx.expand(ds.name, other)
                    if other in ds.data.columns:
                        bad &= (ds.data[other] == wanted).to_numpy()
        rows = np.flatnonzero(bad)
        if len(rows):
            parts.append(findings(row=rows, variable=col, value=ds.data[col].to_numpy()[rows],
                                  expected=cl.submission_value, codelist=cl.submission_value,
                                  codelist_code=cl.code))
    if checked == 0:
        kind = "an extensible" if extensible else "a non-extensible"
        raise Skip(f"no variable of {ds.name} is bound to {kind} codelist")
    return pd.concat(parts, ignore_index=True) if parts else None
