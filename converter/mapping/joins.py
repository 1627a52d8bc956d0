"""Joins: columns of other raw sources added to a domain's records before the steps (``join:``).

Each entry is a left join on raw columns, applied in order after ``stack`` and before
``filter``/``transpose``, so a later join may use a column brought by an earlier one (multi-hop:
``dm`` Subject → ``rand`` RANDNO → ``randlist`` TREATMENT). Joined columns are read by steps like
raw columns and are checked against the headers like them. Keys are compared as text with
surrounding spaces removed; a record with a missing key part matches nothing. A key matching
several right-hand records is a one-to-many join: by default (``multiple: error``) the record
gets no joined values and a MAP.DUPKEY issue; ``multiple: first`` takes the first right-hand
record in file order. ``on_missing: issue`` logs keys not found (MAP.LOOKUP warning).

>>> import pandas as pd
>>> j = Join.model_validate({"source": "rand", "by": {"S": "SUBJ"}, "columns": ["ARM"]})
>>> left = pd.DataFrame({"S": ["1", " 2", None]})
>>> right = pd.DataFrame({"SUBJ": ["2", "1"], "ARM": ["B", "A"]})
>>> join_frame(left, right, j)[0]["ARM"].tolist()
['A', 'B', None]
"""

# pydantic copies mutable defaults per instance, so list/dict defaults are safe here.
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pydantic import field_validator, model_validator

from converter.errors import ConfigError
from converter.mapping.base import Strict, suggest
from converter.mapping.fast import take
from converter.mapping.steps import StepContext, clean_text
from converter.model import SRC_FILE, SRC_ROW

if TYPE_CHECKING:  # pragma: no cover
    from converter.issues import IssueLog
    from converter.mapping.models import DomainMapping
    from converter.mapping.study import Study

SEP = "\x1f"


class Join(Strict):
    """``{source: rand, by: {Subject: SUBJID}, columns: [RANDNO, ARM]}``; ``columns`` may be a
    mapping ``{right column: new name}`` to rename a column clashing with an existing one."""

    source: str
    by: dict[str, str]
    columns: dict[str, str]
    multiple: Literal["error", "first"] = "error"
    on_missing: Literal["ignore", "issue"] = "ignore"

    @field_validator("columns", mode="before")
    @classmethod
    def _named(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [v]
        return {c: c for c in v} if isinstance(v, list) else v

    @model_validator(mode="after")
    def _check(self) -> Join:
        if not self.by:
            raise ValueError("'by' needs at least one key pair {left column: right column}")
        if not self.columns:
            raise ValueError("'columns' lists at least one column of the joined source")
        names = list(self.columns.values())
        if len(names) != len(set(names)):
            raise ValueError("'columns' gives two columns the same name")
        if {SRC_FILE, SRC_ROW} & set(self.columns):
            raise ValueError("provenance columns cannot be joined")
        return self

    def describe(self) -> str:
        return (f"{', '.join(self.columns)} from {self.source} matched on "
                + ", ".join(f"{a}={b}" for a, b in self.by.items()))


def _keys(frame: pd.DataFrame, cols: list[str]) -> pd.Series:
    """Text key per record (parts joined by a unit separator); None when a part is missing."""
    parts = [clean_text(frame[c]) for c in cols]
    miss = np.zeros(len(frame), dtype=bool)
    for p in parts:
        miss |= p.isna().to_numpy()
    key = parts[0].astype(str)
    for p in parts[1:]:
        key = key + SEP + p.astype(str)
    return key.where(~miss, None)


def join_frame(left: pd.DataFrame, right: pd.DataFrame, j: Join
               ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, pd.Series]:
    """``left`` with the joined columns; masks of one-to-many and not-found records; the key."""
    lkey = _keys(left, list(j.by))
    rkey = _keys(right, list(j.by.values()))
    valid = rkey.notna().to_numpy()
    if j.multiple == "first":
        chosen = valid & ~rkey.duplicated(keep="first").to_numpy()
        many = np.zeros(len(left), dtype=bool)
    else:
        dup = valid & rkey.duplicated(keep=False).to_numpy()
        chosen = valid & ~dup
        many = lkey.isin(set(rkey[dup])).to_numpy() if dup.any() else np.zeros(len(left), bool)
    index = pd.Index(rkey[chosen].to_numpy(dtype=object))
    pos = index.get_indexer(lkey.to_numpy(dtype=object)).astype(np.int64)
    pos[lkey.isna().to_numpy()] = -1
    out = left.copy(deep=False)
    for col, name in j.columns.items():
        vals = right[col].to_numpy(dtype=object)[chosen]
        out[name] = take(vals, pos, missing=None)
    absent = (pos < 0) & ~many & lkey.notna().to_numpy()
    return out, many, absent, lkey


def apply_joins(study: Study, dom: str, raw: pd.DataFrame, sources: dict[str, pd.DataFrame],
                issues: IssueLog) -> pd.DataFrame:
    """Apply the domain's joins in order; data problems go to ``issues`` with provenance."""
    m = study.domains[dom]
    for i, j in enumerate(m.join):
        raw, many, absent, lkey = join_frame(raw, sources[j.source], j)
        ctx = StepContext(domain=dom, raw=raw, out=raw[[SRC_FILE, SRC_ROW]]
                          if SRC_FILE in raw and SRC_ROW in raw else raw.iloc[:, :0],
                          study=study, issues=issues, file=study.files.get(dom, ""),
                          line=study.lines.get(dom, {}).get(("join", i)))
        shown = lkey.str.replace(SEP, " ", regex=False)
        variable = ", ".join(j.columns.values())
        ctx.issue(many, "MAP.DUPKEY", f"join key matches several records in {j.source}; "
                  "joined columns left empty", shown, variable=variable,
                  expected="one record per key (or set multiple: first)")
        if j.on_missing == "issue":
            ctx.issue(absent, "MAP.LOOKUP", f"join key not found in {j.source}", shown,
                      severity="warning", variable=variable)
    return raw


def check_joins(study: Study, m: DomainMapping, file: str, lines: dict) -> list[ConfigError]:
    """Before data: joined sources are sources of the domain."""
    problems = []
    for i, j in enumerate(m.join):
        if j.source not in m.sources:
            problems.append(ConfigError(
                f"joined source '{j.source}' is not among this domain's sources "
                f"({', '.join(m.sources)})", file=file, line=lines.get(("join", i)),
                key="join.source", hint=suggest(j.source, m.sources) or "add it to 'sources'"))
    return problems


def joined_header(study: Study, dom: str, have: set[str], sources: dict[str, pd.DataFrame]
                  ) -> tuple[set[str], list[ConfigError]]:
    """Columns available to the steps after the joins, and header problems of the joins
    (left keys, right keys and joined columns missing; a joined name already taken)."""
    m = study.domains[dom]
    file, lines = study.files[dom], study.lines[dom]
    problems: list[ConfigError] = []
    have = set(have)
    for i, j in enumerate(m.join):
        line = lines.get(("join", i))
        r_have = set(sources[j.source].columns)
        r_file = study.config.sources[j.source].file
        for col in j.by:
            if col not in have:
                problems.append(ConfigError(
                    f"join key column '{col}' is not in the records (nor joined before)",
                    file=file, line=line, key="join.by",
                    hint=suggest(col, have) or f"columns: {', '.join(sorted(have))[:200]}"))
        for col in [*j.by.values(), *j.columns]:
            if col not in r_have:
                problems.append(ConfigError(
                    f"column '{col}' is not in {r_file}", file=file, line=line,
                    key=f"join.{j.source}",
                    hint=suggest(col, r_have) or f"columns: {', '.join(sorted(r_have))[:200]}"))
        for name in j.columns.values():
            if name in have:
                problems.append(ConfigError(
                    f"joined column '{name}' is already a column of the records", file=file,
                    line=line, key="join.columns",
                    hint=f"rename it: columns: {{{name}: {name}_{j.source.upper()}}}"))
        have |= set(j.columns.values())
    return have, problems
