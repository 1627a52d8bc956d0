"""Bad input through the command line (issue 6 item 1): exit code 2, one located line on stderr,
no traceback, and no partial output (no dataset or report file anywhere under OUT)."""

from __future__ import annotations

import json
import re

import openpyxl
import pytest

from converter.cli import main

STUDY = """\
study_id: MINI
study_name: Mini study
ct_package: sdtmct-2015-12-18
created: "2026-01-01T00:00:00"
sources:
  dm:
    file: {file}
{extra}"""
DM = """\
domain: DM
sources: [dm]
steps:
  - {target: STUDYID, algorithm: hardcode, value: MINI}
  - {target: DOMAIN, algorithm: hardcode, value: DM}
  - target: USUBJID
    algorithm: concat
    parts: [{value: "MINI"}, {column: SUBJ}]
    separator: "-"
  - {target: SUBJID, algorithm: assign, source: SUBJ}
"""
ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
OUTPUT_SUFFIXES = {".xpt", ".json", ".ndjson", ".dsjc", ".xml", ".xlsx", ".html", ".csv", ".png"}


def xlsx_bytes(tmp_path, rows) -> bytes:
    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(r)
    p = tmp_path / "tmp.xlsx"
    wb.save(p)
    return p.read_bytes()


def odm_bytes(ns: str = ODM_NS) -> bytes:
    return (f'<ODM xmlns="{ns}"><ClinicalData StudyOID="S" MetaDataVersionOID="M"><SubjectData '
            f'SubjectKey="1"><StudyEventData StudyEventOID="SE"><FormData FormOID="F">'
            f'<ItemGroupData ItemGroupOID="IG.DM"><ItemData ItemOID="SUBJ" Value="1"/>'
            f"</ItemGroupData></FormData></StudyEventData></SubjectData></ClinicalData></ODM>"
            ).encode()


CASES = [
    # id, raw file name, bytes (or callable(tmp_path)), extra study.yaml text, message regex
    ("truncated", "dm.csv", b'SUBJ,AGE\n1,"3', "", r"dm.csv:2: .*never closed"),
    ("ragged", "dm.csv", b"SUBJ,AGE\n1,2,3\n", "", r"dm.csv:2: row has 3 fields"),
    ("wrong-delimiter", "dm.csv", b"SUBJ;AGE\n1;2\n", "", r"dm.csv:1: .*semicolon-delimited"),
    ("undecodable", "dm.csv", b"SUBJ\n\x81\xe9\xc3\n", "", r"dm.csv:2: undecodable byte"),
    ("duplicate-columns", "dm.csv", b"SUBJ,SUBJ\n1,2\n", "", r"dm.csv:1, key 'SUBJ': duplicate"),
    ("empty", "dm.csv", b"", "", r"dm.csv:1: file is empty"),
    ("markup-like-header", "dm.csv", b"SUBJ,[/x],[/x]\n1,2,3\n", "",
     r"dm.csv:1, key '\[/x\]': duplicate column name '\[/x\]'"),
    ("xlsx-formula", "dm.xlsx", lambda t: xlsx_bytes(t, [["SUBJ"], ["=1+1"]]), "",
     r"dm.xlsx\[Sheet\]:2, key 'A2': cell A2 holds a formula"),
    ("odm-wrong-namespace", "dm.xml", lambda t: odm_bytes("urn:not-odm"),
     "    item_group: IG.DM\n", r"dm.xml:1: root element is 'ODM' in urn:not-odm"),
    ("odm-malformed", "dm.xml", lambda t: odm_bytes()[:-30], "    item_group: IG.DM\n",
     r"dm.xml:1: malformed XML"),
    ("missing-file", "absent.csv", None, "", r"absent.csv: raw file not found"),
    ("path-escape", "../../etc/passwd", None, "", r"study.yaml:\d+.*leaves the study folder"),
    ("yaml-unknown-key", "dm.csv", b"SUBJ\n1\n", "stuudy: x\n", r"study.yaml:8, key 'stuudy'"),
]


@pytest.mark.parametrize("case, name, data, extra, message", CASES, ids=[c[0] for c in CASES])
def test_bad_input_exits_2_with_one_located_line(tmp_path, capsys, case, name, data, extra,
                                                  message):
    study = tmp_path / "mini"
    (study / "sdtm").mkdir(parents=True)
    raw = tmp_path / "raw"
    raw.mkdir()
    (study / "study.yaml").write_text(STUDY.format(file=name, extra=extra))
    (study / "sdtm" / "dm.yaml").write_text(DM)
    if data is not None:
        (raw / name).write_bytes(data(tmp_path) if callable(data) else data)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as info:
        main(["run", str(study), "--raw", str(raw), "--out", str(out)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert re.search(message, lines[0]), lines[0]
    status = out / "run-status.json"
    produced = [p for p in out.rglob("*")
                if p.is_file() and p.suffix in OUTPUT_SUFFIXES and p != status]
    assert produced == [], produced
    if status.exists():                       # the run log says the run did not finish
        assert json.loads(status.read_text())["finished"] is False
