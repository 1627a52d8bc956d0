"""Record identity: --SEQ unique per subject, spec keys unique, one record per subject."""

from __future__ import annotations

import numpy as np
import pandas as pd

from converter.model import Dataset
from converter.validate.context import Context
from converter.validate.operators import Skip, findings, operator


def group_codes(ctx: Context, ds: Dataset, columns: list[str]) -> np.ndarray:
    """One int64 code per row identifying the combination of ``columns`` (missing is a value)."""
    key = np.zeros(len(ds.data), dtype=np.int64)
    for col in columns:
        codes, uniques = ctx.factorized(ds, col)
        key = key * (len(uniques) + 1) + (codes + 1)
        # re-factorise to keep the combined code small (no int64 overflow on many keys)
        key, _ = pd.factorize(key)
        key = key.astype(np.int64)
    return key


def _duplicates(ctx: Context, ds: Dataset, columns: list[str]) -> np.ndarray:
    """Rows whose combination of ``columns`` already occurred on an earlier row."""
    key = group_codes(ctx, ds, columns)
    return np.flatnonzero(pd.Series(key).duplicated(keep="first").to_numpy())


@operator("seq_unique")
def seq_unique(ctx: Context, ds: Dataset, by: list[str] | None = None) -> pd.DataFrame:
    """--SEQ is unique within each subject (USUBJID, or POOLID for pooled records)."""
    seq = ctx.prefix(ds.name) + "SEQ"
    if not ctx.prefix(ds.name) or seq not in ds.data.columns:
        raise Skip(f"{ds.name} has no --SEQ variable")
    subject = [c for c in (by or ["USUBJID", "POOLID"]) if c in ds.data.columns]
    if not subject:
        raise Skip(f"{ds.name} has no USUBJID/POOLID")
    rows = _duplicates(ctx, ds, subject + [seq])
    return findings(row=rows, variable=seq, value=ds.data[seq].to_numpy()[rows])


@operator("keys_unique")
def keys_unique(ctx: Context, ds: Dataset) -> pd.DataFrame:
    """No two records share the values of the key variables: define.xml's keys when a
    define.xml is given, else the spec's, else the dataset metadata's. A key variable absent
    from the data counts as empty on every record."""
    meta = ctx.spec_meta(ds.name)
    keys = (ctx.define_keys(ds.name)
            or (list(meta.keys) if meta is not None and meta.keys else list(ds.meta.keys or [])))
    if not keys:
        raise Skip(f"no key variables declared for {ds.name}")
    absent = [k for k in keys if k not in ds.data.columns]
    present = [k for k in keys if k in ds.data.columns]
    if absent:
        ctx.note(f"{ds.name} keys not in data: {', '.join(absent)}")
    if not present:
        raise Skip(f"none of the key variables of {ds.name} is present")
    rows = _duplicates(ctx, ds, present)
    return findings(row=rows, variable=", ".join(present), value=None, keys=", ".join(present))


@operator("one_record_per_subject")
def one_record_per_subject(ctx: Context, ds: Dataset, subject: str = "USUBJID") -> pd.DataFrame:
    """Exactly one record per subject (DM, ADSL)."""
    if subject not in ds.data.columns:
        raise Skip(f"{ds.name} has no {subject}")
    rows = _duplicates(ctx, ds, [subject])
    return findings(row=rows, variable=subject, value=ds.data[subject].to_numpy()[rows])
