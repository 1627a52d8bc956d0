"""Standard metadata tables (``specs/``) and study-level overrides.

A standard lives in ``specs/<standard-folder>/`` as two CSV tables written by the project from the
published implementation guides:

* ``datasets.csv``  -- dataset, label, class, structure, keys, repeating, reference_data
* ``variables.csv`` -- dataset, variable, label, type (Char/Num), data_type (define.xml data type),
  role, core (Req/Exp/Perm; ADaM Req/Cond/Perm), codelist (CT codelist submission value),
  format (SAS display format)

Row order in ``variables.csv`` is the variable order of the dataset. ``SUPPQUAL`` is a template:
``Spec.dataset("SUPPAE")`` returns it renamed, with the label completed.

Study-level overrides (``mappings/<study>/specs/variables.csv`` and optionally ``datasets.csv``)
have the same columns. A row whose (dataset, variable) exists in the standard replaces the cells
that are not empty; a new row adds a variable (placed after the variable named in the optional
``after`` column, else at the end). ``core`` may be set to ``-`` in an override to remove a
variable from a dataset's standard list. One override folder may describe SDTM and ADaM datasets
together: rows of the other standard (ADaM names start with ``AD``) are skipped.

>>> spec = load_spec("SDTMIG 3.3")
>>> spec.dataset("DM").keys
['STUDYID', 'USUBJID']
>>> spec.dataset("SUPPAE").label
'Supplemental Qualifiers for AE'
"""

from __future__ import annotations

import copy
import csv
import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

from converter.errors import ConfigError
from converter.model import DatasetMeta, VariableMeta
from converter.paths import REPO_ROOT

SPECS_DIR = REPO_ROOT / "specs"

# "SDTMIG 3.3" -> folder name; accepted spellings are normalised by _folder_for.
STANDARDS = {"SDTMIG 3.3": "sdtmig-3.3", "SDTMIG 3.4": "sdtmig-3.4",
             "ADaMIG 1.1": "adamig-1.1", "ADaMIG 1.2": "adamig-1.2", "ADaMIG 1.3": "adamig-1.3"}

DATASET_COLUMNS = ["dataset", "label", "class", "structure", "keys", "repeating", "reference_data"]
VARIABLE_COLUMNS = ["dataset", "variable", "label", "type", "data_type", "role", "core",
                    "codelist", "format"]
OVERRIDE_EXTRA = ["after", "length"]
TYPES = ("Char", "Num")
CORES = ("Req", "Exp", "Perm", "Cond")
DATA_TYPES = ("text", "integer", "float", "date", "datetime", "time", "durationDatetime",
              "partialDate", "partialTime", "partialDatetime", "incompleteDatetime",
              "intervalDatetime")


def _folder_for(standard: str) -> tuple[str, str]:
    norm = standard.strip().replace("-", " ").replace("_", " ").upper()
    for name, folder in STANDARDS.items():
        if norm == name.upper():
            return name, folder
    raise ConfigError(f"standard '{standard}' has no metadata in specs/",
                      key="standard", hint=f"use one of {sorted(STANDARDS)}")


def _belongs(dataset: str, standard: str) -> bool:
    """ADaM dataset names start with AD; everything else is SDTM."""
    return dataset.upper().startswith("AD") == standard.upper().startswith("ADAM")


def _yes(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    return value.strip().lower() in ("yes", "y", "true", "1")


@dataclass
class Spec:
    """Dataset and variable metadata of one standard (plus study overrides)."""

    standard: str
    datasets: dict[str, DatasetMeta] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        name = name.upper()
        return name in self.datasets or (name.startswith("SUPP") and "SUPPQUAL" in self.datasets
                                         and len(name) in (6, 8) and name != "SUPPQUAL")

    def dataset(self, name: str) -> DatasetMeta:
        """A fresh copy of a dataset's metadata (``SUPP--`` from the SUPPQUAL template)."""
        key = name.upper()
        if key in self.datasets:
            return copy.deepcopy(self.datasets[key])
        if self.has(key):
            meta = copy.deepcopy(self.datasets["SUPPQUAL"])
            meta.name = key
            meta.label = meta.label.replace("{domain}", key[4:])
            return meta
        raise ConfigError(f"dataset '{name}' is not described in the {self.standard} metadata",
                          key="dataset",
                          hint="add it to the study's specs/datasets.csv and variables.csv "
                               f"overrides; known datasets: {', '.join(sorted(self.datasets))}")

    def variable(self, dataset: str, variable: str) -> VariableMeta | None:
        return self.dataset(dataset).variable(variable) if self.has(dataset) else None


def _read_csv(path: Path, required: list[str], optional: list[str] = ()) -> list[tuple[int, dict]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            missing = [c for c in required if c not in header]
            unknown = [c for c in header if c not in required and c not in optional]
            if missing or unknown:
                raise ConfigError(
                    "; ".join(([f"columns {missing} missing"] if missing else [])
                              + ([f"unknown columns {unknown}"] if unknown else [])),
                    file=str(path), line=1, key="header",
                    hint=f"expected columns {required + list(optional)}")
            rows = []
            for i, row in enumerate(reader, start=2):
                rows.append((i, {k: (v or "").strip() for k, v in row.items() if k is not None}))
            return rows
    except FileNotFoundError:
        raise ConfigError(f"spec table '{path}' does not exist", file=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"spec table is not UTF-8 ({exc})", file=str(path)) from None


def _check(row: dict, path: Path, line: int, partial: bool) -> None:
    checks = (("type", TYPES), ("core", CORES + (("-",) if partial else ())),
              ("data_type", DATA_TYPES))
    for key, allowed in checks:
        value = row.get(key, "")
        if (value or not partial) and value not in allowed:
            raise ConfigError(f"{key} '{value}' is not allowed", file=str(path), line=line,
                              key=key, hint=f"expected one of {list(allowed)}")
    name = row.get("variable", "")
    if not name or len(name) > 8 or not name.replace("_", "A").isalnum() or not name.isupper():
        raise ConfigError(f"variable name '{name}' is not a valid name", file=str(path), line=line,
                          key="variable", hint="upper-case letters, digits, '_'; at most 8")
    if len(row.get("label", "")) > 40:
        raise ConfigError(f"label '{row['label']}' is longer than 40 characters", file=str(path),
                          line=line, key="label")


def _variable(row: dict) -> VariableMeta:
    fmt = row.get("format") or None
    length = row.get("length") or None
    return VariableMeta(
        name=row["variable"], label=row.get("label", ""), type=row.get("type") or "Char",
        length=int(length) if length else None, format=fmt, role=row.get("role") or None,
        core=row.get("core") or None, codelist=row.get("codelist") or None,
        data_type=row.get("data_type") or None, display_format=fmt)


def _apply_keys(meta: DatasetMeta, path: Path, line: int | None) -> None:
    names = meta.names
    for i, key in enumerate(meta.keys, start=1):
        if key not in names:
            raise ConfigError(f"key variable '{key}' of {meta.name} is not one of its variables",
                              file=str(path), line=line, key="keys")
        meta.variable(key).key_sequence = i


def _load_tables(folder: Path, standard: str, datasets: dict[str, DatasetMeta],
                 partial: bool) -> None:
    ds_path, var_path = folder / "datasets.csv", folder / "variables.csv"
    ds_lines: dict[str, int] = {}
    if ds_path.exists() or not partial:
        for line, row in _read_csv(ds_path, DATASET_COLUMNS):
            name = row["dataset"].upper()
            if not name:
                raise ConfigError("empty dataset name", file=str(ds_path), line=line,
                                  key="dataset")
            if partial and not _belongs(name, standard):
                continue
            keys = [k.strip() for k in row["keys"].split(",") if k.strip()]
            meta = datasets.get(name)
            if meta is None:
                meta = datasets[name] = DatasetMeta(name=name, standard=standard)
            for attr, col in (("label", "label"), ("klass", "class"),
                              ("structure", "structure")):
                if row[col]:
                    setattr(meta, attr, row[col])
            if keys:
                meta.keys = keys
            for attr, col in (("repeating", "repeating"), ("reference_data", "reference_data")):
                if row[col]:
                    setattr(meta, attr, _yes(row[col]))
            ds_lines[name] = line
    if not var_path.exists() and partial:
        return
    if partial:
        required, optional = VARIABLE_COLUMNS[:2], VARIABLE_COLUMNS[2:] + OVERRIDE_EXTRA
    else:
        required, optional = VARIABLE_COLUMNS, ["length"]
    for line, row in _read_csv(var_path, required, optional):
        _check(row, var_path, line, partial)
        name = row["dataset"].upper()
        if partial and name not in datasets and not _belongs(name, standard):
            continue   # a study override file may describe SDTM and ADaM datasets together
        meta = datasets.get(name)
        if meta is None:
            raise ConfigError(f"dataset '{name}' has no row in datasets.csv", file=str(var_path),
                              line=line, key="dataset",
                              hint="describe the dataset in datasets.csv next to variables.csv")
        current = meta.variable(row["variable"])
        if current is None:
            if partial and row.get("core") == "-":
                continue
            for col in ("label", "type", "core"):
                if not row.get(col):
                    raise ConfigError(f"new variable {row['variable']} needs a {col}",
                                      file=str(var_path), line=line, key=col)
            new = _variable(row)
            after = row.get("after")
            if after:
                if meta.variable(after) is None:
                    raise ConfigError(f"'after' names unknown variable '{after}'",
                                      file=str(var_path), line=line, key="after")
                meta.variables.insert(meta.names.index(after) + 1, new)
            else:
                meta.variables.append(new)
        elif not partial:
            raise ConfigError(f"variable {row['variable']} is listed twice for {name}",
                              file=str(var_path), line=line, key="variable")
        elif row.get("core") == "-":
            meta.variables.remove(current)
        else:
            for col, attrs in (("label", ("label",)), ("type", ("type",)),
                               ("format", ("format", "display_format")), ("role", ("role",)),
                               ("core", ("core",)), ("codelist", ("codelist",)),
                               ("data_type", ("data_type",)), ("length", ("length",))):
                value = row.get(col)
                if value:
                    for attr in attrs:
                        setattr(current, attr, int(value) if col == "length" else value)
    for name, meta in datasets.items():
        for v in meta.variables:
            v.key_sequence = None
        _apply_keys(meta, ds_path, ds_lines.get(name))


@functools.lru_cache(maxsize=16)
def _load_cached(standard: str, overrides: str | None) -> Spec:
    name, folder = _folder_for(standard)
    datasets: dict[str, DatasetMeta] = {}
    _load_tables(SPECS_DIR / folder, name, datasets, partial=False)
    if overrides:
        path = Path(overrides)
        folder_path = path if path.is_dir() else path.parent
        if not path.exists():
            raise ConfigError(f"spec overrides '{overrides}' do not exist", file=str(overrides))
        _load_tables(folder_path, name, datasets, partial=True)
    return Spec(standard=name, datasets=datasets)


def load_spec(standard: str, overrides: str | os.PathLike | None = None) -> Spec:
    """Load a standard's metadata ("SDTMIG 3.3", "ADaMIG 1.1"), optionally with study overrides.

    ``overrides`` is a folder holding ``variables.csv`` (and optionally ``datasets.csv``) or the
    path of such a ``variables.csv``. The returned Spec is a copy the caller may modify.
    """
    spec = _load_cached(standard, None if overrides is None else str(Path(overrides).resolve()))
    return Spec(standard=spec.standard, datasets=copy.deepcopy(spec.datasets))
