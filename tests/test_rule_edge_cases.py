"""Edge cases of individual rules, beyond the one-bad/one-good catalogue cases."""

from __future__ import annotations

import pytest

from converter.ct import load_ct
from tests.test_validate_helpers import ds, run_rule

CT = load_ct("sdtmct-2015-12-18")


def dm():
    return ds("DM", USUBJID=["A", "B"], RFSTDTC=["2014-01-10", "2014-01-12"],
              RFICDTC=["2014-01-01", ""])


def supp(name, rdomain, usubjid, idvar, idvarval):
    n = len(usubjid)
    return ds(name, RDOMAIN=[rdomain] * n, USUBJID=usubjid, IDVAR=[idvar] * n,
              IDVARVAL=idvarval, QNAM=["X"] * n)


@pytest.mark.parametrize("case, datasets, n_found", [
    ("subject-level SUPPDM resolves", [dm(), supp("SUPPDM", "DM", ["A", "B"], "", ["", ""])], 0),
    ("SUPPDM subject unknown", [dm(), supp("SUPPDM", "DM", ["A", "Z"], "", ["", ""])], 1),
    ("RDOMAIN absent", [dm(), supp("SUPPAE", "AE", ["A"], "AESEQ", ["1"])], 1),
    ("IDVAR not in parent", [dm(), ds("AE", USUBJID=["A"], AESEQ=[1.0]),
                             supp("SUPPAE", "AE", ["A"], "AEGRPID", ["1"])], 1),
    ("numeric IDVARVAL 1 matches AESEQ 1.0", [dm(), ds("AE", USUBJID=["A"], AESEQ=[1.0]),
                                              supp("SUPPAE", "AE", ["A"], "AESEQ", ["1"])], 0),
    ("dataset-level RELREC row", [dm(), ds("AE", USUBJID=["A"], AESEQ=[1.0]),
                                  ds("RELREC", RDOMAIN=["AE"], USUBJID=[""], IDVAR=["AESEQ"],
                                     IDVARVAL=[""], RELID=["R1"])], 0),
])
def test_supp_parent_cases(case, datasets, n_found):
    _, reason, issues = run_rule("SDTM.SUPP.PARENT", datasets)
    assert len(issues) == n_found, (case, reason, issues["message"].tolist())


@pytest.mark.parametrize("category, expected_state", [
    ("PROTOCOL MILESTONE", "passed"),       # DSDECOD of milestones is not NCOMPLT
    ("DISPOSITION EVENT", "issues_found"),
])
def test_dsdecod_checked_only_for_disposition_events(category, expected_state):
    ds_ = ds("DS", USUBJID=["A"], DSCAT=[category], DSDECOD=["INFORMED CONSENT OBTAINED"])
    state, reason, _ = run_rule("SDTM.CT.EXTENSIBLE", [ds_], ct=CT)
    assert state == expected_state, reason


@pytest.mark.parametrize("dtc, dy, n_found", [
    ("2014-01", 1.0, 0),          # partial date: study day not computable, not checked
    ("2014-01-09", -1.0, 0),      # the day before RFSTDTC is day -1 (no day 0)
    ("2014-01-09", 0.0, 1),
    ("2014-01-10T08:00", 1.0, 0),  # the time part does not change the day
])
def test_study_day_cases(dtc, dy, n_found):
    ae = ds("AE", USUBJID=["A"], AESTDTC=[dtc], AESTDY=[dy])
    _, reason, issues = run_rule("SDTM.DY.CONSISTENT", [dm(), ae])
    assert len(issues) == n_found, (reason, issues["message"].tolist())


@pytest.mark.parametrize("start, end, n_found", [
    ("2014-02", "2014-02-01", 0),         # may be the same day
    ("2014-02-02", "2014-02", 0),
    ("2014-03", "2014-02", 1),
    ("2014-02-01T10:00", "2014-02-01T09:59", 1),
    ("2014---05", "2014-01-01", 0),       # inner unknowns: no bounds, not compared
])
def test_start_before_end_partial_dates(start, end, n_found):
    ae = ds("AE", USUBJID=["A"], AESTDTC=[start], AEENDTC=[end])
    _, _, issues = run_rule("SDTM.DTC.START_LE_END", [ae])
    assert len(issues) == n_found


def test_consent_rule_skips_subjects_without_consent_date():
    ae = ds("AE", USUBJID=["A", "B"], AESTDTC=["2013-12-31", "2013-12-31"])
    _, _, issues = run_rule("SDTM.DTC.AFTER_CONSENT", [dm(), ae])
    assert issues["usubjid"].tolist() == ["A"]          # B has no RFICDTC


def test_byte_lengths_not_characters():
    ae = ds("AE", USUBJID=["A"], AETERM=["Ä" * 100], lengths={"AETERM": 150})
    _, _, issues = run_rule("META.LENGTH", [ae])
    assert issues["value"].tolist() == ["200"]
