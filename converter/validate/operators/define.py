"""define.xml against the data: every dataset and variable described, and nothing more."""

from __future__ import annotations

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
