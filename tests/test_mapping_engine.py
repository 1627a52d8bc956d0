"""The engine end to end on tiny studies: filter and transpose with reconciliation, SUPP--,
orphans, duplicate keys, 200-byte values, ODM sources, phases and determinism."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from converter.issues import IssueLog
from converter.mapping.engine import run_sdtm
from converter.mapping.study import load_study
from converter.model import SRC_FILE, SRC_ROW

STUDY = """\
study_id: T2
study_name: Engine test
ct_package: sdtmct-2015-12-18
created: "2026-01-01T00:00:00"
sources:
  dm: {file: dm.csv}
  vs: {file: vs.csv}
  ae: {file: ae.csv}
trial_design:
  visits:
    - {visitnum: 1, visit: SCREENING}
    - {visitnum: 2, visit: WEEK 1}
"""
DM = """\
domain: DM
sources: [dm]
unique: [USUBJID]
steps:
  - {target: STUDYID, algorithm: hardcode, value: T2}
  - {target: USUBJID, algorithm: concat, parts: [{value: T2}, {column: SUBJ}], separator: "-"}
  - {target: RFSTDTC, algorithm: ref_date, from: [{domain: VS, variable: VSDTC}], pick: first}
  - target: DTHFL
    algorithm: conditional
    rules: [{when: {variable: RFSTDTC, missing: true}, then: {algorithm: hardcode, value: "?"}}]
"""
VS = """\
domain: VS
sources: [vs]
filter: {column: DONE, equals: "Y"}
transpose:
  columns: {SYS: SYSBP, DIA: DIABP}
  keep: [SUBJ, VISIT, DATE]
  name_column: TESTCD
  value_column: RES
steps:
  - {target: STUDYID, algorithm: hardcode, value: T2}
  - {target: USUBJID, algorithm: concat, parts: [{value: T2}, {column: SUBJ}], separator: "-"}
  - {target: VSTESTCD, algorithm: assign_ct, source: TESTCD, codelist: VSTESTCD}
  - {target: VSORRES, algorithm: assign, source: RES}
  - {target: VSDTC, algorithm: iso_datetime, date: DATE, date_formats: [YYYY-MM-DD]}
  - {target: VISITNUM, algorithm: visit, source: VISIT, date: VSDTC}
  - {target: VSDY, algorithm: study_day, dtc: VSDTC}
  - {target: VSBLFL, algorithm: baseline_flag, by: [USUBJID, VSTESTCD], dtc: VSDTC,
     result: VSORRES, ref: RFSTDTC}
  - {target: VSSEQ, algorithm: seq, order: [VSDTC, VSTESTCD]}
"""
AE = """\
domain: AE
sources: [ae]
steps:
  - {target: STUDYID, algorithm: hardcode, value: T2}
  - {target: USUBJID, algorithm: concat, parts: [{value: T2}, {column: SUBJ}], separator: "-"}
  - {target: AETERM, algorithm: assign, source: TERM}
  - {target: AESEQ, algorithm: seq, order: [AETERM]}
  - {target: AETRTEM, algorithm: assign, source: TEAE}
  - target: SUPPAE
    algorithm: supp
    idvar: AESEQ
    qualifiers: [{variable: AETRTEM, label: Treatment Emergent Flag, origin: DERIVED}]
"""


def study_dir(tmp_path: Path, *, vs: str = VS, extra: dict | None = None) -> tuple[Path, Path]:
    root = tmp_path / "t2"
    (root / "sdtm").mkdir(parents=True)
    (root / "study.yaml").write_text(STUDY)
    (root / "sdtm" / "dm.yaml").write_text(DM)
    (root / "sdtm" / "vs.yaml").write_text(vs)
    (root / "sdtm" / "ae.yaml").write_text(AE)
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "dm.csv").write_text("SUBJ\n001\n002\n001\n")
    (raw / "vs.csv").write_text(
        "SUBJ,VISIT,DATE,DONE,SYS,DIA\n"
        "001,Screening,2014-01-01,Y,120,80\n"
        "001,Week 1,2014-01-08,Y,118,\n"
        "001,Unscheduled,2014-01-04,Y,,\n"
        "002,Screening,2014-02-01,N,130,85\n"
        "003,Screening,2014-03-01,Y,125,82\n")
    long = "x" * 150 + "é" * 40  # 230 bytes
    (raw / "ae.csv").write_text(f"SUBJ,TERM,TEAE\n001,Headache,Y\n001,{long},\n")
    for name, text in (extra or {}).items():
        (raw / name).write_text(text)
    return root, raw


def test_01_reconciliation_accounts_for_every_raw_record(tmp_path):
    root, raw = study_dir(tmp_path)
    res = run_sdtm(load_study(root), raw, IssueLog())
    rec = res.reconciliation.set_index("source_file")
    vs = rec.loc["vs.csv"]
    assert (vs["raw_records"], vs["mapped"], vs["rejected"]) == (5, 3, 2)
    assert "1 excluded by t2/sdtm/vs.yaml filter: DONE = Y" in vs["reason"]
    assert "1 no values to transpose" in vs["reason"]
    assert (rec["mapped"] + rec["rejected"] == rec["raw_records"]).all()


def test_02_transpose_keeps_wide_row_provenance(tmp_path):
    root, raw = study_dir(tmp_path)
    vs = run_sdtm(load_study(root), raw, IssueLog()).frames["VS"]
    assert vs[[SRC_ROW, "VSTESTCD", "VSORRES"]].values.tolist() == [
        ["1", "SYSBP", "120"], ["1", "DIABP", "80"], ["2", "SYSBP", "118"],
        ["5", "SYSBP", "125"], ["5", "DIABP", "82"]]
    assert vs[SRC_FILE].eq("vs.csv").all()


def test_03_phases_ref_dates_then_day_baseline_and_seq(tmp_path):
    root, raw = study_dir(tmp_path)
    res = run_sdtm(load_study(root), raw, IssueLog())
    dm = res.frames["DM"].set_index(SRC_ROW)
    assert dm.loc["1", "RFSTDTC"] == "2014-01-01" and dm.loc["2", "DTHFL"] == "?"
    vs = res.frames["VS"]
    s1 = vs[vs["USUBJID"] == "T2-001"]
    assert s1["VSDY"].tolist() == [1.0, 1.0, 8.0]
    assert s1["VSBLFL"].tolist() == ["Y", "Y", None]
    assert s1["VSSEQ"].tolist() == [2.0, 1.0, 3.0]  # by date, then DIABP before SYSBP


def test_04_orphans_and_duplicate_keys_are_issues_not_drops(tmp_path):
    root, raw = study_dir(tmp_path)
    issues = IssueLog()
    res = run_sdtm(load_study(root), raw, issues)
    df = issues.to_frame()
    orphan = df[df["rule_id"] == "MAP.ORPHAN"]
    assert orphan["usubjid"].unique().tolist() == ["T2-003"] and len(orphan) == 2
    dup = df[df["rule_id"] == "MAP.DUPKEY"]
    assert dup["source_row"].tolist() == ["1", "3"] and dup["dataset"].eq("DM").all()
    assert len(res.frames["DM"]) == 3  # kept, reported


def test_05_supp_split_and_long_values(tmp_path):
    root, raw = study_dir(tmp_path)
    issues = IssueLog()
    res = run_sdtm(load_study(root), raw, issues)
    ae, supp = res.frames["AE"], res.frames["SUPPAE"]
    assert "AETRTEM" not in ae
    assert len(ae["AETERM"].iloc[1].encode()) <= 200
    rows = supp[["QNAM", "IDVARVAL", "QVAL"]].values.tolist()
    assert rows[0] == ["AETRTEM", "1", "Y"]  # Headache sorts first: AESEQ 1
    assert rows[1][0] == "AETERM1" and ae["AETERM"].iloc[1] + rows[1][2] == "x" * 150 + "é" * 40
    assert supp[SRC_ROW].tolist() == ["1", "2"]
    assert res.origins["SUPPAE"]["AETRTEM"]["origin"] == "Collected"


def test_06_len200_without_supp_step_is_an_error_issue(tmp_path):
    root, raw = study_dir(tmp_path)
    (raw / "vs.csv").write_text("SUBJ,VISIT,DATE,DONE,SYS,DIA\n"
                                f"001,Screening,2014-01-01,Y,{'9' * 201},80\n")
    issues = IssueLog()
    run_sdtm(load_study(root), raw, issues)
    hit = issues.filter(["MAP.LEN200"])
    hit = hit[hit["dataset"] == "VS"]
    assert hit["variable"].tolist() == ["VSORRES"] and hit["severity"].tolist() == ["error"]


def test_07_same_input_same_frames(tmp_path):
    root, raw = study_dir(tmp_path)
    a = run_sdtm(load_study(root), raw, IssueLog())
    b = run_sdtm(load_study(root), raw, IssueLog())
    for name in a.frames:
        pd.testing.assert_frame_equal(a.frames[name], b.frames[name])


ODM = """<?xml version="1.0" encoding="UTF-8"?>
<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" FileOID="F" FileType="Snapshot"
     CreationDateTime="2026-01-01T00:00:00" ODMVersion="1.3.2">
 <Study OID="S"><GlobalVariables><StudyName>S</StudyName><StudyDescription>S</StudyDescription>
  <ProtocolName>S</ProtocolName></GlobalVariables>
  <MetaDataVersion OID="M" Name="M">
   <Protocol><StudyEventRef StudyEventOID="SE.SCR" Mandatory="Yes"/></Protocol>
   <StudyEventDef OID="SE.SCR" Name="Screening" Repeating="No" Type="Scheduled">
    <FormRef FormOID="F.DM" Mandatory="Yes"/></StudyEventDef>
   <FormDef OID="F.DM" Name="DM" Repeating="No"><ItemGroupRef ItemGroupOID="IG.DM" Mandatory="Yes"/>
   </FormDef>
   <ItemGroupDef OID="IG.DM" Name="DM" Repeating="No">
    <ItemRef ItemOID="I.SEX" Mandatory="No"/></ItemGroupDef>
   <ItemDef OID="I.SEX" Name="Sex" DataType="text"/>
  </MetaDataVersion></Study>
 <ClinicalData StudyOID="S" MetaDataVersionOID="M">
  <SubjectData SubjectKey="001"><StudyEventData StudyEventOID="SE.SCR"><FormData FormOID="F.DM">
   <ItemGroupData ItemGroupOID="IG.DM"><ItemData ItemOID="I.SEX" Value="Female"/></ItemGroupData>
  </FormData></StudyEventData></SubjectData>
 </ClinicalData>
</ODM>
"""


def test_08_odm_item_group_source(tmp_path):
    root = tmp_path / "odm"
    (root / "sdtm").mkdir(parents=True)
    (root / "study.yaml").write_text(STUDY.split("sources:")[0] + (
        "sources:\n  dm: {file: study.xml, item_group: IG.DM}\n"))
    (root / "sdtm" / "dm.yaml").write_text(
        "domain: DM\nsources: [dm]\nsteps:\n"
        "  - {target: USUBJID, algorithm: concat, parts: [{value: S}, {column: SubjectKey}],"
        " separator: '-'}\n"
        "  - {target: SEX, algorithm: assign_ct, source: I.SEX, codelist: SEX}\n")
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "study.xml").write_text(ODM)
    res = run_sdtm(load_study(root), raw, IssueLog())
    dm = res.frames["DM"]
    assert dm[["USUBJID", "SEX"]].values.tolist() == [["S-001", "F"]]
    assert dm[SRC_ROW].iloc[0].startswith("SubjectData[@SubjectKey='001']")
    assert res.reconciliation["source_file"].tolist() == ["study.xml"]


def test_09_lookup_of_dm_reference_date_runs_after_dm_phase_2(tmp_path):
    root, raw = study_dir(tmp_path)
    ae = AE.replace("  - {target: AESEQ", "  - {target: RFST, algorithm: lookup, from_domain: DM,"
                    " by: {USUBJID: USUBJID}, value: RFSTDTC, multiple: first}\n"
                    "  - {target: AESEQ")
    (root / "sdtm" / "ae.yaml").write_text(ae)
    res = run_sdtm(load_study(root), raw, IssueLog())
    assert res.frames["AE"]["RFST"].tolist() == ["2014-01-01", "2014-01-01"]
    assert res.origins["AE"]["RFST"]["source"] == "DM RFSTDTC"
