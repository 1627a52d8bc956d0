"""study_day: --DY from a --DTC and the subject's reference date in DM (default RFSTDTC).

Day 1 is the reference date; the day before is -1 (there is no day 0). Partial or missing
dates give no --DY.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

from converter.mapping.dates import study_day
from converter.mapping.fast import take
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
    table = dm.drop_duplicates("USUBJID").set_index("USUBJID")[variable]
    codes, subjects = ctx.var_codes("USUBJID")
    per_subject = subjects.map(table).astype(object)
    per_subject = per_subject.where(per_subject.notna(), None)
    return pd.Series(take(per_subject.to_numpy(dtype=object), codes), index=ctx.out.index)


def run(p: StudyDay, ctx: StepContext) -> pd.Series:
    return study_day(ctx.var(p.dtc), reference(ctx, p.ref), dtc_codes=ctx.var_codes(p.dtc))


ALGORITHM = AlgorithmSpec(
    name="study_day", params=StudyDay, run=run, phase=3, origin="Derived",
    summary="--DY from a --DTC and DM's reference date; no day 0.",
    describe=lambda p: f"{p.dtc} minus DM.{p.ref} in days, plus 1 on or after {p.ref}; "
    "no day 0; empty for partial dates")
