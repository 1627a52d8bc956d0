"""The validate command is a CI gate: exit 0 clean, 1 findings, 2 could not run."""

from __future__ import annotations

import json

import pandas as pd
import pyreadstat
import pytest

from converter.cli import main

RULES = """rules:
  - id: T.DM.ONE
    title: one DM record per subject
    severity: error
    scope: {datasets: [DM]}
    operator: one_record_per_subject
    message: "Subject {value} has more than one DM record"
    authority: test
  - id: T.DY.ZERO
    title: no day 0
    severity: warning
    operator: study_day_not_zero
    message: "{variable} equals 0"
    authority: test
"""


def _study(folder, usubjid=("A", "B"), dmdy=(1.0, 2.0)):
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame({"STUDYID": ["S1"] * len(usubjid), "DOMAIN": ["DM"] * len(usubjid),
                          "USUBJID": list(usubjid), "DMDY": list(dmdy)})
    pyreadstat.write_xport(frame, str(folder / "dm.xpt"), table_name="DM",
                           column_labels=["Study Identifier", "Domain Abbreviation",
                                          "Unique Subject Identifier", "Study Day"])
    return folder


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def _run(*args) -> int:
    with pytest.raises(SystemExit) as exc:
        main(["-q", "validate", *map(str, args)])
    return exc.value.code


@pytest.fixture
def rules(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(RULES, encoding="utf-8")
    return path


def test_clean_study_exits_0_and_writes_reports(tmp_path, rules):
    data = _study(tmp_path / "data")
    out = tmp_path / "out"
    assert _run(data, "--rules", rules, "--out", out) == 0
    assert sorted(p.name for p in out.iterdir()) == ["junit.xml", "report.html", "report.json",
                                                     "report.xlsx"]


def test_error_findings_exit_1(tmp_path, rules):
    data = _study(tmp_path / "data", usubjid=("A", "A"))
    out = tmp_path / "out"
    assert _run(data, "--rules", rules, "--out", out) == 1
    doc = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert doc["failing"] == 1


def test_fail_on_threshold(tmp_path, rules):
    data = _study(tmp_path / "data", dmdy=(0.0, 1.0))
    assert _run(data, "--rules", rules, "--out", tmp_path / "o1", "--fail-on", "error") == 0
    assert _run(data, "--rules", rules, "--out", tmp_path / "o2", "--fail-on", "warning") == 1


def test_waivers_clear_the_gate(tmp_path, rules):
    data = _study(tmp_path / "data", usubjid=("A", "A"))
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers:\n  - rule_id: T.DM.ONE\n    usubjid: A\n"
                       "    justification: Known duplicate, documented in the reviewer guide.\n"
                       "    author: QA\n    date: 2024-01-01\n", encoding="utf-8")
    out = tmp_path / "out"
    assert _run(data, "--rules", rules, "--waivers", waivers, "--out", out) == 0
    doc = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert doc["counts"]["error"]["waived"] == 1


@pytest.mark.parametrize("case", ["missing_dir", "empty_dir", "bad_waivers", "missing_define",
                                  "not_a_define", "malformed_define",
                                  "bad_rules", "bad_fail_on", "unknown_spec", "bad_ct"])
def test_cannot_run_exits_2(tmp_path, rules, case):
    data = _study(tmp_path / "data")
    out = tmp_path / "out"
    args = {
        "missing_dir": [tmp_path / "nope"],
        "empty_dir": [(tmp_path / "empty").mkdir() or tmp_path / "empty"],
        "bad_waivers": [data, "--waivers", rules],
        "missing_define": [data, "--define", tmp_path / "define.xml"],
        "not_a_define": [data, "--define", _write(tmp_path / "x.xml", "<a><b/></a>")],
        "malformed_define": [data, "--define", _write(tmp_path / "y.xml", "<ODM><Study>")],
        "bad_rules": [data, "--rules", tmp_path / "nope.yaml"],
        "bad_fail_on": [data, "--fail-on", "fatal"],
        "unknown_spec": [data, "--spec", "SDTMIG 9.9"],
        "bad_ct": [data, "--ct", "sdtmct-1900-01-01"],
    }[case]
    assert _run(*args, "--out", out) == 2
    assert not (out / "report.json").exists()


def test_study_folder_gives_ct_created_and_waivers(tmp_path, rules, repo_root):
    from converter.mapping.study import load_study

    study_dir = repo_root / "mappings" / "msc-inr-p2"
    config = load_study(study_dir).config
    data = _study(tmp_path / "data")
    out = tmp_path / "out"
    assert _run(data, "--rules", rules, "--study", study_dir, "--out", out) == 0
    doc = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert config.study_id in doc["title"]
    assert doc["created"] == config.created.isoformat()
