"""assign, assign_ct, assign_numeric, hardcode, extract, concat, lookup, conditional."""

from __future__ import annotations

from algo_helpers import raw, run, study, values

# --- assign ----------------------------------------------------------------------------------


def test_assign_01_as_collected_stripped_blank_is_missing():
    got, issues = run({"target": "X", "algorithm": "assign", "source": "A"},
                      raw(A=[" Headache ", "", None, "nausea"]))
    assert values(got) == ["Headache", None, None, "nausea"] and len(issues) == 0


def test_assign_02_upper_case_only_when_asked():
    got, _ = run({"target": "X", "algorithm": "assign", "source": "A", "case": "upper"},
                 raw(A=["Headache", None]))
    assert values(got) == ["HEADACHE", None]


# --- assign_ct -------------------------------------------------------------------------------


def test_assign_ct_01_ct_synonyms_and_preferred_terms():
    got, issues = run({"target": "SEX", "algorithm": "assign_ct", "source": "A",
                       "codelist": "SEX"}, raw(A=["Female", "m", "F", None]))
    assert values(got) == ["F", "M", "F", None] and len(issues) == 0


def test_assign_ct_02_study_synonym_table_first():
    st = study(synonyms={"C66769": {"GRADE ONE": "MILD"}})
    got, _ = run({"target": "AESEV", "algorithm": "assign_ct", "source": "A",
                  "codelist": "AESEV"}, raw(A=["grade one", "Moderate"]), st=st)
    assert values(got) == ["MILD", "MODERATE"]


def test_assign_ct_03_unmapped_is_issue_and_empty_never_upper_cased():
    got, issues = run({"target": "SEX", "algorithm": "assign_ct", "source": "A",
                       "codelist": "SEX"}, raw(A=["Female", "robot"]))
    assert values(got) == ["F", None]
    df = issues.to_frame()
    assert df["rule_id"].tolist() == ["MAP.CT"] and df["value"].tolist() == ["robot"]
    assert df["source_row"].tolist() == ["2"] and df["severity"].tolist() == ["error"]


def test_assign_ct_04_keep_policy_keeps_collected_and_warns():
    got, issues = run({"target": "X", "algorithm": "assign_ct", "source": "A",
                       "codelist": "ROUTE", "on_unmapped": "keep"}, raw(A=["Oral", "Nasal spray"]))
    assert values(got) == ["ORAL", "Nasal spray"]
    assert issues.to_frame()["severity"].tolist() == ["warning"]


def test_assign_ct_05_sponsor_codelist():
    st = study(synonyms={"AEREL": {"PROBABLY RELATED": "PROBABLE"}}, sponsor={"AEREL"})
    got, issues = run({"target": "AEREL", "algorithm": "assign_ct", "source": "A",
                       "codelist": "AEREL"}, raw(A=["Probably Related", "Maybe"]), st=st)
    assert values(got) == ["PROBABLE", None] and len(issues) == 1


# --- assign_numeric --------------------------------------------------------------------------


def test_assign_numeric_01_numbers_and_non_numbers():
    got, issues = run({"target": "X", "algorithm": "assign_numeric", "source": "A"},
                      raw(A=["63", " 4.5 ", "<50", ">1000", "1,234.5", "ND", None, "-1e3"]))
    assert values(got) == [63.0, 4.5, None, None, None, None, None, -1000.0]
    assert sorted(issues.to_frame()["value"]) == ["1,234.5", "<50", ">1000", "ND"]


# --- hardcode / extract ----------------------------------------------------------------------


def test_hardcode_01_every_row():
    got, _ = run({"target": "DOMAIN", "algorithm": "hardcode", "value": "AE"}, raw(A=[1, 2]))
    assert values(got) == ["AE", "AE"]


def test_extract_01_capture_group_and_mismatch_issue():
    got, issues = run({"target": "SITEID", "algorithm": "extract", "source": "A",
                       "pattern": r"^(\d+)-"}, raw(A=["701-1015", "x", None]))
    assert values(got) == ["701", None, None] and len(issues) == 1


def test_extract_02_pattern_needs_one_group():
    import pytest
    from pydantic import ValidationError
    with pytest.raises(ValidationError, match="exactly one capture group"):
        run({"target": "X", "algorithm": "extract", "source": "A", "pattern": r"\d+"},
            raw(A=["1"]))


# --- concat ----------------------------------------------------------------------------------


def test_concat_01_literal_column_variable():
    got, issues = run({"target": "USUBJID", "algorithm": "concat", "separator": "-",
                       "parts": [{"value": "01"}, {"column": "SITE"}, {"variable": "SUBJID"}]},
                      raw(SITE=["701", "702", None]), {"SUBJID": ["1", None, "3"]})
    assert values(got) == ["01-701-1", None, None]
    assert len(issues) == 2  # a missing part never yields a half identifier silently


# --- lookup ----------------------------------------------------------------------------------


def test_lookup_01_one_to_one_and_missing():
    other = raw(K=["a", "b"], V=["1", "2"])
    got, issues = run({"target": "X", "algorithm": "lookup", "from_source": "o",
                       "by": {"K": "K"}, "value": "V"}, raw(K=["b", "a", "z"]),
                      sources={"o": other})
    assert values(got) == ["2", "1", None] and len(issues) == 0


def test_lookup_02_one_to_many_is_error_by_default():
    other = raw(K=["a", "a", "b"], V=["1", "9", "2"])
    got, issues = run({"target": "X", "algorithm": "lookup", "from_source": "o",
                       "by": {"K": "K"}, "value": "V"}, raw(K=["a", "b"]), sources={"o": other})
    assert values(got) == [None, "2"]
    assert issues.to_frame()["rule_id"].tolist() == ["MAP.DUPKEY"]


def test_lookup_03_first_when_declared():
    other = raw(K=["a", "a"], V=["1", "9"])
    got, issues = run({"target": "X", "algorithm": "lookup", "from_source": "o",
                       "by": {"K": "K"}, "value": "V", "multiple": "first"}, raw(K=["a"]),
                      sources={"o": other})
    assert values(got) == ["1"] and len(issues) == 0


def test_lookup_04_from_mapped_domain_by_variable():
    dm = raw(USUBJID=["S-1", "S-2"], ARMCD=["A", "B"])
    got, _ = run({"target": "ARMCD", "algorithm": "lookup", "from_domain": "DM",
                  "by": {"USUBJID": "USUBJID"}, "value": "ARMCD"}, raw(Z=["x", "y"]),
                 {"USUBJID": ["S-2", "S-1"]}, frames={"DM": dm})
    assert values(got) == ["B", "A"]


# --- conditional -----------------------------------------------------------------------------


def test_conditional_01_first_matching_rule_wins_else_last():
    step = {"target": "DSCAT", "algorithm": "conditional", "rules": [
        {"when": {"column": "D", "equals": "Randomized"},
         "then": {"algorithm": "hardcode", "value": "PROTOCOL MILESTONE"}},
        {"when": {"column": "D", "missing": False},
         "then": {"algorithm": "hardcode", "value": "DISPOSITION EVENT"}}],
        "else": {"algorithm": "hardcode", "value": "OTHER EVENT"}}
    got, _ = run(step, raw(D=["Randomized", "Completed", None]))
    assert values(got) == ["PROTOCOL MILESTONE", "DISPOSITION EVENT", "OTHER EVENT"]


def test_conditional_02_no_else_leaves_empty_and_issues_only_for_selected_rows():
    step = {"target": "SEX", "algorithm": "conditional", "rules": [
        {"when": [{"column": "K", "in": ["y"]}],
         "then": {"algorithm": "assign_ct", "source": "A", "codelist": "SEX"}}]}
    got, issues = run(step, raw(K=["y", "n", "y"], A=["robot", "robot", "Male"]))
    assert values(got) == [None, None, "M"]
    assert issues.to_frame()["source_row"].tolist() == ["1"]


def test_conditional_03_matches_and_variable_conditions():
    step = {"target": "X", "algorithm": "conditional", "rules": [
        {"when": [{"variable": "V", "matches": "^UNSCH"}, {"column": "A", "not_in": ["z"]}],
         "then": {"algorithm": "assign", "source": "A"}}]}
    got, _ = run(step, raw(A=["a", "z", "c"]), {"V": ["UNSCHED 1", "UNSCHED 2", "WEEK 2"]})
    assert values(got) == ["a", None, None]
