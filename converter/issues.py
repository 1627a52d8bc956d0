"""One issue log for every stage: reading, mapping, metadata, derivation, validation.

Data problems never stop a run; they are collected here with provenance and a severity that a
study may override per rule id (``severity_overrides`` in the study config). Reports are views of
this log. Rows are kept as column lists so that vectorised producers can add thousands at once.

>>> log = IssueLog()
>>> log.add("MAP.DATE", "unparseable date", dataset="AE", variable="AESTDTC",
...         usubjid="P2-01-001", source_file="ae.csv", source_row=7, value="31 FEB 2014")
>>> log.counts()
{'error': 1, 'warning': 0, 'notice': 0}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

SEVERITIES = ("error", "warning", "notice")
SEVERITY_RANK = {"notice": 0, "warning": 1, "error": 2}

ISSUE_COLUMNS = [
    "severity", "rule_id", "stage", "dataset", "variable", "usubjid", "seq",
    "source_file", "source_row", "value", "expected", "message",
]


class IssueLog:
    """Collects located issues; ``to_frame()`` gives a stable, sorted table."""

    def __init__(self, severity_overrides: Mapping[str, str] | None = None):
        self._frames: list[pd.DataFrame] = []
        self._rows: list[dict] = []
        self.severity_overrides = dict(severity_overrides or {})
        for rule, sev in self.severity_overrides.items():
            if sev not in SEVERITIES:
                from converter.errors import ConfigError
                raise ConfigError(f"severity '{sev}' for rule '{rule}' is not one of {SEVERITIES}",
                                  key="severity_overrides")

    def _severity(self, rule_id: str, severity: str) -> str:
        return self.severity_overrides.get(rule_id, severity)

    def add(self, rule_id: str, message: str, *, severity: str = "error", stage: str = "",
            dataset: str | None = None, variable: str | None = None,
            usubjid: str | None = None, seq: float | None = None,
            source_file: str | None = None, source_row: int | str | None = None,
            value: object = None, expected: str | None = None) -> None:
        """Add one issue."""
        if severity not in SEVERITIES:
            raise ValueError(f"unknown severity {severity!r}")
        self._rows.append({
            "severity": self._severity(rule_id, severity), "rule_id": rule_id, "stage": stage,
            "dataset": dataset, "variable": variable, "usubjid": usubjid, "seq": seq,
            "source_file": source_file, "source_row": None if source_row is None else str(source_row),
            "value": None if value is None else str(value), "expected": expected,
            "message": message,
        })

    def add_frame(self, frame: pd.DataFrame, *, rule_id: str, message: str | pd.Series,
                  severity: str = "error", stage: str = "", **constants: object) -> int:
        """Add one issue per row of ``frame`` (vectorised).

        ``frame`` may carry any of the ISSUE_COLUMNS (e.g. usubjid, source_row, value);
        ``constants`` fill the others (e.g. ``dataset="LB"``). Returns the number added.
        """
        if frame is None or len(frame) == 0:
            return 0
        if severity not in SEVERITIES:
            raise ValueError(f"unknown severity {severity!r}")
        n = len(frame)
        out = pd.DataFrame(index=range(n))
        for col in ISSUE_COLUMNS:
            if col in frame.columns:
                out[col] = frame[col].to_numpy()
            elif col in constants:
                out[col] = constants[col]
            else:
                out[col] = None
        unknown = set(constants) - set(ISSUE_COLUMNS)
        if unknown:
            raise ValueError(f"unknown issue fields {sorted(unknown)}")
        out["rule_id"] = rule_id
        out["stage"] = stage
        out["severity"] = self._severity(rule_id, severity)
        out["message"] = message.to_numpy() if isinstance(message, pd.Series) else message
        for col in ("source_row", "value"):
            vals = out[col]
            out[col] = vals.where(vals.isna(), vals.astype(str)).astype(object)
        self._frames.append(out[ISSUE_COLUMNS])
        return n

    def extend(self, other: IssueLog) -> None:
        self._frames.extend(other._frames)
        self._rows.extend(other._rows)

    def __len__(self) -> int:
        return len(self._rows) + sum(len(f) for f in self._frames)

    def to_frame(self) -> pd.DataFrame:
        """All issues, sorted by stage, dataset, rule, subject and source row for stable reports."""
        parts = [f for f in self._frames if len(f)]
        if self._rows:
            parts.append(pd.DataFrame(self._rows, columns=ISSUE_COLUMNS))
        if not parts:
            return pd.DataFrame(columns=ISSUE_COLUMNS)
        # object columns throughout, so all-empty columns do not decide the result's dtypes
        df = pd.concat([p.astype(object) for p in parts], ignore_index=True)
        keys = ["stage", "dataset", "rule_id", "usubjid", "source_file", "source_row", "variable",
                "value"]
        order = df[keys].fillna("").astype(str)
        # natural order for numeric source rows
        order["source_row"] = order["source_row"].str.zfill(12)
        idx = order.sort_values(keys, kind="mergesort").index
        return df.loc[idx].reset_index(drop=True)

    def counts(self) -> dict[str, int]:
        df = self.to_frame()
        return {s: int((df["severity"] == s).sum()) for s in SEVERITIES}

    def has_at_least(self, severity: str) -> bool:
        df = self.to_frame()
        rank = SEVERITY_RANK[severity]
        return bool(df["severity"].map(SEVERITY_RANK).ge(rank).any())

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> IssueLog:
        log = cls()
        if len(frame):
            log._frames.append(frame.reindex(columns=ISSUE_COLUMNS).astype(object))
        return log

    def filter(self, rule_ids: Iterable[str]) -> pd.DataFrame:
        df = self.to_frame()
        return df[df["rule_id"].isin(list(rule_ids))]
