"""Fuzz targets for the raw readers and the mapping loader (issue 6 item 6).

Each target is a hypothesis property. The contract being fuzzed:

- **any input** gives either a well-formed result or the converter's own located error
  (InputError / ConfigError with a one-line message) — never another exception;
- **structured inputs** (a table written by Python's csv module, an ODM document built from
  random subjects and values) come back exactly: the readers invent, drop and alter nothing.

``tests/robustness/test_fuzz_brief.py`` runs every target briefly in CI; ``python -m fuzz
<target> --minutes N`` runs one for longer (see docs/robustness.md).
"""

from __future__ import annotations

import atexit
import csv
import io
import shutil
import tempfile
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pandas as pd
from hypothesis import strategies as st

from converter.errors import ConfigError, InputError
from converter.model import SRC_FILE, SRC_ROW

_WORK = Path(tempfile.mkdtemp(prefix="converter-fuzz-"))
atexit.register(shutil.rmtree, _WORK, ignore_errors=True)

# ---------------------------------------------------------------- shared checks


def _check_frame(df: pd.DataFrame, name: str) -> None:
    assert list(df.columns[-2:]) == [SRC_FILE, SRC_ROW], df.columns
    assert df.columns.is_unique
    for col in df.columns:
        for v in df[col].tolist():
            assert v is None or isinstance(v, str), (col, type(v), v)
            assert v != "", (col, "empty string must be None")
    assert set(df[SRC_FILE]) <= {name}
    rows = [int(r) for r in df[SRC_ROW]]
    assert rows == sorted(rows) and len(set(rows)) == len(rows) and all(r >= 1 for r in rows)


def _check_error(exc: Exception) -> None:
    line = exc.one_line()
    assert "\n" not in line and line.strip(), repr(line)
    assert "Traceback" not in line


# ---------------------------------------------------------------- CSV reader

_CSV_SEEDS = [
    b"A,B\n1,2\n", b'A,B\n"x,y","q""q"\n', b"\xef\xbb\xbfA;B\r\n1;2\r\n", b"A\tB\n\t\n",
    "A,B\n1,café\n".encode("cp1252"), b'A,B\n"multi\nline",2\n', b"A,B,\n1,2,\n",
]
csv_bytes = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda seed, cut, junk: seed[:cut] + junk + seed[cut:],
              st.sampled_from(_CSV_SEEDS), st.integers(0, 40),
              st.binary(max_size=6)),
    st.lists(st.sampled_from([b"A", b"B", b",", b";", b"\t", b'"', b"\n", b"\r", b"x", b" ",
                              b"\xc3\xa9", b"\xe9", b"\xef\xbb\xbf", b"\x00", b"\\"]),
             max_size=60).map(b"".join),
)


def csv_any_bytes(data: bytes, *, suffix: str = ".csv") -> None:
    """Arbitrary bytes: a well-formed frame or a one-line InputError."""
    from converter.io.readers import read_raw

    path = _WORK / f"fuzz{suffix}"
    path.write_bytes(data)
    try:
        df = read_raw(path)
    except InputError as exc:
        _check_error(exc)
        return
    _check_frame(df, path.name)


_cell = st.one_of(
    st.sampled_from(["", " ", "NA", "<50", "1,234.5", "=1+1", '"', '""', "a\nb", "a\r\nb",
                     "é", "\u2028", "ND", "31 FEB 2014", ",", ";", "\t"]),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
            max_size=8),
)
_name = st.text(st.characters(whitelist_categories=("Lu", "Ll", "Nd"),
                              max_codepoint=0x17F), min_size=1, max_size=6)
csv_tables = st.integers(1, 5).flatmap(lambda width: st.tuples(
    st.lists(_name, min_size=width, max_size=width, unique=True),
    st.lists(st.lists(_cell, min_size=width, max_size=width), max_size=8),
    st.sampled_from([",", ";", "\t", "|"]),
    st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
    st.sampled_from(["\n", "\r\n"]),
))


def csv_round_trip(table: tuple) -> None:
    """A table written by Python's csv module is read back exactly ("" as None, blank records
    skipped with their numbers kept)."""
    from converter.io.readers import read_raw

    header, rows, delim, encoding, newline = table
    buf = io.StringIO()
    # Minimal quoting only quotes the characters of the line terminator in use: with "\n" a
    # bare "\r" would stay unquoted and end the record for every CSV reader, so quote all.
    quoting = csv.QUOTE_ALL if newline == "\n" else csv.QUOTE_MINIMAL
    csv.writer(buf, delimiter=delim, lineterminator=newline, quoting=quoting).writerows(
        [header, *rows])
    try:
        data = buf.getvalue().encode(encoding)
    except UnicodeEncodeError:
        return  # text not representable in this encoding: not a valid export
    path = _WORK / "table.csv"
    path.write_bytes(data)
    try:
        df = read_raw(path, delimiter=delim, encoding=None if encoding != "cp1252" else "cp1252")
    except InputError as exc:
        # One column whose header holds another delimiter is refused on purpose (it looks like
        # a wrong delimiter); a header holding only a lone quote cannot be told apart either.
        assert len(header) == 1, exc.one_line()
        return
    expected = [([c if c != "" else None for c in r], i + 1) for i, r in enumerate(rows)]
    expected = [(r, n) for r, n in expected if any(c is not None for c in r)]
    if len(header) == 1:
        # a one-column record holding only "" is written as an empty line: no record
        expected = [(r, n) for r, n in expected if r != [None]]
    assert list(df.columns[:-2]) == header, (df.columns, header)
    got = df.drop(columns=[SRC_FILE, SRC_ROW]).values.tolist()
    assert got == [r for r, _ in expected], (got, expected)
    assert df[SRC_ROW].tolist() == [str(n) for _, n in expected]


# ---------------------------------------------------------------- XLSX reader

_xlsx_cell = st.one_of(
    st.none(),
    st.text(st.characters(blacklist_categories=("Cs", "Cc"),
                          blacklist_characters="\ufffe\uffff"), max_size=8).filter(
        lambda t: not t.startswith("=")),
    st.integers(-10**12, 10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=64).filter(lambda f: abs(f) < 1e300),
    st.booleans(),
    st.dates(min_value=__import__("datetime").date(1900, 3, 1)),
)
xlsx_tables = st.integers(1, 4).flatmap(lambda width: st.tuples(
    st.lists(_name, min_size=width, max_size=width, unique=True),
    st.lists(st.lists(_xlsx_cell, min_size=width, max_size=width), max_size=6)))


def _excel_text(v):
    import datetime as dt
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 2**53 else repr(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def xlsx_round_trip(table: tuple) -> None:
    """Values written with openpyxl come back as their documented text rendering."""
    import datetime as dt

    import openpyxl

    from converter.io.readers import read_raw

    header, rows = table
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append(r)
    path = _WORK / "table.xlsx"
    wb.save(path)
    df = read_raw(path)
    # Excel keeps at most 17 significant digits: compare with what the file holds, read back by
    # openpyxl's ordinary (not read-only) mode.
    stored = [[c.value for c in r] for r in openpyxl.load_workbook(path).active.iter_rows(
        min_row=2, max_row=len(rows) + 1, max_col=len(header))]
    rows = [[v.date() if isinstance(w, dt.date) else v for v, w in zip(r, orig)]
            for r, orig in zip(stored, rows)]   # dates are stored as midnight date-times
    expected = [([_excel_text(v) for v in r], i + 1) for i, r in enumerate(rows)]
    expected = [(r, n) for r, n in expected if any(v is not None for v in r)]
    assert list(df.columns[:-2]) == header
    got = df.drop(columns=[SRC_FILE, SRC_ROW]).values.tolist()
    assert got == [r for r, _ in expected], (got, expected)
    assert df[SRC_ROW].tolist() == [str(n) for _, n in expected]


# ---------------------------------------------------------------- ODM reader

_ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
_oid = st.text("ABCXYZ.0123456789_-", min_size=1, max_size=6)
_value = st.one_of(st.none(), st.text(st.characters(
    blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"), max_size=10))

odm_documents = st.lists(st.tuples(
    st.sampled_from(["01-001", "01-002", "02-001"]),       # subject
    st.sampled_from(["SE.SCR", "SE.W4"]),                  # event
    st.sampled_from(["IG.A", "IG.B"]),                     # item group
    st.dictionaries(st.sampled_from(["I.1", "I.2", "I.3"]), _value, max_size=3),
), max_size=8)


def _odm_xml(records: list) -> bytes:
    meta = (
        '<Study OID="S"><MetaDataVersion OID="M">'
        '<StudyEventDef OID="SE.SCR"/><StudyEventDef OID="SE.W4"/><FormDef OID="F"/>'
        '<ItemGroupDef OID="IG.A"><ItemRef ItemOID="I.1"/><ItemRef ItemOID="I.2"/>'
        '<ItemRef ItemOID="I.3"/></ItemGroupDef><ItemGroupDef OID="IG.B"/>'
        '<ItemDef OID="I.1"/><ItemDef OID="I.2"/><ItemDef OID="I.3"/>'
        "</MetaDataVersion></Study>")
    body = []
    for subject, event, group, items in records:
        cells = "".join(
            f'<ItemData ItemOID="{k}" IsNull="Yes"/>' if v is None else
            f"<ItemData ItemOID=\"{k}\" Value={quoteattr(v)}/>" for k, v in items.items())
        body.append(f'<SubjectData SubjectKey="{subject}"><StudyEventData StudyEventOID='
                    f'"{event}"><FormData FormOID="F"><ItemGroupData ItemGroupOID="{group}">'
                    f"{cells}</ItemGroupData></FormData></StudyEventData></SubjectData>")
    return (f'<?xml version="1.0" encoding="UTF-8"?><ODM xmlns="{_ODM_NS}">{meta}'
            f'<ClinicalData StudyOID="S" MetaDataVersionOID="M">{"".join(body)}'
            f"</ClinicalData></ODM>").encode()


def odm_round_trip(records: list) -> None:
    """Generated ODM comes back exactly: one row per ItemGroupData, values unchanged."""
    from converter.io.readers import read_odm
    from converter.issues import IssueLog

    path = _WORK / "odm.xml"
    path.write_bytes(_odm_xml(records))
    frames = read_odm(path, issues=IssueLog())
    for group in ("IG.A", "IG.B"):
        mine = [r for r in records if r[2] == group]
        frame = frames.get(group)
        if not mine:
            assert frame is None
            continue
        assert len(frame) == len(mine)
        for (subject, event, _, items), row in zip(mine, frame.to_dict("records")):
            assert (row["SubjectKey"], row["StudyEventOID"]) == (subject, event)
            for k, v in items.items():
                assert row[k] == (None if v in (None, "") else v), (k, v, row[k])


odm_mutations = st.tuples(st.lists(st.tuples(
    st.sampled_from(["01-001"]), st.sampled_from(["SE.SCR"]), st.sampled_from(["IG.A"]),
    st.just({"I.1": "x"})), min_size=1, max_size=2),
    st.integers(0, 2000), st.integers(0, 30), st.binary(max_size=8))


def odm_any_bytes(mutation: tuple) -> None:
    """A valid ODM with bytes cut out and junk put in: frames or a one-line InputError."""
    from converter.io.readers import read_odm
    from converter.issues import IssueLog

    records, at, cut, junk = mutation
    data = _odm_xml(records)
    at %= len(data)
    data = data[:at] + junk + data[at + cut:]
    path = _WORK / "mutant.xml"
    path.write_bytes(data)
    try:
        frames = read_odm(path, issues=IssueLog())
    except InputError as exc:
        _check_error(exc)
        return
    for frame in frames.values():
        assert list(frame.columns[:10]) == [
            "StudyOID", "MetaDataVersionOID", "SubjectKey", "SiteOID", "StudyEventOID",
            "StudyEventRepeatKey", "FormOID", "FormRepeatKey", "ItemGroupOID",
            "ItemGroupRepeatKey"]
        assert list(frame.columns[-2:]) == [SRC_FILE, SRC_ROW]


# ---------------------------------------------------------------- mapping loader

_STUDY = """\
study_id: FUZZ
study_name: Fuzz study
ct_package: sdtmct-2015-12-18
created: "2026-01-01T00:00:00"
sources:
  dm:
    file: dm.csv
"""
_DM = """\
domain: DM
sources: [dm]
steps:
  - {target: STUDYID, algorithm: hardcode, value: FUZZ}
  - {target: DOMAIN, algorithm: hardcode, value: DM}
  - {target: USUBJID, algorithm: assign, source: SUBJ}
  - {target: SEX, algorithm: assign_ct, source: SEX, codelist: SEX}
"""
_YAML_BITS = [": ", "\n", "  ", "\t", "- ", "&a ", "*a", "!!python/name:os.system", "{", "}",
              "[", "]", "'", '"', "#", "<<: ", "null", "~", "01", "No", "2026-13-45",
              "algorithm: x", "target: AGE", "../../etc/passwd", "\xe9", "%YAML 1.1\n"]

# Control characters: PyYAML refuses them with a two-line message (found by this fuzzer; errors
# now escape line breaks so every message stays one line).
_YAML_CONTROL = ["\x00", "\x07", "\x1b", "\ufeff", "\x85"]
yaml_mutations = st.tuples(
    st.sampled_from(["study", "dm"]), st.integers(0, 400), st.integers(0, 12),
    st.lists(st.sampled_from([*_YAML_BITS, *_YAML_CONTROL]), max_size=4).map("".join))


def loader_any_text(mutation: tuple) -> None:
    """Mutated study/mapping YAML: a Study or a one-line ConfigError, never anything else."""
    from converter.mapping.study import load_study

    which, at, cut, junk = mutation
    study, dm = _STUDY, _DM
    text = study if which == "study" else dm
    at %= len(text) + 1
    text = text[:at] + junk + text[at + cut:]
    root = Path(tempfile.mkdtemp(dir=_WORK))
    (root / "sdtm").mkdir()
    (root / "raw").mkdir()
    (root / "study.yaml").write_text(text if which == "study" else study, encoding="utf-8")
    (root / "sdtm" / "dm.yaml").write_text(text if which == "dm" else dm, encoding="utf-8")
    try:
        load_study(root)
    except (ConfigError, InputError) as exc:
        _check_error(exc)


TARGETS = {
    "csv-bytes": (csv_bytes, csv_any_bytes),
    "csv-roundtrip": (csv_tables, csv_round_trip),
    "xlsx-roundtrip": (xlsx_tables, xlsx_round_trip),
    "odm-roundtrip": (odm_documents, odm_round_trip),
    "odm-bytes": (odm_mutations, odm_any_bytes),
    "loader": (yaml_mutations, loader_any_text),
}
