"""SAS transport (XPT) version 5 writer, vectorised with numpy.

Layout (SAS technical note TS-140): 80-byte header records (library, member, descriptor,
NAMESTR, observation), one 140-byte NAMESTR per variable, then the observations as fixed-width
rows padded with blanks to a multiple of 80 bytes. Numbers are IBM System/370 double precision
(big-endian, base-16 exponent with bias 64, 56-bit fraction): IEEE doubles convert exactly (53
significant bits fit in 56), values beyond IBM's range (|x| >= 16**63) cannot be written and
values below 16**-65 become 0; both are logged. Missing numbers are written as one byte ``.``
(or ``A``-``Z``, ``_`` for special missing values; see ``converter.metadata.missing``) followed
by seven zero bytes.

Encoding is done per column for chunks of rows (``chunk_rows``) so memory stays bounded for
millions of rows: characters are turned into fixed-width byte blocks by one scatter through
Arrow's UTF-8 buffers, numbers by integer arithmetic on the IEEE bit patterns.

Splitting: when a dataset would exceed ``max_bytes`` the rows are split into consecutive parts
written as ``<stem>1.xpt``, ``<stem>2.xpt``, ... (e.g. ``lb1.xpt``, ``lb2.xpt``); every part carries
the same member name and label. Reading the parts in order and concatenating gives the dataset.
"""

from __future__ import annotations

import collections
import contextlib
import os
import queue
import re
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from converter.atomic import atomic_write
from converter.errors import ConfigError
from converter.issues import IssueLog
from converter.metadata.missing import special_codes_array
from converter.model import Dataset, DatasetMeta, VariableMeta

RECORD = 80
NAMESTR_LEN = 140
MAX_CHAR = 200
STAGE = "xpt"
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,7}")
_FMT_RE = re.compile(r"(\$?(?:[A-Z_][A-Z0-9_]*[A-Z_]|[A-Z_])?)(\d*)\.?(\d*)")
NON_ASCII_MODES = ("keep", "replace", "fail")
THREADS = max(1, min(4, os.cpu_count() or 1))
ROWS_PER_STEP = 8192
_SIGN = np.uint64(1 << 63)
_SHIFT56 = np.uint64(56)
_OVER_TEXT = "too large for IBM floating point; written as missing"
_UNDER_TEXT = "too small for IBM floating point (below 16**-65); written as 0"


def _header(kind: str, tail: str = "0" * 30) -> bytes:
    text = f"HEADER RECORD*******{kind:<8}HEADER RECORD!!!!!!!{tail}"
    return text.ljust(RECORD).encode("ascii")


def sas_datetime_text(created: datetime) -> str:
    """``ddMMMyy:hh:mm:ss`` as in XPT headers, e.g. ``01JAN24:00:00:00``."""
    return (f"{created.day:02d}{_MONTHS[created.month - 1]}{created.year % 100:02d}:"
            f"{created.hour:02d}:{created.minute:02d}:{created.second:02d}")


def parse_format(fmt: str | None) -> tuple[str, int, int]:
    """SAS format text -> (name, width, decimals): ``DATE9.`` -> ('DATE', 9, 0)."""
    if not fmt:
        return "", 0, 0
    m = _FMT_RE.fullmatch(fmt.strip().upper())
    if not m:
        raise ValueError(f"not a SAS format: {fmt!r}")
    name, width, dec = m.groups()
    return name, int(width or 0), int(dec or 0)


def _ibm(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IBM 370 doubles as native uint64 bit patterns, plus overflow/underflow masks.

    With x = m * 2**e (frexp, 0.5 <= |m| < 1) the base-16 exponent is q = ceil(e / 4) and the
    56-bit fraction is |m| * 2**(56 - (4q - e)), an exact integer (53 significant bits shifted
    by at most 3). Bits: sign | (q + 64) << 56 | fraction. Zero, NaN, infinities, |x| >= 16**63
    (overflow) and 0 < |x| < 16**-65 (underflow: IBM would need unnormalised fractions, which
    common readers such as pyreadstat decode wrongly) give 0 here.
    """
    x = np.ascontiguousarray(values, dtype=np.float64)
    m, e = np.frexp(x)
    q = -((-e) >> 2)
    frac = np.ldexp(np.abs(m), 56 - ((q << 2) - e))
    q += 64
    finite = np.isfinite(x)
    special = ~finite
    special |= x == 0
    special |= q > 127
    special |= q < 0
    any_special = bool(special.any())
    if any_special:
        frac[special] = 0
    out = frac.astype(np.uint64)
    out |= q.astype(np.uint64) << _SHIFT56
    out |= x.view(np.uint64) & _SIGN
    if any_special:
        out[special] = 0
        over = (finite & (q > 127)) | np.isinf(x)
        under = finite & (x != 0) & (q < 0)
    else:
        over = under = np.zeros(len(x), dtype=bool)
    return out, over, under


def ieee_to_ibm(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Convert float64 values to IBM 370 doubles (big-endian uint64, as in the file).

    Returns (ibm, overflow, underflow): overflow marks values too large for IBM (|x| >= 16**63
    or infinite; written as missing), underflow marks non-zero values below 16**-65 (written
    as 0). Zero and missing values (NaN) come back as 0; the writer adds the missing bytes.
    """
    out, over, under = _ibm(values)
    return out.astype(">u8"), over, under


def _numeric_piece(values: np.ndarray) -> tuple[tuple, np.ndarray, np.ndarray]:
    """A Num column as ("num", IBM bits (native uint64), missing rows, their first bytes)."""
    x = np.ascontiguousarray(values, dtype=np.float64)
    ibm, over, under = _ibm(x)
    miss = np.isnan(x)
    if over.any():
        miss |= over
    rows = np.flatnonzero(miss)
    codes = special_codes_array(x[rows])
    codes[codes == 0] = ord(".")          # overflowed numbers are written as '.'
    return ("num", ibm, rows, codes), over, under


def _is_utf8(encoding: str) -> bool:
    return encoding.replace("-", "").replace("_", "").lower() in ("utf8", "ascii")


def _categories_arrow(values: pd.Series) -> pa.Array:
    """The categories of a Categorical column as an Arrow string array, plus a trailing null
    (the value of missing rows): the dictionary of the column's chunks."""
    cats = values.cat.categories.astype(str).to_numpy(dtype=object)
    return pa.array(np.append(cats, None), type=pa.string(), from_pandas=True)


def _as_arrow(values: pd.Series, dictionary: pa.Array | None = None) -> pa.Array:
    """A Char column chunk as an Arrow string (or dictionary) array; no copy when possible.

    A Categorical chunk becomes a dictionary array over ``dictionary`` (its categories and a
    trailing null, as built once for the whole column by ``_categories_arrow``; built here
    when not given), missing rows pointing at the null: no validity bitmap to build.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        if dictionary is None:
            dictionary = _categories_arrow(values)
        indices = np.where(codes < 0, np.int32(len(dictionary) - 1), codes)
        return pa.DictionaryArray.from_arrays(pa.array(indices), dictionary)
    try:
        return pa.array(values.to_numpy(dtype=object) if values.dtype == object else values,
                        type=pa.string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        s = values.astype(object)
        text = s.where(s.isna(), s.astype(str))
        return pa.array(text.to_numpy(dtype=object), type=pa.string(), from_pandas=True)


def _to_codec(arr: pa.Array, encoding: str) -> pa.Array:
    """Arrow array whose bytes are the values in ``encoding`` (binary type for non-UTF-8)."""
    if _is_utf8(encoding):
        return arr
    s = pd.Series(arr.to_numpy(zero_copy_only=False), dtype=object)
    try:
        encoded = s.str.encode(encoding, errors="strict")
    except UnicodeEncodeError:
        bad = s[s.map(lambda x: _fails(x, encoding))]
        raise ConfigError(f"text '{bad.iloc[0]}' cannot be written in {encoding} "
                          f"({len(bad)} value(s) in this chunk)", key="encoding",
                          hint="write with encoding='utf-8', or 'ascii' (the default) which "
                               "reports non-ASCII values") from None
    except LookupError:
        raise ConfigError(f"unknown text encoding '{encoding}'", key="encoding") from None
    return pa.array(encoded.to_numpy(dtype=object), type=pa.binary())


def _fails(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return True
    return False


def _scatter(arr: pa.Array, width: int) -> np.ndarray:
    """(n, width) blank-padded bytes of a string/binary array, cut at ``width``."""
    n = len(arr)
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int32, count=n + 1, offset=arr.offset * 4)
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else \
        np.zeros(0, np.uint8)
    starts = offsets[:-1].astype(np.int64)
    take = np.minimum((offsets[1:] - offsets[:-1]).astype(np.int64), width)
    block = np.full((n, width), ord(" "), dtype=np.uint8)
    total = int(take.sum())
    if total:
        rel = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(take) - take, take)
        dest = np.repeat(np.arange(n, dtype=np.int64) * width, take) + rel
        block.reshape(-1)[dest] = data[np.repeat(starts, take) + rel]
    return block


def _padded(arr: pa.Array, width: int, cut: bool = True) -> np.ndarray:
    """(n, width) block of an all-ASCII string array via Arrow's C++ padding (no Python)."""
    n = len(arr)
    if cut:
        arr = pc.utf8_slice_codeunits(arr, 0, width)
    padded = pc.utf8_rpad(arr, width=width, padding=" ")
    bufs = padded.buffers()
    first = int(np.frombuffer(bufs[1], dtype=np.int32, count=1, offset=padded.offset * 4)[0])
    if n == 0:
        return np.zeros((0, width), dtype=np.uint8)
    return np.frombuffer(bufs[2], dtype=np.uint8, count=n * width,
                         offset=first).reshape(n, width)


def _char_prepare(arr: pa.Array, encoding: str, mode: str
                  ) -> tuple[pa.Array, pa.Array, np.ndarray | None, bool]:
    """(values as written, their bytes in ``encoding``, non-ASCII mask or None, all ASCII)."""
    if arr.null_count:
        arr = arr.fill_null("")
    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.string())
    bad = None
    ascii_only = encoding == "ascii"
    if ascii_only:
        ok = pc.string_is_ascii(arr)
        if not pc.all(ok).as_py() and len(arr):
            bad = ~ok.to_numpy(zero_copy_only=False)
            if mode == "replace":
                arr = pc.replace_substring_regex(arr, r"[^\x00-\x7F]", "?")
            else:
                ascii_only = False
    enc = _to_codec(arr, encoding)
    if not ascii_only and pa.types.is_string(enc.type):
        ascii_only = bool(len(enc) == 0 or pc.all(pc.string_is_ascii(enc)).as_py())
    return arr, enc, bad, ascii_only and pa.types.is_string(enc.type)


def _char_lengths(arr, encoding: str, mode: str) -> np.ndarray:
    """Byte length of every value as written (for measuring column widths)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        dlen = _char_lengths(arr.dictionary, encoding, mode)
        idx = arr.indices.fill_null(len(dlen)).to_numpy(zero_copy_only=False)
        return np.append(dlen, 0)[idx]
    _, enc, _, _ = _char_prepare(arr, encoding, mode)
    return pc.binary_length(enc).to_numpy(zero_copy_only=False)


def _same_array(a: pa.Array, b: pa.Array) -> bool:
    """Same values: the same buffers (checked in O(1)), else compared value by value."""
    if a is b:
        return True
    if len(a) != len(b) or a.type != b.type:
        return False
    if a.offset == b.offset and all(
            (x is None) == (y is None) and (x is None or (x.address == y.address
                                                          and x.size == y.size))
            for x, y in zip(a.buffers(), b.buffers())):
        return True
    return a.equals(b)


def _dictionary_block(dictionary: pa.Array, width: int, encoding: str, mode: str,
                      cache: dict | None, key) -> tuple:
    """(padded distinct values plus a trailing blank, too-long flags + False or None,
    non-ASCII flags + False or None) of a dictionary; reused from ``cache`` while a column's
    dictionary stays the same across chunks (each distinct value is encoded once)."""
    if cache is not None:
        hit = cache.get(key)
        if hit is not None and hit[0] == width and _same_array(hit[1], dictionary):
            return hit[2]
    (_, dvals), dlong, dbad, _ = _char_piece(dictionary, width, encoding, mode)
    dvals = np.concatenate([dvals, np.full(1, b" " * width).view(f"V{width}")])
    dlong = None if dlong is None or not dlong.any() else np.append(dlong, False)
    dbad = None if dbad is None or not dbad.any() else np.append(dbad, False)
    block = (dvals, dlong, dbad)
    if cache is not None:
        cache[key] = (width, dictionary, block)
    return block


def _char_piece(arr, width: int, encoding: str, mode: str, cache: dict | None = None,
                key=None) -> tuple[tuple, np.ndarray | None, np.ndarray | None, pa.Array]:
    """Encode one chunk of a Char column for the row assembly.

    Returns (piece, rows longer than ``width`` (mask or None), non-ASCII rows (mask or None),
    values as written). A piece is ("copy", (n,) V{width} array) or, for dictionary arrays,
    ("take", (k+1,) V{width} array of the distinct values plus a blank, row indices): each
    distinct value is encoded once, and once per column when ``cache`` (a dict kept across
    the chunks of one write, ``key`` naming the column) is given.
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        dictionary = arr.dictionary
        dvals, dlong, dbad = _dictionary_block(dictionary, width, encoding, mode, cache, key)
        k = len(dictionary)
        indices = arr.indices
        idx = (indices.fill_null(k) if indices.null_count else indices).to_numpy(
            zero_copy_only=False)
        too_long = None if dlong is None else dlong[idx]
        bad = None if dbad is None else dbad[idx]
        if too_long is not None and not too_long.any():
            too_long = None
        if bad is not None and not bad.any():
            bad = None
        return ("take", dvals, idx), too_long, bad, arr
    written, enc, bad, ascii_only = _char_prepare(arr, encoding, mode)
    lengths = pc.binary_length(enc)
    too_long = None
    if len(enc) and pc.max(lengths).as_py() > width:
        too_long = lengths.to_numpy(zero_copy_only=False) > width
    block = _padded(enc, width, cut=too_long is not None) if ascii_only else \
        _scatter(enc, width)
    return ("copy", block.view(f"V{width}")[:, 0]), too_long, bad, written


def _text(value: str, width: int, encoding: str, what: str, path: Path) -> bytes:
    try:
        raw = (value or "").encode("ascii" if encoding == "ascii" else encoding)
    except UnicodeEncodeError:
        raise ConfigError(f"{what} '{value}' is not {encoding}", file=str(path), key=what,
                          hint="use ASCII text in names, labels and formats") from None
    if len(raw) > width:
        raise ConfigError(f"{what} '{value}' is longer than {width} bytes", file=str(path),
                          key=what)
    return raw.ljust(width, b" ")


def _namestr(v: VariableMeta, number: int, length: int, pos: int, encoding: str,
             path: Path) -> bytes:
    num = v.type == "Num"
    try:
        fname, fw, fd = parse_format(v.format)
        iname, iw, idec = parse_format(v.informat)
    except ValueError as exc:
        raise ConfigError(str(exc), file=str(path), key=f"{v.name}.format") from None
    out = bytearray()
    out += np.array([1 if num else 2, 0, length, number], dtype=">i2").tobytes()
    out += _text(v.name.upper(), 8, "ascii", f"{v.name} name", path)
    out += _text(v.label or "", 40, encoding, f"{v.name} label", path)
    out += _text(fname, 8, "ascii", f"{v.name} format", path)
    out += np.array([fw, fd, 0], dtype=">i2").tobytes() + b"\x00\x00"
    out += _text(iname, 8, "ascii", f"{v.name} informat", path)
    out += np.array([iw, idec], dtype=">i2").tobytes()
    out += np.array([pos], dtype=">i4").tobytes()
    out += b"\x00" * 52
    assert len(out) == NAMESTR_LEN
    return bytes(out)


def _pad(n: int) -> int:
    return (-n) % RECORD


class _Regrow(Exception):
    """A value is longer than the planned width of its column (width must be measured)."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


class _FrameSource:
    """Chunks of a Dataset's frame as Arrow (Char) and float64 (Num) arrays."""

    def __init__(self, dataset: Dataset):
        self.meta = dataset.meta
        self.data = dataset.data
        self.nrows = len(dataset.data)
        self.columns = set(dataset.data.columns)
        # Arrow dictionary of each Categorical column, built once for all chunks
        self._dictionaries: dict[str, pa.Array] = {}

    def batches(self, chunk_rows: int, names: list[str] | None = None):
        names = names or [v.name for v in self.meta.variables]
        types = {v.name: v.type for v in self.meta.variables}
        for start in range(0, self.nrows, chunk_rows):
            part = self.data.iloc[start:start + chunk_rows]
            out = {}
            for name in names:
                s = part[name]
                if types.get(name) == "Num":
                    out[name] = s.to_numpy(dtype=np.float64, na_value=np.nan)
                elif isinstance(s.dtype, pd.CategoricalDtype):
                    if name not in self._dictionaries:
                        self._dictionaries[name] = _categories_arrow(self.data[name])
                    out[name] = _as_arrow(s, self._dictionaries[name])
                else:
                    out[name] = _as_arrow(s)
            yield start, out


class _ParquetSource:
    """Row batches of a Parquet file, read in bounded memory (dictionary columns kept)."""

    def __init__(self, path: Path, meta: DatasetMeta):
        import pyarrow.parquet as pq
        self.path = path
        self.meta = meta
        chars = [v.name for v in meta.variables if v.type == "Char"]
        self.file = pq.ParquetFile(path, read_dictionary=chars)
        self.nrows = self.file.metadata.num_rows
        self.columns = set(self.file.schema_arrow.names)

    def batches(self, chunk_rows: int, names: list[str] | None = None):
        names = names or [v.name for v in self.meta.variables]
        types = {v.name: v.type for v in self.meta.variables}
        start = 0
        for batch in self.file.iter_batches(batch_size=chunk_rows, columns=names):
            out = {}
            for name in names:
                col = batch.column(name)
                if types.get(name) == "Num":
                    if not pa.types.is_floating(col.type):
                        col = col.cast(pa.float64())
                    out[name] = col.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
                else:
                    out[name] = col
            yield start, out
            start += batch.num_rows


def _where(rows: np.ndarray, offset: int, usubjid) -> pd.DataFrame:
    frame = pd.DataFrame({"source_row": rows + offset + 1})
    if usubjid is not None:
        if isinstance(usubjid, pa.Array):
            usubjid = usubjid.take(pa.array(rows)).to_numpy(zero_copy_only=False)
        else:
            usubjid = np.asarray(usubjid)[rows]
        frame["usubjid"] = usubjid
    return frame


def _check_meta(meta: DatasetMeta, columns: set[str], path: Path) -> None:
    if not _NAME_RE.fullmatch(meta.name):
        raise ConfigError(f"dataset name '{meta.name}' is not a valid XPT v5 name",
                          file=str(path), key="dataset",
                          hint="at most 8 characters: letters, digits, '_' (not first)")
    if len(meta.label or "") > 40:
        raise ConfigError(f"dataset label of {meta.name} has {len(meta.label)} characters: "
                          f"'{meta.label}'", file=str(path), key=f"{meta.name}.label",
                          hint="XPT v5 labels hold at most 40 characters")
    seen = set()
    for v in meta.variables:
        if not _NAME_RE.fullmatch(v.name):
            raise ConfigError(f"variable name '{v.name}' of {meta.name} is not a valid XPT v5 "
                              "name", file=str(path), key=f"{meta.name}.{v.name}",
                              hint="at most 8 characters: letters, digits, '_' (not first)")
        if v.name.upper() in seen:
            raise ConfigError(f"variable {v.name} appears twice in {meta.name}",
                              file=str(path), key=f"{meta.name}.{v.name}")
        seen.add(v.name.upper())
        if len(v.label or "") > 40:
            raise ConfigError(f"label of {meta.name}.{v.name} has {len(v.label)} characters: "
                              f"'{v.label}'", file=str(path), key=f"{meta.name}.{v.name}.label",
                              hint="XPT v5 labels hold at most 40 characters")
        if v.name not in columns:
            raise ConfigError(f"variable {v.name} is in the metadata of {meta.name} but not in "
                              "its data", file=str(path), key=f"{meta.name}.{v.name}")
        if v.type not in ("Char", "Num"):
            raise ConfigError(f"type '{v.type}' of {meta.name}.{v.name} is not Char or Num",
                              file=str(path), key=f"{meta.name}.{v.name}.type")


def _measure(source, names: list[str], encoding: str, mode: str,
             chunk_rows: int) -> dict[str, int]:
    """Longest value in bytes (as written) of the given Char columns, over all rows."""
    longest = dict.fromkeys(names, 0)
    if not names:
        return longest
    for _, batch in source.batches(chunk_rows, names):
        for name in names:
            lengths = _char_lengths(batch[name], encoding, mode)
            if len(lengths):
                longest[name] = max(longest[name], int(lengths.max()))
    return longest


def _library_headers(created: datetime, modified: datetime) -> bytes:
    stamp = sas_datetime_text(created).encode("ascii")
    mod = sas_datetime_text(modified).encode("ascii")
    first = b"SAS     SAS     SASLIB  9.4     Linux   " + b" " * 24 + stamp
    return _header("LIBRARY") + first + mod.ljust(RECORD, b" ")


def _member_headers(meta: DatasetMeta, widths: list[int], positions: list[int],
                    created: datetime, modified: datetime, encoding: str, path: Path) -> bytes:
    stamp = sas_datetime_text(created).encode("ascii")
    mod = sas_datetime_text(modified).encode("ascii")
    out = bytearray()
    out += _header("MEMBER", "0" * 17 + "16" + "0" * 8 + "140")
    out += _header("DSCRPTR")
    out += (b"SAS     " + _text(meta.name.upper(), 8, "ascii", "dataset name", path)
            + b"SASDATA 9.4     Linux   " + b" " * 24 + stamp)
    out += (mod + b" " * 16 + _text(meta.label or "", 40, encoding, "dataset label", path)
            + b" " * 8)
    nvars = len(meta.variables)
    out += _header("NAMESTR", f"000000{nvars:04d}" + "0" * 20)
    names = b"".join(_namestr(v, i + 1, widths[i], positions[i], encoding, path)
                     for i, v in enumerate(meta.variables))
    out += names + b" " * _pad(len(names))
    out += _header("OBS")
    return bytes(out)


def _encode_column(v: VariableMeta, values, width: int, offset: int, usubjid, name: str,
                   encoding: str, mode: str, issues: IssueLog, cache: dict | None = None
                   ) -> tuple:
    """One column of a batch as a piece for the row assembly (issues logged)."""
    if v.type == "Num":
        piece, over, under = _numeric_piece(values)
        for mask, rule, text in ((over, "XPT.NUMOVER", _OVER_TEXT),
                                 (under, "XPT.NUMUNDER", _UNDER_TEXT)):
            if mask.any():
                rows = np.flatnonzero(mask)
                frame = _where(rows, offset, usubjid)
                frame["value"] = [repr(float(x)) for x in values[rows]]
                issues.add_frame(frame, rule_id=rule, severity="error", stage=STAGE,
                                 dataset=name, variable=v.name, message=f"{v.name} value {text}")
        return piece
    piece, too_long, bad, written = _char_piece(values, width, encoding, mode, cache, v.name)
    if bad is not None:
        rows = np.flatnonzero(bad)
        shown = values.take(pa.array(rows)).cast(pa.string()).to_numpy(zero_copy_only=False)
        if mode == "fail":
            raise ConfigError(f"{name}.{v.name} row {rows[0] + offset + 1} holds non-ASCII "
                              f"text '{shown[0]}' ({len(rows)} value(s) in this chunk)",
                              key=f"{name}.{v.name}",
                              hint="fix the data, or write with on_non_ascii='keep' (UTF-8 "
                                   "bytes) or 'replace' ('?')")
        frame = _where(rows, offset, usubjid)
        frame["value"] = shown
        action = ("written as UTF-8 bytes" if mode == "keep"
                  else "non-ASCII characters replaced by '?'")
        issues.add_frame(frame, rule_id="XPT.NONASCII", severity="error", stage=STAGE,
                         dataset=name, variable=v.name, expected="ASCII text",
                         message=f"non-ASCII text in {name}.{v.name}; {action}")
    if too_long is not None:
        if width < MAX_CHAR:
            raise _Regrow(v.name)
        rows = np.flatnonzero(too_long)
        frame = _where(rows, offset, usubjid)
        frame["value"] = written.take(pa.array(rows)).cast(pa.string()).to_numpy(
            zero_copy_only=False)
        issues.add_frame(frame, rule_id="XPT.LEN200", severity="error", stage=STAGE,
                         dataset=name, variable=v.name, expected=f"at most {MAX_CHAR} bytes",
                         message=f"value longer than {MAX_CHAR} bytes; the XPT file holds "
                                 f"its first {MAX_CHAR} bytes")
    return piece


def _encode_batch(meta: DatasetMeta, batch: dict, offset: int, widths: list[int],
                  positions: list[int], row_len: int, encoding: str, mode: str,
                  issues: IssueLog, pool: ThreadPoolExecutor | None,
                  cache: dict | None = None) -> np.ndarray:
    """Rows of one batch as an (n, row_len) byte block.

    Columns are first encoded as pieces (in parallel threads: numpy and Arrow release the
    GIL): IBM bit patterns, padded text, or padded distinct values plus row indices. The rows
    are then filled through a structured view of the block (one field per variable, big-endian
    uint64 for numbers), ``ROWS_PER_STEP`` rows at a time so the rows being filled stay in the
    CPU cache; dictionary columns are gathered straight into their field.
    """
    n = len(next(iter(batch.values())))
    usubjid = batch.get("USUBJID")
    jobs = [(v, batch[v.name], widths[i], offset, usubjid, meta.name, encoding, mode, issues,
             cache) for i, v in enumerate(meta.variables)]
    if pool is None:
        pieces = [_encode_column(*job) for job in jobs]
    else:
        pieces = list(pool.map(lambda job: _encode_column(*job), jobs))
    block = np.empty((n, row_len), dtype=np.uint8)
    if n == 0 or row_len == 0:
        return block
    names = [f"c{i}" for i in range(len(widths))]
    formats = [">u8" if v.type == "Num" else f"V{w}" for v, w in zip(meta.variables, widths)]
    layout = np.dtype({"names": names, "formats": formats, "offsets": positions,
                       "itemsize": row_len})
    rows = block.view(layout)[:, 0]
    fields = [rows[name] for name in names]

    def fill(lo: int, hi: int) -> None:
        for r0 in range(lo, hi, ROWS_PER_STEP):
            r1 = min(hi, r0 + ROWS_PER_STEP)
            for dst, piece in zip(fields, pieces):
                if piece[0] == "take":
                    dst[r0:r1] = piece[1][piece[2][r0:r1]]
                else:
                    dst[r0:r1] = piece[1][r0:r1]

    if pool is None or n < 4 * ROWS_PER_STEP:
        fill(0, n)
    else:
        step = -(-n // THREADS)
        list(pool.map(lambda lo: fill(lo, min(n, lo + step)), range(0, n, step)))
    for pos, piece in zip(positions, pieces):
        if piece[0] == "num" and len(piece[2]):
            block[piece[2], pos] = piece[3]
    return block


def _prefetch(iterator, depth: int = 2):
    """Run ``iterator`` in a background thread, ``depth`` items ahead (reading overlaps
    encoding and writing)."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def work() -> None:
        try:
            for item in iterator:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(done)
        except BaseException as exc:  # noqa: BLE001 -- handed to the consumer, re-raised there
            q.put(exc)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def _write(source, path: Path, *, created: datetime, modified: datetime, max_bytes: int,
           issues: IssueLog, encoding: str, on_non_ascii: str, chunk_rows: int) -> list[Path]:
    if on_non_ascii not in NON_ASCII_MODES:
        raise ConfigError(f"on_non_ascii '{on_non_ascii}' is not allowed", key="on_non_ascii",
                          hint=f"expected one of {list(NON_ASCII_MODES)}")
    meta = source.meta
    _check_meta(meta, source.columns, path)
    planned = {v.name: min(MAX_CHAR, int(v.length)) for v in meta.variables
               if v.type == "Char" and v.length}
    unknown = [v.name for v in meta.variables if v.type == "Char" and not v.length]
    planned.update({k: min(MAX_CHAR, max(1, n)) for k, n in
                    _measure(source, unknown, encoding, on_non_ascii, chunk_rows).items()})
    for _attempt in range(len(meta.variables) + 1):
        local = IssueLog()
        try:
            written = _emit(source, path, planned, created, modified, max_bytes, local,
                            encoding, on_non_ascii, chunk_rows)
        except _Regrow as grow:
            found = _measure(source, [grow.name], encoding, on_non_ascii, chunk_rows)
            planned[grow.name] = min(MAX_CHAR, max(1, found[grow.name]))
            continue
        issues.extend(local)
        return written
    raise AssertionError("column widths did not settle")  # pragma: no cover


def _emit(source, path: Path, planned: dict[str, int], created: datetime, modified: datetime,
          max_bytes: int, issues: IssueLog, encoding: str, mode: str,
          chunk_rows: int) -> list[Path]:
    meta = source.meta
    widths = [8 if v.type == "Num" else planned[v.name] for v in meta.variables]
    positions = list(np.cumsum([0] + widths[:-1]).astype(int)) if widths else []
    row_len = int(sum(widths))
    head = _library_headers(created, modified) + _member_headers(
        meta, widths, positions, created, modified, encoding, path)
    n = source.nrows
    room = max_bytes - len(head) - RECORD
    if room < max(row_len, 1):
        raise ConfigError(f"max_bytes {max_bytes} cannot hold one row of {meta.name}",
                          key="max_bytes")
    if len(head) + n * row_len + _pad(n * row_len) <= max_bytes or row_len == 0:
        per_file = max(n, 1)
        targets = [path]
    else:
        per_file = room // row_len
        k = -(-n // per_file)
        targets = [path.with_name(f"{path.stem}{i + 1}{path.suffix}") for i in range(k)]
    # file writes run in one background thread (in order), overlapping the encoding of the
    # next chunk; at most two chunks wait to be written
    writes: collections.deque = collections.deque()
    io = ThreadPoolExecutor(max_workers=1)

    def write(fh, data) -> None:
        writes.append(io.submit(fh.write, data))
        while len(writes) > 2:
            writes.popleft().result()

    try:
        with contextlib.ExitStack() as stack:
            handles: list = []
            counts: list[int] = []

            def open_part() -> None:
                fh = stack.enter_context(atomic_write(targets[len(handles)], "wb"))
                write(fh, head)
                handles.append(fh)
                counts.append(0)

            try:
                open_part()
                pool = stack.enter_context(ThreadPoolExecutor(max_workers=THREADS)) \
                    if THREADS > 1 else None
                cache: dict = {}      # encoded dictionaries of the columns, kept across chunks
                for offset, batch in _prefetch(source.batches(chunk_rows)):
                    block = _encode_batch(meta, batch, offset, widths, positions, row_len,
                                          encoding, mode, issues, pool, cache)
                    done = 0
                    while done < len(block):
                        if counts[-1] == per_file:
                            write(handles[-1], b" " * _pad(counts[-1] * row_len))
                            open_part()
                        take = min(len(block) - done, per_file - counts[-1])
                        write(handles[-1], block[done:done + take].data)
                        counts[-1] += take
                        done += take
                write(handles[-1], b" " * _pad(counts[-1] * row_len))
                while writes:
                    writes.popleft().result()
            finally:
                wait(list(writes))    # no write still running when the files are closed
    finally:
        io.shutdown(wait=True)
    return targets


def write_xpt(dataset: Dataset, path: str | Path, *, created: datetime,
              max_bytes: int = 5 * 10**9, issues: IssueLog | None = None,
              encoding: str = "ascii", on_non_ascii: str = "keep",
              modified: datetime | None = None, chunk_rows: int = 65_536) -> list[Path]:
    """Write ``dataset`` as SAS XPT v5; return the file(s) written (more than one when split).

    ``encoding``: "ascii" (default; non-ASCII text is logged as XPT.NONASCII and handled per
    ``on_non_ascii``: "keep" writes the UTF-8 bytes, "replace" writes '?', "fail" raises) or a
    Python codec name (e.g. "utf-8", "cp1252") used for values and labels.
    ``created``/``modified``: header timestamps (from the study config, never the clock).
    Char widths are the variable lengths of the metadata when set (grown if a value is longer),
    else the longest value in bytes.
    """
    issues = issues if issues is not None else IssueLog()
    return _write(_FrameSource(dataset), Path(path), created=created,
                  modified=modified or created, max_bytes=max_bytes, issues=issues,
                  encoding=encoding, on_non_ascii=on_non_ascii, chunk_rows=chunk_rows)


def write_xpt_parquet(parquet: str | Path, path: str | Path, *, created: datetime,
                      meta: DatasetMeta | None = None, max_bytes: int = 5 * 10**9,
                      issues: IssueLog | None = None, encoding: str = "ascii",
                      on_non_ascii: str = "keep", modified: datetime | None = None,
                      chunk_rows: int = 65_536) -> list[Path]:
    """Stream a Parquet file to XPT in bounded memory (row batches of ``chunk_rows``).

    ``meta`` defaults to the metadata stored by ``convert`` in the Parquet schema
    (``cdisc:dataset``); without either, names and types come from the Parquet schema.
    """
    import pyarrow.parquet as pq

    from converter.io.datasets import parquet_meta
    parquet = Path(parquet)
    if meta is None:
        schema = pq.read_schema(parquet)
        meta = parquet_meta(schema, parquet)
    issues = issues if issues is not None else IssueLog()
    return _write(_ParquetSource(parquet, meta), Path(path), created=created,
                  modified=modified or created, max_bytes=max_bytes, issues=issues,
                  encoding=encoding, on_non_ascii=on_non_ascii, chunk_rows=chunk_rows)


def _namestrs(raw: np.ndarray, path) -> tuple[list[dict], int]:
    """The NAMESTR fields of the first member and the offset of its observations."""
    head = bytes(raw[: 8 * RECORD])
    if not head.startswith(b"HEADER RECORD*******LIBRARY HEADER RECORD"):
        raise ValueError(f"{path}: not an XPT v5 file")
    pos = 3 * RECORD
    # member header, descriptor header, two member records, NAMESTR header
    namestr_len = int(bytes(raw[pos + 74: pos + 78]).decode("ascii") or 140)
    pos += 4 * RECORD
    nvars = int(bytes(raw[pos + 54: pos + 58]).decode("ascii"))
    pos += RECORD
    block = np.asarray(raw[pos: pos + nvars * namestr_len]).reshape(nvars, namestr_len)
    out = []
    for r in block:
        b = bytes(r)
        short = np.frombuffer(b[:8], dtype=">i2")
        out.append({
            "type": int(short[0]), "length": int(short[2]),
            "name": b[8:16].decode("ascii", "replace").strip(),
            "format": (b[56:64].decode("ascii", "replace").strip(),
                       *np.frombuffer(b[64:68], dtype=">i2").tolist()),
            "informat": (b[72:80].decode("ascii", "replace").strip(),
                         *np.frombuffer(b[80:84], dtype=">i2").tolist()),
            "position": int(np.frombuffer(b[84:88], dtype=">i4")[0]),
        })
    pos += nvars * namestr_len
    pos += _pad(nvars * namestr_len)
    return out, pos + RECORD   # after the OBS header


def format_text(name: str, width: int, decimals: int) -> str | None:
    """('DATE', 9, 0) -> 'DATE9.'; ('', 8, 2) -> '8.2'; nothing -> None."""
    if not name and not width:
        return None
    return f"{name}{width or ''}.{decimals or ''}"


def read_informats(path: str | Path) -> dict[str, str]:
    """Informats of the variables of an XPT v5 file (pyreadstat does not report them)."""
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    fields, _ = _namestrs(raw, path)
    out = {}
    for f in fields:
        text = format_text(*f["informat"])
        if text:
            out[f["name"]] = text
    return out


def read_missing_codes(path: str | Path, nrows: int) -> dict[str, np.ndarray]:
    """Missing-value codes of the numeric variables of the first member of an XPT v5 file.

    pyreadstat reads SAS special missing values of XPT files as plain NaN; this reads the first
    byte of each numeric cell (vectorised over the observation block) so that ``.A``-``.Z`` and
    ``._`` survive a round trip. Returns ``{name: uint8 codes}`` (0 = value present) for numeric
    variables holding at least one missing value.
    """
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    fields, pos = _namestrs(raw, path)
    row_len = sum(f["length"] for f in fields)
    if nrows == 0 or row_len == 0:
        return {}
    obs = np.asarray(raw[pos: pos + nrows * row_len]).reshape(nrows, row_len)
    out = {}
    for f in fields:
        if f["type"] != 1:
            continue
        cells = obs[:, f["position"]: f["position"] + f["length"]]
        first = cells[:, 0]
        rest_zero = ~cells[:, 1:].any(axis=1)
        is_missing = rest_zero & ((first == 0x2E) | ((first >= 0x41) & (first <= 0x5A))
                                  | (first == 0x5F))
        if is_missing.any():
            out[f["name"]] = np.where(is_missing, first, 0).astype(np.uint8)
    return out
