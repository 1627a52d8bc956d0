"""define.xml against the data: every dataset and variable described, and nothing more."""

from __future__ import annotations

import numpy as np
import pandas as pd

from converter.model import Dataset
from converter.validate.context import Context
from converter.validate.operators import Skip, findings, operator


def _define(ctx: Context) -> dict[str, list[str]]:
    structure = ctx.define()
    if structure is None:
        raise Skip("no define.xml given")
    return structure


@operator("datasets_in_define")
def datasets_in_define(ctx: Context, ds: None, direction: str = "data_in_define"
                       ) -> pd.DataFrame:
    """``data_in_define``: each dataset is described in define.xml; ``define_in_data``: each
    dataset described in define.xml is present."""
    described = _define(ctx)
    if direction == "data_in_define":
        names = [n for n in sorted(ctx.datasets) if n not in described]
    elif direction == "define_in_data":
        names = [n for n in sorted(described) if n not in ctx.datasets]
    else:
        raise ValueError(f"direction must be data_in_define or define_in_data, not {direction!r}")
    return findings(dataset=names, value=names, variable=None)


@operator("variables_in_define")
def variables_in_define(ctx: Context, ds: Dataset, direction: str = "data_in_define"
                        ) -> pd.DataFrame:
    """``data_in_define``: each column is described for its dataset in define.xml;
    ``define_in_data``: each variable define.xml lists for the dataset is a column."""
    described = _define(ctx)
    if ds.name not in described:
        raise Skip(f"dataset {ds.name} is not described in define.xml")
    listed = described[ds.name]
    columns = ctx.columns(ds)
    if direction == "data_in_define":
        names = [c for c in columns if c not in set(listed)]
    elif direction == "define_in_data":
        names = [v for v in listed if v not in set(columns)]
    else:
        raise ValueError(f"direction must be data_in_define or define_in_data, not {direction!r}")
    return findings(variable=names, value=names)


@operator("values_in_define_codelists")
def values_in_define_codelists(ctx: Context, ds: Dataset) -> pd.DataFrame:
    """Values of variables that define.xml binds to a codelist are terms of that codelist
    (CodeListItem or EnumeratedItem CodedValue; numbers compared as written, 1.0 = '1').
    Codelists without terms (external dictionaries such as MedDRA) are not checked."""
    _define(ctx)
    bound = {v: cl for v, cl in ctx.define_codelists(ds.name).items() if v in ds.data.columns}
    if not bound:
        raise Skip(f"define.xml binds no codelist to a variable of {ds.name}")
    parts = []
    for variable, codelist in bound.items():
        text = ctx.text(ds, variable)
        terms = codelist.terms
        bad = (text.notna() & ~text.isin(terms)).to_numpy()
        rows = np.flatnonzero(bad)
        if len(rows):
            parts.append(findings(row=rows, variable=variable, value=text.to_numpy()[rows],
                                  expected=codelist.name, codelist=codelist.name))
    return pd.concat(parts, ignore_index=True) if parts else None
