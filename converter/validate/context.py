"""What every operator can look at: the datasets, the spec, the CT package, define.xml.

The context caches per-column factorisations (codes + unique values) so that operators check
each distinct value once and map the answer back to millions of rows with one ``take``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from converter.errors import ConverterError
from converter.model import PROVENANCE_COLUMNS, Dataset, DatasetMeta

# Fallback classes for standard dataset names when neither the spec nor the dataset says.
_SDTM_CLASSES = {
    "SPECIAL PURPOSE": ("DM", "CO", "SE", "SV", "SM"),
    "TRIAL DESIGN": ("TA", "TE", "TV", "TI", "TS", "TD", "TM"),
    "EVENTS": ("AE", "CE", "DS", "DV", "HO", "MH", "BE"),
    "INTERVENTIONS": ("CM", "EC", "EX", "PR", "SU", "ML", "AG"),
    "RELATIONSHIP": ("RELREC", "RELSPEC", "RELSUB"),
    "FINDINGS ABOUT": ("FA", "SR"),
}
_CLASS_OF = {name: klass for klass, names in _SDTM_CLASSES.items() for name in names}
ADSL_CLASS = "SUBJECT LEVEL ANALYSIS DATASET"
BDS_CLASS = "BASIC DATA STRUCTURE"
OCCDS_CLASS = "OCCURRENCE DATA STRUCTURE"


def standard_of(name: str) -> str:
    """``ADaM`` for AD* datasets, ``SDTM`` otherwise."""
    return "ADaM" if name.upper().startswith("AD") else "SDTM"


class Context:
    """Datasets (by upper-case name) plus the spec, CT package and define.xml path."""

    def __init__(self, datasets: Mapping[str, Dataset], *, spec: object = None,
                 ct: object = None, define_path: str | Path | None = None):
        self.datasets = {name.upper(): ds for name, ds in datasets.items()}
        self.specs = [] if spec is None else (list(spec) if isinstance(spec, (list, tuple))
                                              else [spec])
        self.ct = ct
        self.define_path = Path(define_path) if define_path else None
        self._cache: dict[tuple, object] = {}
        self._define: dict[str, list[str]] | None = None
        self._define_info = None
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        """Record a remark for the running rule's reason column (e.g. an unknown codelist)."""
        if text not in self.notes:
            self.notes.append(text)

    # -- datasets ---------------------------------------------------------------------------
    def get(self, name: str) -> Dataset | None:
        return self.datasets.get(name.upper())

    def frame(self, name: str) -> pd.DataFrame | None:
        ds = self.get(name)
        return None if ds is None else ds.data

    @staticmethod
    def columns(ds: Dataset) -> list[str]:
        return [c for c in ds.data.columns if c not in PROVENANCE_COLUMNS]

    def spec_meta(self, name: str) -> DatasetMeta | None:
        """The spec's description of dataset ``name`` (SUPP-- through the SUPPQUAL template)."""
        name = name.upper()
        for spec in self.specs:
            meta = getattr(spec, "datasets", {}).get(name)
            if meta is not None:
                return meta
            finder = getattr(spec, "dataset", None)
            if finder is not None:
                try:
                    meta = finder(name)
                except (ConverterError, KeyError, LookupError):
                    meta = None
                if meta is not None:
                    return meta
        return None

    def dataset_class(self, name: str) -> str:
        name = name.upper()
        for meta in (self.spec_meta(name), getattr(self.get(name), "meta", None)):
            if meta is not None and meta.klass:
                return meta.klass.upper()
        if name.startswith(("SUPP", "SQAP")):
            return "RELATIONSHIP"
        if name in _CLASS_OF:
            return _CLASS_OF[name]
        if standard_of(name) == "ADaM":
            if name == "ADSL":
                return ADSL_CLASS
            ds = self.get(name)
            if ds is not None and {"PARAMCD", "AVAL"} & set(ds.data.columns):
                return BDS_CLASS
            if ds is not None and {"AETERM", "AEDECOD"} & set(ds.data.columns):
                return OCCDS_CLASS
            return "ADAM OTHER"
        return "FINDINGS"

    def prefix(self, name: str) -> str:
        """The variable prefix ``--`` stands for: the domain code of an SDTM general-class
        dataset (split datasets such as LBCH use their DOMAIN, i.e. the first two letters)."""
        name = name.upper()
        if standard_of(name) == "ADaM" or name.startswith("SUPP") or name in ("RELREC",):
            return ""
        return name[:2]

    def expand(self, name: str, variable: str) -> str:
        return self.prefix(name) + variable[2:] if variable.startswith("--") else variable

    @staticmethod
    def matches(name: str, patterns: Iterable[str]) -> bool:
        return any(fnmatch.fnmatchcase(name.upper(), p.upper()) for p in patterns)

    # -- cached column views --------------------------------------------------------------
    def factorized(self, ds: Dataset, column: str) -> tuple[np.ndarray, np.ndarray]:
        """``codes`` (-1 for missing) and ``uniques`` of one column, computed once."""
        key = ("codes", id(ds.data), column)
        if key not in self._cache:
            codes, uniques = pd.factorize(ds.data[column], use_na_sentinel=True)
            if len(uniques) < 2**31 - 1:
                codes = codes.astype(np.int32)    # half the memory on large datasets
            self._cache[key] = (codes, np.asarray(uniques, dtype=object))
        return self._cache[key]

    def per_unique(self, ds: Dataset, column: str, func) -> np.ndarray:
        """Apply vectorised ``func(pd.Series of uniques) -> array`` and spread it to all rows.

        Missing values (codes -1) get the result for ``None`` appended at the end."""
        codes, uniques = self.factorized(ds, column)
        res = np.asarray(func(pd.Series(np.append(uniques, None), dtype=object)))
        return res[codes]  # code -1 picks the appended None result

    def blank(self, ds: Dataset, column: str) -> np.ndarray:
        """True where the value is missing: NaN/None, or a string of spaces."""
        key = ("blank", id(ds.data), column)
        if key not in self._cache:
            s = ds.data[column]
            if pd.api.types.is_numeric_dtype(s.dtype):
                self._cache[key] = s.isna().to_numpy()
            else:
                self._cache[key] = self.per_unique(
                    ds, column, lambda u: u.isna() | (u.astype(str).str.strip() == ""))
        return self._cache[key]

    def text(self, ds: Dataset, column: str) -> pd.Series:
        """Column as strings (numbers without a spurious '.0'); missing -> None."""
        s = ds.data[column]
        if pd.api.types.is_numeric_dtype(s.dtype):
            return number_text(s)
        text = s.astype(object)      # Categorical: its values, not its codes
        return text.where(~self.blank(ds, column) & text.notna(), None)

    def release(self, ds: Dataset) -> None:
        """Drop cached views of one dataset (keeps memory flat across a large study)."""
        ident = id(ds.data)
        for key in [k for k in self._cache if k[1] == ident]:
            del self._cache[key]

    # -- DM reference values -------------------------------------------------------------------
    def subject_values(self, column: str, reference: str = "DM") -> pd.Series | None:
        """``column`` of the reference dataset indexed by USUBJID (first record wins)."""
        ref = self.get(reference)
        if ref is None or column not in ref.data.columns or "USUBJID" not in ref.data.columns:
            return None
        frame = ref.data[["USUBJID", column]].drop_duplicates("USUBJID")
        return frame.set_index("USUBJID")[column]

    # -- define.xml ---------------------------------------------------------------------------------
    def define(self) -> dict[str, list[str]] | None:
        """{dataset name: [variable names]} described in define.xml, or None without one."""
        if self.define_path is None:
            return None
        if self._define is None:
            from converter.validate.define_reader import read_define
            self._define_info = read_define(self.define_path)
            self._define = self._define_info.variables
        return self._define

    def define_keys(self, name: str) -> list[str]:
        """Key variables define.xml declares for dataset ``name`` (empty without define)."""
        if self.define() is None:
            return []
        return self._define_info.keys.get(name.upper(), [])

    def define_codelists(self, name: str) -> dict:
        """{variable: BoundCodelist} define.xml binds for dataset ``name`` (empty without)."""
        if self.define() is None:
            return {}
        return self._define_info.codelists.get(name.upper(), {})


def number_text(s: pd.Series) -> pd.Series:
    """Numbers as text the way SDTM writes them in IDVARVAL: 3.0 -> '3', 2.5 -> '2.5'."""
    v = pd.to_numeric(s, errors="coerce")
    whole = v.notna() & (v == np.floor(v.fillna(0)))
    out = pd.Series(None, index=s.index, dtype=object)
    out[whole] = v[whole].astype("int64").astype(str)
    frac = v.notna() & ~whole
    out[frac] = v[frac].map(repr)
    return out
