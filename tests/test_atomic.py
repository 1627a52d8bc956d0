"""Atomic output (issue 6 item 5): a run killed midway (SIGKILL, SIGTERM) leaves either the
previous complete output or none, and run-status.json says the run did not finish."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_determinism import RAW, build_mini_study, tree

PARTS = ("sdtm", "adam", "define", "validation", "lineage", "results")


def visible_output(out: Path) -> dict[str, bytes]:
    """The output a user sees: the parts folders and run-report.json (not staging/status)."""
    files = tree(out) if out.exists() else {}
    return {n: d for n, d in files.items()
            if n.split("/", 1)[0] in PARTS or n == "run-report.json"}


def start_run(study: Path, raw: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "converter", "-q", "run", str(study), "--raw", str(raw),
         "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill_when_writing(proc: subprocess.Popen, out: Path, sig: int) -> bool:
    """Send ``sig`` as soon as the run has written its first staged file; True if it was
    caught midway (False if it had already finished)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        staged = [p for p in out.glob(".staging-*/**/*") if p.is_file()] if out.exists() else []
        if staged:
            proc.send_signal(sig)
            proc.wait(timeout=60)
            return True
        time.sleep(0.01)
    proc.kill()
    raise AssertionError("run never started writing")


def status(out: Path) -> dict:
    return json.loads((out / "run-status.json").read_text())


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killed_run_keeps_previous_complete_output(tmp_path, sig):
    from converter.pipeline import run_study

    study, raw = build_mini_study(tmp_path)
    out = tmp_path / "out"
    run_study(study, out, raw_dir=raw)
    before = visible_output(out)
    assert any(n.endswith(".xpt") for n in before) and status(out)["finished"] is True

    # new raw data, so a completed second run would change the output
    (raw / "dm.csv").write_text(RAW + "005,50,F,01 JAN 2015\n")
    proc = start_run(study, raw, out)
    assert kill_when_writing(proc, out, sig), "the run finished before it could be killed"
    assert visible_output(out) == before            # previous complete output, untouched
    assert status(out)["finished"] is False          # and the run log says it did not finish


def test_killed_first_run_leaves_no_output(tmp_path):
    study, raw = build_mini_study(tmp_path)
    out = tmp_path / "out"
    proc = start_run(study, raw, out)
    assert kill_when_writing(proc, out, signal.SIGKILL)
    assert visible_output(out) == {}
    assert status(out)["finished"] is False


def test_killed_run_then_rerun_completes(tmp_path):
    """After a killed run, the next run finishes and its output is complete and current."""
    from converter.pipeline import run_study

    study, raw = build_mini_study(tmp_path)
    out = tmp_path / "out"
    proc = start_run(study, raw, out)
    kill_when_writing(proc, out, signal.SIGKILL)
    run_study(study, out, raw_dir=raw)
    assert status(out)["finished"] is True
    reference = tmp_path / "reference"
    run_study(study, reference, raw_dir=raw)
    assert visible_output(out) == visible_output(reference)
    assert os.listdir(out)  # sanity


def test_failed_run_leaves_no_dataset_files(tmp_path):
    """A run that stops with an error after SDTM was staged (an ADaM configuration mistake)
    leaves no dataset anywhere under OUT, and says it did not finish."""
    from converter.errors import ConverterError
    from converter.pipeline import run_study

    study, raw = build_mini_study(tmp_path)
    (study / "adam" / "adsl.yaml").write_text(
        "kind: adsl\ndataset: ADSL\nsource: DM\nkeep: [STUDYID, USUBJID]\n"
        "treatment: {planned: NOPE, actual: NOPE}\n")
    out = tmp_path / "out"
    with pytest.raises(ConverterError):
        run_study(study, out, raw_dir=raw)
    leftovers = [n for n in tree(out) if n != "run-status.json"]
    assert leftovers == [], leftovers
    assert status(out)["finished"] is False
