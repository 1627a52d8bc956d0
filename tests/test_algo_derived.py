"""seq, visit, epoch, baseline_flag, supp, transpose and the trial design builders."""

from __future__ import annotations

import pandas as pd
from algo_helpers import STEP, raw, run, study, values

from converter.issues import IssueLog
from converter.mapping.algorithms.supp import build_supp
from converter.mapping.algorithms.transpose import Transpose, transpose
from converter.mapping.steps import StepContext
from converter.model import SRC_ROW
from converter.sdtm import trial_design

VISITS = {"trial_design": {"visits": [
    {"visitnum": 1, "visit": "SCREENING"},
    {"visitnum": 3, "visit": "BASELINE", "aliases": ["Day 1"]},
    {"visitnum": 4, "visit": "WEEK 2", "visitdy": 14}]}}


def test_seq_01_per_subject_in_declared_order_then_source_row():
    got, _ = run({"target": "AESEQ", "algorithm": "seq", "order": ["AESTDTC"]},
                 raw(A=list(range(5))),
                 {"USUBJID": ["S2", "S1", "S1", "S2", "S1"],
                  "AESTDTC": ["2014-01-02", "2014-03-01", "2014-01-01", "2014-01-01", None]})
    assert values(got) == [2.0, 2.0, 1.0, 1.0, 3.0]


def test_seq_02_ties_broken_by_source_row():
    got, _ = run({"target": "XSEQ", "algorithm": "seq"}, raw(A=[1, 2, 3]),
                 {"USUBJID": ["S1", "S1", "S1"]})
    assert values(got) == [1.0, 2.0, 3.0]


def test_visit_01_names_aliases_case_and_unknown():
    st = study(**VISITS)
    num, issues = run({"target": "VISITNUM", "algorithm": "visit", "source": "V"},
                      raw(V=["baseline", "Day  1", "Week 2", "Week 99", None]),
                      {"USUBJID": ["S1"] * 5}, st=st)
    assert values(num) == [3.0, 3.0, 4.0, None, None]
    assert issues.to_frame()["rule_id"].tolist() == ["MAP.VISIT"]
    name, _ = run({"target": "VISIT", "algorithm": "visit", "source": "V", "value": "name"},
                  raw(V=["baseline", "Week 2"]), {"USUBJID": ["S1"] * 2}, st=st)
    assert values(name) == ["BASELINE", "WEEK 2"]


def test_visit_02_unscheduled_numbered_after_previous_visit():
    st = study(**VISITS)
    got, issues = run({"target": "VISITNUM", "algorithm": "visit", "source": "V",
                       "date": "DTC"},
                      raw(V=["Baseline", "Unscheduled", "Week 2", "Unsched", "Unscheduled",
                             "Unscheduled"]),
                      {"USUBJID": ["S1", "S1", "S1", "S1", "S1", "S2"],
                       "DTC": ["2014-01-01", "2014-01-05", "2014-01-14", "2014-01-20",
                               "2014-01-08", "2014-01-01"]}, st=st)
    assert values(got) == [3.0, 3.01, 4.0, 4.01, 3.02, 0.01]
    assert len(issues) == 0


def test_epoch_01_element_containing_the_date():
    se = pd.DataFrame({"USUBJID": ["S1", "S1"], "SESTDTC": ["2014-01-01", "2014-01-10"],
                       "EPOCH": ["SCREENING", "TREATMENT"], "TAETORD": [1.0, 2.0]})
    got, _ = run({"target": "EPOCH", "algorithm": "epoch", "dtc": "DTC"}, raw(A=[1, 2, 3, 4]),
                 {"USUBJID": ["S1"] * 4,
                  "DTC": ["2013-12-31", "2014-01-09", "2014-01-10T08:00", "2014-01"]},
                 frames={"SE": se})
    assert values(got) == [None, "SCREENING", "TREATMENT", None]


def test_epoch_02_times_count_when_both_sides_have_one():
    # treatment starts 2014-01-10 at 11:10 for S1 (date only for S2): a sample taken that day
    # at 08:35 is still screening; without a time on one side the comparison is by date
    se = pd.DataFrame({"USUBJID": ["S1", "S1", "S2", "S2"],
                       "SESTDTC": ["2014-01-01", "2014-01-10T11:10", "2014-01-01", "2014-01-10"],
                       "EPOCH": ["SCREENING", "TREATMENT", "SCREENING", "TREATMENT"],
                       "TAETORD": [1.0, 2.0, 1.0, 2.0]})
    got, _ = run({"target": "EPOCH", "algorithm": "epoch", "dtc": "DTC"},
                 raw(A=list(range(6))),
                 {"USUBJID": ["S1", "S1", "S1", "S1", "S2", "S2"],
                  "DTC": ["2014-01-10T08:35", "2014-01-10T11:10", "2014-01-10",
                          "2014-01-10T11:10:30", "2014-01-10T08:35", "2014-01-09T23:59"]},
                 frames={"SE": se})
    assert values(got) == ["SCREENING", "TREATMENT", "TREATMENT", "TREATMENT", "TREATMENT",
                           "SCREENING"]


def test_baseline_flag_01_last_non_missing_on_or_before_reference():
    dm = raw(USUBJID=["S1", "S2"], RFXSTDTC=["2014-01-10", "2014-01-10T09:00"])
    got, _ = run({"target": "LBBLFL", "algorithm": "baseline_flag", "by": ["USUBJID", "TC"],
                  "dtc": "DTC", "result": "RES"}, raw(A=list(range(7))),
                 {"USUBJID": ["S1", "S1", "S1", "S1", "S1", "S2", "S2"],
                  "TC": ["ALT", "ALT", "ALT", "ALT", "AST", "ALT", "ALT"],
                  "DTC": ["2014-01-01", "2014-01-09", "2014-01-10", "2014-01-11",
                          "2014-01", "2014-01-10T08:00", "2014-01-10T10:00"],
                  "RES": ["10", "12", None, "15", "3", "5", "6"]}, frames={"DM": dm})
    assert values(got) == [None, "Y", None, None, None, "Y", None]


def _supp_ctx(out: dict) -> StepContext:
    r = raw(A=list(range(len(out["USUBJID"]))))
    o = pd.DataFrame(out)
    o["__source_file"] = r["__source_file"]
    o[SRC_ROW] = r[SRC_ROW]
    return StepContext(domain="AE", raw=r, out=o, study=study(), issues=IssueLog())


def test_supp_01_non_standard_variable_moves_to_supp():
    step = STEP.validate_python({"target": "SUPPAE", "algorithm": "supp", "idvar": "AESEQ",
                                 "qualifiers": [{"variable": "AETRTEM", "label": "Treatment "
                                                 "Emergent Flag", "origin": "DERIVED"}]})
    ctx = _supp_ctx({"STUDYID": ["S"] * 2, "USUBJID": ["S1", "S2"], "AESEQ": [1.0, 2.0],
                     "AETRTEM": ["Y", None]})
    supp, parent = build_supp(step, ctx)
    assert "AETRTEM" not in parent
    assert supp[["USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QVAL", "QORIG"]].values.tolist() == [
        ["S1", "AESEQ", "1", "AETRTEM", "Y", "DERIVED"]]


def test_supp_02_values_over_200_bytes_split_at_character_boundary():
    step = STEP.validate_python({"target": "SUPPAE", "algorithm": "supp", "idvar": "AESEQ"})
    text = "é" * 150  # 300 bytes
    ctx = _supp_ctx({"STUDYID": ["S"], "USUBJID": ["S1"], "AESEQ": [1.0], "AETERM": [text]})
    supp, parent = build_supp(step, ctx)
    assert parent["AETERM"].iloc[0] == "é" * 100
    assert supp["QNAM"].tolist() == ["AETERM1"] and supp["QVAL"].tolist() == ["é" * 50]
    assert ctx.issues.to_frame()["rule_id"].tolist() == ["MAP.LEN200"]


def test_transpose_01_wide_to_long_keeps_provenance():
    spec = Transpose(columns={"SYS": "SYSBP", "DIA": "DIABP"}, name_column="TESTCD",
                     value_column="ORRES", keep=["SUBJ"])
    long = transpose(raw(SUBJ=["1", "2"], SYS=["120", None], DIA=["80", "70"]), spec)
    assert long[["SUBJ", "TESTCD", "ORRES", SRC_ROW]].values.tolist() == [
        ["1", "SYSBP", "120", "1"], ["1", "DIABP", "80", "1"], ["2", "DIABP", "70", "2"]]


def test_trial_design_01_ts_requires_sstdtc_and_decodes_tsparm():
    st = study(trial_design={"ts": [{"parmcd": "TITLE", "value": "A trial"}]})
    issues = IssueLog()
    ts = trial_design.build("ts", st, {}, issues)
    assert ts.set_index("TSPARMCD")["TSPARM"].to_dict()["TITLE"] == "Trial Title"
    assert ts.set_index("TSPARMCD")["TSVAL"].to_dict()["SDTIGVER"] == "3.3"
    df = issues.to_frame()
    assert df.loc[df["value"] == "SSTDTC", "severity"].tolist() == ["error"]


def test_trial_design_02_se_from_dm_dates_and_ta():
    st = study(trial_design={
        "arms": [{"armcd": "A", "arm": "Arm A", "elements": ["SCR", "TRT"]}],
        "elements": [{"etcd": "SCR", "element": "Screen", "epoch": "SCREENING",
                      "start_rule": "consent", "start": "RFICDTC"},
                     {"etcd": "TRT", "element": "Drug", "epoch": "TREATMENT",
                      "start_rule": "dose", "start": "RFXSTDTC", "end": "RFXENDTC"}]})
    dm = raw(USUBJID=["S1", "S2"], ACTARMCD=["A", "Scrnfail"],
             RFICDTC=["2014-01-01", "2014-01-03"], RFXSTDTC=["2014-01-10", None],
             RFXENDTC=["2014-03-01", None])
    se = trial_design.build("se", st, {"DM": dm}, IssueLog())
    assert se[["USUBJID", "ETCD", "SESTDTC", "SEENDTC"]].values.tolist() == [
        ["S1", "SCR", "2014-01-01", "2014-01-10"], ["S1", "TRT", "2014-01-10", "2014-03-01"],
        ["S2", "SCR", "2014-01-03", None]]
    ta = trial_design.build("ta", st, {}, IssueLog())
    assert ta["EPOCH"].tolist() == ["SCREENING", "TREATMENT"]


# --- decode_ct / convert_unit / range_indicator / to_text ------------------------------------


def test_decode_ct_01_test_code_to_test_name():
    got, issues = run({"target": "LBTEST", "algorithm": "decode_ct", "variable": "LBTESTCD",
                       "codelist": "LBTESTCD", "to_codelist": "LBTEST"}, raw(A=[1, 2, 3]),
                      {"LBTESTCD": ["ALT", "CD4", "NOPE"]})
    assert values(got) == ["Alanine Aminotransferase", "CD4", None]
    assert issues.to_frame()["value"].tolist() == ["NOPE"]


CONV = {"target": "LBSTRESN", "algorithm": "convert_unit", "value": "ORRES", "unit": "ORRESU",
        "test": "TESTCD", "conversions": [
            {"test": "CD4", "from": "cells/uL", "to": "10^6/L", "factor": 1},
            {"from": "mg/dL", "to": "mg/L", "factor": 10},
            {"from": "mg/L", "to": "mg/L", "factor": 1}]}


def test_convert_unit_01_value_and_unit_by_test_and_general_rules():
    out = {"ORRES": ["350", "0.03", "2.5", "7", "<50", None],
           "ORRESU": ["cells/uL", "mg/dL", "mg/L", "g/L", "mg/dL", "mg/dL"],
           "TESTCD": ["CD4", "CRP", "CRP", "CRP", "CRP", "CRP"]}
    got, issues = run(CONV, raw(A=list(range(6))), out)
    assert values(got) == [350.0, 0.3, 2.5, None, None, None]
    assert issues.to_frame()["value"].tolist() == ["g/L"]  # no declared conversion
    unit, _ = run({**CONV, "output": "unit", "target": "LBSTRESU"}, raw(A=list(range(6))), out)
    assert values(unit) == ["10^6/L", "mg/L", "mg/L", None, "mg/L", None]


def test_convert_unit_02_repeated_conversion_refused():
    import pytest
    from pydantic import ValidationError
    with pytest.raises(ValidationError, match="repeated"):
        run({**CONV, "conversions": CONV["conversions"] + [
            {"from": "mg/dL", "to": "g/L", "factor": 0.01}]}, raw(A=[1]),
            {"ORRES": ["1"], "ORRESU": ["mg/dL"], "TESTCD": ["CRP"]})


def test_range_indicator_01_low_normal_high_and_one_sided():
    got, _ = run({"target": "LBNRIND", "algorithm": "range_indicator", "value": "V",
                  "low": "LO", "high": "HI"}, raw(A=list(range(6))),
                 {"V": [1.0, 5.0, 9.0, 5.0, None, 0.5],
                  "LO": [2.0, 2.0, 2.0, None, 2.0, 1.0], "HI": [8.0, 8.0, 8.0, None, 8.0, None]})
    assert values(got) == ["LOW", "NORMAL", "HIGH", None, None, "LOW"]


def test_to_text_01_numbers_without_trailing_zeros():
    got, _ = run({"target": "LBSTRESC", "algorithm": "to_text", "variable": "N"},
                 raw(A=[1, 2, 3]), {"N": [12.5, 3.0, None]})
    assert values(got) == ["12.5", "3", None]


def test_trial_design_03_se_element_start_from_another_domain():
    st = study(trial_design={
        "arms": [{"armcd": "A", "arm": "Arm A", "elements": ["TRT", "FU"]}],
        "elements": [{"etcd": "TRT", "element": "Drug", "epoch": "TREATMENT",
                      "start_rule": "dose", "start": "RFXSTDTC"},
                     {"etcd": "FU", "element": "Follow-up", "epoch": "FOLLOW-UP",
                      "start_rule": "after last dose",
                      "start": {"domain": "EX", "variable": "EXENDTC", "pick": "last"},
                      "end": "RFPENDTC"}]})
    dm = raw(USUBJID=["S1"], ACTARMCD=["A"], RFXSTDTC=["2014-01-10"], RFPENDTC=["2014-06-01"])
    ex = raw(USUBJID=["S1", "S1"], EXENDTC=["2014-02-01", "2014-03-01"])
    se = trial_design.build("se", st, {"DM": dm, "EX": ex}, IssueLog())
    assert se[["ETCD", "SESTDTC", "SEENDTC"]].values.tolist() == [
        ["TRT", "2014-01-10", "2014-03-01"], ["FU", "2014-03-01", "2014-06-01"]]
