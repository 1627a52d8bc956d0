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

import re
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
from converter.model import Dataset, VariableMeta

RECORD = 80
NAMESTR_LEN = 140
MAX_CHAR = 200
STAGE = "xpt"
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,7}")
_FMT_RE = re.compile(r"(\$?(?:[A-Z_][A-Z0-9_]*[A-Z_]|[A-Z_])?)(\d*)\.?(\d*)")
NON_ASCII_MODES = ("keep", "replace", "fail")


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


def ieee_to_ibm(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Convert float64 values to IBM 370 doubles (as big-endian uint64).

    Returns (ibm, overflow, underflow): overflow marks finite values too large for IBM (written
    as missing), underflow marks non-zero values too small (below 16**-65: written as 0).
    Missing values (NaN) come back as 0 here; the caller writes the missing bytes.
    """
    x = np.ascontiguousarray(values, dtype=np.float64)
    bits = x.view(np.uint64)
    sign = bits >> np.uint64(63)
    exp = ((bits >> np.uint64(52)) & np.uint64(0x7FF)).astype(np.int64)
    frac = bits & np.uint64((1 << 52) - 1)
    normal = (exp > 0) & (exp < 0x7FF)
    mant = frac | np.uint64(1 << 52)
    # value = mant * 2**(exp-1075); IBM: F * 16**(E-64) * 2**-56 with F = mant << k
    k = np.mod(exp - 1019, 4)
    ibm_exp = (exp - 1019 - k) // 4 + 64
    fraction = mant << k.astype(np.uint64)
    # below 16**-65 IBM needs unnormalised fractions, which common readers (pyreadstat)
    # decode wrongly: write 0 and report instead
    under = normal & (ibm_exp < 0)
    fraction = np.where(under, np.uint64(0), fraction)
    ibm_exp = np.where(under, 0, ibm_exp)
    over = normal & (ibm_exp > 127)
    out = (sign << np.uint64(63)) | (ibm_exp.astype(np.uint64) << np.uint64(56)) | fraction
    zero = ~normal | over | (fraction == 0)
    out = np.where(zero, np.uint64(0), out)
    # keep the sign bit off for zeros: SAS writes 0 as eight zero bytes
    underflow = (under & (x != 0)) | ((exp == 0) & (frac != 0))
    return out.astype(">u8"), over, underflow


def _encode_numeric(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, 8) uint8 block; overflow and underflow masks."""
    ibm, over, under = ieee_to_ibm(values)
    block = ibm.view(np.uint8).reshape(-1, 8).copy()
    codes = special_codes_array(values)
    codes = np.where(over, np.uint8(ord(".")), codes)
    miss = codes != 0
    if miss.any():
        block[miss] = 0
        block[miss, 0] = codes[miss]
    return block, over, under


def _arrow_strings(values: pd.Series) -> pa.Array:
    arr = pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    return arr.fill_null("") if arr.null_count else arr


def _encode_char(arr: pa.Array, width: int, encoding: str) -> tuple[np.ndarray, np.ndarray]:
    """(n, width) uint8 block of blank-padded bytes and the byte length of each value.

    ``arr`` is an Arrow string array already encoded to the target codec's bytes when the
    codec is not UTF-8 (see ``_to_codec``). Values longer than ``width`` are cut (caller logs).
    """
    n = len(arr)
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int32, count=n + 1, offset=arr.offset * 4)
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0,
                                                                                     np.uint8)
    starts = offsets[:-1].astype(np.int64)
    lengths = (offsets[1:] - offsets[:-1]).astype(np.int64)
    take = np.minimum(lengths, width)
    block = np.full((n, width), ord(" "), dtype=np.uint8)
    total = int(take.sum())
    if total:
        row_start = np.arange(n, dtype=np.int64) * width
        # destination of each copied byte: row*width + i; source: start + i
        rel = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(take) - take, take)
        dest = np.repeat(row_start, take) + rel
        src = np.repeat(starts, take) + rel
        block.reshape(-1)[dest] = data[src]
    return block, lengths


def _to_codec(values: pd.Series, encoding: str) -> pa.Array:
    """Arrow array whose bytes are the values in ``encoding`` (binary type for non-UTF-8)."""
    arr = _arrow_strings(values)
    if encoding.replace("-", "").lower() in ("utf8", "ascii"):
        return arr
    s = pd.Series(arr.to_numpy(zero_copy_only=False), dtype=object)
    encoded = s.str.encode(encoding, errors="strict")
    return pa.array(encoded.to_numpy(dtype=object), type=pa.binary())


def _check_names(dataset: Dataset, path: Path) -> None:
    meta = dataset.meta
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
        if v.name not in dataset.data.columns:
            raise ConfigError(f"variable {v.name} is in the metadata of {meta.name} but not in "
                              "its data", file=str(path), key=f"{meta.name}.{v.name}")


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


class _Plan:
    """Per-variable widths decided from the whole dataset (lengths must not vary by chunk)."""

    def __init__(self, dataset: Dataset, encoding: str, on_non_ascii: str,
                 issues: IssueLog, path: Path):
        self.widths: list[int] = []
        self.positions: list[int] = []
        self.arrays: dict[str, pa.Array] = {}
        data = dataset.data
        name = dataset.meta.name
        pos = 0
        for v in dataset.meta.variables:
            if v.type == "Num":
                width = 8
            else:
                arr = _to_codec(data[v.name], encoding)
                if encoding == "ascii":
                    arr = self._ascii(arr, data, name, v.name, on_non_ascii, issues, path)
                lengths = np.asarray(pc.binary_length(arr).to_numpy(
                    zero_copy_only=False))
                longest = int(lengths.max()) if len(lengths) else 0
                over = np.flatnonzero(lengths > MAX_CHAR)
                if len(over):
                    frame = self._where(data, over)
                    frame["value"] = data[v.name].to_numpy()[over]
                    issues.add_frame(frame, rule_id="XPT.LEN200", severity="error",
                                     stage=STAGE, dataset=name, variable=v.name,
                                     message=f"value longer than {MAX_CHAR} bytes; the XPT file "
                                             f"holds its first {MAX_CHAR} bytes",
                                     expected=f"at most {MAX_CHAR} bytes")
                width = max(1, min(MAX_CHAR, max(v.length or 0, longest)))
                self.arrays[v.name] = arr
            self.widths.append(width)
            self.positions.append(pos)
            pos += width
        self.row_length = pos

    @staticmethod
    def _where(data: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
        frame = pd.DataFrame({"source_row": rows + 1})
        if "USUBJID" in data.columns:
            frame["usubjid"] = data["USUBJID"].to_numpy()[rows]
        return frame

    def _ascii(self, arr: pa.Array, data: pd.DataFrame, name: str, var: str, mode: str,
               issues: IssueLog, path: Path) -> pa.Array:
        ascii_ok = pc.string_is_ascii(arr).to_numpy(zero_copy_only=False)
        bad = np.flatnonzero(~ascii_ok)
        if not len(bad):
            return arr
        if mode == "fail":
            raise ConfigError(f"{name}.{var} row {bad[0] + 1} holds non-ASCII text "
                              f"'{arr[int(bad[0])].as_py()}' ({len(bad)} value(s) in all)",
                              file=str(path), key=f"{name}.{var}",
                              hint="fix the data, or write with on_non_ascii='keep' (UTF-8 "
                                   "bytes) or 'replace' ('?')")
        frame = self._where(data, bad)
        frame["value"] = arr.take(pa.array(bad)).to_numpy(zero_copy_only=False)
        action = "written as UTF-8 bytes" if mode == "keep" else "non-ASCII characters " \
                                                                  "replaced by '?'"
        issues.add_frame(frame, rule_id="XPT.NONASCII", severity="error", stage=STAGE,
                         dataset=name, variable=var, expected="ASCII text",
                         message=f"non-ASCII text in {name}.{var}; {action}")
        if mode == "replace":
            return pc.replace_substring_regex(arr, r"[^\x00-\x7F]", "?")
        return arr


def _library_headers(created: datetime, modified: datetime) -> bytes:
    stamp = sas_datetime_text(created).encode("ascii")
    mod = sas_datetime_text(modified).encode("ascii")
    first = b"SAS     SAS     SASLIB  9.4     Linux   " + b" " * 24 + stamp
    return _header("LIBRARY") + first + mod.ljust(RECORD, b" ")


def _member_headers(dataset: Dataset, plan: _Plan, created: datetime, modified: datetime,
                    encoding: str, path: Path) -> bytes:
    meta = dataset.meta
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
    names = b"".join(_namestr(v, i + 1, plan.widths[i], plan.positions[i], encoding, path)
                     for i, v in enumerate(meta.variables))
    out += names + b" " * _pad(len(names))
    out += _header("OBS")
    return bytes(out)


def _encode_rows(dataset: Dataset, plan: _Plan, start: int, stop: int, issues: IssueLog,
                 encoding: str) -> np.ndarray:
    n = stop - start
    block = np.empty((n, plan.row_length), dtype=np.uint8)
    data = dataset.data
    for i, v in enumerate(dataset.meta.variables):
        pos, width = plan.positions[i], plan.widths[i]
        if v.type == "Num":
            values = data[v.name].iloc[start:stop].to_numpy(dtype=np.float64, na_value=np.nan)
            enc, over, under = _encode_numeric(values)
            for mask, rule, text in ((over, "XPT.NUMOVER", ("too large for IBM floating "
                                      "point; written as missing")),
                                     (under, "XPT.NUMUNDER", ("too small for IBM floating "
                                      "point (below 16**-65); written as 0"))):
                if mask.any():
                    rows = np.flatnonzero(mask)
                    frame = _Plan._where(data.iloc[start:stop], rows)
                    frame["source_row"] = rows + start + 1
                    frame["value"] = [repr(float(x)) for x in values[rows]]
                    issues.add_frame(frame, rule_id=rule, severity="error", stage=STAGE,
                                     dataset=dataset.meta.name, variable=v.name,
                                     message=f"{v.name} value {text}")
            block[:, pos:pos + 8] = enc
        else:
            arr = plan.arrays[v.name].slice(start, n)
            enc, _ = _encode_char(arr, width, encoding)
            block[:, pos:pos + width] = enc
    return block


def write_xpt(dataset: Dataset, path: str | Path, *, created: datetime,
              max_bytes: int = 5 * 10**9, issues: IssueLog | None = None,
              encoding: str = "ascii", on_non_ascii: str = "keep",
              modified: datetime | None = None, chunk_rows: int = 100_000) -> list[Path]:
    """Write ``dataset`` as SAS XPT v5; return the file(s) written (more than one when split).

    ``encoding``: "ascii" (default; non-ASCII text is logged as XPT.NONASCII and handled per
    ``on_non_ascii``: "keep" writes the UTF-8 bytes, "replace" writes '?', "fail" raises) or a
    Python codec name (e.g. "utf-8", "cp1252") used for values and labels.
    ``created``/``modified``: header timestamps (from the study config, never the clock).
    """
    path = Path(path)
    issues = issues if issues is not None else IssueLog()
    if on_non_ascii not in NON_ASCII_MODES:
        raise ConfigError(f"on_non_ascii '{on_non_ascii}' is not allowed", key="on_non_ascii",
                          hint=f"expected one of {list(NON_ASCII_MODES)}")
    modified = modified or created
    _check_names(dataset, path)
    plan = _Plan(dataset, encoding, on_non_ascii, issues, path)
    head = _library_headers(created, modified) + _member_headers(dataset, plan, created,
                                                                 modified, encoding, path)
    n = len(dataset.data)
    row_len = max(plan.row_length, 1)
    room = max_bytes - len(head) - RECORD
    if room < row_len:
        raise ConfigError(f"max_bytes {max_bytes} cannot hold one row of {dataset.meta.name}",
                          key="max_bytes")
    per_file = room // row_len
    parts = [(0, n)] if len(head) + n * row_len + _pad(n * row_len) <= max_bytes else \
        [(s, min(n, s + per_file)) for s in range(0, n, per_file)]
    if len(parts) == 1:
        targets = [path]
    else:
        targets = [path.with_name(f"{path.stem}{i + 1}{path.suffix}") for i in range(len(parts))]
    for target, (lo, hi) in zip(targets, parts):
        with atomic_write(target, "wb") as fh:
            fh.write(head)
            written = 0
            for s in range(lo, hi, chunk_rows):
                e = min(hi, s + chunk_rows)
                block = _encode_rows(dataset, plan, s, e, issues, encoding)
                fh.write(block.data)
                written += block.size
            fh.write(b" " * _pad(written))
    return targets


def read_missing_codes(path: str | Path, nrows: int) -> dict[str, np.ndarray]:
    """Missing-value codes of the numeric variables of the first member of an XPT v5 file.

    pyreadstat reads SAS special missing values of XPT files as plain NaN; this reads the first
    byte of each numeric cell (vectorised over the observation block) so that ``.A``-``.Z`` and
    ``._`` survive a round trip. Returns ``{name: uint8 codes}`` (0 = value present) for numeric
    variables holding at least one missing value.
    """
    raw = np.memmap(path, dtype=np.uint8, mode="r")
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
    ntype = block[:, 0:2].copy().view(">i2").ravel()
    nlng = block[:, 4:6].copy().view(">i2").ravel()
    npos = block[:, 84:88].copy().view(">i4").ravel()
    names = [bytes(r[8:16]).decode("ascii").strip() for r in block]
    pos += nvars * namestr_len
    pos += _pad(nvars * namestr_len)
    pos += RECORD  # OBS header
    row_len = int(nlng.sum())
    if nrows == 0 or row_len == 0:
        return {}
    obs = np.asarray(raw[pos: pos + nrows * row_len]).reshape(nrows, row_len)
    out = {}
    for i, name in enumerate(names):
        if ntype[i] != 1:
            continue
        cells = obs[:, npos[i]: npos[i] + nlng[i]]
        first = cells[:, 0]
        rest_zero = ~cells[:, 1:].any(axis=1)
        is_missing = rest_zero & ((first == 0x2E) | ((first >= 0x41) & (first <= 0x5A))
                                  | (first == 0x5F))
        if is_missing.any():
            out[name] = np.where(is_missing, first, 0).astype(np.uint8)
    return out
