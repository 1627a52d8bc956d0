"""Helpers shared by the study simulators: dates, vectorised formatting, deterministic files.

Everything here is pure numpy/pandas on whole columns; the writers give byte-identical output for
identical input (fixed timestamps, fixed zip entry dates, ``\\n`` line endings).
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from converter.atomic import atomic_write, atomic_write_bytes

MONTHS = np.array(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV",
                   "DEC"])
# Zip entry timestamp of every generated workbook (the earliest a zip can hold is 1980).
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)


def to_datetime64(days: np.ndarray, origin: str) -> np.ndarray:
    """Whole days after ``origin`` (ISO date) as ``datetime64[D]``."""
    return np.datetime64(origin, "D") + np.asarray(days).astype("timedelta64[D]")


def _parts(dates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = np.asarray(dates).astype("datetime64[D]")
    year = d.astype("datetime64[Y]").astype(int) + 1970
    month = d.astype("datetime64[M]").astype(int) % 12
    day = (d - d.astype("datetime64[M]")).astype(int) + 1
    return year, month, day


def fmt_edc_date(dates: np.ndarray) -> np.ndarray:
    """``datetime64`` → EDC display dates such as ``12 MAR 2014`` (vectorised)."""
    year, month, day = _parts(dates)
    day_s = pd.Series(day).astype(str).str.zfill(2).to_numpy()
    return (pd.Series(day_s) + " " + pd.Series(MONTHS[month]) + " "
            + pd.Series(year).astype(str)).to_numpy(dtype=object)


def fmt_edc_partial(dates: np.ndarray, unknown_day: np.ndarray) -> np.ndarray:
    """Like :func:`fmt_edc_date` but ``UN MMM YYYY`` where ``unknown_day`` is true."""
    full = fmt_edc_date(dates)
    year, month, _ = _parts(dates)
    part = (pd.Series(["UN"] * len(full)) + " " + pd.Series(MONTHS[month]) + " "
            + pd.Series(year).astype(str)).to_numpy(dtype=object)
    return np.where(np.asarray(unknown_day, bool), part, full)


def fmt_iso_date(dates: np.ndarray) -> np.ndarray:
    return np.asarray(dates).astype("datetime64[D]").astype(str).astype(object)


def fmt_time(minutes: np.ndarray) -> np.ndarray:
    """Minutes after midnight → ``HH:MM``."""
    m = np.asarray(minutes).astype(int)
    hh = pd.Series(m // 60).astype(str).str.zfill(2)
    mm = pd.Series(m % 60).astype(str).str.zfill(2)
    return (hh + ":" + mm).to_numpy(dtype=object)


def fmt_fixed(values: np.ndarray, decimals: int) -> np.ndarray:
    """Numbers → strings with a fixed number of decimals (``-0`` never appears)."""
    v = np.round(np.asarray(values, float), decimals) + 0.0
    if decimals == 0:
        return pd.Series(v.astype(np.int64)).astype(str).to_numpy(dtype=object)
    return np.char.mod(f"%.{decimals}f", v).astype(object)


def quantile_draw(rng: np.random.Generator, n: int, knots: list[float],
                  jitter: float = 0.35) -> np.ndarray:
    """``n`` values whose empirical quartiles follow ``knots`` = (min, Q1, median, Q3, max).

    Stratified uniforms (one per n-tile, slightly jittered) pushed through the piecewise-linear
    quantile function, then shuffled: medians and IQRs land close to the targets for any n.
    """
    u = (np.arange(n) + 0.5 + rng.uniform(-jitter, jitter, n)) / n
    values = np.interp(u, [0.0, 0.25, 0.5, 0.75, 1.0], knots)
    return rng.permutation(values)


def _string_array(values) -> pa.Array:
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values if values.type == pa.string() else pc.cast(values, pa.string())
    arr = np.asarray(values, dtype=object)
    return pa.array(arr, type=pa.string(), from_pandas=True)


def write_csv(frame: pd.DataFrame | dict, path: Path) -> Path:
    """Write text columns as UTF-8 CSV: header row, ``\n`` line endings, every value quoted,
    missing values as empty unquoted fields (so a missing value and an empty string differ).

    ``frame`` is a DataFrame of str/None or a dict of column name -> array (numpy object array
    or pyarrow string array). pyarrow's writer keeps 5 million rows fast.
    """
    cols = frame if isinstance(frame, dict) else {c: frame[c].to_numpy() for c in frame.columns}
    table = pa.table({name: _string_array(v) for name, v in cols.items()})
    options = pacsv.WriteOptions(include_header=True, quoting_style="needed",
                                 batch_size=1 << 16)
    with atomic_write(path, "wb") as fh:  # pyarrow writes "\n" line endings
        pacsv.write_csv(table, fh, write_options=options)
    return path


def fixed_decimal_strings(values: np.ndarray, decimals: np.ndarray) -> pa.Array:
    """Non-negative numbers → strings with a per-row number of decimals (0, 1 or 2), in Arrow.

    NaN becomes null. Works on integers scaled by 10**decimals, so no float formatting happens.
    """
    v = np.asarray(values, float)
    d = np.asarray(decimals, np.int64)
    missing = np.isnan(v)
    scaled = np.rint(np.where(missing, 0, v) * 10.0 ** d).astype(np.int64)
    text = pc.cast(pa.array(scaled, mask=missing), pa.string())
    out = text
    for k in (1, 2):
        padded = pc.utf8_lpad(text, width=k + 1, padding="0")
        joined = pc.binary_join_element_wise(
            pc.utf8_slice_codeunits(padded, 0, -k), pc.utf8_slice_codeunits(padded, -k), ".")
        out = pc.if_else(pa.array(d == k), joined, out)
    return out


def write_xlsx(frames: dict[str, pd.DataFrame], path: Path, *, created: datetime,
               title: str, creator: str) -> Path:
    """Write sheets with openpyxl, then make the file byte-reproducible.

    openpyxl stamps the document properties and every zip entry with the current time; the
    properties are fixed to ``created`` and the archive is rewritten with a fixed entry date.
    """
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for name, frame in frames.items():
        ws = wb.create_sheet(name)
        ws.append(list(frame.columns))
        for row in frame.itertuples(index=False, name=None):  # workbook is small (one list)
            ws.append([None if (isinstance(v, float) and np.isnan(v)) else v for v in row])
    wb.properties.creator = creator
    wb.properties.lastModifiedBy = creator
    wb.properties.title = title
    wb.properties.created = created
    wb.properties.modified = created
    raw = io.BytesIO()
    wb.save(raw)
    # openpyxl sets "modified" to the current time while saving: put the fixed stamp back
    stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ").encode()

    def fix_core(data: bytes) -> bytes:
        return re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                      rb"\g<1>" + stamp + rb"\g<2>", data)
    return write_zip_fixed(raw.getvalue(), path, rewrite={"docProps/core.xml": fix_core})


def write_zip_fixed(zip_bytes: bytes, path: Path, rewrite: dict | None = None) -> Path:
    """Rewrite a zip archive uncompressed, every entry dated :data:`ZIP_DATE_TIME`, order kept;
    ``rewrite`` maps entry names to functions that transform their bytes."""
    rewrite = rewrite or {}
    out = io.BytesIO()
    # entries are stored uncompressed: deflate output differs between zlib builds, which
    # would break byte-for-byte reproducibility across machines
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as src, \
            zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE_TIME)
            fixed.compress_type = zipfile.ZIP_STORED
            fixed.external_attr = 0o644 << 16
            data = src.read(info.filename)
            if info.filename in rewrite:
                data = rewrite[info.filename](data)
            dst.writestr(fixed, data)
    atomic_write_bytes(path, out.getvalue())
    return path
