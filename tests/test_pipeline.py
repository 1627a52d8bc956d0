"""The main job end to end on the bundled ODM study: every stage's output is there, the run
says it finished, and the exit code follows --fail-on over open (non-waived) issues."""

from __future__ import annotations

import json

import pyreadstat

from converter.paths import REPO_ROOT
from converter.pipeline import run_study

STUDY = REPO_ROOT / "mappings" / "msc-inr-sd"


def test_run_writes_every_stage_and_gates_on_open_issues(tmp_path):
    out = tmp_path / "out"
    summary = run_study(STUDY, out)

    status = json.loads((out / "run-status.json").read_text())
    assert status["finished"] is True
    for domain in ("dm", "ae", "ex", "lb", "ds", "ts", "ta", "te", "tv", "ti", "sv", "se"):
        assert (out / "sdtm" / f"{domain}.xpt").is_file(), domain
        assert (out / "sdtm" / f"{domain}.json").is_file(), domain
    for dataset in ("adsl", "adlb", "adtte", "adae"):
        assert (out / "adam" / f"{dataset}.xpt").is_file(), dataset
    for name in ("sdtm-define.xml", "sdtm-define.html", "adam-define.xml", "adam-define.html"):
        assert (out / "define" / name).is_file(), name
    for name in ("report.xlsx", "report.html", "report.json", "junit.xml"):
        assert (out / "validation" / name).is_file(), name
    assert not list(out.glob(".staging-*")) and not (out / ".previous").exists()

    dm, meta = pyreadstat.read_xport(str(out / "sdtm" / "dm.xpt"))
    assert meta.table_name == "DM" and dm["USUBJID"].is_unique
    adsl, _ = pyreadstat.read_xport(str(out / "adam" / "adsl.xpt"))
    assert sorted(adsl["TRT01P"].value_counts().tolist()) == [10, 10]

    counts = summary.counts()
    report = json.loads((out / "validation" / "report.json").read_text())
    assert {s: c["open"] for s, c in counts.items()} == \
        {s: c["open"] for s, c in report["counts"].items()}
    # waived findings are counted as waived, never as open
    assert counts["error"]["open"] == 0 and counts["error"]["waived"] >= 1
    assert summary.exit_code("never") == 0
    assert summary.exit_code("error") == 0
    assert counts["warning"]["open"] > 0 and summary.exit_code("warning") == 1

    reconciliation = (out / "lineage" / "reconciliation.csv").read_text()
    assert "raw_records" in reconciliation
