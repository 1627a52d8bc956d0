"""What every report view shares: the issue table with waivers, counts, safe cell text."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from converter.issues import ISSUE_COLUMNS, SEVERITIES, SEVERITY_RANK, IssueLog

REPORT_ISSUE_COLUMNS = ["severity", "waived", "rule_id", "stage", "dataset", "variable",
                        "usubjid", "seq", "value", "expected", "message", "source_file",
                        "source_row"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class ReportData:
    """Everything a writer needs, computed once."""

    title: str
    issues: pd.DataFrame        # REPORT_ISSUE_COLUMNS (+ waived justification text)
    rules: pd.DataFrame
    datasets: pd.DataFrame
    fail_on: str
    created: str | None
    figures: list[Path] = field(default_factory=list)

    def counts(self) -> pd.DataFrame:
        """Rows error/warning/notice; columns open, waived, total."""
        sev = self.issues["severity"]
        waived = self.issues["waived"].notna()
        out = pd.DataFrame({
            "open": [int(((sev == s) & ~waived).sum()) for s in SEVERITIES],
            "waived": [int(((sev == s) & waived).sum()) for s in SEVERITIES],
        }, index=list(SEVERITIES))
        out["total"] = out["open"] + out["waived"]
        return out

    def by_dataset(self) -> pd.DataFrame:
        """Per dataset: records and open issue counts per severity."""
        live = self.issues[self.issues["waived"].isna()]
        counts = (live.assign(dataset=live["dataset"].fillna("(study)"))
                  .pivot_table(index="dataset", columns="severity", values="rule_id",
                               aggfunc="count", fill_value=0)
                  .reindex(columns=list(SEVERITIES), fill_value=0))
        base = self.datasets.set_index("dataset") if len(self.datasets) else pd.DataFrame(
            columns=["label", "class", "standard", "records", "variables"])
        names = sorted(set(base.index) | set(counts.index))
        table = base.reindex(names)
        for s in SEVERITIES:
            table[s] = counts[s].reindex(names, fill_value=0).astype(int) if len(counts) else 0
        return table.reset_index(names="dataset")

    def failing(self) -> pd.DataFrame:
        """Open issues at or above the threshold."""
        rank = SEVERITY_RANK[self.fail_on]
        live = self.issues[self.issues["waived"].isna()]
        return live[live["severity"].map(SEVERITY_RANK) >= rank]


def prepare(issues: IssueLog | pd.DataFrame, rules: object, *, title: str, fail_on: str,
            waivers: object, created: str | None, figures) -> ReportData:
    from converter.validate.runner import RULE_COLUMNS, issue_table
    from converter.validate.waivers import resolve_waivers

    result = None if isinstance(rules, pd.DataFrame) or rules is None else rules
    rule_table = result.rules if result is not None else rules   # a ValidationResult or table
    if rule_table is None:
        rule_table = pd.DataFrame(columns=RULE_COLUMNS)
    rule_table = rule_table.copy()
    for col in RULE_COLUMNS:
        if col not in rule_table.columns:
            rule_table[col] = None
    if waivers is None:
        waivers = (result.waivers if result is not None else None) or getattr(
            issues, "waivers", None)
    datasets = result.datasets if result is not None else None
    if datasets is None or not len(datasets):
        datasets = getattr(issues, "validated_datasets", None)
    if datasets is None:
        datasets = pd.DataFrame(columns=["dataset"])
    rule_table = merge_rule_tables(rule_table)
    frame = issue_table(issues, resolve_waivers(waivers))
    frame = frame.reindex(columns=ISSUE_COLUMNS + ["waived"])
    frame = frame[REPORT_ISSUE_COLUMNS].reset_index(drop=True)
    return ReportData(title=title, issues=frame, rules=rule_table.reset_index(drop=True),
                      datasets=datasets.reset_index(drop=True), fail_on=fail_on,
                      created=created, figures=[Path(f) for f in figures])


_STATE_ORDER = {"execution_error": 0, "issues_found": 1, "passed": 2, "skipped": 3}


def merge_rule_tables(table: pd.DataFrame) -> pd.DataFrame:
    """One row per rule when several validate() tables were concatenated (SDTM and ADaM):
    the most telling state wins (execution_error > issues_found > passed > skipped), counts
    add up, reasons and datasets are joined."""
    if not table["rule_id"].duplicated().any():
        return table
    rows = []
    for rule_id, group in table.groupby("rule_id", sort=False, observed=True):
        first = group.iloc[0].to_dict()
        state = min(group["state"], key=lambda s: _STATE_ORDER.get(s, 9))
        ran = group[group["state"] == state]
        first.update({
            "state": state,
            "n_issues": int(pd.to_numeric(group["n_issues"], errors="coerce").fillna(0).sum()),
            "n_waived": int(pd.to_numeric(group["n_waived"], errors="coerce").fillna(0).sum()),
            "reason": "; ".join(dict.fromkeys(r for r in ran["reason"].fillna("") if r)),
            "datasets": ", ".join(d for d in group["datasets"].fillna("") if d),
        })
        rows.append(first)
    return pd.DataFrame(rows, columns=table.columns)


def cell_text(value: object) -> str:
    """A value as report text: '' for missing, integers without '.0'."""
    if value is None:
        return ""
    if isinstance(value, float):
        if np.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def is_formula_like(text: str) -> bool:
    """Would a spreadsheet execute this text as a formula when typed in?"""
    return text.startswith(FORMULA_START)


_XML_BAD = __import__("re").compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """Text with the characters XML 1.0 cannot hold replaced by U+FFFD."""
    return _XML_BAD.sub("\ufffd", text)
