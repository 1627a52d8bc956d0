"""decode_ct: the paired term of another codelist (LBTESTCD → LBTEST, VSTESTCD → VSTEST).

CDISC publishes test codes and test names as two codelists sharing NCI term codes; a mapped
variable holding submission values of ``codelist`` is decoded to the submission value of the
same term in ``to_codelist``. A value not in ``codelist`` is a MAP.CT issue and stays empty.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

from converter.mapping.fast import clean_uniques, take
from converter.mapping.steps import AlgorithmSpec, StepBase, StepContext


class DecodeCT(StepBase):
    algorithm: Literal["decode_ct"]
    variable: str
    codelist: str
    to_codelist: str

    def variables(self) -> list[str]:
        return [self.variable]


def run(p: DecodeCT, ctx: StepContext) -> pd.Series:
    codes, uniques = ctx.var_codes(p.variable)
    clean = clean_uniques(uniques.astype(object))
    src = ctx.study.ct.codelist(p.codelist).terms
    dst = ctx.study.ct.codelist(p.to_codelist).terms
    by_value = dict(zip(src["term_submission_value"], src["term_code"]))
    by_code = dict(zip(dst["term_code"], dst["term_submission_value"]))
    decoded = clean.map(by_value).map(by_code).astype(object)
    decoded = decoded.where(decoded.notna(), None)
    missing_u = (clean.notna() & decoded.isna()).to_numpy()
    if missing_u.any():
        ctx.issue(take(missing_u, codes, missing=False).astype(bool), "MAP.CT",
                  f"no {p.to_codelist} term paired with this {p.codelist} value; left empty",
                  take(clean.to_numpy(dtype=object), codes),
                  expected=f"a {p.codelist} submission value")
    return ctx.result(decoded.to_numpy(dtype=object), codes)


ALGORITHM = AlgorithmSpec(
    name="decode_ct", params=DecodeCT, run=run, origin="Assigned",
    summary="Decode a code to the paired term of another codelist (LBTESTCD → LBTEST).",
    describe=lambda p: f"{p.to_codelist} term with the NCI code of {p.variable} in "
    f"{p.codelist}")
