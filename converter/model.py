"""The shapes that pass between stages: a dataset is a data frame plus its metadata.

Derivations and mappings produce plain data frames; only the metadata stage
(``converter.metadata``) turns a frame into a :class:`Dataset` with labels, types, lengths and
order taken from ``specs/``. Writers, define.xml and validation read :class:`Dataset` objects.

Provenance travels in two reserved columns that every reader adds and the metadata stage moves
into the lineage table before writing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

# Reserved provenance columns carried from the raw row to the output row.
SRC_FILE = "__source_file"
SRC_ROW = "__source_row"      # 1-based data row number in the file, or ODM path
PROVENANCE_COLUMNS = (SRC_FILE, SRC_ROW)

VarType = Literal["Char", "Num"]


@dataclass
class VariableMeta:
    """One variable: what the spec says and what the data gives."""

    name: str
    label: str = ""
    type: VarType = "Char"
    length: int | None = None          # bytes for Char; 8 for Num in XPT
    format: str | None = None          # SAS display format, e.g. "DATE9." or "8.2"
    informat: str | None = None
    role: str | None = None            # Identifier, Topic, Timing, ...
    core: str | None = None            # Req, Exp, Perm (SDTM) / Req, Cond, Perm (ADaM)
    codelist: str | None = None        # NCI codelist code or submission value
    data_type: str | None = None       # define.xml dataType: text, integer, float, date, datetime...
    origin: str | None = None          # Collected, Derived, Assigned, Protocol, Predecessor
    source: str | None = None          # free-text origin detail (e.g. raw form/item)
    method: str | None = None          # words describing the derivation
    comment: str | None = None
    significant_digits: int | None = None
    key_sequence: int | None = None
    display_format: str | None = None


@dataclass
class DatasetMeta:
    name: str                              # upper-case, e.g. "DM", "ADSL"
    label: str = ""
    klass: str | None = None               # e.g. "SPECIAL PURPOSE", "FINDINGS", "SUBJECT LEVEL ANALYSIS DATASET"
    structure: str | None = None           # e.g. "One record per subject"
    keys: list[str] = field(default_factory=list)
    variables: list[VariableMeta] = field(default_factory=list)
    standard: str | None = None            # "SDTMIG 3.3", "ADaMIG 1.1"
    repeating: bool | None = None
    reference_data: bool | None = None
    comment: str | None = None

    def variable(self, name: str) -> VariableMeta | None:
        for v in self.variables:
            if v.name == name:
                return v
        return None

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.variables]


@dataclass
class Dataset:
    """A finished dataset: columns ordered, typed and labelled per ``meta``."""

    meta: DatasetMeta
    data: pd.DataFrame

    @property
    def name(self) -> str:
        return self.meta.name
