"""Reports are views of the one issue log: XLSX, HTML, JSON, JUnit XML."""

from __future__ import annotations

import json
import zipfile

import openpyxl
import pytest
from lxml import etree

from converter.issues import IssueLog
from converter.report import REPORT_FILES, write_reports
from converter.validate import Rule, load_rules, validate
from tests.test_validate_helpers import ds

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6300010000050001a5f645400000000049454e44ae426082")


def _study_log():
    """A log with mapping-stage issues plus validation findings of several states."""
    log = IssueLog()
    log.add("MAP.CT.UNMAPPED", "SEX value not in codelist", severity="error", stage="mapping",
            dataset="DM", variable="SEX", usubjid="A", source_file="dm.csv", source_row=3,
            value="=HYPERLINK(\"http://x\")")
    log.add("MAP.DATE", "unparseable date", severity="warning", stage="mapping", dataset="AE",
            variable="AESTDTC", usubjid="B", source_file="ae.csv", source_row=4,
            value="+31 FEB")
    broken = Rule(id="T.BROKEN", title="broken", severity="error", operator="values_in_set",
                  params={"variable": "USUBJID", "allowed": 5}, message="m", authority="test")
    rules = [r for r in load_rules() if r.id in ("SDTM.DM.ONE_PER_SUBJECT", "SDTM.DM.ARM_IN_TA",
                                                 "SDTM.DY.NOT_ZERO")] + [broken]
    dm = ds("DM", USUBJID=["A", "A", "-1"], DMDY=[1.0, 1.0, 0.0])
    result = validate({"DM": dm}, issues=log, rules=rules)
    return log, result


def test_writes_the_four_reports_deterministically(tmp_path):
    log, result = _study_log()
    first = write_reports(log, result, tmp_path / "a", title="Demo", figures=[])
    second = write_reports(log, result, tmp_path / "b", title="Demo", figures=[])
    assert sorted(p.name for p in first) == sorted(REPORT_FILES)
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes(), a.name
    with zipfile.ZipFile(first[0]) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = z.read("docProps/core.xml").decode()
        assert "2000-01-01T00:00:00Z" in core


def test_xlsx_sheets_and_formula_safety(tmp_path):
    log, result = _study_log()
    write_reports(log, result, tmp_path, title="Demo")
    wb = openpyxl.load_workbook(tmp_path / "report.xlsx")
    assert wb.sheetnames == ["Summary", "Issues", "Rules", "Datasets"]
    issues = wb["Issues"]
    header = [c.value for c in issues[1]]
    assert {"usubjid", "seq", "value", "source_file", "source_row", "waived"} <= set(header)
    rows = [dict(zip(header, [c for c in r])) for r in issues.iter_rows(min_row=2)]
    stages = {r["stage"].value for r in rows}
    assert stages == {"mapping", "validation"}            # one log, every stage
    risky = [r["value"] for r in rows if str(r["value"].value or "").startswith(("=", "+", "-"))]
    assert risky, "test data must contain formula-like values"
    for cell in risky:
        assert cell.data_type == "s" and cell.quotePrefix
    with zipfile.ZipFile(tmp_path / "report.xlsx") as z:
        sheet = [n for n in z.namelist() if n.startswith("xl/worksheets/")]
        assert all(b"<f>" not in z.read(n) for n in sheet)
    states = {r[2].value for r in wb["Rules"].iter_rows(min_row=2)}
    assert states == {"issues_found", "skipped", "execution_error"}


def test_junit_maps_states(tmp_path):
    log, result = _study_log()
    write_reports(log, result, tmp_path, title="Demo", fail_on="error")
    root = etree.parse(str(tmp_path / "junit.xml")).getroot()
    cases = {c.get("name").split()[0]: c for c in root.iter("testcase")}
    assert cases["SDTM.DM.ONE_PER_SUBJECT"].find("failure") is not None
    assert cases["T.BROKEN"].find("error") is not None
    skipped = cases["SDTM.DM.ARM_IN_TA"].find("skipped")
    assert "TA" in skipped.get("message")
    # warning-level rule below the error threshold is not a failure
    assert cases["SDTM.DY.NOT_ZERO"].find("failure") is None
    assert cases["MAP.CT.UNMAPPED"].find("failure") is not None     # mapping stage too
    assert root.get("errors") == "1" and root.get("skipped") == "1"
    write_reports(log, result, tmp_path, title="Demo", fail_on="warning")
    root = etree.parse(str(tmp_path / "junit.xml")).getroot()
    cases = {c.get("name").split()[0]: c for c in root.iter("testcase")}
    assert cases["SDTM.DY.NOT_ZERO"].find("failure") is not None


def test_json_and_html_views(tmp_path):
    log, result = _study_log()
    fig = tmp_path / "km.png"
    fig.write_bytes(PNG)
    write_reports(log, result, tmp_path, title="Demo <study>", figures=[fig])
    doc = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert len(doc["issues"]) == len(log)
    assert doc["counts"]["error"]["total"] == sum(i["severity"] == "error" for i in doc["issues"])
    assert {r["rule_id"] for r in doc["rules"]} >= {"T.BROKEN", "SDTM.DM.ARM_IN_TA"}
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in html
    assert "Demo &lt;study&gt;" in html and "<study>" not in html
    assert "sortTable" in html and "MAP.DATE" in html
    assert "http" not in html.replace("http://x", "")       # no external resources


def test_waived_findings_are_shown_as_waived(tmp_path):
    waivers = [{"rule_id": "SDTM.DM.ONE_PER_SUBJECT", "justification": "accepted by sponsor",
                "author": "me", "date": "2024-01-01"}]
    log = IssueLog()
    rule = next(r for r in load_rules() if r.id == "SDTM.DM.ONE_PER_SUBJECT")
    result = validate({"DM": ds("DM", USUBJID=["A", "A"])}, issues=log, rules=[rule],
                      waivers=waivers)
    write_reports(log, result, tmp_path, title="Demo")
    doc = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert doc["counts"]["error"] == {"open": 0, "waived": 1, "total": 1}
    assert doc["issues"][0]["waived"].startswith("accepted by sponsor")
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'class="waived"' in html
    root = etree.parse(str(tmp_path / "junit.xml")).getroot()
    assert root.get("failures") == "0"


@pytest.mark.parametrize("rules", [None, "table"])
def test_log_only_reports(tmp_path, rules):
    log, result = _study_log()
    paths = write_reports(log, None if rules is None else result.rules, tmp_path, title="x")
    assert len(paths) == 4
    doc = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert len(doc["issues"]) == len(log)


def test_pipeline_style_two_validations_and_concatenated_rules(tmp_path):
    """run validates SDTM and ADaM separately and reports once from the shared log."""
    import pandas as pd

    waivers = [{"rule_id": "SDTM.DM.ONE_PER_SUBJECT", "justification": "accepted by sponsor",
                "author": "me", "date": "2024-01-01"},
               {"rule_id": "ADAM.ADSL.ONE_PER_SUBJECT", "justification": "accepted by sponsor",
                "author": "me", "date": "2024-01-01"}]
    log = IssueLog()
    sdtm = validate({"DM": ds("DM", USUBJID=["A", "A"])}, issues=log, waivers=waivers)
    adam = validate({"ADSL": ds("ADSL", USUBJID=["A", "A"])}, issues=log, waivers=waivers)
    rules = pd.concat([sdtm.rules.assign(standard="SDTM"), adam.rules.assign(standard="ADaM")],
                      ignore_index=True)
    write_reports(log, rules, tmp_path, title="run")
    doc = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    by_rule = {i["rule_id"]: i for i in doc["issues"]}
    assert by_rule["SDTM.DM.ONE_PER_SUBJECT"]["waived"]
    assert by_rule["ADAM.ADSL.ONE_PER_SUBJECT"]["waived"]
    assert "WAIVER.UNUSED" not in by_rule        # each waiver matched in its own call
    assert {d["dataset"] for d in doc["datasets"]} >= {"DM", "ADSL"}


def test_concatenated_rule_tables_give_one_testcase_per_rule(tmp_path):
    import pandas as pd

    log = IssueLog()
    rule = [r for r in load_rules() if r.id == "SDTM.DM.ONE_PER_SUBJECT"]
    first = validate({"DM": ds("DM", USUBJID=["A", "A"])}, issues=log, rules=rule)
    second = validate({"ADSL": ds("ADSL", USUBJID=["A"])}, issues=log, rules=rule)
    rules = pd.concat([first.rules, second.rules], ignore_index=True)
    write_reports(log, rules, tmp_path, title="run")
    root = etree.parse(str(tmp_path / "junit.xml")).getroot()
    names = [c.get("name").split()[0] for c in root.iter("testcase")]
    assert names.count("SDTM.DM.ONE_PER_SUBJECT") == 1
    assert root.get("failures") == "1"
    doc = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    merged = [r for r in doc["rules"] if r["rule_id"] == "SDTM.DM.ONE_PER_SUBJECT"]
    assert len(merged) == 1 and merged[0]["state"] == "issues_found"
