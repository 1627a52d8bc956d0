"""``python -m converter convert IN OUT``: one dataset between XPT, Dataset-JSON, CSV and Parquet.

Formats follow the file extensions (.xpt, .json, .ndjson, .dsjc, .csv, .csv.gz, .parquet; input
also .sas7bdat). Names, labels, types, lengths, formats and keys travel as far as the target can
hold them:

* XPT: everything (v5 limits: names 8, labels 40, values 200 bytes).
* Dataset-JSON: everything except SAS special missing values (written as null).
* Parquet: the full metadata as JSON in the schema's key-value metadata (``cdisc:dataset``).
* CSV: the data; metadata goes to a ``<stem>.columns.csv`` sidecar next to it (dataset,
  dataset_label, variable, label, type, length, format, data_type, key_sequence), which
  ``read_dataset`` uses when reading the CSV back. Special missing values are written as
  ``.A``-``.Z`` / ``._``.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

import click
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from converter import console
from converter.atomic import atomic_write, atomic_write_text
from converter.errors import ConfigError
from converter.io.datasets import (
    SIDECAR_SUFFIX,
    dataset_stem,
    dataset_suffix,
    parquet_metadata,
    read_dataset,
)
from converter.issues import IssueLog
from converter.metadata.missing import special_codes_array
from converter.model import Dataset

OUTPUTS = (".xpt", ".json", ".ndjson", ".dsjc", ".csv", ".csv.gz", ".parquet")
DEFAULT_CREATED = "1960-01-01T00:00:00"


def number_text(values: np.ndarray) -> pd.Series:
    """float64 -> shortest exact text ('84', '0.1'); missing -> None, special -> '.A'."""
    arr = pa.array(values, type=pa.float64(), from_pandas=True)
    text = pc.cast(arr, pa.string()).to_numpy(zero_copy_only=False).astype(object)
    codes = special_codes_array(values)
    miss = codes != 0
    text[miss] = None
    special = miss & (codes != ord("."))
    if special.any():
        text[special] = np.char.add(".", codes[special].view("S1").astype(str)).astype(object)
    return pd.Series(text, dtype=object)


def write_csv(dataset: Dataset, path: Path) -> list[Path]:
    """Data to CSV (UTF-8, missing = empty) and metadata to ``<stem>.columns.csv``."""
    cols = {}
    for v in dataset.meta.variables:
        s = dataset.data[v.name]
        cols[v.name] = number_text(s.to_numpy(dtype=np.float64, na_value=np.nan)) \
            if v.type == "Num" else s.astype(object).where(s.notna(), None).reset_index(drop=True)
    frame = pd.DataFrame(cols, columns=[v.name for v in dataset.meta.variables])
    compression = "gzip" if path.name.lower().endswith(".gz") else None
    if compression:
        buf = io.BytesIO()
        frame.to_csv(buf, index=False, compression={"method": "gzip", "mtime": 0},
                     lineterminator="\n")
        with atomic_write(path, "wb") as fh:
            fh.write(buf.getvalue())
    else:
        with atomic_write(path, "w", encoding="utf-8") as fh:
            frame.to_csv(fh, index=False, lineterminator="\n")
    side = path.with_name(dataset_stem(path) + SIDECAR_SUFFIX)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["dataset", "dataset_label", "variable", "label", "type", "length", "format",
                     "data_type", "key_sequence"])
    for v in dataset.meta.variables:
        writer.writerow([dataset.meta.name, dataset.meta.label or "", v.name, v.label or "",
                         v.type, v.length or "", v.format or "", v.data_type or "",
                         v.key_sequence or ""])
    atomic_write_text(side, out.getvalue())
    return [path, side]


def _string_array(s: pd.Series) -> pa.Array:
    """A Char column as an Arrow string array; a Categorical of str is decoded from its
    categories by Arrow (no per-row Python objects)."""
    if isinstance(s.dtype, pd.CategoricalDtype) and pd.api.types.infer_dtype(
            s.cat.categories, skipna=False) in ("string", "empty"):
        codes = s.cat.codes.to_numpy()
        missing = codes < 0
        indices = pa.array(codes, mask=missing) if missing.any() else pa.array(codes)
        dictionary = pa.array(np.asarray(s.cat.categories, dtype=object), type=pa.string())
        return pa.DictionaryArray.from_arrays(indices, dictionary).dictionary_decode()
    return pa.array(s.to_numpy(dtype=object), type=pa.string(), from_pandas=True)


def write_parquet(dataset: Dataset, path: Path) -> list[Path]:
    import pyarrow.parquet as pq
    arrays, fields = [], []
    for v in dataset.meta.variables:
        s = dataset.data[v.name]
        if v.type == "Num":
            arrays.append(pa.array(s.to_numpy(dtype=np.float64, na_value=np.nan),
                                   type=pa.float64()))
        else:
            arrays.append(_string_array(s))
        fields.append(pa.field(v.name, arrays[-1].type))
    schema = pa.schema(fields, metadata=parquet_metadata(dataset.meta))
    table = pa.Table.from_arrays(arrays, schema=schema)
    with atomic_write(path, "wb") as fh:
        pq.write_table(table, fh, compression="zstd")
    return [path]


def convert(src: str | Path, dst: str | Path, *, created: datetime,
            issues: IssueLog | None = None, study_oid: str | None = None,
            metadata_version_oid: str | None = None, encoding: str = "ascii",
            on_non_ascii: str = "keep", max_bytes: int = 5 * 10**9,
            input_encoding: str | None = None) -> list[Path]:
    """Convert one dataset file; returns the files written."""
    src, dst = Path(src), Path(dst)
    out_ext = dataset_suffix(dst)
    if out_ext not in OUTPUTS:
        raise ConfigError(f"cannot write '{dst.name}': unknown output format",
                          key="OUT", hint=f"use one of {', '.join(OUTPUTS)}")
    if src.resolve() == dst.resolve():
        raise ConfigError("input and output are the same file", key="OUT")
    issues = issues if issues is not None else IssueLog()
    if out_ext == ".xpt" and dataset_suffix(src) == ".parquet" and src.is_file():
        from converter.io.xpt import write_xpt_parquet  # streams: bounded memory
        return write_xpt_parquet(src, dst, created=created, max_bytes=max_bytes, issues=issues,
                                 encoding=encoding, on_non_ascii=on_non_ascii)
    dataset = read_dataset(src, encoding=input_encoding)
    if out_ext == ".xpt":
        from converter.io.xpt import write_xpt
        return write_xpt(dataset, dst, created=created, max_bytes=max_bytes, issues=issues,
                         encoding=encoding, on_non_ascii=on_non_ascii)
    if out_ext in (".json", ".ndjson", ".dsjc"):
        from converter.io.datasetjson import write_dataset_json
        return [write_dataset_json(dataset, dst, created=created, study_oid=study_oid,
                                   metadata_version_oid=metadata_version_oid,
                                   fmt=out_ext[1:])]
    if out_ext == ".parquet":
        return write_parquet(dataset, dst)
    return write_csv(dataset, dst)


@click.command("convert")
@click.argument("src", metavar="IN", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("dst", metavar="OUT", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--created", default=DEFAULT_CREATED, show_default=True,
              help="Timestamp written into XPT headers / Dataset-JSON (ISO 8601).")
@click.option("--study-oid", default=None, help="Dataset-JSON studyOID.")
@click.option("--mdv-oid", default=None, help="Dataset-JSON metaDataVersionOID.")
@click.option("--encoding", default="ascii", show_default=True,
              help="XPT text encoding: ascii (non-ASCII values are reported) or a codec name.")
@click.option("--on-non-ascii", type=click.Choice(["keep", "replace", "fail"]), default="keep",
              show_default=True, help="XPT with --encoding ascii: keep UTF-8 bytes, replace "
                                      "with '?', or stop.")
@click.option("--max-bytes", type=int, default=5 * 10**9, show_default=True,
              help="Split XPT output into <stem>1.xpt, <stem>2.xpt, ... above this size.")
@click.option("--input-encoding", default=None, help="Text encoding of the input file.")
def convert_cmd(src: Path, dst: Path, created: str, study_oid: str | None, mdv_oid: str | None,
                encoding: str, on_non_ascii: str, max_bytes: int,
                input_encoding: str | None) -> int:
    """Convert dataset IN to OUT; formats follow the extensions (.xpt .json .ndjson .dsjc .csv
    .csv.gz .parquet; IN may also be .sas7bdat)."""
    try:
        stamp = datetime.fromisoformat(created)
    except ValueError:
        raise ConfigError(f"--created '{created}' is not an ISO 8601 date-time",
                          key="--created", hint="e.g. 2024-01-31T12:00:00") from None
    issues = IssueLog()
    written = convert(src, dst, created=stamp, issues=issues, study_oid=study_oid,
                      metadata_version_oid=mdv_oid, encoding=encoding,
                      on_non_ascii=on_non_ascii, max_bytes=max_bytes,
                      input_encoding=input_encoding)
    for path in written:
        console.info(f"wrote {path}")
    frame = issues.to_frame()
    for row in frame.head(20).itertuples():
        where = f"{row.dataset}.{row.variable}" + (f" row {row.source_row}" if row.source_row
                                                   else "")
        console.info(f"{row.severity}: {row.rule_id} {where}: {row.message}"
                     + (f" (value {row.value!r})" if row.value is not None else ""))
    if len(frame) > 20:
        console.info(f"... and {len(frame) - 20} more issues")
    return 0
