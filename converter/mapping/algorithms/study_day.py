"""study_day: --DY from a --DTC and the subject's reference date in DM (default RFSTDTC).

Day 1 is the reference date; the day before is -1 (there is no day 0). Partial or missing
dates give no --DY.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

from converter.mapping.dates import study_day
from converter.mapping.fast import broadcast, factorize, plain_frame
from converter.mapping.steps import AlgorithmSpec, StepBase, StepContext


class StudyDay(StepBase):
    algorithm: Literal["study_day"]
    dtc: str
    ref: str = "RFSTDTC"

    def variables(self) -> list[str]:
        return [self.dtc, "USUBJID"]

    def domains(self) -> list[str]:
        return ["DM"]


def reference(ctx: StepContext, variable: str) -> pd.Series:
    """The DM variable for each record's subject (aligned on ``ctx.out``)."""
    if ctx.domain == "DM":
        return ctx.var(variable)
    dm = ctx.frames.get("DM")
    if dm is None or variable not in dm:
        return pd.Series(None, index=ctx.out.index, dtype=object)
    table = plain_frame(dm[["USUBJID", variable]]).drop_duplicates("USUBJID").set_index(
        "USUBJID")[variable]
    codes, subjects = ctx.var_codes("USUBJID")
    per_subject = subjects.map(table).astype(object)            # distinct subjects only
    per_subject = per_subject.where(per_subject.notna(), None)
    return broadcast(per_subject.to_numpy(dtype=object), codes, ctx.out.index)


def run(p: StudyDay, ctx: StepContext) -> pd.Series:
    ref = reference(ctx, p.ref)
    return study_day(ctx.var(p.dtc), ref, dtc_codes=ctx.var_codes(p.dtc),
                     ref_codes=factorize(ref))


ALGORITHM = AlgorithmSpec(
    name="study_day", params=StudyDay, run=run, phase=3, origin="Derived",
    summary="--DY from a --DTC and DM's reference date; no day 0.",
    describe=lambda p: f"{p.dtc} minus DM.{p.ref} in days, plus 1 on or after {p.ref}; "
    "no day 0; empty for partial dates")
