"""Tiny literal datasets and a one-rule runner for the validation tests."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from converter.issues import IssueLog
from converter.model import Dataset, DatasetMeta, VariableMeta
from converter.validate import load_rules, validate


def ds(name: str, labels: dict[str, str] | None = None, lengths: dict[str, int] | None = None,
       label: str = "", **columns: list) -> Dataset:
    """A Dataset from literal columns; metadata types follow the pandas dtypes."""
    frame = pd.DataFrame(columns)
    variables = []
    for col in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[col].dtype)
        variables.append(VariableMeta(name=col, label=(labels or {}).get(col, ""),
                                      type="Num" if numeric else "Char",
                                      length=(lengths or {}).get(col)))
    return Dataset(DatasetMeta(name=name, label=label, variables=variables), frame)


@dataclass
class FakeSpec:
    datasets: dict[str, DatasetMeta] = field(default_factory=dict)


def spec_of(*metas: DatasetMeta) -> FakeSpec:
    return FakeSpec({m.name: m for m in metas})


AE_SPEC = DatasetMeta(
    name="AE", klass="EVENTS", keys=["STUDYID", "USUBJID", "AETERM"],
    variables=[
        VariableMeta("STUDYID", "Study Identifier", "Char", core="Req"),
        VariableMeta("DOMAIN", "Domain Abbreviation", "Char", core="Req"),
        VariableMeta("USUBJID", "Unique Subject Identifier", "Char", core="Req"),
        VariableMeta("AESEQ", "Sequence Number", "Num", core="Req"),
        VariableMeta("AETERM", "Reported Term for the Adverse Event", "Char", core="Req"),
        VariableMeta("AESTDTC", "Start Date/Time of Adverse Event", "Char", core="Exp"),
    ])

_RULES = {r.id: r for r in load_rules()}


def run_rule(rule_id: str, datasets: list[Dataset], **kwargs):
    """Run one catalogue rule; returns (state, reason, issues frame of that rule)."""
    log = IssueLog()
    result = validate({d.name: d for d in datasets}, issues=log, rules=[_RULES[rule_id]],
                      **kwargs)
    row = result.rules.set_index("rule_id").loc[rule_id]
    frame = log.to_frame()
    return row["state"], row["reason"], frame[frame["rule_id"] == rule_id]
