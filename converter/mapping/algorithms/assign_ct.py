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

from converter.mapping.steps import AlgorithmSpec, StepBase, StepContext, clean_text


class AssignCT(StepBase):
    algorithm: Literal["assign_ct"]
    source: str
    codelist: str
    on_unmapped: Literal["empty", "keep"] = "empty"

    def columns(self) -> list[str]:
        return [self.source]


def run(p: AssignCT, ctx: StepContext) -> pd.Series:
    raw = clean_text(ctx.col(p.source))
    out = ctx.study.recode(p.codelist, raw)
    unmapped = raw.notna() & out.isna()
    if unmapped.any():
        label = ctx.study.codelist_label(p.codelist)
        if p.on_unmapped == "keep":
            out = out.where(~unmapped, raw)
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
