"""Waivers: documented exceptions that turn matching findings into "waived" (shown, not hidden).

A waivers file (``mappings/<study>/waivers.yaml``) lists entries::

    waivers:
      - rule_id: SDTM.TS.SSTDTC          # glob allowed, e.g. SDTM.CT.*
        dataset: TS                      # optional glob
        variable: TSVAL                  # optional glob
        usubjid: "01-701-*"              # optional glob
        value: "^20\\d\\d$"              # optional regular expression (full match)
        justification: Study start date is held in the protocol, see reviewer guide 2.1
        author: J. Doe
        date: 2024-05-01

A waiver that matches nothing is reported (rule WAIVER.UNUSED) so stale waivers get removed.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from converter.errors import ConfigError
from converter.validate.yamlio import LINE_KEY, load_yaml, strip_lines


class Waiver(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rule_id: str
    dataset: str | None = None
    variable: str | None = None
    usubjid: str | None = None
    value: str | None = None
    justification: str = Field(min_length=10)
    author: str = Field(min_length=1)
    date: dt.date
    source: str = ""

    @field_validator("value")
    @classmethod
    def _regex(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from None
        return pattern

    @property
    def label(self) -> str:
        scope = ", ".join(f"{k}={getattr(self, k)}" for k in
                          ("dataset", "variable", "usubjid", "value") if getattr(self, k))
        return f"{self.rule_id}" + (f" [{scope}]" if scope else "")


def load_waivers(path: str | Path) -> list[Waiver]:
    """Read and check a waivers file; ConfigError with file/line/key on any mistake."""
    data = load_yaml(path)
    file = str(path)
    if data is None:
        return []
    if isinstance(data, dict):
        extra = set(data) - {"waivers", LINE_KEY}
        if extra:
            raise ConfigError(f"unknown top-level key(s) {sorted(extra)}", file=file, line=1,
                              hint="a waivers file holds one key: waivers")
        data = data.get("waivers") or []
    if not isinstance(data, list):
        raise ConfigError("'waivers' must be a list", file=file, key="waivers")
    out = []
    for entry in data:
        line = entry.get(LINE_KEY) if isinstance(entry, dict) else None
        if not isinstance(entry, dict):
            raise ConfigError("a waiver must be a mapping", file=file)
        try:
            out.append(Waiver(**strip_lines(entry), source=f"{Path(file).name}:{line}"))
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ConfigError(f"waiver: {err['msg']}", file=file, line=line,
                              key=".".join(map(str, err["loc"])),
                              hint="each waiver needs rule_id, justification (>= 10 chars), "
                                   "author and date (YYYY-MM-DD)") from None
    return out


def _glob(series: pd.Series, pattern: str) -> np.ndarray:
    regex = fnmatch.translate(pattern)
    return series.fillna("").astype(str).str.match(regex).to_numpy(dtype=bool, copy=True)


def match_waivers(issues: pd.DataFrame, waivers: list[Waiver]) -> tuple[pd.Series, list[int]]:
    """Per issue, the justification of the first matching waiver (None when not waived), and
    the number of issues each waiver matched."""
    waived = pd.Series(None, index=issues.index, dtype=object)
    counts = []
    for w in waivers:
        mask = _glob(issues["rule_id"], w.rule_id)
        for col in ("dataset", "variable", "usubjid"):
            pattern = getattr(w, col)
            if pattern is not None:
                mask &= _glob(issues[col], pattern)
        if w.value is not None:
            mask &= issues["value"].fillna("").astype(str).str.fullmatch(w.value).to_numpy(
                dtype=bool)
        counts.append(int(mask.sum()))
        fresh = mask & waived.isna().to_numpy()
        waived[fresh] = f"{w.justification} ({w.author}, {w.date.isoformat()})"
    return waived, counts


def resolve_waivers(waivers: object) -> list[Waiver]:
    """Accept None, a path to a waivers file, or a list of Waiver/dicts."""
    if waivers is None:
        return []
    if isinstance(waivers, (str, Path)):
        return load_waivers(waivers)
    return [w if isinstance(w, Waiver) else Waiver(**w) for w in waivers]
