"""The engine: rule states, loader errors, waivers, severity overrides, date helpers."""

from __future__ import annotations

import pandas as pd
import pytest

from converter.errors import ConfigError
from converter.issues import IssueLog
from converter.validate import Rule, load_rules, load_waivers, validate
from converter.validate.operators.dates import iso8601_valid, iso_bounds
from converter.validate.rules import load_rule_file
from tests.test_validate_helpers import ds


def _dm():
    return ds("DM", STUDYID=["S1", "S1"], DOMAIN=["DM", "DM"], USUBJID=["A", "B"])


def test_execution_error_is_a_state_and_the_run_continues():
    broken = Rule(id="T.BROKEN", title="t", severity="error", operator="values_in_set",
                  params={"variable": "USUBJID", "allowed": 5}, message="m", authority="test")
    fine = next(r for r in load_rules() if r.id == "SDTM.DM.ONE_PER_SUBJECT")
    log = IssueLog()
    result = validate({"DM": _dm()}, issues=log, rules=[broken, fine])
    states = result.rules.set_index("rule_id")["state"]
    assert states["T.BROKEN"] == "execution_error"
    assert "TypeError" in result.rules.set_index("rule_id").loc["T.BROKEN", "reason"]
    assert states["SDTM.DM.ONE_PER_SUBJECT"] == "passed"
    assert result.exit_code(log, "error") == 1


def test_skipped_rules_carry_a_reason():
    log = IssueLog()
    result = validate({"DM": _dm()}, issues=log)
    table = result.rules.set_index("rule_id")
    assert table.loc["SDTM.DM.ARM_IN_TA", "state"] == "skipped"
    assert "TA not present" in table.loc["SDTM.DM.ARM_IN_TA", "reason"]
    assert table.loc["ADAM.BDS.CHG", "reason"] == "no dataset in scope"
    assert (table.loc[table["state"] == "skipped", "reason"].str.len() > 0).all()
    assert set(table["state"]) <= {"passed", "issues_found", "skipped", "execution_error"}


def test_requires_skips_dataset_without_the_variables():
    rule = next(r for r in load_rules() if r.id == "SDTM.DTC.START_LE_END")
    result = validate({"AE": ds("AE", AESTDTC=["2014"])}, issues=IssueLog(), rules=[rule])
    row = result.rules.iloc[0]
    assert row["state"] == "skipped" and "AEENDTC" in row["reason"]


def test_findings_carry_subject_sequence_and_record_number():
    ae = ds("AE", USUBJID=["A", "A", "B"], AESEQ=[1.0, 1.0, 1.0], DOMAIN=["AE"] * 3)
    rule = next(r for r in load_rules() if r.id == "SDTM.SEQ.UNIQUE")
    log = IssueLog()
    validate({"AE": ae}, issues=log, rules=[rule])
    issue = log.to_frame().iloc[0]
    assert (issue["usubjid"], issue["seq"], issue["source_row"]) == ("A", 1.0, "2")
    assert issue["message"] == "AESEQ 1 is used more than once for subject A"


def test_provenance_columns_become_the_source():
    ae = ds("AE", USUBJID=["A", "A"], AESEQ=[1.0, 1.0], __source_file=["ae.csv", "ae.csv"],
            __source_row=["7", "9"])
    rule = next(r for r in load_rules() if r.id == "SDTM.SEQ.UNIQUE")
    log = IssueLog()
    validate({"AE": ae}, issues=log, rules=[rule])
    issue = log.to_frame().iloc[0]
    assert (issue["source_file"], issue["source_row"]) == ("ae.csv", "9")


def test_severity_override_applies_to_findings_and_rule_table():
    dm = ds("DM", USUBJID=["A", "A"])
    log = IssueLog(severity_overrides={"SDTM.DM.ONE_PER_SUBJECT": "notice"})
    result = validate({"DM": dm}, issues=log)
    assert result.rules.set_index("rule_id").loc["SDTM.DM.ONE_PER_SUBJECT", "severity"] == "notice"
    assert set(log.filter(["SDTM.DM.ONE_PER_SUBJECT"])["severity"]) == {"notice"}


RULE_OK = """rules:
  - id: T.ONE
    title: t
    severity: error
    operator: one_record_per_subject
    message: m
    authority: test
"""


@pytest.mark.parametrize("text, expected", [
    (RULE_OK.replace("one_record_per_subject", "no_such_op"), "unknown operator"),
    (RULE_OK + "    params: {colour: red}\n", "takes no parameter colour"),
    (RULE_OK.replace("one_record_per_subject", "values_in_set"), "needs parameter"),
    (RULE_OK.replace("severity: error", "severity: fatal"), "severity"),
    (RULE_OK + "    surprise: 1\n", "surprise"),
    (RULE_OK + RULE_OK.replace("rules:\n", ""), "defined twice"),
    ("rules: [unclosed", "invalid YAML"),
])
def test_rule_file_mistakes_are_located(tmp_path, text, expected):
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_rules([path])
    assert expected in str(exc.value)
    assert "rules.yaml" in str(exc.value)


def test_rule_file_error_names_the_line(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(RULE_OK + RULE_OK.replace("rules:\n", "").replace("T.ONE", "T.TWO")
                    .replace("error", "fatal"), encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_rule_file(path)
    assert exc.value.location.line == 8


WAIVERS = """waivers:
  - rule_id: SDTM.DM.ONE_PER_SUBJECT
    usubjid: "A*"
    justification: Duplicate DM record accepted by the sponsor, see reviewer guide.
    author: J. Doe
    date: 2024-05-01
  - rule_id: XPT.*
    dataset: DM
    justification: Never matches, kept to prove unused waivers are reported.
    author: J. Doe
    date: 2024-05-01
"""


def test_waivers_mark_findings_and_report_unused(tmp_path):
    path = tmp_path / "waivers.yaml"
    path.write_text(WAIVERS, encoding="utf-8")
    dm = ds("DM", USUBJID=["A1", "A1", "B", "B"])
    log = IssueLog()
    result = validate({"DM": dm}, issues=log, waivers=path)
    table = result.issues_with_waivers(log)
    dup = table[table["rule_id"] == "SDTM.DM.ONE_PER_SUBJECT"]
    assert len(dup) == 2                                     # shown, not hidden
    assert dup.set_index("usubjid")["waived"].notna().to_dict() == {"A1": True, "B": False}
    assert result.rules.set_index("rule_id").loc["SDTM.DM.ONE_PER_SUBJECT", "n_waived"] == 1
    unused = table[table["rule_id"] == "WAIVER.UNUSED"]
    assert len(unused) == 1 and "XPT.*" in unused.iloc[0]["message"]
    assert result.exit_code(log, "error") == 1               # subject B is not waived


def test_waiver_clears_the_gate(tmp_path):
    path = tmp_path / "waivers.yaml"
    path.write_text(WAIVERS.split("  - rule_id: SDTM.SEQ")[0].replace('usubjid: "A*"',
                                                                      'usubjid: "*"'),
                    encoding="utf-8")
    rule = next(r for r in load_rules() if r.id == "SDTM.DM.ONE_PER_SUBJECT")
    log = IssueLog()
    result = validate({"DM": ds("DM", USUBJID=["A", "A"])}, issues=log, waivers=path,
                      rules=[rule])
    assert len(log) == 1
    assert result.exit_code(log, "error") == 0


@pytest.mark.parametrize("bad, key", [
    ("justification: short", "justification"),
    ("date: yesterday", "date"),
    ("colour: red", "colour"),
    ('value: "(["', "value"),
])
def test_bad_waivers_are_config_errors(tmp_path, bad, key):
    entry = ("waivers:\n  - rule_id: X\n    justification: A long enough reason here.\n"
             "    author: me\n    date: 2024-01-01\n")
    field = bad.split(":")[0]
    lines = [ln for ln in entry.splitlines() if not ln.strip().startswith(field + ":")]
    path = tmp_path / "w.yaml"
    path.write_text("\n".join(lines) + f"\n    {bad}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_waivers(path)
    assert key in str(exc.value) and "w.yaml:2" in str(exc.value)


@pytest.mark.parametrize("value, ok", [
    ("2014-02-28", True), ("2014-02-29", False), ("2016-02-29", True), ("2014", True),
    ("2014-13", False), ("2014-1-5", False), ("2014---15", True), ("--12-15", True),
    ("2014-02-28T10:15", True), ("2014-02-28T25:00", False), ("2014-02-28T10:15:30.5", True),
    ("2014-02-28T10", True), ("2014-02-28 10:15", False), ("2014-02-28/2014-03-01", True),
    ("2014-02-28/P3D", True), ("UNK", False), ("", True), (None, True), ("-", False),
    ("2014-02-", False),
])
def test_iso8601_dates(value, ok):
    assert bool(iso8601_valid(pd.Series([value]))[0]) is ok


@pytest.mark.parametrize("value, ok", [
    ("P2D", True), ("PT4H30M", True), ("P1Y2M", True), ("-PT15M", True), ("P", False),
    ("PT", False), ("2 days", False), ("P2.5D", True), ("2014-01-01", False),
])
def test_iso8601_durations(value, ok):
    assert bool(iso8601_valid(pd.Series([value]), duration=True)[0]) is ok


def test_iso_bounds_of_partial_dates():
    lo, hi, has_day = iso_bounds(pd.Series(["2014-02", "2014", "2014-02-03T10:05", "x"]))
    assert str(lo[0]) == "2014-02-01 00:00:00" and str(hi[0]) == "2014-02-28 23:59:59"
    assert str(hi[1]) == "2014-12-31 23:59:59"
    assert str(lo[2]) == "2014-02-03 10:05:00" and str(hi[2]) == "2014-02-03 10:05:59"
    assert has_day.tolist() == [False, False, True, False]
    assert pd.isna(lo[3])


def test_empty_datasets_never_cause_execution_errors(tmp_path):
    """Every operator copes with zero-record datasets (all object columns, no values)."""
    import numpy as np

    from converter.ct import load_ct

    def empty(name, *cols):
        return ds(name, **{c: np.array([], dtype=object) for c in cols})

    datasets = [
        empty("DM", "STUDYID", "DOMAIN", "USUBJID", "RFSTDTC", "RFICDTC", "ARMCD", "ARM"),
        empty("AE", "STUDYID", "DOMAIN", "USUBJID", "AESEQ", "AETERM", "AESTDTC", "AEENDTC",
              "AESTDY", "AEENDY", "EPOCH", "VISITNUM", "VISIT", "AEDUR"),
        empty("LB", "USUBJID", "LBSEQ", "LBTESTCD", "LBTEST", "LBDTC", "LBDY"),
        empty("TA", "ARMCD", "ARM", "ETCD", "EPOCH"), empty("TV", "VISITNUM", "VISIT"),
        empty("SE", "USUBJID", "ETCD", "EPOCH"), empty("TS", "TSPARMCD", "TSVAL"),
        empty("SUPPAE", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"),
        empty("ADSL", "USUBJID"),
        empty("ADLB", "USUBJID", "PARAMCD", "AVAL", "BASE", "CHG", "PCHG", "ABLFL", "BASETYPE"),
        empty("ADTTE", "USUBJID", "PARAMCD", "AVAL", "CNSR"),
    ]
    result = validate({d.name: d for d in datasets}, issues=IssueLog(),
                      ct=load_ct("sdtmct-2015-12-18"))
    errors = result.rules[result.rules["state"] == "execution_error"]
    assert errors.empty, errors[["rule_id", "reason"]].to_string()
