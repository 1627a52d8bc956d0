"""Determinism (issue 6 item 4): the same input gives byte-identical output — XPT, Dataset-JSON,
define.xml, JSON/XLSX/HTML reports, lineage — even when the second run happens in another folder,
another time zone, with another hash seed and another locale."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

STUDY = """\
study_id: MINI
study_name: Mini study for robustness tests
ct_package: sdtmct-2015-12-18
adam_ct_package: adamct-2026-03-27
created: "2026-01-01T00:00:00"
sources:
  dm:
    file: dm.csv
"""
DM = """\
domain: DM
sources: [dm]
unique: [USUBJID]
steps:
  - {target: STUDYID, algorithm: hardcode, value: MINI}
  - {target: DOMAIN, algorithm: hardcode, value: DM}
  - target: USUBJID
    algorithm: concat
    parts: [{value: "MINI"}, {column: SUBJ}]
    separator: "-"
  - {target: SUBJID, algorithm: assign, source: SUBJ}
  - {target: SITEID, algorithm: hardcode, value: "01"}
  - {target: AGE, algorithm: assign_numeric, source: AGE}
  - {target: AGEU, algorithm: hardcode, value: YEARS}
  - {target: SEX, algorithm: assign_ct, source: SEX, codelist: SEX}
  - {target: RFICDTC, algorithm: iso_datetime, date: ICDAT, date_formats: [DD MON YYYY]}
  - {target: ARMCD, algorithm: hardcode, value: PBO}
  - {target: ARM, algorithm: hardcode, value: Placebo}
  - {target: ACTARMCD, algorithm: hardcode, value: PBO}
  - {target: ACTARM, algorithm: hardcode, value: Placebo}
"""
ADSL = """\
kind: adsl
dataset: ADSL
source: DM
keep: [STUDYID, USUBJID, SUBJID, SITEID, AGE, AGEU, SEX, ARM, ACTARM]
treatment:
  planned: ARM
  actual: ACTARM
"""
RAW = ("SUBJ,AGE,SEX,ICDAT\n"
       "001,34,M,05 FEB 2014\n"
       "002,<50,F,31 FEB 2014\n"       # a bad number and a bad date: issues in the reports
       "003,61,X,UNK UNK 2014\n"
       "004,45,F,12 MAR 2014\n")


def build_mini_study(root: Path, raw_text: str = RAW) -> tuple[Path, Path]:
    """A complete tiny study (DM → ADSL) and its raw folder under ``root``."""
    study = root / "mini"
    (study / "sdtm").mkdir(parents=True)
    (study / "adam").mkdir()
    (study / "study.yaml").write_text(STUDY)
    (study / "sdtm" / "dm.yaml").write_text(DM)
    (study / "adam" / "adsl.yaml").write_text(ADSL)
    raw = root / "raw"
    raw.mkdir()
    (raw / "dm.csv").write_text(raw_text)
    return study, raw


def run_cli(study: Path, raw: Path, out: Path, *, env: dict | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "converter", "-q", "run", str(study), "--raw", str(raw),
         "--out", str(out)],
        check=False, capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_two_runs_are_byte_identical(tmp_path):
    from converter.pipeline import run_study

    study_a, raw_a = build_mini_study(tmp_path / "a")
    out_a = tmp_path / "a" / "out"
    run_study(study_a, out_a, raw_dir=raw_a)

    # second run: other folders, other time zone, hash seed and locale, via the CLI
    other = tmp_path / "elsewhere" / "deeper"
    study_b, raw_b = build_mini_study(other)
    env = {**os.environ, "TZ": "Pacific/Kiritimati", "PYTHONHASHSEED": "12345",
           "LC_ALL": "C", "LANG": "C"}
    done = run_cli(study_b, raw_b, other / "result", env=env, cwd=other)
    assert done.returncode == 0, done.stderr

    a, b = tree(out_a), tree(other / "result")
    assert sorted(a) == sorted(b)
    different = [name for name in a if a[name] != b[name]]
    assert different == [], different
    kinds = {Path(n).suffix for n in a}
    assert {".xpt", ".json", ".xml", ".xlsx", ".html", ".csv"} <= kinds, kinds
    assert any(n.startswith("define/") and n.endswith(".xml") for n in a)
    assert "validation/report.json" in a and "validation/report.xlsx" in a


def test_outputs_name_no_machine_paths(tmp_path):
    """No output file mentions the folders it was made in (they differ between machines)."""
    from converter.pipeline import run_study

    marker = "zz-unique-folder-name"
    study, raw = build_mini_study(tmp_path / marker)
    out = tmp_path / marker / "out"
    run_study(study, out, raw_dir=raw)
    leaking = [n for n, data in tree(out).items() if marker.encode() in data]
    assert leaking == [], leaking
    shutil.rmtree(out)
