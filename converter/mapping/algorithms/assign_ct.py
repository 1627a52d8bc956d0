"""assign_ct: recode a raw value to a CDISC submission value through a codelist.

Lookup order: the study synonym table (collected value → submission value, per codelist), then
the pinned CT package (submission value, synonyms, preferred term; case-insensitive). A value
found in neither is **never** upper-cased or guessed: it is logged as MAP.CT with its
provenance, and the result is empty (``on_unmapped: empty``, the default) or the collected
value unchanged (``on_unmapped: keep``, for extensible codelists where the sponsor accepts
new terms; still logged, as a warning).
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

from converter.mapping.fast import clean_uniques, take
from converter.mapping.steps import AlgorithmSpec, StepBase, StepContext


class AssignCT(StepBase):
    algorithm: Literal["assign_ct"]
    source: str
    codelist: str
    on_unmapped: Literal["empty", "keep"] = "empty"

    def columns(self) -> list[str]:
        return [self.source]


def run(p: AssignCT, ctx: StepContext) -> pd.Series:
    codes, uniques = ctx.col_codes(p.source)
    clean = clean_uniques(uniques)
    rec = ctx.study.recode(p.codelist, clean)          # on distinct values only
    unmapped_u = (clean.notna() & rec.isna()).to_numpy()
    if p.on_unmapped == "keep":
        rec = rec.where(~unmapped_u, clean)
    rec = rec.astype(object).where(rec.notna(), None)
    out = ctx.result(rec.to_numpy(dtype=object), codes)
    if unmapped_u.any():
        unmapped = take(unmapped_u, codes, missing=False).astype(bool)
        raw = take(clean.to_numpy(dtype=object), codes)
        label = ctx.study.codelist_label(p.codelist)
        if p.on_unmapped == "keep":
            ctx.issue(unmapped, "MAP.CT", f"term not in codelist {label}; kept as collected",
                      raw, severity="warning", expected=f"a term of {label}")
        else:
            ctx.issue(unmapped, "MAP.CT", f"term not in codelist {label}; left empty",
                      raw, expected=f"a term of {label}")
    return out


ALGORITHM = AlgorithmSpec(
    name="assign_ct", params=AssignCT, run=run, origin="Collected",
    summary="Recode a raw value through a codelist and the study synonym table.",
    describe=lambda p: f"{p.source} recoded to codelist {p.codelist}",
    source=lambda p, f: f"{f} {p.source}")
