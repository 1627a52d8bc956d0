"""read_raw: every cell str/None, names as in the file, provenance, located errors."""

from __future__ import annotations

import datetime as dt

import numpy as np
import openpyxl
import pandas as pd
import pyreadstat
import pytest

from converter.errors import InputError
from converter.io.readers import detect_encoding, read_raw
from converter.model import SRC_FILE, SRC_ROW


def write(tmp_path, name: str, data: bytes):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def cells(df: pd.DataFrame) -> list[list]:
    return df.drop(columns=[SRC_FILE, SRC_ROW]).values.tolist()


# ---------------------------------------------------------------- CSV: what is kept as it is

def test_csv_values_kept_verbatim(tmp_path):
    p = write(tmp_path, "lb.csv",
              b'SUBJID,LBORRES,COMMENT\n001, 12.50 ,"a, b"\n002,,"say ""hi"""\n003,<50,NA\n')
    df = read_raw(p)
    assert list(df.columns) == ["SUBJID", "LBORRES", "COMMENT", SRC_FILE, SRC_ROW]
    assert cells(df) == [["001", " 12.50 ", "a, b"], ["002", None, 'say "hi"'],
                         ["003", "<50", "NA"]]
    assert df[SRC_FILE].tolist() == ["lb.csv"] * 3
    assert df[SRC_ROW].tolist() == ["1", "2", "3"]
    assert all(isinstance(v, str) or v is None for v in df.to_numpy().ravel())


def test_source_name_and_blank_records_keep_numbering(tmp_path):
    p = write(tmp_path, "x.csv", b"A,B\r\n1,2\r\n,\r\n\r\n3,\r\n")
    df = read_raw(p, source_name="raw/x.csv")
    assert cells(df) == [["1", "2"], ["3", None]]
    assert df[SRC_ROW].tolist() == ["1", "4"]
    assert set(df[SRC_FILE]) == {"raw/x.csv"}


def test_quoted_newline_is_one_record(tmp_path):
    p = write(tmp_path, "x.csv", b'A,B\n"line1\nline2",x\n2,y\n')
    df = read_raw(p)
    assert cells(df) == [["line1\nline2", "x"], ["2", "y"]]
    assert df[SRC_ROW].tolist() == ["1", "2"]


def test_header_only_gives_empty_frame(tmp_path):
    df = read_raw(write(tmp_path, "x.csv", b"A,B\n"))
    assert list(df.columns) == ["A", "B", SRC_FILE, SRC_ROW] and len(df) == 0


def test_tsv_and_txt_sniffing(tmp_path):
    assert cells(read_raw(write(tmp_path, "a.tsv", b"A\tB\n1,5\t2\n"))) == [["1,5", "2"]]
    assert cells(read_raw(write(tmp_path, "b.txt", b"A|B\n1|2\n"))) == [["1", "2"]]
    assert cells(read_raw(write(tmp_path, "c.txt", b"A;B\n1;2\n"))) == [["1", "2"]]
    assert cells(read_raw(write(tmp_path, "d.dat", b"A;B\n1;2\n"), fmt="csv",
                          delimiter=";")) == [["1", "2"]]


# ---------------------------------------------------------------- encodings

@pytest.mark.parametrize("data, expected_encoding", [
    ("A,B\n1,café\n".encode(), "utf-8"),
    (b"\xef\xbb\xbf" + "A,B\n1,café\n".encode(), "utf-8-sig"),
    ("A,B\n1,café\n".encode("cp1252"), "cp1252"),
    ("A,B\n1,café\n".encode("utf-16"), "utf-16"),
])
def test_encodings_detected(tmp_path, data, expected_encoding):
    p = write(tmp_path, "x.csv", data)
    assert detect_encoding(p) == expected_encoding
    df = read_raw(p)
    assert list(df.columns[:2]) == ["A", "B"]          # BOM stripped from the first name
    assert cells(df) == [["1", "café"]]


def test_declared_encoding_used_and_checked(tmp_path):
    p = write(tmp_path, "x.csv", "A,B\n1,Ø\n".encode("latin-1"))
    assert cells(read_raw(p, encoding="latin-1")) == [["1", "Ø"]]
    with pytest.raises(InputError, match=r"x.csv:2: undecodable byte 0xd8 at byte offset 6"):
        read_raw(p, encoding="utf-8")
    with pytest.raises(InputError, match="unknown encoding"):
        read_raw(p, encoding="klingon")


def test_declared_utf8_still_strips_bom(tmp_path):
    p = write(tmp_path, "x.csv", b"\xef\xbb\xbfA,B\n1,2\n")
    assert list(read_raw(p, encoding="utf-8").columns[:2]) == ["A", "B"]


# ---------------------------------------------------------------- XLSX

def make_xlsx(path, rows, *, merge=None, title="Sheet1", extra_sheet=None):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for r in rows:
        ws.append(r)
    if merge:
        ws.merge_cells(merge)
    if extra_sheet:
        ws2 = wb.create_sheet(extra_sheet[0])
        for r in extra_sheet[1]:
            ws2.append(r)
    wb.save(path)
    return path


def test_xlsx_values_rendered_deterministically(tmp_path):
    p = make_xlsx(tmp_path / "dm.xlsx", [
        ["SUBJID", "AGE", "WEIGHT", "BRTHDAT", "VISDTM", "FLAG", "NOTE"],
        ["001", 34, 70.25, dt.date(1980, 2, 29), dt.datetime(2014, 3, 1, 8, 30), True, " x "],
        ["002", 41.0, None, None, None, False, ""],
        [None, None, None, None, None, None, None],
        ["004", 0.1, 1e-7, None, None, None, None],
    ])
    df = read_raw(p)
    assert cells(df) == [
        ["001", "34", "70.25", "1980-02-29", "2014-03-01T08:30:00", "TRUE", " x "],
        ["002", "41", None, None, None, "FALSE", None],
        ["004", "0.1", "1e-07", None, None, None, None],
    ]
    assert df[SRC_ROW].tolist() == ["1", "2", "4"]


def test_xlsx_sheet_selection(tmp_path):
    p = make_xlsx(tmp_path / "x.xlsx", [["A"], [1]], extra_sheet=("Labs", [["B"], ["x"]]))
    assert cells(read_raw(p, sheet="Labs")) == [["x"]]
    assert cells(read_raw(p, sheet=1)) == [["x"]]
    with pytest.raises(InputError, match=r"no sheet named 'Vitals'.*Sheet1.*Labs"):
        read_raw(p, sheet="Vitals")


def test_xlsx_formula_is_located_error(tmp_path):
    p = make_xlsx(tmp_path / "f.xlsx", [["A", "B"], [1, "=A2*2"]])
    with pytest.raises(InputError, match=r"f.xlsx\[Sheet1\]:2, key 'B2': cell B2 holds a formula"):
        read_raw(p)


def test_xlsx_merged_header_is_located_error(tmp_path):
    p = make_xlsx(tmp_path / "m.xlsx", [["Visit", None, "C"], [1, 2, 3]], merge="A1:B1")
    with pytest.raises(InputError, match=r"m.xlsx\[Sheet1\]:1: merged cells A1:B1"):
        read_raw(p)


def test_xlsx_empty_sheet_and_broken_package(tmp_path):
    with pytest.raises(InputError, match="sheet is empty"):
        read_raw(make_xlsx(tmp_path / "e.xlsx", []))
    with pytest.raises(InputError, match="not a readable XLSX workbook"):
        read_raw(write(tmp_path, "b.xlsx", b"PK\x03\x04 not really a zip"))


# ---------------------------------------------------------------- SAS XPT / SAS7BDAT

def test_xpt_numbers_dates_and_text(tmp_path):
    p = tmp_path / "vs.xpt"
    frame = pd.DataFrame({
        "USUBJID": ["01-001", "01-002", ""],
        "VSSTRESN": [72.0, 98.6, np.nan],
        "VSSEQ": [1.0, 2.0, 3.0],
        "VSDT": [19723.0, -1.0, np.nan],          # days since 1960-01-01
        "VSDTM": [1704112200.0, 0.0, np.nan],      # seconds since 1960-01-01
        "VSTM": [30600.0, 0.0, np.nan],
    })
    pyreadstat.write_xport(frame, str(p), file_format_version=5,
                           variable_format={"VSDT": "DATE9.", "VSDTM": "DATETIME20.",
                                            "VSTM": "TIME8."})
    df = read_raw(p)
    epoch = dt.datetime(1960, 1, 1)
    day = (epoch + dt.timedelta(days=19723)).date().isoformat()
    stamp = (epoch + dt.timedelta(seconds=1704112200)).isoformat()
    assert cells(df) == [
        ["01-001", "72", "1", day, stamp, "08:30:00"],
        ["01-002", "98.6", "2", "1959-12-31", "1960-01-01T00:00:00", "00:00:00"],
        [None, None, "3", None, None, None],
    ]


def test_xpt_windows_1252_text(shared):
    ts = shared / "reference" / "cdisc-pilot"
    path = next(ts.rglob("ts.xpt"))
    df = read_raw(path)
    assert {"TSPARMCD", "TSVAL"} <= set(df.columns)
    assert len(df) > 0


@pytest.mark.parametrize("name", ["bad.xpt", "bad.sas7bdat"])
def test_sas_garbage_is_located_error(tmp_path, name):
    p = write(tmp_path, name, b"HEADER RECORD*******garbage" * 10)
    with pytest.raises(InputError, match=name):
        read_raw(p)


def test_unknown_format_and_missing_file(tmp_path):
    with pytest.raises(InputError, match="unknown raw file format"):
        read_raw(write(tmp_path, "x.json", b"{}"))
    with pytest.raises(InputError, match="raw file not found"):
        read_raw(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="read_odm"):
        read_raw(write(tmp_path, "x.xml", b"<ODM/>"))
