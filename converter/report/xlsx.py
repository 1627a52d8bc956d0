"""report.xlsx for people: Summary, Issues, Rules and Datasets sheets.

Text that a spreadsheet would execute as a formula (starting with = + - @) is stored as a
text cell with Excel's quote prefix. Bytes are deterministic: fixed document properties and
zip entry timestamps.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter

from converter.atomic import atomic_write_bytes
from converter.report.common import FORMULA_START, ReportData, is_formula_like, xml_safe

MAX_ISSUE_ROWS = 200_000
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
FIXED_TIME = "2000-01-01T00:00:00Z"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_BOLD = Font(bold=True)
_HEAD_FILL = PatternFill("solid", fgColor="DDE4EE")
_SEV_FILL = {"error": PatternFill("solid", fgColor="F8D7DA"),
             "warning": PatternFill("solid", fgColor="FFF3CD"),
             "notice": PatternFill("solid", fgColor="E2E3E5")}


def _cell(ws, value: object, *, header: bool = False, fill=None) -> WriteOnlyCell | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        value = None
    elif isinstance(value, (bool, np.bool_)):
        value = "Y" if value else ""
    elif isinstance(value, (np.integer, int)):
        value = int(value)
    elif isinstance(value, (np.floating, float)):
        value = int(value) if float(value).is_integer() else float(value)
    else:
        value = xml_safe(str(value))
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str) and is_formula_like(value):
        cell.data_type = "s"          # never a formula
        cell.quotePrefix = True
    if header:
        cell.font = _BOLD
        cell.fill = _HEAD_FILL
    elif fill is not None:
        cell.fill = fill
    return cell


def _table(ws, frame: pd.DataFrame, widths: dict[str, int] | None = None,
           severity_column: str | None = None) -> None:
    for i, col in enumerate(frame.columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = (widths or {}).get(col, 14)
    ws.freeze_panes = "A2"
    ws.append([_cell(ws, c, header=True) for c in frame.columns])
    sev_idx = list(frame.columns).index(severity_column) if severity_column else None
    # text columns: clean once, vectorised; only formula-like cells need a cell object
    clean = frame.astype(object).where(frame.notna(), None)
    needs_cell = np.zeros(len(frame), dtype=bool)
    for col in clean.columns:
        s = clean[col]
        is_text = s.map(lambda v: isinstance(v, str))
        if is_text.any():
            text = s[is_text].astype(str)
            clean.loc[is_text, col] = text.str.replace(_ILLEGAL, "\ufffd", regex=True)
            needs_cell |= (is_text & text.reindex(s.index, fill_value="").str.startswith(
                FORMULA_START)).to_numpy()
    for i, row in enumerate(clean.itertuples(index=False, name=None)):
        if needs_cell[i] or sev_idx is not None:
            fill = _SEV_FILL.get(row[sev_idx]) if sev_idx is not None else None
            ws.append([_cell(ws, v, fill=fill) if j == sev_idx
                       or (isinstance(v, str) and is_formula_like(v)) else _number(v)
                       for j, v in enumerate(row)])
        else:
            ws.append([_number(v) for v in row])
    if len(frame.columns):
        ws.auto_filter.ref = f"A1:{get_column_letter(len(frame.columns))}{len(frame) + 1}"


def _number(value: object) -> object:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (bool, np.bool_)):
        return "Y" if value else ""
    return value


def _escape(text: pd.Series) -> pd.Series:
    return (text.str.replace(_ILLEGAL, "\ufffd", regex=True).str.replace("&", "&amp;")
            .str.replace("<", "&lt;").str.replace(">", "&gt;"))


def _rows_xml(frame: pd.DataFrame, first_row: int, quote_style: int) -> str:
    """SpreadsheetML rows for a large table, built column-wise (vectorised): text as inline
    strings (never formulas; formula-like text also gets the quote-prefix style), numbers as
    numbers, missing values as absent cells."""
    if frame.empty:
        return ""
    numbers = pd.Series(np.arange(first_row, first_row + len(frame)).astype(str),
                        index=frame.index)
    rows = '<row r="' + numbers + '">'
    for j, col in enumerate(frame.columns, start=1):
        ref = get_column_letter(j) + numbers
        s = frame[col]
        if pd.api.types.is_numeric_dtype(s.dtype):
            v = s.astype(float)
            text = v.map(repr).str.replace(r"\.0$", "", regex=True)
            cell = ('<c r="' + ref + '"><v>' + text + "</v></c>").where(v.notna(), "")
        else:
            present = s.notna()
            text = s.where(present, "").astype(str)
            style = np.where(text.str.startswith(FORMULA_START), f' s="{quote_style}"', "")
            cell = ('<c r="' + ref + '" t="inlineStr"' + style
                    + '><is><t xml:space="preserve">' + _escape(text) + "</t></is></c>"
                    ).where(present & (text != ""), "")
        rows = rows + cell
    return "".join((rows + "</row>").tolist())


def _summary(ws, data: ReportData) -> None:
    ws.column_dimensions["A"].width = 28
    for col in "BCD":
        ws.column_dimensions[col].width = 12
    ws.append([_cell(ws, data.title, header=True)])
    if data.created:
        ws.append([_cell(ws, "Created"), _cell(ws, data.created)])
    ws.append([_cell(ws, "Fail on"), _cell(ws, data.fail_on)])
    ws.append([_cell(ws, "Open findings at or above threshold"), _cell(ws, len(data.failing()))])
    ws.append([])
    counts = data.counts()
    ws.append([_cell(ws, c, header=True) for c in ["severity", "open", "waived", "total"]])
    for sev, row in counts.iterrows():
        ws.append([_cell(ws, sev, fill=_SEV_FILL[sev])] + [_cell(ws, int(v)) for v in row])
    ws.append([])
    states = data.rules["state"].value_counts()
    ws.append([_cell(ws, "rule state", header=True), _cell(ws, "rules", header=True)])
    for state in ("passed", "issues_found", "skipped", "execution_error"):
        ws.append([_cell(ws, state), _cell(ws, int(states.get(state, 0)))])
    ws.append([])
    stages = data.issues.groupby("stage", dropna=False, observed=True).size()
    ws.append([_cell(ws, "stage", header=True), _cell(ws, "issues", header=True)])
    for stage, n in stages.items():
        ws.append([_cell(ws, stage or "(none)"), _cell(ws, int(n))])
    if len(data.issues) > MAX_ISSUE_ROWS:
        ws.append([])
        ws.append([_cell(ws, f"The Issues sheet lists the first {MAX_ISSUE_ROWS} of "
                             f"{len(data.issues)} issues; report.json holds all of them.")])


def _deterministic_zip(raw: bytes, extra_rows: dict[str, str] | None = None) -> bytes:
    """Rewrite the package with fixed entry timestamps and document properties, appending
    pre-built rows to the named worksheets."""
    src = zipfile.ZipFile(io.BytesIO(raw))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = content.decode("utf-8")
                text = re.sub(r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                              rf"\g<1>{FIXED_TIME}\g<3>", text)
                content = text.encode("utf-8")
            if extra_rows and info.filename in extra_rows:
                text = content.decode("utf-8")
                text = re.sub(r"<dimension [^>]*/>", "", text)
                text = text.replace("</sheetData>", extra_rows[info.filename] + "</sheetData>")
                text = text.replace("<sheetData/>",
                                    "<sheetData>" + extra_rows[info.filename] + "</sheetData>")
                content = text.encode("utf-8")
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            dst.writestr(fixed, content)
    return out.getvalue()


def write_xlsx(data: ReportData, path: Path) -> Path:
    wb = Workbook(write_only=True)
    wb.properties.creator = "cdisc-converter"
    wb.properties.title = data.title
    _summary(wb.create_sheet("Summary"), data)
    issues = data.issues.head(MAX_ISSUE_ROWS).copy()
    issues["waived"] = issues["waived"].fillna("")
    issues = issues.rename(columns={"waived": "waiver"})
    issues.insert(1, "waived", np.where(issues["waiver"] != "", "Y", ""))
    cols = ["severity", "waived", "rule_id", "stage", "dataset", "variable", "usubjid", "seq",
            "value", "expected", "message", "source_file", "source_row", "waiver"]
    issues = issues[cols]
    issues["seq"] = pd.to_numeric(issues["seq"], errors="coerce")
    sheet = wb.create_sheet("Issues")
    # header through openpyxl; the (many) data rows are added to the sheet XML afterwards
    _table(sheet, issues.head(0),
           widths={"message": 70, "value": 30, "expected": 24, "rule_id": 26, "usubjid": 16,
                   "source_file": 18, "waiver": 40, "waived": 8, "seq": 8})
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(cols))}{len(issues) + 1}"
    quote = StyleArray()
    quote.quotePrefix = 1
    quote_style = wb._cell_styles.add(quote)   # the style index of quote-prefixed text
    issue_rows = _rows_xml(issues, 2, quote_style)
    rules = data.rules[["rule_id", "severity", "state", "reason", "n_issues", "n_waived",
                        "title", "authority", "message", "p21", "datasets"]]
    _table(wb.create_sheet("Rules"), rules,
           widths={"rule_id": 28, "reason": 60, "title": 40, "authority": 60, "message": 60,
                   "datasets": 30}, severity_column="severity")
    _table(wb.create_sheet("Datasets"), data.by_dataset(), widths={"label": 36, "class": 28})
    buffer = io.BytesIO()
    wb.save(buffer)
    atomic_write_bytes(path, _deterministic_zip(
        buffer.getvalue(), {"xl/worksheets/sheet2.xml": issue_rows}))
    return path
