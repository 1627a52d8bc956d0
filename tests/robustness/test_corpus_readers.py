"""Bad-input corpus for the raw readers (issue 6 item 1).

Every case is built from bytes in tmp_path and must give either a clear, located InputError
(file and line, or file and cell) — never a traceback from a library, never a partly read or
silently padded table — or, where the file is fine but unusual, exactly the values it holds.
"""

from __future__ import annotations

import numpy as np
import openpyxl
import pandas as pd
import pyreadstat
import pytest

from converter.errors import InputError
from converter.io.readers import read_odm, read_raw
from converter.issues import IssueLog
from converter.model import SRC_FILE, SRC_ROW

# (case id, file name, bytes, regex the one-line message must match)
CSV_ERRORS = [
    ("truncated-inside-quote", "lb.csv", b'ID,RES\n1,"12\n2,"unfinished va', r"lb.csv:2: .*never closed"),
    ("truncated-mid-row", "lb.csv", b"ID,RES,UNIT\n1,12,g/L\n2,1", r"lb.csv:3: row has 2 fields but the header has 3"),
    ("ragged-too-many", "lb.csv", b"ID,RES\n1,12\n2,1,234.5\n", r"lb.csv:3: row has 3 fields but the header has 2"),
    ("ragged-too-few-middle", "lb.csv", b"A,B,C\n1,2,3\n4,5\n6,7,8\n", r"lb.csv:3: row has 2 fields"),
    ("ragged-many-rows", "lb.csv", b"A,B\n1\n2\n3\n", r"lb.csv:2: row has 1 fields .*and 2 more such rows"),
    ("wrong-delimiter-semicolon", "lb.csv", b"ID;RES;UNIT\n1;12;g/L\n", r"lb.csv:1: .*semicolon-delimited, not comma-delimited"),
    ("wrong-delimiter-tab", "lb.csv", b"ID\tRES\n1\t12\n", r"lb.csv:1: .*tab-delimited"),
    ("wrong-delimiter-declared", "lb.tsv", b"ID,RES\n1,12\n", r"lb.tsv:1: .*comma-delimited, not tab-delimited"),
    ("undecodable-byte", "ae.csv", b"ID,TERM\n1,ok\n2,bad \x81 byte\n", r"ae.csv:3: undecodable byte 0x81 at byte offset 19"),
    ("mixed-encodings", "ae.csv", "ID,TERM\n1,naïve\n".encode() + "2,café\n".encode("cp1252"), r"ae.csv:3: mixed encodings"),
    ("utf16-bom-broken", "ae.csv", b"\xff\xfeI\x00D\x00\n\x00\x00\xd8", r"ae.csv:\d+: undecodable"),
    ("duplicate-columns", "dm.csv", b"SUBJ,AGE,SEX,AGE\n1,2,M,3\n", r"dm.csv:1, key 'AGE': duplicate column name 'AGE' \(column 2 and column 4\)"),
    ("duplicate-after-bom", "dm.csv", b"\xef\xbb\xbfSUBJ,SUBJ\n1,2\n", r"dm.csv:1, key 'SUBJ': duplicate column name"),
    ("empty-file", "dm.csv", b"", r"dm.csv:1: file is empty"),
    ("bom-only", "dm.csv", b"\xef\xbb\xbf", r"dm.csv:1: file holds no header row"),
    ("blank-lines-only", "dm.csv", b"\n\n\n", r"dm.csv:1: the header row is blank"),
    ("unnamed-column-with-data", "dm.csv", b"SUBJ,,AGE\n1,x,3\n", r"dm.csv:1: column 2 has values \(first in data row 1\) but no column name"),
    ("reserved-column-name", "dm.csv", f"SUBJ,{SRC_ROW}\n1,2\n".encode(), r"dm.csv:1, key '__source_row': .*reserved"),
    ("stray-quote-after-value", "dm.csv", b'A,B\n"x"y,2\n', r"dm.csv:2: .*quote"),
]


@pytest.mark.parametrize("case, name, data, message", CSV_ERRORS, ids=[c[0] for c in CSV_ERRORS])
def test_csv_bad_input_gives_located_error(tmp_path, case, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputError) as info:
        read_raw(path)
    line = info.value.one_line()
    assert "\n" not in line
    assert __import__("re").search(message, line), line


# Unusual but faithful files: the values must come back exactly.
CSV_FAITHFUL = [
    ("utf8-bom", b"\xef\xbb\xbfID,TERM\r\n1,Kopfschmerz \xc3\xa4\r\n", [["1", "Kopfschmerz ä"]]),
    ("utf16le-bom", "ID,TERM\n1,naïve\n".encode("utf-16-le").join([b"\xff\xfe", b""]),
     [["1", "naïve"]]),
    ("windows-1252", "ID,TERM\n1,Müller – 5 µg\n".encode("cp1252"), [["1", "Müller – 5 µg"]]),
    ("stray-quote-inside-value", b'ID,HEIGHT\n1,5" tall\n2,"6"" tall"\n',
     [["1", '5" tall'], ["2", '6" tall']]),
    ("no-final-newline", b"ID,RES\n1,<50\n2,>1000", [["1", "<50"], ["2", ">1000"]]),
    ("spaces-and-na-kept", b"ID,RES\n1, ND \n2,NA\n3,NULL\n", [["1", " ND "], ["2", "NA"],
                                                            ["3", "NULL"]]),
    ("quoted-empty-is-none", b'ID,RES\n1,""\n', [["1", None]]),
    ("cr-only-line-ends", b"ID,RES\r1,2\r3,4\r", [["1", "2"], ["3", "4"]]),
]


@pytest.mark.parametrize("case, data, expected", CSV_FAITHFUL, ids=[c[0] for c in CSV_FAITHFUL])
def test_unusual_but_valid_csv_read_exactly(tmp_path, case, data, expected):
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    df = read_raw(path)
    assert df.drop(columns=[SRC_FILE, SRC_ROW]).values.tolist() == expected
    assert list(df.columns[:2]) in (["ID", "TERM"], ["ID", "HEIGHT"], ["ID", "RES"])


def test_no_partial_frame_on_late_error(tmp_path):
    """A bad row at the very end of a big file still fails the whole read."""
    body = b"".join(b"%d,ok\n" % i for i in range(200_000))
    path = tmp_path / "big.csv"
    path.write_bytes(b"ID,RES\n" + body + b"200000,ok,extra\n")
    with pytest.raises(InputError, match=r"big.csv:200002: row has 3 fields"):
        read_raw(path)


# ---------------------------------------------------------------- XLSX

def xlsx(path, rows, merge=None):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Labs"
    for r in rows:
        ws.append(r)
    for m in merge or []:
        ws.merge_cells(m)
    wb.save(path)
    return path


@pytest.mark.parametrize("rows, merge, message", [
    ([["Visit", None, "Result"], ["W1", "x", 1]], ["A1:B1"], r"lb.xlsx\[Labs\]:1: merged cells A1:B1"),
    ([["Visit", "Result"], ["W1", 1], [None, 2]], ["A2:A3"], r"lb.xlsx\[Labs\]:2: merged cells A2:A3"),
    ([["Visit", "Result"], ["W1", "=1/0"]], None, r"lb.xlsx\[Labs\]:2, key 'B2': cell B2 holds a formula '=1/0'"),
    ([["Visit", "Result"], ["W1", '=HYPERLINK("http://x","y")']], None, r"holds a formula"),
    ([["Visit", "Visit"], ["W1", 1]], None, r"lb.xlsx:1, key 'Visit': duplicate column name 'Visit' \(column A and column B\)"),
    ([["Visit", None], ["W1", 5]], None, r"lb.xlsx:1: column B has values"),
], ids=["merged-header", "merged-data", "formula", "formula-hyperlink", "duplicate-header",
        "missing-header"])
def test_xlsx_bad_input(tmp_path, rows, merge, message):
    with pytest.raises(InputError, match=message):
        read_raw(xlsx(tmp_path / "lb.xlsx", rows, merge))


def test_xlsx_truncated_package(tmp_path):
    good = xlsx(tmp_path / "good.xlsx", [["A"], [1]]).read_bytes()
    bad = tmp_path / "lb.xlsx"
    bad.write_bytes(good[: len(good) // 2])
    with pytest.raises(InputError, match=r"lb.xlsx: not a readable XLSX workbook"):
        read_raw(bad)


# ---------------------------------------------------------------- SAS

def test_sas_unexpected_types_rendered_as_text(tmp_path):
    """Numbers where text is expected, text where numbers are expected, odd formats: every
    value comes back as the text it holds, nothing coerced."""
    path = tmp_path / "lb.xpt"
    df = pd.DataFrame({"LBORRES": ["<50", "1,234.5", "ND"],       # results as text
                       "SUBJID": [1001.0, 1002.0, 1003.0],          # ids as numbers
                       "LBDT": [1e12, np.nan, 0.5],                 # DATE format, absurd values
                       "AMT": [1.5, 2.0, -0.0]})
    pyreadstat.write_xport(df, str(path), variable_format={"AMT": "DOLLAR8.2"})
    got = read_raw(path)
    assert got[["LBORRES", "SUBJID", "AMT"]].values.tolist() == [
        ["<50", "1001", "1.5"], ["1,234.5", "1002", "2"], ["ND", "1003", "0"]]
    assert got["LBDT"].tolist() == ["1000000000000", None, "0.5"]   # no date format: numbers


def test_sas_date_format_with_impossible_value(tmp_path):
    path = tmp_path / "ex.xpt"
    df = pd.DataFrame({"EXDT": [19723.0, 1e12]})
    pyreadstat.write_xport(df, str(path), variable_format={"EXDT": "DATE9."})
    with pytest.raises(InputError, match=r"ex.xpt, key 'EXDT': .*value 1000000000000.0 in data "
                                         r"row 2 is outside the years 1-9999"):
        read_raw(path)


def test_sas_truncated_file(tmp_path):
    path = tmp_path / "good.xpt"
    pyreadstat.write_xport(pd.DataFrame({"A": ["x" * 50] * 50}), str(path))
    bad = tmp_path / "lb.xpt"
    bad.write_bytes(path.read_bytes()[:500])
    with pytest.raises(InputError, match=r"lb.xpt: cannot read XPT file"):
        read_raw(bad)


# ---------------------------------------------------------------- ODM

ODM_OK = (b'<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3"><Study OID="S"><MetaDataVersion '
          b'OID="M"><StudyEventDef OID="SE"/><FormDef OID="F"/><ItemGroupDef OID="IG">'
          b'<ItemRef ItemOID="I"/></ItemGroupDef><ItemDef OID="I"/></MetaDataVersion></Study>'
          b'<ClinicalData StudyOID="S" MetaDataVersionOID="M"><SubjectData SubjectKey="1">'
          b'<StudyEventData StudyEventOID="SE"><FormData FormOID="F"><ItemGroupData '
          b'ItemGroupOID="IG"><ItemData ItemOID="I" Value="v"/></ItemGroupData></FormData>'
          b'</StudyEventData></SubjectData></ClinicalData></ODM>')

ODM_ERRORS = [
    ("malformed", ODM_OK.replace(b"</FormData>", b"</Form>"), r"sd.xml:1: malformed XML"),
    ("truncated", ODM_OK[:-40], r"sd.xml:1: malformed XML"),
    ("not-xml", b"SUBJID,AGE\n1,2\n", r"sd.xml:1: malformed XML"),
    ("wrong-namespace", ODM_OK.replace(b"odm/v1.3", b"odm/v1.2"), (r"root element is 'ODM' in "
                                                                   r"http://www.cdisc.org/ns/odm/v1.2")),
    ("define-not-odm-data", b'<x:Def xmlns:x="urn:x"/>', r"root element is 'Def' in urn:x"),
    ("undeclared-item", ODM_OK.replace(b'ItemOID="I" Value', b'ItemOID="I2" Value'),
     r"sd.xml:1, key 'ItemOID': ItemOID 'I2' is not declared"),
    ("undeclared-group", ODM_OK.replace(b'ItemGroupOID="IG">', b'ItemGroupOID="IGX">'),
     r"key 'ItemGroupOID': ItemGroupOID 'IGX' is not declared"),
    ("undeclared-event", ODM_OK.replace(b'StudyEventOID="SE">', b'StudyEventOID="SE9">'),
     r"key 'StudyEventOID': StudyEventOID 'SE9'"),
    ("undeclared-mdv", ODM_OK.replace(b'MetaDataVersionOID="M"', b'MetaDataVersionOID="M2"'),
     r"key 'MetaDataVersionOID'"),
    ("group-outside-form", ODM_OK.replace(b'<FormData FormOID="F">', b"").replace(
        b"</FormData>", b""), r"ItemGroupData outside"),
    ("item-without-oid", ODM_OK.replace(b'ItemOID="I" Value', b'Value'), r"ItemData without"),
]


@pytest.mark.parametrize("case, data, message", ODM_ERRORS, ids=[c[0] for c in ODM_ERRORS])
def test_odm_bad_input(tmp_path, case, data, message):
    path = tmp_path / "sd.xml"
    path.write_bytes(data)
    with pytest.raises(InputError, match=message):
        read_odm(path)


def test_odm_undeclared_oids_become_issues_with_a_log(tmp_path):
    path = tmp_path / "sd.xml"
    path.write_bytes(ODM_OK.replace(b'ItemOID="I" Value', b'ItemOID="I2" Value'))
    log = IssueLog()
    frames = read_odm(path, issues=log)
    assert frames["IG"]["I2"].tolist() == ["v"]                # data kept
    row = log.to_frame().iloc[0]
    assert (row["rule_id"], row["variable"], row["value"], row["usubjid"], row["source_file"]) \
        == ("ODM.UNDECLARED_OID", "ItemOID", "I2", "1", "sd.xml")
    assert row["source_row"].endswith("ItemGroupData[@ItemGroupOID='IG'][1]")
