"""Raw export readers: CSV/TSV/TXT, XLSX, SAS7BDAT, XPT (and ODM XML via :func:`read_odm`).

Every reader returns the file as it is: every cell a ``str`` or ``None`` (empty cell), nothing
parsed, nothing stripped (except a byte-order mark), column names exactly as in the file, plus the
provenance columns ``SRC_FILE`` (the file name, or ``source_name``) and ``SRC_ROW`` (the 1-based
data row number as text; the header is row 0). Typing and cleaning are the mapping's job.

A file that cannot be read faithfully raises :class:`~converter.errors.InputError` naming the
file, the line and what is wrong — never a partly read or silently padded table.

>>> import pathlib, tempfile
>>> p = pathlib.Path(tempfile.mkdtemp()) / "dm.csv"
>>> _ = p.write_bytes(b"SUBJID,AGE\\n001,34\\n002,\\n")
>>> read_raw(p).values.tolist()
[['001', '34', 'dm.csv', '1'], ['002', None, 'dm.csv', '2']]
"""

from __future__ import annotations

import codecs
import contextlib
import datetime as _dt
import os
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from converter.columns import decoded
from converter.errors import InputError
from converter.model import SRC_FILE, SRC_ROW

__all__ = ["FORMATS", "detect_encoding", "read_odm", "read_raw"]

# file suffix -> reader format
FORMATS = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".txt": "txt",
    ".xlsx": "xlsx", ".xlsm": "xlsx",
    ".sas7bdat": "sas7bdat", ".xpt": "xpt",
}
_DELIMITED = {"csv": ",", "tsv": "\t", "txt": None}
_DELIMITER_CANDIDATES = (",", "\t", ";", "|")
_DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}

_CHUNK = 16 * 1024 * 1024
# codecs (by codecs.lookup name) in which every ASCII byte decodes alone to itself
_ASCII_SUPERSETS = {"utf-8", "utf-8-sig", "cp1252", "iso8859-1", "iso8859-15", "ascii"}
# A well-formed multi-byte UTF-8 sequence; its presence in a file that is not valid UTF-8 means
# the file mixes encodings (part UTF-8, part something else) and cannot be decoded safely.
_UTF8_MULTIBYTE = re.compile(
    rb"[\xC2-\xDF][\x80-\xBF]|[\xE0-\xEF][\x80-\xBF]{2}|[\xF0-\xF4][\x80-\xBF]{3}")


def read_raw(path: str | os.PathLike, *, source_name: str | None = None, fmt: str | None = None,
             encoding: str | None = None, sheet: str | int | None = None,
             delimiter: str | None = None, categorical: bool = False) -> pd.DataFrame:
    """Read one raw export file into a frame of ``str``/``None`` cells plus provenance columns.

    ``fmt`` overrides the format implied by the suffix (csv, tsv, txt, xlsx, sas7bdat, xpt);
    ``encoding`` overrides detection (UTF-8 with or without BOM, else Windows-1252);
    ``sheet`` picks an XLSX sheet by name or 0-based index (default: the first);
    ``delimiter`` overrides the delimiter of text files.

    ``categorical=True`` gives every data column (and ``SRC_FILE``) as a pandas Categorical of
    ``str`` instead (categories = the distinct values present, missing = an empty cell);
    ``SRC_ROW`` stays text. Same values, same checks, same errors, same row numbers: only the
    representation differs (delimited files are dictionary-encoded by Arrow while parsing, so
    no per-cell Python objects are made).
    """
    p = Path(path)
    name = source_name or p.name
    kind = (fmt or FORMATS.get(p.suffix.lower()) or p.suffix.lower().lstrip(".")).lower()
    if kind in ("xml", "odm"):
        raise InputError("ODM XML files are read with read_odm(), not read_raw()", file=name)
    if kind not in _DELIMITED and kind not in ("xlsx", "sas7bdat", "xpt"):
        raise InputError(f"unknown raw file format '{fmt or p.suffix}'", file=name,
                         hint="use one of " + ", ".join(sorted(set(FORMATS.values()))))
    if not p.is_file():
        raise InputError("raw file not found" if not p.exists() else "not a regular file",
                         file=name)
    if p.stat().st_size == 0:
        raise InputError("file is empty (0 bytes); expected a header row", file=name, line=1)
    try:
        if kind in _DELIMITED:
            return _read_delimited(p, name, delimiter or _DELIMITED[kind], encoding,
                                   categorical=categorical)
        if kind == "xlsx":
            frame = _read_xlsx(p, name, sheet)
        else:
            frame = _read_sas(p, name, kind, encoding)
    except OSError as exc:   # permissions, vanished file, I/O error
        raise InputError(f"cannot read file: {exc.strerror or exc}", file=name) from None
    return _as_categorical(frame) if categorical else frame


def _as_categorical(frame: pd.DataFrame) -> pd.DataFrame:
    """Object str/None columns -> Categorical of str (small frames: XLSX, SAS)."""
    out = {}
    for col in frame.columns:
        if col == SRC_ROW:
            out[col] = frame[col]
        else:
            values = frame[col].to_numpy(dtype=object)
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
            out[col] = pd.Categorical.from_codes(codes, categories=pd.Index(uniques, dtype=object))
    return pd.DataFrame(out, index=frame.index)




def read_odm(path: str | os.PathLike, *, source_name: str | None = None, issues=None,
             strict: bool = False) -> dict[str, pd.DataFrame]:
    """Read a CDISC ODM 1.3 clinical-data file; see :func:`converter.io.odm.read_odm`."""
    from converter.io.odm import read_odm as _read_odm
    return _read_odm(path, source_name=source_name, issues=issues, strict=strict)


# --------------------------------------------------------------------------------------------
# Encoding


def _line_of(path: Path, offset: int) -> int:
    """1-based line number of byte ``offset`` (counts newlines before it, chunk by chunk)."""
    lines = 1
    remaining = offset
    with open(path, "rb") as fh:
        while remaining > 0:
            block = fh.read(min(_CHUNK, remaining))
            if not block:
                break
            lines += block.count(b"\n")
            remaining -= len(block)
    return lines


class _ByteFacts:
    """Byte-level facts of a delimited file, gathered block by block in the encoding pass.

    ``quotes``: number of double-quote bytes. ``line_breaks``: line breaks between records
    (CR LF counted once, a final one ignored). With a delimiter, also ``mid_text`` (some double
    quote has text on both sides, ``x"y``: a stray quote or text after a closing quote) and
    ``quoted_break`` (some CR or LF follows an odd number of quotes counted from the start of
    the file, i.e. may sit inside a quoted value). The bytes before the file and after it count
    as line breaks (never as breaks themselves).

    Boolean byte-class arrays over cache-sized windows, no index arrays of quote positions: the
    parity of the quotes before each line break comes from per-line quote counts
    (``reduceat`` between line breaks, which are few). Blocks are independent given the two
    bytes before them, so big files are judged by two threads (numpy releases the GIL) and the
    block results are combined in file order.
    """

    _WINDOW = 1 << 18

    def __init__(self, delim: str | None):
        self.checked = delim is not None
        # bytes of the delimiter that are not already a boundary (quote, CR, LF)
        self._delim = tuple(sorted(set((delim or "").encode()) - {34, 10, 13}))
        self.quotes = 0
        self.mid_text = False
        self.quoted_break = False
        self._odd = 0                       # parity of the quotes judged so far
        self._lf = -1                       # the pretended break before the file is judged
        self._cr = self._crlf = 0
        self._last = b""
        self._tail = b"\n\n"               # pretend the file starts after a line break
        self._pool = None
        self._pending: list = []

    @property
    def line_breaks(self) -> int:
        total = self._lf + self._cr - self._crlf
        return total - (1 if self._last in (b"\n", b"\r") else 0)

    def feed(self, block: bytes) -> None:
        """The next block of the file (``b""`` at the end, which also collects every result)."""
        buf = self._tail + (block if block else b"\n")
        if block:
            self._last = block[-1:]
            self._tail = buf[-2:]
        args = (buf, self._delim, self.checked, self._WINDOW)
        if block and len(block) >= _CHUNK and self._pool is None:
            from concurrent.futures import ThreadPoolExecutor
            self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="byte-facts")
        if self._pool is not None:
            self._pending.append(self._pool.submit(_block_facts, *args))
            while len(self._pending) > (2 if block else 0):
                self._combine(self._pending.pop(0).result())
        else:
            self._combine(_block_facts(*args))
        if not block:
            self.close()
            if self._last == b"\r" and b"\r" in buf:
                self._crlf -= 1   # the final CR was paired with the pretended LF after the file

    def close(self) -> None:
        if self._pool is not None:
            for future in self._pending:
                future.cancel()
            self._pending.clear()
            self._pool.shutdown(wait=True)
            self._pool = None

    def _combine(self, result: tuple) -> None:
        quotes, lf, cr, crlf, mid, break_if_even, break_if_odd = result
        self.quotes += quotes
        self._lf += lf
        self._cr += cr
        self._crlf += crlf
        if self.checked and not self.mid_text:
            if mid:
                self.mid_text = self.quoted_break = True
            elif not self.quoted_break:
                self.quoted_break = break_if_odd if self._odd else break_if_even
            self._odd = (self._odd + quotes) & 1


def _block_facts(buf: bytes, delim: tuple[int, ...], checked: bool, window: int) -> tuple:
    """Facts of bytes 1..len-2 of ``buf`` (its first and last byte are only neighbours):
    (quotes, LF, CR, CR LF pairs, mid_text, a break after an odd number of quotes if the
    quotes before ``buf`` are even, the same if they are odd)."""
    a = np.frombuffer(buf, np.uint8)
    n = len(a)
    has_cr = b"\r" in buf
    q_buf, lf_buf, cr_buf, bd_buf, tmp = (np.empty(min(window, n) + 2, dtype=bool)
                                          for _ in range(5))
    quotes = n_lf = n_cr = n_crlf = 0
    mid = if_even = if_odd = False
    odd = 0                                  # parity of the quotes judged in this block
    # each window w judges its bytes 1..len-2 (w[0] and w[-1] are the neighbours)
    for start in range(1, n - 1, window):
        w = a[start - 1:min(start + window, n - 1) + 1]
        m = len(w)
        q = np.equal(w, 34, out=q_buf[:m])
        q_in = q[1:-1]
        nq = int(np.count_nonzero(q_in))
        quotes += nq
        lf = np.equal(w, 10, out=lf_buf[:m])
        if has_cr:
            cr = np.equal(w, 13, out=cr_buf[:m])
            n_cr += int(np.count_nonzero(cr[1:-1]))
            # CR judged here followed by LF (judged here or next: counted once, here)
            n_crlf += int(np.count_nonzero(np.logical_and(cr[1:-1], lf[2:], out=tmp[:m - 2])))
            n_lf += int(np.count_nonzero(lf[1:-1]))
            brk = np.logical_or(lf, cr, out=cr_buf[:m])
            breaks = np.flatnonzero(brk[1:-1]) if checked else None
        else:
            brk = lf
            breaks = np.flatnonzero(brk[1:-1])
            n_lf += len(breaks)
        if not checked or mid:
            continue
        if nq:
            bound = np.logical_or(q, brk, out=bd_buf[:m])
            for d in delim:
                np.logical_or(bound, np.equal(w, d, out=tmp[:m]), out=bound)
            either = np.logical_or(bound[:-2], bound[2:], out=tmp[:m - 2])
            if np.greater(q_in, either).any():      # a quote with no boundary on either side
                mid = True
                continue
        if len(breaks) and not (if_even and if_odd):
            if nq:
                # quotes before each judged break: per-line counts, cumulated (mod 2)
                per_line = np.add.reduceat(q_in.view(np.uint8),
                                           np.concatenate(([0], breaks)), dtype=np.uint8)
                parity = np.cumsum(per_line[:len(breaks)], dtype=np.uint8) & 1
                some_odd, some_even = bool(parity.any()), not bool(parity.all())
            else:
                some_odd, some_even = False, True
            if odd:
                some_odd, some_even = some_even, some_odd
            if_even = if_even or some_odd
            if_odd = if_odd or some_even
        odd = (odd + nq) & 1
    return quotes, n_lf, n_cr, n_crlf, mid, if_even, if_odd


def _scan(path: Path, encoding: str, delim: str | None = None, *, facts: bool = True
          ) -> tuple[tuple[int, bytes, str] | None, _ByteFacts | None]:
    """One pass over the file: the first undecodable byte (offset, bytes, reason) or None, and
    (when ``facts``) the byte facts of the whole file (quotes, line breaks, and with a delimiter
    the quote checks) - see :class:`_ByteFacts`."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    ascii_ok = codecs.lookup(encoding).name in _ASCII_SUPERSETS
    stats = _ByteFacts(delim) if facts else None
    offset = 0
    bad = None
    with open(path, "rb") as fh, _closing(stats):
        while True:
            block = fh.read(_CHUNK)
            final = not block
            if stats is not None:
                stats.feed(block)
            # pure ASCII decodes the same in every ASCII-compatible encoding: skip the decoder
            # (when it holds no partial sequence) - most exports are ASCII
            if bad is None and not (ascii_ok and block and block.isascii()
                                    and not decoder.getstate()[0]):
                try:
                    decoder.decode(block, final=final)
                except UnicodeDecodeError as exc:
                    # exc.start is relative to (bytes pending from the last block + block)
                    base = offset - (len(exc.object) - len(block))
                    bad = (base + exc.start, exc.object[exc.start:exc.end], exc.reason)
                    if stats is None:
                        return bad, None
            if final:
                return bad, stats
            offset += len(block)


@contextlib.contextmanager
def _closing(stats: _ByteFacts | None):
    """Stop the worker threads of ``stats`` however the pass ends."""
    try:
        yield stats
    finally:
        if stats is not None:
            stats.close()


def _byte_facts(path: Path, delim: str) -> _ByteFacts:
    """The byte facts alone (a second pass, when the delimiter was not known before)."""
    stats = _ByteFacts(delim)
    with open(path, "rb") as fh, _closing(stats):
        while True:
            block = fh.read(_CHUNK)
            stats.feed(block)
            if not block:
                return stats


def _has_utf8_sequences(path: Path) -> bool:
    with open(path, "rb") as fh:
        tail = b""
        while True:
            block = fh.read(_CHUNK)
            if not block:
                return False
            if _UTF8_MULTIBYTE.search(tail + block):
                return True
            tail = block[-3:]


def detect_encoding(path: str | os.PathLike, *, name: str | None = None) -> str:
    """The encoding of a text export: 'utf-8-sig' (BOM), 'utf-16', 'utf-8' or 'cp1252'.

    Windows-1252 is chosen only when the file is not valid UTF-8, decodes cleanly as
    Windows-1252 and holds no UTF-8 multi-byte sequence (which would mean mixed encodings).
    Otherwise an InputError names the first undecodable byte's line and offset.
    """
    return _detect(Path(path), name or Path(path).name)[0]


def _detect(p: Path, label: str, delim: str | None = None) -> tuple[str, _ByteFacts]:
    with open(p, "rb") as fh:
        head = fh.read(4)
    if head.startswith(codecs.BOM_UTF8):
        enc = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        enc = "utf-16"
    else:
        enc = "utf-8"
    bad, facts = _scan(p, enc, delim)
    if bad is None:
        return enc, facts
    if enc != "utf-8":
        _raise_undecodable(p, label, enc, bad)
    if _scan(p, "cp1252", facts=False)[0] is None:
        if not _has_utf8_sequences(p):
            return "cp1252", facts
        off, chunk, _ = bad
        raise InputError(
            f"mixed encodings: the file holds UTF-8 characters but byte 0x{chunk[:1].hex()} at "
            f"byte offset {off} is not UTF-8", file=label, line=_line_of(p, off),
            hint="re-export the file in one encoding, or declare the encoding of the file")
    _raise_undecodable(p, label, "utf-8", bad)
    raise AssertionError("unreachable")


def _raise_undecodable(p: Path, label: str, enc: str, bad: tuple[int, bytes, str]) -> None:
    off, chunk, reason = bad
    raise InputError(
        f"undecodable byte 0x{chunk[:1].hex()} at byte offset {off} ({enc}: {reason})",
        file=label, line=_line_of(p, off),
        hint="declare the file's encoding (e.g. encoding: cp1252) or re-export it as UTF-8")


def _check_declared(p: Path, label: str, encoding: str, delim: str | None = None
                    ) -> tuple[str, _ByteFacts]:
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        raise InputError(f"unknown encoding '{encoding}'", file=label,
                         hint="use a Python codec name such as utf-8, cp1252, latin-1") from None
    bad, facts = _scan(p, encoding, delim)
    if bad is not None:
        _raise_undecodable(p, label, encoding, bad)
    # A UTF-8 BOM is not data: strip it even when the encoding is declared as UTF-8.
    if info.name == "utf-8":
        with open(p, "rb") as fh:
            if fh.read(3) == codecs.BOM_UTF8:
                return "utf-8-sig", facts
    return encoding, facts


# --------------------------------------------------------------------------------------------
# Delimited text


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in _DELIMITER_CANDIDATES}
    best = max(_DELIMITER_CANDIDATES, key=lambda d: (counts[d], d == "\t"))
    return best if counts[best] else "\t"


def _read_delimited(p: Path, name: str, delimiter: str | None, encoding: str | None, *,
                    categorical: bool = False) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    # the delimiter, when known, lets the encoding pass make the quote checks too
    known = delimiter if delimiter is not None and len(delimiter) == 1 else None
    enc, facts = (_check_declared(p, name, encoding, known) if encoding
                  else _detect(p, name, known))
    quotes = facts.quotes
    with open(p, encoding=enc, newline="") as fh:
        first_line = fh.readline()
        rest = fh.read(1)
    if not first_line.strip("\r\n"):
        raise InputError("file holds no header row (only a BOM or blank line)" if not rest else
                         "the header row is blank; expected column names on line 1",
                         file=name, line=1)
    delim = delimiter if delimiter is not None else _sniff_delimiter(first_line)
    if len(delim) != 1 or delim in "\r\n\"":
        raise InputError("delimiter must be one character other than a quote or newline, "
                         f"got {delim!r}", file=name)
    width = _header_width(p, enc, delim)
    dname = _DELIMITER_NAMES.get(delim, repr(delim))

    def strict_quotes_check() -> None:
        line = _locate_with_csv(p, enc, delim)
        if line is not None:
            raise InputError("a quoted value starting in this record is never closed "
                             "(unbalanced double quote) or is followed by text; the file may be "
                             "truncated", file=name, line=line,
                             hint="check the end of the file and quotes inside values")

    # Arrow's parser is lenient with quotes. Python's strict csv parser tells a broken quote
    # from a stray one, but is slow, so it runs only when a cheap test finds something odd: an
    # odd number of quotes, a quote in the middle of text, or (below) a value holding a newline.
    if quotes and quotes % 2 == 0 and enc != "utf-16":
        if not facts.checked or delim != known:
            facts = _byte_facts(p, delim)     # delimiter sniffed after the encoding pass
        mid_text, quoted_break = facts.mid_text, facts.quoted_break
    else:
        mid_text, quoted_break = False, True
    suspicious = quotes > 0 and (quotes % 2 == 1 or enc == "utf-16" or mid_text)
    if suspicious:
        strict_quotes_check()

    # Without any quote a value cannot hold a newline, so Arrow may split the file into blocks
    # at any newline (faster); with quotes it must track quoting across block boundaries.
    # A quoted value holds a line break only if some line ends after an odd number of quotes;
    # when none does, the fast block splitting is exact (checked once, vectorised).
    newlines_in_values = enc == "utf-16" or (quotes > 0 and (suspicious or quoted_break))
    bad_rows: list[tuple[int, int, int | None, str]] = []

    def on_bad_row(row) -> str:
        bad_rows.append((row.expected_columns, row.actual_columns, row.number, row.text))
        return "skip"

    utf8 = codecs.lookup(enc).name in ("utf-8", "utf-8-sig")

    def parse(locate: bool):
        return pcsv.read_csv(
            p,
            read_options=pcsv.ReadOptions(
                autogenerate_column_names=True, use_threads=not locate,
                encoding="utf8" if utf8 else enc, block_size=8 << 20),
            parse_options=pcsv.ParseOptions(
                delimiter=delim, quote_char='"', double_quote=True, escape_char=False,
                newlines_in_values=newlines_in_values, ignore_empty_lines=False,
                invalid_row_handler=on_bad_row if locate else None),
            convert_options=pcsv.ConvertOptions(
                # an empty cell (quoted or not) is parsed as null: no per-cell pass afterwards;
                # UTF-8 was checked by the encoding pass (other encodings are transcoded)
                check_utf8=not utf8, strings_can_be_null=True, quoted_strings_can_be_null=True,
                null_values=[""], auto_dict_encode=False,
                # dictionary-encoded while parsing: each distinct value is kept once per block
                column_types={f"f{i}": pa.dictionary(pa.int32(), pa.string())
                              for i in range(width)}))

    try:
        try:
            table = parse(locate=False)
        except pa.ArrowInvalid as exc:
            if "columns" not in str(exc):
                raise
            parse(locate=True)  # slow path: single-threaded, knows line numbers of bad rows
            raise
    except pa.ArrowInvalid as exc:
        if bad_rows:
            expected, actual, number, text = bad_rows[0]
            more = f" (and {len(bad_rows) - 1} more such rows)" if len(bad_rows) > 1 else ""
            shown = text if len(text) <= 60 else text[:57] + "..."
            raise InputError(
                f"row has {actual} fields but the header has {expected}{more}: {shown!r}",
                file=name, line=number,
                hint=f"the file may be truncated, use another delimiter than {dname}, or hold "
                     f"an unquoted {dname} inside a value") from None
        raise InputError(f"cannot parse delimited file: {exc}", file=name) from None

    if table.num_rows == 0:
        raise InputError("file holds no header row", file=name, line=1)
    if newlines_in_values and quotes and not suspicious and facts.line_breaks > table.num_rows - 1:
        strict_quotes_check()  # a newline inside a value: legitimate, or a mis-paired quote
    header = table.slice(0, 1).to_pylist()[0]
    names = [header[f"f{i}"] or "" for i in range(table.num_columns)]
    if len(names) == 1:
        others = [d for d in _DELIMITER_CANDIDATES if d != delim and d in names[0]]
        if others:
            d = others[0]
            raise InputError(
                f"the header is one column {names[0][:60]!r} that contains "
                f"{_DELIMITER_NAMES[d]}s; the file seems to be {_DELIMITER_NAMES[d]}-delimited, "
                f"not {dname}-delimited", file=name, line=1,
                hint=f"declare delimiter {d!r} for this file")
    body = table.slice(1)
    n = body.num_rows
    empty = [pc.is_null(body.column(i)) for i in range(width)]

    def first_value_row(i: int) -> int | None:
        if n == 0 or pc.all(empty[i]).as_py():
            return None
        return int(pc.index(empty[i], False).as_py()) + 1

    keep = _check_header(names, first_value_row, name, header_line=1)
    blank = empty[0]
    for mask in empty[1:]:
        blank = pc.and_(blank, mask)
    columns = [body.column(i) for i in keep]
    # Row numbers are made in Arrow: much faster than formatting 5 M Python ints.
    rows = pa.array(np.arange(1, n + 1, dtype=np.int64)).cast(pa.string())
    del body
    empty.clear()
    table = pa.table(columns, names=[f"c{i}" for i in range(len(columns))])
    del columns
    if n and pc.any(blank).as_py():
        keep_rows = pc.invert(blank)
        table = table.filter(keep_rows)   # all-empty records carry nothing
        rows = rows.filter(keep_rows)
    # Dictionary columns become Categoricals (self_destruct frees each Arrow column as soon as
    # it is converted). The header cell sits in the first block's dictionary: it is dropped
    # from the categories unless it is also a data value.
    converted = table.to_pandas(self_destruct=True)
    del table
    data = {}
    for j, i in enumerate(keep):
        cat = converted.iloc[:, j].array
        if not isinstance(cat, pd.Categorical):     # no rows: Arrow gives plain strings
            cat = pd.Categorical(np.asarray(cat, dtype=object))
        data[names[i]] = (_drop_category(cat, header[f"f{i}"]) if categorical
                          else decoded(cat))
    del converted
    n_out = len(rows)
    data[SRC_FILE] = (pd.Categorical.from_codes(np.zeros(n_out, dtype=np.int8), [name])
                      if categorical else np.full(n_out, name, dtype=object))
    data[SRC_ROW] = rows.to_numpy(zero_copy_only=False)   # unique: text, one object each
    return pd.DataFrame(data, index=pd.RangeIndex(n_out), copy=False)


def _drop_category(cat: pd.Categorical, value: str | None) -> pd.Categorical:
    """``cat`` without category ``value`` when no row holds it (the header cell's value)."""
    if value is None or value not in cat.categories:
        return cat
    k = cat.categories.get_loc(value)
    codes = cat.codes
    if (codes == k).any():
        return cat
    codes = codes - (codes > k).astype(codes.dtype)
    return pd.Categorical.from_codes(codes, categories=cat.categories.delete(k), validate=False)


def _header_width(p: Path, enc: str, delim: str) -> int:
    """Number of fields in the header record (which may span lines inside quotes)."""
    import csv
    with open(p, encoding=enc, newline="") as fh:
        try:
            return len(next(csv.reader(fh, delimiter=delim)))
        except (csv.Error, StopIteration):
            return 1


def _locate_with_csv(p: Path, enc: str, delim: str) -> int | None:
    """Slow path only: the first line of the record Python's strict csv parser rejects."""
    import csv
    start = 1
    try:
        with open(p, encoding=enc, newline="") as fh:
            reader = csv.reader(fh, delimiter=delim, strict=True)
            for _ in reader:
                start = reader.line_num + 1
        return None
    except csv.Error:
        return start
    except UnicodeDecodeError:
        return None


# --------------------------------------------------------------------------------------------
# Shared finishing: header checks, blank records, provenance


def _check_header(names: list, first_value_row, name: str, *, header_line: int | None = None,
                  header_label=None) -> list[int]:
    """Indexes of the columns to keep; located errors for unnamed, duplicate or reserved names.

    An unnamed column that is completely empty carries nothing and is ignored;
    ``first_value_row(i)`` gives the first data row holding a value in column ``i`` (or None).
    """
    where = header_label or (lambda i: f"column {i + 1}")
    keep: list[int] = []
    seen: dict[str, int] = {}
    for i, col_name in enumerate(names):
        if col_name is None or col_name == "":
            first = first_value_row(i)
            if first is None:
                continue
            raise InputError(
                f"{where(i)} has values (first in data row {first}) but no column name",
                file=name, line=header_line,
                hint="give every column a name in the header row (merged header cells?)")
        if col_name in seen:
            raise InputError(f"duplicate column name '{col_name}' ({where(seen[col_name])} and "
                             f"{where(i)})", file=name, line=header_line,
                             key=col_name, hint="column names must be unique")
        if col_name in (SRC_FILE, SRC_ROW):
            raise InputError(f"column name '{col_name}' is reserved for provenance",
                             file=name, line=header_line, key=col_name)
        seen[col_name] = i
        keep.append(i)
    if not keep:
        raise InputError("the header row holds no column names", file=name, line=header_line)
    return keep


def _add_provenance(frame: pd.DataFrame, name: str, row_numbers: np.ndarray) -> pd.DataFrame:
    frame[SRC_FILE] = name
    rows = np.empty(len(row_numbers), dtype=object)
    rows[:] = list(map(str, row_numbers.tolist()))
    frame[SRC_ROW] = rows
    return frame


def _finish(names: list, columns: dict[int, np.ndarray], n: int, name: str, *,
            header_line: int | None = None, header_label=None) -> pd.DataFrame:
    """Object columns -> checked, provenance-tagged frame without all-empty records."""
    def first_value_row(i: int) -> int | None:
        filled = np.flatnonzero(pd.notna(pd.Series(columns[i], dtype=object)).to_numpy())
        return int(filled[0]) + 1 if len(filled) else None

    keep = _check_header(names, first_value_row, name, header_line=header_line,
                         header_label=header_label)
    frame = pd.DataFrame({names[i]: columns[i] for i in keep}, index=pd.RangeIndex(n),
                         dtype=object)
    row_numbers = np.arange(1, n + 1)
    if n:
        blank = frame.isna().all(axis=1).to_numpy()
        if blank.any():
            frame = frame.loc[~blank].reset_index(drop=True)
            row_numbers = row_numbers[~blank]
    return _add_provenance(frame, name, row_numbers)


# --------------------------------------------------------------------------------------------
# XLSX


def _excel_col(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _render_excel(value, number_format: str | None):
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return repr(value)
    if isinstance(value, _dt.datetime):
        fmt = (number_format or "").lower()
        has_time = value.time() != _dt.time(0) or "h" in fmt or "s" in fmt.replace("mmss", "")
        if not has_time:
            return value.date().isoformat()
        return value.isoformat(timespec="microseconds" if value.microsecond else "seconds")
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, _dt.time):
        return value.isoformat(timespec="microseconds" if value.microsecond else "seconds")
    if isinstance(value, _dt.timedelta):
        secs = value.total_seconds()
        return f"{int(secs // 3600):02d}:{int(secs % 3600 // 60):02d}:{secs % 60:02.0f}"
    text = str(value)
    return text if text != "" else None


def _xlsx_merged_ranges(p: Path, sheet_title: str) -> list[str]:
    """Merged cell ranges of a sheet, read from the package XML (read-only mode hides them)."""
    from converter.io.safe_xml import parse_bytes
    ns_main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    ns_rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    ns_pkg = "{http://schemas.openxmlformats.org/package/2006/relationships}"
    with zipfile.ZipFile(p) as zf:
        wb = parse_bytes(zf.read("xl/workbook.xml"), name=f"{p.name}:xl/workbook.xml")
        rid = None
        for s in wb.iter(f"{ns_main}sheet"):
            if s.get("name") == sheet_title:
                rid = s.get(f"{ns_rel}id")
        rels = parse_bytes(zf.read("xl/_rels/workbook.xml.rels"), name=p.name)
        target = None
        for r in rels.iter(f"{ns_pkg}Relationship"):
            if r.get("Id") == rid:
                target = r.get("Target")
        if target is None:
            return []
        part = target.lstrip("/") if target.startswith("/") else "xl/" + target
        data = zf.read(part)
    if b"mergeCell" not in data:
        return []
    root = parse_bytes(data, name=f"{p.name}:{part}")
    return [m.get("ref") for m in root.iter(f"{ns_main}mergeCell")]


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def _guarded_rows(ws, label: str):
    """Worksheet rows; XML problems met while streaming the sheet become InputError."""
    rows = ws.iter_rows()
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 - defusedxml/ElementTree/openpyxl errors
            raise InputError(f"cannot read sheet XML: {type(exc).__name__}: {_one_line(exc)}",
                             file=label) from None
        yield row


def _read_xlsx(p: Path, name: str, sheet: str | int | None) -> pd.DataFrame:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(p, read_only=True, data_only=False)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a broken package
        raise InputError(f"not a readable XLSX workbook: {type(exc).__name__}: {_one_line(exc)}",
                         file=name) from None
    try:
        titles = wb.sheetnames
        if sheet is None:
            title = titles[0]
        elif isinstance(sheet, int):
            if not 0 <= sheet < len(titles):
                raise InputError(f"sheet index {sheet} out of range", file=name,
                                 hint=f"sheets are {titles}")
            title = titles[sheet]
        elif sheet in titles:
            title = sheet
        else:
            raise InputError(f"no sheet named '{sheet}'", file=name, key="sheet",
                             hint=f"sheets are {titles}")
        label = f"{name}[{title}]"
        ws = wb[title]
        # openpyxl's read-only mode trusts the sheet's <dimension> and silently drops rows and
        # cells outside it; a stale dimension (written by some exporters) must not lose data
        ws.reset_dimensions()
        merged = _xlsx_merged_ranges(p, title)
        if merged:
            ref = merged[0]
            row = int(re.sub(r"[A-Z$]", "", ref.split(":")[0]))
            raise InputError(f"merged cells {ref}" + (f" (and {len(merged) - 1} more)"
                                                       if len(merged) > 1 else "")
                             + "; merged cells hide values in all but their first cell",
                             file=label, line=row,
                             hint="unmerge the cells (one value per cell, one header per "
                                  "column) or export the sheet as CSV")
        try:
            rows = _xlsx_rows_fast(p, wb, ws)
        except Exception:  # noqa: BLE001 - anything unusual: openpyxl's reading decides
            rows = None
        if rows is None:
            rows = _xlsx_rows_openpyxl(ws, label)
        width = max(map(len, rows), default=0)
    finally:
        wb.close()
    while rows and not rows[-1]:
        rows.pop()
    if not rows:
        raise InputError("sheet is empty; expected a header row", file=label, line=1)
    header = rows[0] + [None] * (width - len(rows[0]))
    body = [r + [None] * (width - len(r)) for r in rows[1:]]
    arr = np.empty((len(body), width), dtype=object)
    if body:
        arr[:, :] = body
    columns = {i: arr[:, i] for i in range(width)}
    return _finish(header, columns, len(body), name, header_line=1,
                   header_label=lambda i: f"column {_excel_col(i)}")


def _xlsx_rows_openpyxl(ws, label: str) -> list[list]:
    """Rendered cell values row by row (trailing empty cells dropped), by openpyxl's
    read-only iteration: the reference behaviour, used when the fast path declines."""
    rows: list[list] = []
    for r_index, row in enumerate(_guarded_rows(ws, label)):
        values = []
        for c_index, cell in enumerate(row):
            if getattr(cell, "data_type", None) == "f":
                ref = f"{_excel_col(c_index)}{r_index + 1}"
                raise InputError(
                    f"cell {ref} holds a formula {str(cell.value)[:40]!r}; raw exports must "
                    "hold values", file=label, line=r_index + 1, key=ref,
                    hint="paste the sheet as values, or export it as CSV")
            values.append(_render_excel(cell.value, getattr(cell, "number_format", None)))
        while values and values[-1] is None:
            values.pop()
        rows.append(values)
    return rows


class _Decline(Exception):
    """The fast XLSX path met something it does not reproduce exactly."""


_XLSX_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_XLSX_REF = re.compile(r"([A-Z]{1,3})[1-9][0-9]*\Z")


def _xlsx_rows_fast(p: Path, wb, ws) -> list[list]:
    """:func:`_xlsx_stream_rows`, leaving no lxml error behind when it gives up."""
    try:
        return _xlsx_stream_rows(p, wb, ws)
    except Exception:
        # lxml keeps parse errors in a thread-wide log that later parsers report as their
        # own (XMLSyntaxError.error_log): clear it before openpyxl's path takes over
        from lxml import etree
        etree.clear_error_log()
        raise


def _xlsx_stream_rows(p: Path, wb, ws) -> list[list]:
    """The rows :func:`_xlsx_rows_openpyxl` gives, from one streaming lxml pass over the
    worksheet XML (safe parser settings) instead of openpyxl's per-cell objects.

    Values are converted by openpyxl's own functions (number casting, date serials, shared
    strings, number formats of the workbook's styles), so they are the same. Anything this
    path does not reproduce exactly raises :class:`_Decline` (the caller then reads the sheet
    with openpyxl): formulas, rich-text inline strings, rows or cells outside the sheet's
    declared dimension, repeated or descending row numbers, unknown elements inside rows,
    impossible date serials, and any parse error (so error messages stay openpyxl's).
    """
    from openpyxl.cell.read_only import ReadOnlyCell
    from openpyxl.utils.cell import coordinate_to_tuple
    from openpyxl.utils.datetime import from_excel, from_ISO8601
    from openpyxl.worksheet._reader import _cast_number

    from converter.io.safe_xml import safe_iterparse

    cell_tag, value_tag = _XLSX_MAIN + "c", _XLSX_MAIN + "v"
    formula_tag, inline_tag, text_tag = _XLSX_MAIN + "f", _XLSX_MAIN + "is", _XLSX_MAIN + "t"
    max_row, max_col = ws.max_row, ws.max_column
    strings = ws._shared_strings
    date_formats, timedelta_formats, epoch = wb._date_formats, wb._timedelta_formats, wb.epoch
    n_styles = len(wb._cell_styles)
    formats: dict[int, str | None] = {}
    column_of: dict[str, int] = {}

    def number_format(style: int, row: int, column: int, value) -> str | None:
        if style not in formats:
            formats[style] = ReadOnlyCell(ws, row, column, value, "d", style).number_format
        return formats[style]

    rows: list[list] = []
    counter = 1            # the next sheet row number to give (openpyxl's counter)
    row_number = 0
    with zipfile.ZipFile(p) as zf, zf.open(ws._worksheet_path) as src:
        for _event, row in safe_iterparse(src, tag=_XLSX_MAIN + "row", name=p.name):
            r = row.get("r")
            if r is None:
                row_number += 1
            elif r.isascii() and r.isdigit():
                row_number = int(r)
            else:
                raise _Decline("row number")
            if (max_row is not None and row_number > max_row) or row_number < counter:
                raise _Decline("row outside the dimension, repeated or descending")
            column = 0
            last_column = 0
            cells: dict[int, str] = {}
            for c in row:
                if c.tag != cell_tag:
                    raise _Decline("element other than a cell in a row")
                kind = c.get("t", "n")
                coordinate = c.get("r")
                style = c.get("s", 0)
                if style:
                    style = int(style)
                    if not 0 <= style < n_styles:
                        raise _Decline("style id")
                if not coordinate:
                    column += 1
                else:
                    m = _XLSX_REF.match(coordinate)
                    letters = m.group(1) if m else None
                    if letters in column_of:
                        column = column_of[letters]
                    else:
                        column = coordinate_to_tuple(coordinate)[1]
                        if m:
                            column_of[letters] = column
                last_column = column
                # the cell's children in one walk (ElementPath find() is slow per cell)
                v = child = None
                for sub in c:
                    tag = sub.tag
                    if tag == value_tag:
                        if v is None:
                            v = sub
                    elif tag == formula_tag:
                        raise _Decline("formula")
                    elif tag == inline_tag and child is None:
                        child = sub
                if kind == "inlineStr":
                    if child is None:
                        value = None
                    elif len(child) == 0:
                        value = ""
                    elif len(child) == 1 and child[0].tag == text_tag and len(child[0]) == 0:
                        value = child[0].text or ""
                    else:
                        raise _Decline("rich text")
                else:
                    value = (v.text if v is not None else None) or None
                    if value is not None:
                        if kind == "n":
                            value = _cast_number(value)
                            if style in date_formats:
                                value = from_excel(value, epoch,
                                                   timedelta=style in timedelta_formats)
                        elif kind == "s":
                            value = strings[int(value)]
                        elif kind == "b":
                            value = bool(int(value))
                        elif kind == "d":
                            value = from_ISO8601(value)
                if type(value) is str:                  # most cells: text as it is
                    text = value or None
                else:
                    text = _render_excel(value, number_format(style, row_number, column, value)
                                         if isinstance(value, _dt.datetime) else None)
                if text is not None:
                    cells[column] = text
                elif column in cells:
                    del cells[column]           # a later cell for the same column wins
            if cells and max(cells) > (max_col if max_col is not None else last_column):
                raise _Decline("cell outside the dimension")
            row.clear()
            while row.getprevious() is not None:
                del row.getparent()[0]
            rows.extend([] for _ in range(counter, row_number))    # rows missing in the XML
            values: list = [None] * (max(cells) if cells else 0)
            for col, text in cells.items():
                values[col - 1] = text
            rows.append(values)
            counter = row_number + 1
    return rows


# --------------------------------------------------------------------------------------------
# SAS7BDAT / XPT


_SAS_EPOCH = np.datetime64("1960-01-01")
# SAS format names (without width) by kind; a numeric variable with one of these is a date,
# datetime or time and is rendered as ISO 8601 text.
_DATE_FORMATS = {
    "DATE", "DAY", "DDMMYY", "DDMMYYB", "DDMMYYC", "DDMMYYD", "DDMMYYN", "DDMMYYP", "DDMMYYS",
    "DOWNAME", "E8601DA", "B8601DA", "IS8601DA", "JULDAY", "JULIAN", "MMDDYY", "MMDDYYB",
    "MMDDYYC", "MMDDYYD", "MMDDYYN", "MMDDYYP", "MMDDYYS", "MMYY", "MMYYC", "MMYYD", "MMYYN",
    "MMYYP", "MMYYS", "MONNAME", "MONTH", "MONYY", "NENGO", "QTR", "QTRR", "WEEKDATE",
    "WEEKDATX", "WEEKDAY", "WORDDATE", "WORDDATX", "YEAR", "YYMM", "YYMMC", "YYMMD", "YYMMN",
    "YYMMP", "YYMMS", "YYMMDD", "YYMMDDB", "YYMMDDC", "YYMMDDD", "YYMMDDN", "YYMMDDP",
    "YYMMDDS", "YYMON", "YYQ", "YYQC", "YYQD", "YYQN", "YYQP", "YYQS", "YYQR", "EURDFDE",
    "EURDFDD", "EURDFMY", "EURDFWKX", "MINGUO",
}
_DATETIME_FORMATS = {"DATETIME", "DATEAMPM", "DTDATE", "E8601DT", "B8601DT", "IS8601DT",
                     "E8601DZ", "IS8601DZ", "DTMONYY", "DTWKDATX", "DTYEAR", "MDYAMPM"}
_TIME_FORMATS = {"TIME", "TIMEAMPM", "HHMM", "HOUR", "MMSS", "TOD", "E8601TM", "B8601TM",
                 "IS8601TM", "E8601TZ", "IS8601TZ"}


def _format_kind(fmt: str | None) -> str | None:
    if not fmt:
        return None
    base = re.sub(r"[\d.]+$", "", fmt.upper())
    if base in _DATETIME_FORMATS:
        return "datetime"
    if base in _DATE_FORMATS:
        return "date"
    if base in _TIME_FORMATS:
        return "time"
    return None


def _render_numbers(x: np.ndarray) -> np.ndarray:
    """float64 -> object array of str/None: integers without '.0', others shortest round-trip."""
    out = np.full(x.shape, None, dtype=object)
    ok = np.isfinite(x)
    if not ok.any():
        return out
    whole = ok & (np.floor(np.where(ok, x, 0)) == np.where(ok, x, 0)) & (np.abs(
        np.where(ok, x, 0)) < 2**53)
    out[whole] = x[whole].astype(np.int64).astype(str).astype(object)
    frac = ok & ~whole
    if frac.any():
        out[frac] = np.array([repr(float(v)) for v in x[frac]], dtype=object)
    out[out == "-0"] = "0"
    return out


def _render_sas_column(values: np.ndarray, kind: str | None, name: str, column: str
                       ) -> np.ndarray:
    x = values.astype(np.float64)
    if kind is None:
        return _render_numbers(x)
    out = np.full(x.shape, None, dtype=object)
    ok = np.isfinite(x)
    if not ok.any():
        return out
    if kind == "time":
        secs = x[ok]
        if ((secs < 0) | (secs >= 86400)).any():
            return _render_numbers(x)  # durations beyond a clock time stay numbers
        whole = np.floor(secs)
        t = (np.datetime64("1970-01-01T00:00:00") + whole.astype("timedelta64[s]"))
        text = np.datetime_as_string(t, unit="s")
        frac = secs - whole
        rendered = np.array([s[11:] for s in text], dtype=object)
        if (frac > 0).any():
            return _render_numbers(x)  # fractional seconds: keep the exact number
        out[ok] = rendered
        return out
    unit = "D" if kind == "date" else "s"
    vals = x[ok]
    if (vals != np.floor(vals)).any():
        if kind == "date":
            raise InputError(f"variable '{column}' has a date format but a non-integer value",
                             file=name, key=column)
        # fractional datetime seconds: render to milliseconds
        unit = "ms"
        vals = np.round(vals * 1000)
    limit = {"D": 2_900_000, "s": 250_000_000_000, "ms": 250_000_000_000_000}[unit]
    if (np.abs(vals) > limit).any():
        idx = int(np.flatnonzero(ok)[np.flatnonzero(np.abs(vals) > limit)[0]])
        raise InputError(f"variable '{column}' has a {kind} format but value {float(x[idx])!r} in data "
                         f"row {idx + 1} is outside the years 1-9999", file=name, key=column)
    stamps = _SAS_EPOCH + vals.astype(np.int64).astype(f"timedelta64[{unit}]")
    out[ok] = np.datetime_as_string(stamps, unit="D" if kind == "date" else unit).astype(object)
    return out


def _read_sas(p: Path, name: str, kind: str, encoding: str | None) -> pd.DataFrame:
    import pyreadstat

    reader = pyreadstat.read_sas7bdat if kind == "sas7bdat" else pyreadstat.read_xport
    attempts = [encoding] if encoding else [None, "WINDOWS-1252"]
    last: Exception | None = None
    for enc in attempts:
        try:
            df, meta = reader(os.fspath(p), disable_datetime_conversion=True,
                              **({"encoding": enc} if enc else {}))
            break
        except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError, UnicodeDecodeError,
                ValueError, OSError) as exc:
            last = exc
    else:
        raise InputError(f"cannot read {kind.upper()} file: {_one_line(last)}", file=name,
                         hint="check that the file is complete and of the declared type"
                         + ("" if encoding else "; declare its encoding if it is not UTF-8 or "
                            "Windows-1252")) from None
    formats = meta.original_variable_types or {}
    columns: dict[int, np.ndarray] = {}
    names = list(df.columns)
    for i, col in enumerate(names):
        s = df[col]
        if pd.api.types.is_numeric_dtype(s.dtype):
            columns[i] = _render_sas_column(s.to_numpy(), _format_kind(formats.get(col)), name,
                                            col)
        else:
            arr = s.to_numpy(dtype=object)
            arr = np.where(pd.isna(s).to_numpy() | (arr == ""), None, arr).astype(object)
            bad = [v for v in arr[:1] if v is not None and not isinstance(v, str)]
            if bad:
                raise InputError(f"variable '{col}' holds unexpected values of type "
                                 f"{type(bad[0]).__name__}", file=name, key=col)
            columns[i] = arr
    return _finish(names, columns, len(df), name,
                   header_label=lambda i: f"variable {i + 1} ('{names[i]}')")
