"""Configuration errors: strict YAML, unknown keys and algorithms, bad codelists, undeclared
sources, path escapes, missing columns — each a ConfigError located at file:line, and through
``check`` exit 2 with one line per problem and no traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from converter.errors import ConfigError
from converter.issues import IssueLog
from converter.mapping.base import ConfigProblems
from converter.mapping.cli import check_study
from converter.mapping.engine import run_sdtm
from converter.mapping.study import load_study
from converter.mapping.yamlsafe import loads_yaml

STUDY = """\
study_id: T1
study_name: Test study
ct_package: sdtmct-2015-12-18
created: "2026-01-01T00:00:00"
sources:
  dm: {file: dm.csv}
ct_synonyms: ct.csv
"""
DM = """\
domain: DM
sources: [dm]
steps:
  - {target: STUDYID, algorithm: hardcode, value: T1}
  - target: USUBJID
    algorithm: concat
    parts: [{value: T1}, {column: SUBJ}]
    separator: "-"
  - {target: SEX, algorithm: assign_ct, source: GENDER, codelist: SEX}
"""
SYN = "codelist,collected_value,submission_value\nSEX,Woman,F\n"


def make_study(tmp_path: Path, study: str = STUDY, dm: str = DM, syn: str = SYN) -> Path:
    root = tmp_path / "t1"
    (root / "sdtm").mkdir(parents=True)
    (root / "study.yaml").write_text(study)
    (root / "sdtm" / "dm.yaml").write_text(dm)
    (root / "ct.csv").write_text(syn)
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "dm.csv").write_text("SUBJ,GENDER\n001,Woman\n002,M\n003,robot\n")
    return root


def problems(root: Path) -> list[str]:
    return [p.one_line() for p in check_study(root)]


# --- strict YAML -------------------------------------------------------------------------

def test_01_yaml_duplicate_key_located():
    with pytest.raises(ConfigError) as e:
        loads_yaml("a: 1\nb: 2\na: 3\n", "x.yaml")
    assert e.value.location.line == 3 and "duplicate key 'a'" in e.value.one_line()


def test_02_yaml_tab_indentation_located():
    with pytest.raises(ConfigError) as e:
        loads_yaml("a:\n\tb: 1\n", "x.yaml")
    assert e.value.location.line == 2 and "tab" in e.value.message


def test_03_yaml_anchor_and_alias_refused():
    with pytest.raises(ConfigError) as e:
        loads_yaml("a: &x {b: 1}\nc: *x\n", "x.yaml")
    assert "anchors" in e.value.message and e.value.location.line == 1


def test_04_yaml_plain_scalars_stay_text():
    data, lines = loads_yaml("v: No\nn: 01\ne:\nq: 'null'\n")
    assert data == {"v": "No", "n": "01", "e": None, "q": "null"}
    assert lines[("n",)] == 2


def test_05_yaml_syntax_error_located():
    with pytest.raises(ConfigError) as e:
        loads_yaml("a: [1, 2\nb: 3\n", "x.yaml")
    assert e.value.location.file == "x.yaml" and e.value.location.line is not None


# --- study and mapping validation ---------------------------------------------------------

def test_06_valid_study_loads(tmp_path):
    study = load_study(make_study(tmp_path))
    assert list(study.domains) == ["DM"] and study.synonyms["C66731"] == {"WOMAN": "F"}


def test_07_typo_key_gives_hint_and_line(tmp_path):
    root = make_study(tmp_path, dm=DM.replace("source: GENDER", "sourc: GENDER"))
    (msg,) = problems(root)
    assert "t1/sdtm/dm.yaml:9" in msg and "unknown key 'sourc'" in msg
    assert "did you mean 'source'?" in msg


def test_08_unknown_algorithm_lists_expected(tmp_path):
    root = make_study(tmp_path, dm=DM.replace("algorithm: hardcode", "algorithm: hardcod"))
    (msg,) = problems(root)
    assert "dm.yaml:4" in msg and "unknown algorithm 'hardcod'" in msg
    assert "did you mean 'hardcode'?" in msg and "assign_ct" in msg


def test_09_codelist_not_in_ct_package(tmp_path):
    root = make_study(tmp_path, dm=DM.replace("codelist: SEX", "codelist: SEXX"))
    (msg,) = problems(root)
    assert "dm.yaml:9" in msg and "codelist 'SEXX' is not in CT package" in msg


def test_10_synonym_term_not_in_codelist(tmp_path):
    root = make_study(tmp_path, syn=SYN + "SEX,Robot,R\n")
    (msg,) = problems(root)
    assert "t1/ct.csv:3" in msg and "'R' is not a term of non-extensible codelist SEX" in msg


def test_11_undeclared_source(tmp_path):
    root = make_study(tmp_path, dm=DM.replace("sources: [dm]", "sources: [demog]"))
    (msg,) = problems(root)
    assert "dm.yaml:2" in msg and "source 'demog' is not declared" in msg


def test_12_path_escape_refused(tmp_path):
    root = make_study(tmp_path, study=STUDY.replace("file: dm.csv", "file: ../../etc/passwd"))
    (msg,) = problems(root)
    assert "study.yaml:6" in msg and "leaves the study folder" in msg


def test_13_duplicate_target_and_unmapped_variable(tmp_path):
    dm = DM + "  - {target: SEX, algorithm: hardcode, value: F}\n" \
              "  - {target: AGE, algorithm: seq, by: [SUBJECT]}\n"
    msgs = problems(make_study(tmp_path, dm=dm))
    assert len(msgs) == 2  # all problems reported, not only the first
    assert any("dm.yaml:10" in m and "target 'SEX' is already written" in m for m in msgs)
    assert any("dm.yaml:11" in m and "'SUBJECT' is read but no step" in m for m in msgs)


def test_14_bad_severity_and_ct_package(tmp_path):
    study = STUDY.replace("sdtmct-2015-12-18", "sdtmct-2099") + \
        "severity_overrides: {MAP.CT: fatal}\n"
    msgs = problems(make_study(tmp_path, study=study))
    assert any("study.yaml:3" in m and "sdtmct-2099" in m for m in msgs)
    assert any("study.yaml:8" in m and "fatal" in m for m in msgs)


def test_15_domain_must_match_file_name(tmp_path):
    root = make_study(tmp_path, dm=DM.replace("domain: DM", "domain: AE"))
    (msg,) = problems(root)
    assert "dm.yaml:1" in msg and "does not match the file name" in msg


def test_16_missing_source_column_is_config_error_before_mapping(tmp_path):
    root = make_study(tmp_path, dm=DM.replace("source: GENDER", "source: GENDR"))
    study = load_study(root)
    issues = IssueLog()
    with pytest.raises(ConfigError) as e:
        run_sdtm(study, tmp_path / "raw", issues)
    assert "dm.yaml:9" in e.value.one_line() and "column 'GENDR' is not in dm.csv" in \
        e.value.one_line() and "did you mean 'GENDER'?" in e.value.one_line()
    assert len(issues) == 0


def test_17_several_problems_raised_together(tmp_path):
    dm = DM.replace("algorithm: hardcode", "algorithm: hardcod")
    dm = dm.replace("source: GENDER", "sorce: GENDER")
    with pytest.raises(ConfigProblems) as e:
        load_study(make_study(tmp_path, dm=dm))
    assert len(e.value.problems) == 2 and "1 more problem" in e.value.one_line()


# --- data problems do not stop the run ------------------------------------------------------

def test_18_unmapped_term_is_an_issue_not_a_guess(tmp_path):
    study = load_study(make_study(tmp_path))
    issues = IssueLog()
    res = run_sdtm(study, tmp_path / "raw", issues)
    dm = res.frames["DM"]
    assert dm["SEX"].astype(object).where(dm["SEX"].notna(), None).tolist() == ["F", "M", None]
    df = issues.to_frame()
    assert df["rule_id"].tolist() == ["MAP.CT"]
    assert df.loc[0, "value"] == "robot" and df.loc[0, "source_row"] == "3"
    assert df.loc[0, "usubjid"] == "T1-003" and df.loc[0, "source_file"] == "dm.csv"


# --- through the CLI ------------------------------------------------------------------------

def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "converter", *args], capture_output=True,
                          text=True, timeout=60, check=False)


def test_19_check_cli_exit_2_one_line_per_problem(tmp_path):
    dm = DM.replace("source: GENDER", "sourc: GENDER").replace("hardcode", "hardcod")
    root = make_study(tmp_path, dm=dm)
    r = _cli("check", str(root))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 2 and all("t1/sdtm/dm.yaml:" in ln for ln in lines)


def _in_process(*args: str):
    from click.testing import CliRunner

    from converter.cli import cli
    return CliRunner().invoke(cli, list(args))


def test_20_check_cli_clean_study_exit_0(repo_root, tmp_path):
    dst = tmp_path / "cdiscpilot01"
    shutil.copytree(repo_root / "mappings" / "cdiscpilot01", dst)
    r = _in_process("check", str(dst))
    assert r.exit_code == 0, r.output


def test_21_check_cli_yaml_tab_exit_2(tmp_path):
    root = make_study(tmp_path, dm=DM.replace("  - {target: STUDYID", "\t- {target: STUDYID"))
    r = _in_process("check", str(root))
    assert r.exit_code == 2 and "dm.yaml:4" in r.output and "tab" in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)


def test_22_lookup_one_to_many_is_an_issue(tmp_path):
    dm = DM + ("  - target: SITEID\n    algorithm: lookup\n    from_source: sites\n"
               "    by: {SUBJ: SUBJ}\n    value: SITE\n")
    dm = dm.replace("sources: [dm]", "sources: [dm, sites]")
    study = STUDY.replace("  dm: {file: dm.csv}", "  dm: {file: dm.csv}\n  sites: {file: s.csv}")
    root = make_study(tmp_path, study=study, dm=dm)
    (tmp_path / "raw" / "s.csv").write_text("SUBJ,SITE\n001,10\n002,20\n002,21\n")
    issues = IssueLog()
    res = run_sdtm(load_study(root), tmp_path / "raw", issues)
    assert res.frames["DM"]["SITEID"].tolist() == ["10", None, None]
    dup = issues.filter(["MAP.DUPKEY"])
    assert dup["source_row"].tolist() == ["2"]
    rec = res.reconciliation.set_index("source_file")
    assert rec.loc["s.csv", "rejected"] == 3 and "lookups" in rec.loc["s.csv", "reason"]
    assert pd.Series(rec["mapped"] + rec["rejected"]).eq(rec["raw_records"]).all()


# --- property: the loader only ever raises located ConfigErrors -----------------------------

_KEYS = ["domain", "sources", "steps", "target", "algorithm", "source", "rules", "when", "then",
         "else", "filter", "column", "in", "value", "parts", "build", "transpose", "x"]
_SCALARS = ["AE", "assign", "conditional", "hardcode", "lookup", "ts", "1", "supp", None]


def test_23_any_yaml_text_gives_config_error_or_data():
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    alphabet = st.sampled_from(list("ab:- \n\t&*![]{}'\"#%@|>?,~01\x00é<"))

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.text(alphabet, max_size=60))
    def check(text):
        try:
            loads_yaml(text, "f.yaml")
        except ConfigError as exc:
            assert exc.location.file == "f.yaml"

    check()


def test_24_any_mapping_structure_gives_located_problems():
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from pydantic import ValidationError

    from converter.mapping.base import problems_from_validation
    from converter.mapping.models import DomainMapping

    data = st.recursive(st.sampled_from(_SCALARS), lambda c: st.one_of(
        st.lists(c, max_size=3), st.dictionaries(st.sampled_from(_KEYS), c, max_size=4)),
        max_leaves=12)

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data)
    def check(d):
        try:
            DomainMapping.model_validate(d)
        except ValidationError as exc:
            problems = problems_from_validation(exc, d, {(): 1}, "f.yaml")
            assert problems and all(p.location.file == "f.yaml" for p in problems)

    check()


def test_25_check_with_raw_reports_missing_columns(tmp_path):
    root = make_study(tmp_path, dm=DM.replace("source: GENDER", "source: GENDR"))
    assert problems(root) == []  # without data the mapping is well formed
    r = _in_process("check", str(root), "--raw", str(tmp_path / "raw"))
    assert r.exit_code == 2
    assert "dm.yaml:9" in r.output and "column 'GENDR' is not in dm.csv" in r.output


def test_26_invalid_regular_expressions_refused_before_data(tmp_path):
    dm = DM + "  - target: X\n    algorithm: conditional\n    rules:\n" \
              "      - {when: {column: SUBJ, matches: '(['}, then: {algorithm: hardcode, " \
              "value: Y}}\n"
    (msg,) = problems(make_study(tmp_path, dm=dm))
    assert "dm.yaml:13" in msg and "not a valid regular expression" in msg
