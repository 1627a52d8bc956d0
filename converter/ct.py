"""CDISC Controlled Terminology packages shipped with the converter.

Packages live in ``converter/data/ct/<package>.csv.gz`` as flat tables (package, codelist code and
submission value, extensible, term code, submission value, preferred term, synonyms, definition).
A study pins its package in the study config (``ct_package``).

>>> ct = load_ct("sdtmct-2015-12-18")
>>> ct.codelist("LBTESTCD").code
'C65047'
>>> ct.codelist("C65047").lookup(["CD4", "Cd4", "nonsense"]).tolist()
['CD4', 'CD4', None]
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from converter.errors import ConfigError

CT_DIR = Path(__file__).resolve().parent / "data" / "ct"


@dataclass
class Codelist:
    code: str
    submission_value: str
    name: str
    extensible: bool
    terms: pd.DataFrame  # columns: term_code, term_submission_value, term_preferred_term, term_synonyms

    @property
    def values(self) -> list[str]:
        return self.terms["term_submission_value"].tolist()

    @functools.cached_property
    def _index(self) -> dict[str, str]:
        """Case-insensitive map from submission value, preferred term and synonyms to value."""
        index: dict[str, str] = {}
        for col in ("term_synonyms", "term_preferred_term"):
            for value, keys in zip(self.terms["term_submission_value"], self.terms[col]):
                for key in str(keys).split(";"):
                    key = key.strip().upper()
                    if key:
                        index.setdefault(key, value)
        for value in self.terms["term_submission_value"]:
            index[value.upper()] = value  # submission values win over synonyms
        return index

    def lookup(self, values: pd.Series | list) -> pd.Series:
        """Vectorised recode of collected values to submission values; None where unmapped."""
        s = pd.Series(values, dtype=object)
        key = s.astype(str).str.strip().str.upper()
        out = key.map(self._index)
        return out.where(s.notna(), None).astype(object).where(out.notna(), None)

    def term_code(self, submission_value: str) -> str | None:
        hit = self.terms.loc[self.terms["term_submission_value"] == submission_value, "term_code"]
        return hit.iloc[0] if len(hit) else None

    def decode(self, submission_value: str) -> str | None:
        hit = self.terms.loc[self.terms["term_submission_value"] == submission_value,
                             "term_preferred_term"]
        return hit.iloc[0] if len(hit) else None


class CTPackage:
    def __init__(self, name: str, table: pd.DataFrame):
        self.name = name
        self.table = table
        self._by_code = {c: g for c, g in table.groupby("codelist_code", sort=False)}
        self._by_name = {}
        for code, g in self._by_code.items():
            self._by_name.setdefault(g["codelist_submission_value"].iloc[0].upper(), code)

    def has(self, codelist: str) -> bool:
        return codelist in self._by_code or codelist.upper() in self._by_name

    def codelist(self, codelist: str) -> Codelist:
        """Look a codelist up by NCI code (``C66731``) or submission value (``SEX``)."""
        code = codelist if codelist in self._by_code else self._by_name.get(codelist.upper())
        if code is None:
            raise ConfigError(f"codelist '{codelist}' is not in CT package {self.name}",
                              hint="use the NCI code (e.g. C66731) or the codelist submission "
                                   "value (e.g. SEX) of a codelist in the pinned package")
        g = self._by_code[code]
        first = g.iloc[0]
        return Codelist(code=code, submission_value=first["codelist_submission_value"],
                        name=first["codelist_name"],
                        extensible=str(first["extensible"]).lower() == "true",
                        terms=g[["term_code", "term_submission_value", "term_preferred_term",
                                 "term_synonyms"]].reset_index(drop=True))

    @property
    def codelists(self) -> list[str]:
        return list(self._by_code)


def available_packages() -> list[str]:
    return sorted(p.name[: -len(".csv.gz")] for p in CT_DIR.glob("*.csv.gz"))


@functools.lru_cache(maxsize=8)
def load_ct(package: str) -> CTPackage:
    """Load a shipped CT package by name, e.g. ``sdtmct-2015-12-18``."""
    path = CT_DIR / f"{package}.csv.gz"
    if not path.is_file():
        raise ConfigError(f"CT package '{package}' is not shipped",
                          key="ct_package", hint=f"choose one of {available_packages()}")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    return CTPackage(package, table)
