"""Study-level presence checks: datasets and Trial Summary parameters the FDA requires."""

from __future__ import annotations

import pandas as pd

from converter.validate.context import Context, standard_of
from converter.validate.operators import Skip, findings, operator
from converter.validate.operators.dates import iso8601_valid


@operator("datasets_present")
def datasets_present(ctx: Context, ds: None, names: list[str], standard: str = "SDTM"
                     ) -> pd.DataFrame:
    """The named datasets are present when the study submits ``standard`` datasets
    (FDA Technical Rejection Criteria 1734/1736: TS, DM; ADSL for ADaM)."""
    if not any(standard_of(n) == standard for n in ctx.datasets):
        raise Skip(f"no {standard} datasets in the study")
    missing = [n for n in names if ctx.get(n) is None]
    return findings(dataset=missing, value=missing, variable=None)


@operator("ts_parameters")
def ts_parameters(ctx: Context, ds: None, parameters: list[str],
                  iso_date: list[str] | None = None) -> pd.DataFrame:
    """TS holds a populated record for each TSPARMCD in ``parameters``; those listed in
    ``iso_date`` must hold a complete ISO 8601 date (e.g. SSTDTC, FDA TRC 1734)."""
    ts = ctx.frame("TS")
    if ts is None:
        if not any(standard_of(n) == "SDTM" for n in ctx.datasets):
            raise Skip("no SDTM datasets in the study")
        return findings(dataset=["TS"], variable=["TSPARMCD"], value=None,
                        expected=[", ".join(parameters)], parameter=[", ".join(parameters)],
                        problem=["dataset TS is not present"])
    if not {"TSPARMCD", "TSVAL"} <= set(ts.columns):
        raise Skip("TS has no TSPARMCD/TSVAL")
    val = ts["TSVAL"].astype(object)
    populated = val.notna() & (val.astype(str).str.strip() != "")
    rows = []
    for code in parameters:
        hits = val[(ts["TSPARMCD"] == code) & populated]
        if hits.empty:
            rows.append({"dataset": "TS", "variable": "TSPARMCD", "value": None,
                         "expected": code, "parameter": code,
                         "problem": f"no populated TS record with TSPARMCD {code}"})
        elif code in (iso_date or []):
            bad = hits[~(iso8601_valid(hits) & hits.astype(str).str.fullmatch(
                r"\d{4}-\d{2}-\d{2}").to_numpy())]
            for idx, v in bad.items():
                rows.append({"dataset": "TS", "row": ts.index.get_loc(idx),
                             "variable": "TSVAL", "value": v,
                             "expected": "complete ISO 8601 date YYYY-MM-DD", "parameter": code,
                             "problem": f"TSVAL '{v}' of {code} is not a complete ISO 8601 date"})
    return pd.DataFrame(rows)
