"""CDISC Dataset-JSON 1.1: writer and reader for JSON, NDJSON and compressed DSJC.

Column metadata comes from the Dataset's VariableMeta:

=====================================  ==========  ==============  ==========================
variable                               dataType    targetDataType  values in ``rows``
=====================================  ==========  ==============  ==========================
Char                                   string      --              strings (missing -> null)
Char, data_type date/datetime/time     same        --              ISO 8601 strings
Num, data_type integer (all integral)  integer     --              JSON integers
Num, data_type decimal                 decimal     decimal         strings (shortest exact)
Num, other                             double      --              JSON numbers (repr-exact)
Num, data_type date/datetime/time      same        integer         ISO 8601 strings
=====================================  ==========  ==============  ==========================

SAS dates count days from 1960-01-01, datetimes seconds from 1960-01-01T00:00:00, times
seconds from midnight. Numbers are written with Python's shortest round-trip repr, so reading
back gives the identical float64. Dataset-JSON has no special missing values: ``.A``-``.Z``
and ``._`` are written as null.

``itemOID`` is ``IT.<DATASET>.<VARIABLE>``, ``itemGroupOID`` ``IG.<DATASET>``; the creation
time is the ``created`` argument (from the study config), so output is deterministic.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from converter import __version__
from converter.atomic import atomic_write
from converter.errors import ConfigError, InputError
from converter.model import Dataset, DatasetMeta, VariableMeta

VERSION = "1.1.0"
FORMATS = ("json", "ndjson", "dsjc")
SAS_EPOCH = np.datetime64("1960-01-01T00:00:00", "s")
_TIME_TYPES = ("date", "datetime", "time")
_QUOTE = pa.scalar('"')
_OPEN = pa.scalar("[")


def _column_type(v: VariableMeta, values: pd.Series) -> tuple[str, str | None]:
    dt = (v.data_type or "").lower()
    if v.type == "Char":
        return (dt if dt in _TIME_TYPES else "string"), None
    if dt in _TIME_TYPES:
        return dt, "integer"
    if dt == "decimal":
        return "decimal", "decimal"
    num = values.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = num[~np.isnan(num)]
    if dt == "integer" and np.all(np.mod(finite, 1) == 0) and np.all(np.abs(finite) < 2**53):
        return "integer", None
    return "double", None


def _iso(values: np.ndarray, kind: str) -> np.ndarray:
    """SAS date/datetime/time numbers -> ISO 8601 strings (object array, None for missing)."""
    out = np.full(len(values), None, dtype=object)
    ok = ~np.isnan(values)
    if not ok.any():
        return out
    v = values[ok]
    if kind == "date":
        text = np.datetime_as_string(SAS_EPOCH.astype("datetime64[D]")
                                     + np.floor(v).astype("timedelta64[D]"), unit="D")
    elif kind == "datetime":
        text = np.datetime_as_string(SAS_EPOCH + np.floor(v).astype("timedelta64[s]"), unit="s")
    else:
        secs = np.floor(v).astype(np.int64)
        text = np.char.add(np.char.add(np.char.zfill((secs // 3600).astype(str), 2), ":"),
                           np.char.add(np.char.add(np.char.zfill((secs // 60 % 60).astype(str),
                                                                 2), ":"),
                                       np.char.zfill((secs % 60).astype(str), 2)))
    out[ok] = text.astype(object)
    return out


def _header(dataset: Dataset, created: datetime, study_oid: str | None,
            metadata_version_oid: str | None, dtypes: list[tuple[str, str | None]],
            meta_ref: str | None, originator: str | None) -> dict:
    meta = dataset.meta
    columns = []
    for v, (dtype, target) in zip(meta.variables, dtypes):
        col = {"itemOID": f"IT.{meta.name}.{v.name}", "name": v.name, "label": v.label or "",
               "dataType": dtype}
        if target:
            col["targetDataType"] = target
        if v.type == "Char" and v.length:
            col["length"] = int(v.length)
        if v.format or v.display_format:
            col["displayFormat"] = v.format or v.display_format
        if v.key_sequence:
            col["keySequence"] = int(v.key_sequence)
        columns.append(col)
    head = {
        "datasetJSONCreationDateTime": created.replace(microsecond=0, tzinfo=None).isoformat(),
        "datasetJSONVersion": VERSION,
        "fileOID": f"{study_oid or 'converter'}/{meta.name}",
    }
    if originator:
        head["originator"] = originator
    head["sourceSystem"] = {"name": "cdisc-converter", "version": __version__}
    if study_oid:
        head["studyOID"] = study_oid
    if metadata_version_oid:
        head["metaDataVersionOID"] = metadata_version_oid
    if meta_ref:
        head["metaDataRef"] = meta_ref
    head.update({"itemGroupOID": f"IG.{meta.name}", "records": len(dataset.data),
                 "name": meta.name, "label": meta.label or "", "columns": columns})
    return head


def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _quote(arr: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(_QUOTE, arr, _QUOTE, "")


_NEEDS_ESCAPE = r'[\x00-\x1f"\\]'


def _json_texts(arr: pa.Array) -> pa.Array:
    """JSON text of each value of a string array without nulls (as ``json.dumps`` writes it,
    non-ASCII kept): values with nothing to escape are quoted by Arrow, the others (quotes,
    backslashes, control characters) go through ``json.dumps``."""
    if len(arr) == 0:
        return pa.array([], type=pa.string())
    special = pc.match_substring_regex(arr, _NEEDS_ESCAPE)
    out = _quote(arr)
    if pc.any(special).as_py():
        rows = np.flatnonzero(special.to_numpy(zero_copy_only=False))
        escaped = pa.array([_dumps(x) for x in arr.take(pa.array(rows)).to_pylist()],
                           type=pa.string())
        mask = np.zeros(len(arr), dtype=bool)
        mask[rows] = True
        out = pc.replace_with_mask(out, pa.array(mask), escaped)
    return out


def _text_array(values: pd.Series) -> pa.Array:
    s = values.astype(object)
    try:
        return pa.array(s.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.array(s.where(s.isna(), s.astype(str)).to_numpy(dtype=object),
                        type=pa.string(), from_pandas=True)


def _category_texts(values: pd.Series) -> pa.Array | None:
    """JSON text of each category of a Categorical column of str, then 'null' (for code -1);
    None for other columns."""
    if not isinstance(values.dtype, pd.CategoricalDtype):
        return None
    cats = values.cat.categories
    if pd.api.types.infer_dtype(cats, skipna=False) not in ("string", "empty"):
        return None
    texts = _json_texts(pa.array(np.asarray(cats, dtype=object), type=pa.string()))
    return pa.concat_arrays([texts, pa.array(["null"], type=pa.string())])


def _json_column(v: VariableMeta, values: pd.Series, dtype: str,
                 category_texts: pa.Array | None = None) -> pa.Array:
    """A column of a row chunk as JSON text per value ('null' for missing), vectorised.

    Text is escaped once per distinct value (for a Categorical column, once per category for
    all chunks: ``category_texts`` from ``_category_texts``); numbers are formatted by Arrow
    (shortest representation that reads back as the same double).
    """
    if v.type == "Char":
        if category_texts is not None:
            codes = values.cat.codes.to_numpy()
            idx = np.where(codes < 0, len(category_texts) - 1, codes)
            return category_texts.take(pa.array(idx))
        enc = pc.dictionary_encode(_text_array(values))
        out = _json_texts(enc.dictionary).take(enc.indices)
    else:
        num = values.to_numpy(dtype=np.float64, na_value=np.nan)
        miss = np.isnan(num)
        if dtype in _TIME_TYPES:
            out = _quote(pa.array(_iso(num, dtype), type=pa.string(), from_pandas=True))
        elif dtype == "integer":
            ints = pa.array(np.where(miss, 0, num).astype(np.int64), mask=miss)
            out = pc.cast(ints, pa.string())
        elif dtype == "decimal":
            text = np.array([repr(float(x)) for x in num], dtype=object)
            out = _quote(pa.array(text, type=pa.string(), mask=miss))
        else:
            out = pc.cast(pa.array(num, mask=miss), pa.string())
    return out.fill_null("null") if out.null_count else out


def _row_chunks(dataset: Dataset, dtypes, sep: str, chunk_rows: int = 100_000
                ) -> Iterator[bytes]:
    """UTF-8 bytes of the rows, each row ``[v1,v2,...]`` followed by ``sep``."""
    data = dataset.data
    tail = pa.scalar("]" + sep)
    # JSON text of the categories of each Categorical Char column, built once for all chunks
    texts = {v.name: _category_texts(data[v.name]) for v in dataset.meta.variables
             if v.type == "Char"}
    for start in range(0, len(data), chunk_rows):
        part = data.iloc[start:start + chunk_rows]
        cols = [_json_column(v, part[v.name], dt, texts.get(v.name))
                for v, (dt, _) in zip(dataset.meta.variables, dtypes)]
        if cols:
            joined = pc.binary_join_element_wise(*cols, ",")
        else:
            joined = pa.array([""] * len(part), type=pa.string())
        rows = pc.binary_join_element_wise(_OPEN, joined, tail, "")
        bufs = rows.buffers()
        offsets = np.frombuffer(bufs[1], dtype=np.int32, count=len(rows) + 1,
                                offset=rows.offset * 4)
        yield memoryview(bufs[2])[offsets[0]:offsets[-1]]


def write_dataset_json(dataset: Dataset, path: str | Path, *, created: datetime,
                       study_oid: str | None = None, metadata_version_oid: str | None = None,
                       fmt: str = "json", meta_ref: str | None = None,
                       originator: str | None = None, compress_level: int = 9) -> Path:
    """Write ``dataset`` as Dataset-JSON 1.1 (``fmt`` json, ndjson or dsjc); return the path."""
    if fmt not in FORMATS:
        raise ConfigError(f"Dataset-JSON format '{fmt}' is not known", key="fmt",
                          hint=f"expected one of {list(FORMATS)}")
    path = Path(path)
    dtypes = [_column_type(v, dataset.data[v.name]) for v in dataset.meta.variables]
    head = _header(dataset, created, study_oid, metadata_version_oid, dtypes, meta_ref,
                   originator)
    with atomic_write(path, "wb") as fh:
        if fmt == "json":
            text = _dumps(head)
            fh.write(text[:-1].encode("utf-8") + b',"rows":[\n')
            pending = b""
            for chunk in _row_chunks(dataset, dtypes, ",\n"):
                fh.write(pending)
                pending = chunk
            fh.write(pending[:-2])   # no comma after the last row
            fh.write(b"]}")
        else:
            comp = zlib.compressobj(compress_level) if fmt == "dsjc" else None

            def emit(chunk: bytes) -> None:
                fh.write(comp.compress(chunk) if comp else chunk)

            emit((_dumps(head) + "\n").encode("utf-8"))
            for chunk in _row_chunks(dataset, dtypes, "\n"):
                emit(chunk)
            if comp:
                fh.write(comp.flush())
    return path


def load_dataset_json(path: str | Path) -> dict:
    """The Dataset-JSON object of a .json, .ndjson or .dsjc file (rows included)."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        raw = path.read_bytes()
        if suffix == ".dsjc":
            raw = zlib.decompress(raw)
        if suffix in (".ndjson", ".dsjc"):
            lines = [ln for ln in raw.decode("utf-8").splitlines() if ln.strip()]
            if not lines:
                raise InputError("empty Dataset-JSON NDJSON content", file=str(path))
            obj = json.loads(lines[0])
            obj["rows"] = [json.loads(ln) for ln in lines[1:]]
        else:
            obj = json.loads(raw.decode("utf-8"))
    except (OSError, zlib.error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read Dataset-JSON: {exc}", file=str(path)) from None
    if not isinstance(obj, dict) or "columns" not in obj:
        raise InputError("not a Dataset-JSON object (no 'columns')", file=str(path))
    return obj


def _from_iso(values: pd.Series, kind: str) -> np.ndarray:
    if kind == "time":
        td = pd.to_timedelta(values, errors="coerce")
        return td.dt.total_seconds().to_numpy(dtype=np.float64)
    ts = pd.to_datetime(values, errors="coerce", format="ISO8601")
    secs = (ts.to_numpy("datetime64[s]") - SAS_EPOCH).astype(np.float64)
    secs[ts.isna().to_numpy()] = np.nan
    return secs / 86400.0 if kind == "date" else secs


def read_dataset_json(path: str | Path) -> Dataset:
    """Read a Dataset-JSON file into a Dataset (dates with targetDataType integer -> SAS nums)."""
    obj = load_dataset_json(path)
    columns = obj["columns"]
    rows = obj.get("rows") or []
    names = [c["name"] for c in columns]
    if rows and any(len(r) != len(names) for r in rows[:1000]):
        raise InputError("row length differs from the number of columns", file=str(path))
    frame = pd.DataFrame(rows, columns=names, dtype=object) if rows else \
        pd.DataFrame({n: pd.Series(dtype=object) for n in names})
    variables = []
    data = {}
    for col in columns:
        name, dtype = col["name"], col.get("dataType", "string")
        target = col.get("targetDataType")
        s = frame[name]
        numeric = dtype in ("integer", "float", "double", "decimal") or target == "integer"
        if numeric and dtype in _TIME_TYPES:
            values = _from_iso(s, dtype)
            data_type = dtype
        elif numeric:
            values = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64)
            data_type = {"double": "float"}.get(dtype, dtype)
        else:
            values = s.where(s.notna(), None).astype(object)
            data_type = dtype if dtype in _TIME_TYPES else "text"
        data[name] = values
        fmt = col.get("displayFormat")
        variables.append(VariableMeta(
            name=name, label=col.get("label", ""), type="Num" if numeric else "Char",
            length=col.get("length") if not numeric else 8, format=fmt, display_format=fmt,
            data_type=data_type, key_sequence=col.get("keySequence")))
    keys = [v.name for v in sorted((v for v in variables if v.key_sequence),
                                   key=lambda v: v.key_sequence)]
    meta = DatasetMeta(name=str(obj.get("name", Path(path).stem)).upper(),
                       label=obj.get("label", ""), keys=keys, variables=variables)
    return Dataset(meta=meta, data=pd.DataFrame(data, columns=names))
