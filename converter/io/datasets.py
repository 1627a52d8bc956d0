"""Reading finished datasets (SDTM/ADaM) of any supported format into :class:`Dataset` objects.

=============  ==============================================================================
extension      how
=============  ==============================================================================
.xpt           pyreadstat (names, labels, lengths, formats, dataset name and label; special
               missing values kept as NaN payloads); text is UTF-8, else Windows-1252
.sas7bdat      pyreadstat, like XPT
.json/.ndjson  Dataset-JSON 1.1 (``converter.io.datasetjson``)
.dsjc          compressed Dataset-JSON
.parquet       pyarrow; metadata from the schema key ``cdisc:dataset`` written by ``convert``
.csv/.csv.gz   every column read as text; types from a ``<stem>.columns.csv`` sidecar when
               present (ours or the pharmaverse ``variable,label,dtype`` layout), else from the
               spec (SDTMIG 3.3 / ADaMIG 1.1 by dataset name), else numeric when every value is
               a number and the column name is not an identifier (``--ID``, ``--CD``)
=============  ==============================================================================
"""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat

from converter import console
from converter.errors import ConfigError, InputError
from converter.metadata.missing import from_codes
from converter.model import Dataset, DatasetMeta, VariableMeta

EXTENSIONS = (".xpt", ".json", ".ndjson", ".dsjc", ".parquet", ".sas7bdat", ".csv.gz", ".csv")
PARQUET_KEY = b"cdisc:dataset"
SIDECAR_SUFFIX = ".columns.csv"


def dataset_suffix(path: str | Path) -> str:
    name = Path(path).name.lower()
    for ext in EXTENSIONS:
        if name.endswith(ext):
            return ext
    return Path(path).suffix.lower()


def dataset_stem(path: str | Path) -> str:
    name = Path(path).name
    ext = dataset_suffix(path)
    return name[: len(name) - len(ext)] if name.lower().endswith(ext) else Path(path).stem


def _normal_format(fmt: str | None) -> str | None:
    if not fmt:
        return None
    fmt = fmt.strip()
    return fmt if "." in fmt else fmt + "."


def _special_to_payload(values: pd.Series) -> np.ndarray:
    """pyreadstat user_missing output (floats mixed with 'A'..'Z', '_') -> float64 payloads."""
    if values.dtype != object:
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    is_str = values.map(lambda x: isinstance(x, str)).to_numpy()
    nums = pd.to_numeric(values.where(~is_str), errors="coerce").to_numpy(dtype=np.float64)
    codes = np.zeros(len(values), dtype=np.uint8)
    letters = values[is_str].astype(str).str.lstrip(".").str.upper().str[:1]
    codes[is_str] = letters.map(lambda c: ord(c) if c else ord(".")).to_numpy(dtype=np.uint8)
    return from_codes(nums, codes)


def _read_readstat(path: Path, kind: str, encoding: str | None) -> Dataset:
    reader = pyreadstat.read_xport if kind == "xpt" else pyreadstat.read_sas7bdat
    tried = [encoding] if encoding else [None, "WINDOWS-1252"]
    last = None
    for enc in tried:
        try:
            kwargs = {"encoding": enc} if enc else {}
            if kind != "xpt":
                kwargs["user_missing"] = True
            df, meta = reader(str(path), disable_datetime_conversion=True, **kwargs)
            if enc and not encoding:
                console.debug(f"{path.name}: text is not UTF-8; read as {enc}")
            break
        except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError, UnicodeDecodeError,
                OSError) as exc:
            last = exc
    else:
        raise InputError(f"cannot read {kind.upper()} file: {last}", file=str(path))
    codes, informats = {}, {}
    if kind == "xpt":
        from converter.io.xpt import read_informats, read_missing_codes
        try:
            codes = read_missing_codes(path, len(df)) if len(df) else {}
            informats = read_informats(path)
        except (ValueError, IndexError):
            codes, informats = {}, {}
    variables = []
    data = {}
    for name in meta.column_names:
        num = meta.readstat_variable_types.get(name) != "string"
        fmt = _normal_format(meta.original_variable_types.get(name))
        variables.append(VariableMeta(
            name=name, label=meta.column_names_to_labels.get(name) or "",
            type="Num" if num else "Char",
            length=int(meta.variable_storage_width.get(name) or (8 if num else 1)),
            format=fmt, display_format=fmt, informat=informats.get(name),
            data_type=("date" if fmt and fmt.upper().startswith(("DATE", "E8601DA", "YYMMDD"))
                       else "datetime" if fmt and fmt.upper().startswith(("DATETIME", "E8601DT"))
                       else "time" if fmt and fmt.upper().startswith(("TIME", "E8601TM"))
                       else "float") if num else "text"))
        if num:
            values = _special_to_payload(df[name])
            if name in codes:
                values = from_codes(values, codes[name])
            data[name] = values
        else:
            data[name] = df[name].astype(object)
    label = meta.file_label or ""
    dsname = (meta.table_name or dataset_stem(path)).upper()
    return Dataset(meta=DatasetMeta(name=dsname, label=label, variables=variables),
                   data=pd.DataFrame(data, columns=meta.column_names))


def parquet_meta(schema, path: Path) -> DatasetMeta:
    """Dataset metadata from a Parquet schema: ours (``cdisc:dataset``) or from the types."""
    import pyarrow as pa
    raw = (schema.metadata or {}).get(PARQUET_KEY)
    if raw:
        info = json.loads(raw)
        variables = [VariableMeta(**v) for v in info.pop("variables")]
        return DatasetMeta(variables=variables, **info)
    variables = []
    for f in schema:
        t = f.type.value_type if pa.types.is_dictionary(f.type) else f.type
        num = pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
        variables.append(VariableMeta(name=f.name, type="Num" if num else "Char",
                                      data_type="float" if num else "text"))
    return DatasetMeta(name=dataset_stem(path).upper(), variables=variables)


def _read_parquet(path: Path) -> Dataset:
    import pyarrow as pa
    import pyarrow.parquet as pq
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"cannot read Parquet file: {exc}", file=str(path)) from None
    meta = parquet_meta(table.schema, path)
    df = table.to_pandas()
    for v in meta.variables:
        if v.type == "Num":
            df[v.name] = df[v.name].to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            s = df[v.name].astype(object)
            df[v.name] = s.where(s.notna(), None)
    return Dataset(meta=meta, data=df[[v.name for v in meta.variables]])


def parquet_metadata(meta: DatasetMeta) -> dict[bytes, bytes]:
    """Schema key-value metadata holding the dataset's metadata (used by ``convert``)."""
    return {PARQUET_KEY: json.dumps(dataclasses.asdict(meta), sort_keys=True).encode("utf-8")}


def _sidecar(path: Path) -> tuple[DatasetMeta | None, dict[str, VariableMeta]]:
    side = path.with_name(dataset_stem(path) + SIDECAR_SUFFIX)
    if not side.exists():
        return None, {}
    with open(side, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    out: dict[str, VariableMeta] = {}
    ds_meta = None
    for row in rows:
        name = row.get("variable") or ""
        if "type" in row:  # our layout
            length = row.get("length") or None
            key = row.get("key_sequence") or None
            out[name] = VariableMeta(
                name=name, label=row.get("label") or "", type=row.get("type") or "Char",
                length=int(length) if length else None, format=row.get("format") or None,
                display_format=row.get("format") or None,
                data_type=row.get("data_type") or None, key_sequence=int(key) if key else None)
            if ds_meta is None and row.get("dataset"):
                ds_meta = DatasetMeta(name=row["dataset"], label=row.get("dataset_label") or "")
        else:  # pharmaverse layout: variable,label,dtype
            dtype = (row.get("dtype") or "").lower()
            num = dtype.startswith(("int", "float", "uint"))
            out[name] = VariableMeta(name=name, label=row.get("label") or "",
                                     type="Num" if num else "Char",
                                     data_type="float" if num else "text")
    return ds_meta, out


def _looks_numeric(name: str, values: pd.Series) -> bool:
    if name.endswith(("ID", "CD")) or name in ("STUDYID", "USUBJID", "SUBJID", "SITEID"):
        return False
    present = values.dropna()
    if not len(present):
        return False
    return bool(pd.to_numeric(present, errors="coerce").notna().all())


def _read_csv(path: Path, encoding: str | None) -> Dataset:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""],
                         encoding=encoding or "utf-8", compression="infer")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot read CSV dataset: {exc}", file=str(path)) from None
    df = df.astype(object).where(df.notna(), None)
    ds_meta, side = _sidecar(path)
    name = (ds_meta.name if ds_meta else dataset_stem(path)).upper()
    spec_meta = None
    try:
        from converter.metadata.spec import load_spec
        spec = load_spec("ADaMIG 1.1" if name.startswith("AD") else "SDTMIG 3.3")
        spec_meta = spec.dataset(name) if spec.has(name) else None
    except ConfigError:
        spec_meta = None
    variables = []
    data = {}
    for col in df.columns:
        vm = side.get(col)
        if vm is None and spec_meta is not None and spec_meta.variable(col) is not None:
            sv = spec_meta.variable(col)
            vm = VariableMeta(name=col, label=sv.label, type=sv.type, data_type=sv.data_type,
                              format=sv.format, display_format=sv.format)
        if vm is None:
            num = _looks_numeric(col, df[col])
            vm = VariableMeta(name=col, type="Num" if num else "Char",
                              data_type="float" if num else "text")
        if vm.type == "Num":
            values = pd.to_numeric(df[col], errors="coerce")
            failed = (values.isna() & df[col].notna()).to_numpy()
            sas_missing = np.zeros(len(df), dtype=bool)
            text = df[col]
            if failed.any():   # only the values that are not numbers: '.', '.A'-'.Z', '._'
                text = df[col].astype("string").str.strip()
                sas_missing = failed & text.str.fullmatch(r"\.[A-Z_]?").fillna(False).to_numpy(
                    dtype=bool)
                values = values.where(~failed, pd.to_numeric(text.where(failed & ~sas_missing),
                                                             errors="coerce"))
            bad = values.isna() & df[col].notna() & ~sas_missing
            if bad.any():
                first = int(np.flatnonzero(bad.to_numpy())[0])
                raise InputError(f"column {col} is numeric but row {first + 1} holds "
                                 f"'{df[col].iloc[first]}'", file=str(path), key=col,
                                 hint="fix the value or declare the column Char in "
                                      f"{dataset_stem(path)}{SIDECAR_SUFFIX}")
            codes = np.zeros(len(df), dtype=np.uint8)
            if sas_missing.any():
                letters = text[sas_missing].str[1:].str.pad(1, fillchar=".")
                codes[sas_missing] = letters.map(ord).to_numpy(dtype=np.uint8)
            data[col] = from_codes(values.to_numpy(dtype=np.float64, na_value=np.nan), codes)
        else:
            data[col] = df[col]
        variables.append(vm)
    label = ds_meta.label if ds_meta else (spec_meta.label if spec_meta else "")
    return Dataset(meta=DatasetMeta(name=name, label=label, variables=variables),
                   data=pd.DataFrame(data, columns=list(df.columns)))


def read_dataset(path: str | Path, *, encoding: str | None = None) -> Dataset:
    """Read one dataset file (format by extension) into a Dataset with its metadata."""
    path = Path(path)
    if not path.is_file():
        raise InputError("dataset file does not exist", file=str(path))
    ext = dataset_suffix(path)
    if ext == ".xpt":
        return _read_readstat(path, "xpt", encoding)
    if ext == ".sas7bdat":
        return _read_readstat(path, "sas7bdat", encoding)
    if ext in (".json", ".ndjson", ".dsjc"):
        from converter.io.datasetjson import read_dataset_json
        return read_dataset_json(path)
    if ext == ".parquet":
        return _read_parquet(path)
    if ext in (".csv", ".csv.gz"):
        return _read_csv(path, encoding)
    raise InputError(f"unknown dataset format '{ext}'", file=str(path),
                     hint=f"use one of {', '.join(EXTENSIONS)}")


def read_dataset_folder(directory: str | Path) -> dict[str, Dataset]:
    """Every dataset in a folder, keyed by upper-case name.

    When one dataset exists in several formats the first of XPT, Dataset-JSON, NDJSON, DSJC,
    Parquet, SAS7BDAT, CSV is used. ``*.columns.csv`` sidecars are not datasets.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError("dataset folder does not exist", file=str(directory))
    chosen: dict[str, tuple[int, Path]] = {}
    for path in sorted(directory.iterdir()):
        if not path.is_file() or path.name.lower().endswith(SIDECAR_SUFFIX):
            continue
        ext = dataset_suffix(path)
        if ext not in EXTENSIONS:
            continue
        rank = EXTENSIONS.index(ext)
        name = dataset_stem(path).upper()
        if name not in chosen or rank < chosen[name][0]:
            chosen[name] = (rank, path)
    out = {name: read_dataset(p) for name, (_, p) in sorted(chosen.items())}
    return _join_split_parts(out, {name: p for name, (_, p) in chosen.items()})


def _join_split_parts(datasets: dict[str, Dataset], paths: dict[str, Path]
                      ) -> dict[str, Dataset]:
    """Join XPT parts written by a split (``lb1.xpt``, ``lb2.xpt``: member name ``LB``)."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for key, ds in datasets.items():
        base = ds.meta.name.upper()
        suffix = key[len(base):]
        if (paths[key].suffix.lower() == ".xpt" and key != base and key.startswith(base)
                and suffix.isdigit() and base not in datasets):
            groups.setdefault(base, []).append((int(suffix), key))
    for base, parts in groups.items():
        parts.sort()
        if [n for n, _ in parts] != list(range(1, len(parts) + 1)):
            continue
        first = datasets[parts[0][1]]
        if any([v.name for v in datasets[k].meta.variables] != first.meta.names
               for _, k in parts):
            continue
        data = pd.concat([datasets[k].data for _, k in parts], ignore_index=True)
        meta = dataclasses.replace(first.meta, variables=[dataclasses.replace(v) for v in
                                                          first.meta.variables])
        for v in meta.variables:
            lengths = [datasets[k].meta.variable(v.name).length or 0 for _, k in parts]
            v.length = max(lengths) or v.length
        for _, k in parts:
            del datasets[k]
        datasets[base] = Dataset(meta=meta, data=data)
    return dict(sorted(datasets.items()))
