"""Engine gaps closed for the seed studies: raw_dir outside the study folder, helper
variables (keep: false), stacking several sources into one domain, joins before the steps,
per-source reconciliation with rejected sources, SV from collection dates, TS null flavours
and numbers inside conditional. Each test builds a tiny study in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from converter.errors import ConfigError
from converter.issues import IssueLog
from converter.mapping.engine import run_sdtm
from converter.mapping.study import load_study
from converter.model import SRC_FILE, SRC_ROW

HEAD = """\
study_id: G1
study_name: Gap test
ct_package: sdtmct-2015-12-18
created: "2026-01-01T00:00:00"
"""

DM_STEPS = """\
  - {target: STUDYID, algorithm: hardcode, value: G1}
  - {target: USUBJID, algorithm: concat, parts: [{value: G1}, {column: SUBJ}], separator: "-"}
"""


def make(tmp_path: Path, sources: str, domains: dict[str, str], raw: dict[str, str],
         extra: str = "") -> tuple[Path, Path]:
    """A study folder g1/ (study.yaml + sdtm/*.yaml) and a raw folder with CSV files."""
    root = tmp_path / "g1"
    (root / "sdtm").mkdir(parents=True)
    (root / "study.yaml").write_text(HEAD + "sources:\n" + sources + extra)
    for name, text in domains.items():
        (root / "sdtm" / f"{name.lower()}.yaml").write_text(text)
    raw_dir = tmp_path / "raw"
    raw_dir.mkdir()
    for name, text in raw.items():
        (raw_dir / name).write_text(text)
    return root, raw_dir


def run(root: Path, raw_dir: Path) -> tuple:
    issues = IssueLog()
    return run_sdtm(load_study(root), raw_dir, issues).plain(), issues.to_frame()


# ---------------------------------------------------------------- raw_dir outside the study


def test_01_raw_dir_may_lie_outside_the_study_folder(tmp_path):
    root, raw = make(tmp_path, "  dm: {file: dm.csv}\n",
                     {"DM": "domain: DM\nsources: [dm]\nsteps:\n" + DM_STEPS},
                     {"dm.csv": "SUBJ\n001\n"}, extra="raw_dir: ../raw\n")
    study = load_study(root)
    assert study.raw_dir == raw.resolve()
    res = run_sdtm(study, study.raw_dir, IssueLog())
    assert res.frames["DM"]["USUBJID"].tolist() == ["G1-001"]


def test_02_source_files_stay_confined_to_the_raw_folder(tmp_path):
    root, _ = make(tmp_path, "  dm: {file: ../../etc/passwd}\n",
                     {"DM": "domain: DM\nsources: [dm]\nsteps:\n" + DM_STEPS},
                     {}, extra="raw_dir: ../raw\n")
    with pytest.raises(ConfigError, match="leaves the study folder|leaves"):
        load_study(root)


# ---------------------------------------------------------------- helper variables


HELPER_DM = """\
domain: DM
sources: [dm, ds]
steps:
""" + DM_STEPS + """\
  - {target: _REAS, algorithm: lookup, from_source: ds, by: {SUBJ: SUBJ}, value: REAS,
     keep: false}
  - target: ARMNRS
    algorithm: conditional
    rules:
      - when: {variable: _REAS, equals: Screen failure}
        then: {algorithm: hardcode, value: SCREEN FAILURE}
  - {target: XTRA, algorithm: assign, source: XTRA}
  - target: SUPPDM
    algorithm: supp
    qualifiers: [{variable: XTRA, label: Extra}]
"""


def test_03_helper_variable_read_later_then_dropped(tmp_path):
    root, raw = make(tmp_path, "  dm: {file: dm.csv}\n  ds: {file: ds.csv}\n",
                     {"DM": HELPER_DM},
                     {"dm.csv": "SUBJ,XTRA\n001,a\n002,b\n",
                      "ds.csv": "SUBJ,REAS\n001,Screen failure\n002,Completed\n"})
    res, _ = run(root, raw)
    dm = res.frames["DM"]
    assert "_REAS" not in dm.columns
    assert dm["ARMNRS"].tolist() == ["SCREEN FAILURE", None]
    assert "_REAS" not in res.origins["DM"] and "ARMNRS" in res.origins["DM"]
    assert set(res.frames["SUPPDM"]["QNAM"]) == {"XTRA"}


def test_04_helper_cannot_be_a_supp_qualifier(tmp_path):
    dm = HELPER_DM.replace("_REAS", "HREAS").replace("{variable: XTRA, label: Extra}",
                                                     "{variable: HREAS, label: R}")
    root, _ = make(tmp_path, "  dm: {file: dm.csv}\n  ds: {file: ds.csv}\n", {"DM": dm}, {})
    with pytest.raises(ConfigError, match="helper"):
        load_study(root)


# ---------------------------------------------------------------- stacking


DS_STACK = """\
domain: DS
sources: [ds, ic, rand]
stack: [ic, rand]
steps:
""" + DM_STEPS.replace("G1-", "G1-") + """\
  - target: DSDECOD
    algorithm: conditional
    rules:
      - when: {source: ic}
        then: {algorithm: hardcode, value: INFORMED CONSENT OBTAINED}
      - when: {source: rand}
        then: {algorithm: hardcode, value: RANDOMIZED}
    else: {algorithm: assign, source: REAS, case: upper}
  - target: DSSTDTC
    algorithm: conditional
    rules:
      - when: {source: ic}
        then: {algorithm: iso_datetime, date: ICDAT, date_formats: [YYYY-MM-DD]}
    else: {algorithm: iso_datetime, date: DAT, date_formats: [YYYY-MM-DD]}
  - {target: DSSEQ, algorithm: seq, order: [DSSTDTC]}
"""
STACK_SOURCES = "  ds: {file: ds.csv}\n  ic: {file: ic.csv}\n  rand: {file: rand.csv}\n"
STACK_RAW = {"ds.csv": "SUBJ,REAS,DAT\n001,Completed,2020-03-01\n",
             "ic.csv": "SUBJ,ICDAT\n001,2020-01-01\n002,2020-01-02\n",
             "rand.csv": "SUBJ,DAT\n001,2020-01-10\n"}


def test_05_stacked_sources_give_records_with_their_own_provenance(tmp_path):
    root, raw = make(tmp_path, STACK_SOURCES, {"DS": DS_STACK}, STACK_RAW)
    res, issues = run(root, raw)
    ds = res.frames["DS"].sort_values([SRC_FILE, SRC_ROW])
    assert list(zip(ds[SRC_FILE], ds[SRC_ROW], ds["DSDECOD"], ds["DSSTDTC"])) == [
        ("ds.csv", "1", "COMPLETED", "2020-03-01"),
        ("ic.csv", "1", "INFORMED CONSENT OBTAINED", "2020-01-01"),
        ("ic.csv", "2", "INFORMED CONSENT OBTAINED", "2020-01-02"),
        ("rand.csv", "1", "RANDOMIZED", "2020-01-10")]
    assert len(issues) == 0
    rec = res.reconciliation.set_index("source_file")
    for file, n in (("ds.csv", 1), ("ic.csv", 2), ("rand.csv", 1)):
        assert (rec.loc[file, "raw_records"], rec.loc[file, "mapped"]) == (n, n)


def test_06_source_condition_must_name_a_record_source(tmp_path):
    root, _ = make(tmp_path, STACK_SOURCES,
                   {"DS": DS_STACK.replace("stack: [ic, rand]", "stack: [ic]")}, {})
    with pytest.raises(ConfigError, match="condition on source 'rand'"):
        load_study(root)


def test_07_stacked_column_missing_everywhere_is_a_config_error(tmp_path):
    root, raw = make(tmp_path, STACK_SOURCES, {"DS": DS_STACK.replace("ICDAT", "ICDATE")},
                     STACK_RAW)
    with pytest.raises(ConfigError, match="column 'ICDATE' is not in ds.csv / ic.csv"):
        run(root, raw)


# ---------------------------------------------------------------- joins


DM_JOIN = """\
domain: DM
sources: [dm, ic, rand, randlist]
join:
  - {source: ic, by: {SUBJ: SUBJ}, columns: [ICDAT]}
  - {source: rand, by: {SUBJ: SUBJ}, columns: [RANDNO]}
  - {source: randlist, by: {RANDNO: RAND_NO}, columns: {TRT: ARMCODE}}
steps:
""" + DM_STEPS + """\
  - {target: RFICDTC, algorithm: iso_datetime, date: ICDAT, date_formats: [DD MON YYYY]}
  - {target: ARMCD, algorithm: assign, source: ARMCODE}
"""
JOIN_SOURCES = ("  dm: {file: dm.csv}\n  ic: {file: ic.csv}\n  rand: {file: rand.csv}\n"
                "  randlist: {file: list.csv}\n")
JOIN_RAW = {"dm.csv": "SUBJ\n001\n002\n003\n",
            "ic.csv": "SUBJ,ICDAT\n001,01 JAN 2020\n002,02 JAN 2020\n002,03 JAN 2020\n",
            "rand.csv": "SUBJ,RANDNO\n001,R7\n003,R9\n",
            "list.csv": "RAND_NO,TRT\nR7,PBO\nR9,MSC\n"}


def test_08_multi_hop_joins_feed_raw_column_steps(tmp_path):
    root, raw = make(tmp_path, JOIN_SOURCES, {"DM": DM_JOIN}, JOIN_RAW)
    res, issues = run(root, raw)
    dm = res.frames["DM"]
    assert dm["RFICDTC"].tolist() == ["2020-01-01", None, None]
    assert dm["ARMCD"].tolist() == ["PBO", None, "MSC"]
    assert dm[SRC_FILE].eq("dm.csv").all() and "ICDAT" not in dm.columns
    # subject 002 has two consent records: one-to-many is an error, never a silent pick
    dup = issues[issues["rule_id"] == "MAP.DUPKEY"]
    assert dup[["source_file", "source_row", "value"]].values.tolist() == [["dm.csv", "2", "002"]]
    rec = res.reconciliation.set_index("source_file")
    assert rec.loc["ic.csv", "mapped"] == 0 and "lookups/joins" in rec.loc["ic.csv", "reason"]


def test_09_join_first_takes_the_first_record(tmp_path):
    dm = DM_JOIN.replace("columns: [ICDAT]}", "columns: [ICDAT], multiple: first}")
    root, raw = make(tmp_path, JOIN_SOURCES, {"DM": dm}, JOIN_RAW)
    res, issues = run(root, raw)
    assert res.frames["DM"]["RFICDTC"].tolist() == ["2020-01-01", "2020-01-02", None]
    assert not (issues["rule_id"] == "MAP.DUPKEY").any() if len(issues) else True


@pytest.mark.parametrize(("old", "new", "message"), [
    ("columns: {TRT: ARMCODE}", "columns: {TREAT: ARMCODE}", "column 'TREAT' is not in list.csv"),
    ("by: {RANDNO: RAND_NO}", "by: {RANDNUM: RAND_NO}", "join key column 'RANDNUM'"),
    ("columns: [RANDNO]", "columns: [SUBJ]", "joined column 'SUBJ' is already a column"),
])
def test_10_join_columns_checked_against_headers_before_mapping(tmp_path, old, new, message):
    root, raw = make(tmp_path, JOIN_SOURCES, {"DM": DM_JOIN.replace(old, new)}, JOIN_RAW)
    with pytest.raises(ConfigError, match=message):
        run(root, raw)


def test_11_joined_source_must_be_a_domain_source(tmp_path):
    dm = DM_JOIN.replace("sources: [dm, ic, rand, randlist]", "sources: [dm, ic, rand]")
    root, _ = make(tmp_path, JOIN_SOURCES, {"DM": dm}, {})
    with pytest.raises(ConfigError, match="joined source 'randlist' is not among"):
        load_study(root)


# ---------------------------------------------------------------- SV from collection dates


SV_EXTRA = """\
trial_design:
  visits:
    - {visitnum: 1, visit: SCREENING}
    - {visitnum: 2, visit: WEEK 1}
"""
VS_SV = """\
domain: VS
sources: [vs]
steps:
""" + DM_STEPS + """\
  - {target: VSDTC, algorithm: iso_datetime, date: DATE, date_formats: [YYYY-MM-DD, YYYY-MM]}
  - {target: VISITNUM, algorithm: visit, source: VISIT, date: VSDTC}
  - {target: VISIT, algorithm: visit, source: VISIT, value: name}
"""
MH_SV = """\
domain: MH
sources: [mh]
steps:
""" + DM_STEPS + """\
  - {target: MHSTDTC, algorithm: iso_datetime, date: START, date_formats: [YYYY-MM-DD, YYYY-MM]}
  - {target: VISITNUM, algorithm: visit, source: VISIT}
"""


def test_16_sv_from_collection_dates_only_ignoring_partial_dates(tmp_path):
    root, raw = make(
        tmp_path, "  vs: {file: vs.csv}\n  mh: {file: mh.csv}\n",
        {"VS": VS_SV, "MH": MH_SV, "SV": "domain: SV\nbuild: sv\n"},
        {"vs.csv": "SUBJ,VISIT,DATE\n001,Screening,2020-01-05\n001,Screening,2020-01\n"
                   "001,Week 1,2020-01\n",
         "mh.csv": "SUBJ,VISIT,START\n001,Screening,2019-06-01\n001,Screening,2006-08\n"},
        extra=SV_EXTRA)
    res, _ = run(root, raw)
    sv = res.frames["SV"]
    assert sv[["VISITNUM", "SVSTDTC", "SVENDTC"]].values.tolist() == [
        [1.0, "2020-01-05", "2020-01-05"], [2.0, None, None]]
    assert not sv[SRC_FILE].str.contains("mh.csv").any()


# ---------------------------------------------------------------- TS null flavours


TS_EXTRA = """\
trial_design:
  ts:
    - {parmcd: SSTDTC, value: "2020-01-01"}
    - {parmcd: AGEMAX, valnf: PINF}
"""


def test_17_ts_parameter_without_value_has_a_null_flavour(tmp_path):
    root, raw = make(tmp_path, "  dm: {file: dm.csv}\n",
                     {"DM": "domain: DM\nsources: [dm]\nsteps:\n" + DM_STEPS,
                      "TS": "domain: TS\nbuild: ts\n"},
                     {"dm.csv": "SUBJ\n001\n"}, extra=TS_EXTRA)
    res, issues = run(root, raw)
    ts = res.frames["TS"].set_index("TSPARMCD")
    assert ts.loc["AGEMAX", ["TSVAL", "TSVALNF"]].tolist() == [None, "PINF"]
    assert ts.loc["SSTDTC", ["TSVAL", "TSVALNF"]].tolist() == ["2020-01-01", None]
    ts_issues = issues[issues["rule_id"] == "MAP.TS"]["value"].tolist()
    assert "AGEMAX" not in ts_issues and "TITLE" in ts_issues


@pytest.mark.parametrize(("param", "message"), [
    ("{parmcd: AGEMAX, valnf: INFINITE}", "not an ISO 21090 null flavour"),
    ("{parmcd: AGEMAX, value: '65', valnf: NA}", "exactly one of 'value' or 'valnf'"),
    ("{parmcd: AGEMAX}", "exactly one of 'value' or 'valnf'"),
])
def test_18_ts_null_flavour_validated(tmp_path, param, message):
    root, _ = make(tmp_path, "  dm: {file: dm.csv}\n",
                   {"DM": "domain: DM\nsources: [dm]\nsteps:\n" + DM_STEPS},
                   {}, extra=TS_EXTRA.replace("{parmcd: AGEMAX, valnf: PINF}", param))
    with pytest.raises(ConfigError, match=message):
        load_study(root)


# ---------------------------------------------------------------- numbers inside conditional


LB_COND = """\
domain: LB
sources: [lb]
steps:
""" + DM_STEPS + """\
  - target: LBSTRESN
    algorithm: conditional
    rules:
      - when: {column: RES, matches: "^[0-9.]+$"}
        then: {algorithm: assign_numeric, source: RES}
  - target: LBSTRESC
    algorithm: conditional
    rules:
      - when: {column: RES, matches: "^[0-9.]+$"}
        then: {algorithm: assign_numeric, source: RES}
    else: {algorithm: assign, source: RES}
"""


def test_19_numbers_inside_conditional_are_numbers_or_text_never_mixed(tmp_path):
    root, raw = make(tmp_path, "  lb: {file: lb.csv}\n", {"LB": LB_COND},
                     {"lb.csv": "SUBJ,RES\n001,12.50\n001,<50\n001,\n001,3\n"})
    res, issues = run(root, raw)
    lb = res.frames["LB"]
    assert lb["LBSTRESN"].dtype == "float64"
    assert lb["LBSTRESN"].isna().tolist() == [False, True, True, False]
    assert lb["LBSTRESN"].dropna().tolist() == [12.5, 3.0]
    assert lb["LBSTRESC"].tolist() == ["12.5", "<50", None, "3"]
    assert not (issues["rule_id"] == "MAP.LEN200").any() if len(issues) else True


def test_20_length_check_measures_numbers_in_text_columns():
    from converter.mapping.fast import utf8_lengths
    lengths = utf8_lengths(pd.Series(["ab", 1.5, None, "é"], dtype=object))
    assert lengths.tolist() == [2, 3, 0, 2]


def test_21_stacked_then_transposed_records_keep_their_source(tmp_path):
    vs = """\
domain: VS
sources: [vs, vs2]
stack: [vs2]
transpose:
  columns: {SYS: SYSBP, DIA: DIABP}
  keep: [SUBJ]
  name_column: TESTCD
  value_column: RES
steps:
""" + DM_STEPS + """\
  - {target: VSTESTCD, algorithm: assign, source: TESTCD}
  - target: VSCAT
    algorithm: conditional
    rules: [{when: {source: vs2}, then: {algorithm: hardcode, value: UNSCHEDULED}}]
"""
    root, raw = make(tmp_path, "  vs: {file: vs.csv}\n  vs2: {file: vs2.csv}\n", {"VS": vs},
                     {"vs.csv": "SUBJ,SYS,DIA\n001,120,80\n", "vs2.csv": "SUBJ,SYS\n001,130\n"})
    res, _ = run(root, raw)
    out = res.frames["VS"]
    assert list(zip(out[SRC_FILE], out["VSTESTCD"], out["VSCAT"])) == [
        ("vs.csv", "SYSBP", None), ("vs.csv", "DIABP", None), ("vs2.csv", "SYSBP", "UNSCHEDULED")]


# ---------------------------------------------------------------- reconciliation per source


ODM = """<?xml version="1.0" encoding="UTF-8"?>
<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" FileOID="F" FileType="Snapshot"
     CreationDateTime="2026-01-01T00:00:00" ODMVersion="1.3.2">
 <Study OID="S"><GlobalVariables><StudyName>S</StudyName><StudyDescription>S</StudyDescription>
  <ProtocolName>S</ProtocolName></GlobalVariables>
  <MetaDataVersion OID="M" Name="M">
   <Protocol><StudyEventRef StudyEventOID="SE.SCR" Mandatory="Yes"/></Protocol>
   <StudyEventDef OID="SE.SCR" Name="Screening" Repeating="No" Type="Scheduled">
    <FormRef FormOID="F.DM" Mandatory="Yes"/></StudyEventDef>
   <FormDef OID="F.DM" Name="DM" Repeating="No">
    <ItemGroupRef ItemGroupOID="IG.DM" Mandatory="Yes"/>
    <ItemGroupRef ItemGroupOID="IG.IC" Mandatory="Yes"/></FormDef>
   <ItemGroupDef OID="IG.DM" Name="DM" Repeating="No">
    <ItemRef ItemOID="I.SEX" Mandatory="No"/></ItemGroupDef>
   <ItemGroupDef OID="IG.IC" Name="IC" Repeating="No">
    <ItemRef ItemOID="I.ICDAT" Mandatory="No"/></ItemGroupDef>
   <ItemDef OID="I.SEX" Name="Sex" DataType="text"/>
   <ItemDef OID="I.ICDAT" Name="Consent" DataType="date"/>
  </MetaDataVersion></Study>
 <ClinicalData StudyOID="S" MetaDataVersionOID="M">
  <SubjectData SubjectKey="001"><StudyEventData StudyEventOID="SE.SCR"><FormData FormOID="F.DM">
   <ItemGroupData ItemGroupOID="IG.DM"><ItemData ItemOID="I.SEX" Value="F"/></ItemGroupData>
   <ItemGroupData ItemGroupOID="IG.IC"><ItemData ItemOID="I.ICDAT" Value="2020-01-01"/>
   </ItemGroupData>
  </FormData></StudyEventData></SubjectData>
  <SubjectData SubjectKey="002"><StudyEventData StudyEventOID="SE.SCR"><FormData FormOID="F.DM">
   <ItemGroupData ItemGroupOID="IG.DM"><ItemData ItemOID="I.SEX" Value="M"/></ItemGroupData>
   <ItemGroupData ItemGroupOID="IG.IC"><ItemData ItemOID="I.ICDAT" Value="2020-01-02"/>
   </ItemGroupData>
  </FormData></StudyEventData></SubjectData>
 </ClinicalData>
</ODM>
"""
ODM_DM = """\
domain: DM
sources: [dm]
steps:
  - {target: USUBJID, algorithm: concat, parts: [{value: S}, {column: SubjectKey}],
     separator: "-"}
  - {target: SEX, algorithm: assign_ct, source: I.SEX, codelist: SEX}
"""
ODM_SOURCES = "  dm: {file: study.xml, item_group: IG.DM}\n  ic: {file: study.xml, item_group: IG.IC"


def test_12_declared_source_read_by_no_domain_is_a_config_error(tmp_path):
    root, _ = make(tmp_path, ODM_SOURCES + "}\n", {"DM": ODM_DM}, {})
    with pytest.raises(ConfigError) as info:
        load_study(root)
    line = info.value.one_line()
    assert "g1/study.yaml:7" in line and "source 'ic' is read by no domain" in line
    assert "reject: <reason>" in line


def test_13_rejected_source_counted_per_item_group(tmp_path):
    root, raw = make(tmp_path, ODM_SOURCES + ", reject: consent is mapped elsewhere}\n",
                     {"DM": ODM_DM}, {"study.xml": ODM})
    res, _ = run(root, raw)
    rec = res.reconciliation.set_index("source")
    assert rec.loc["dm", ["source_file", "item_group", "raw_records", "mapped", "rejected"]
                   ].tolist() == ["study.xml", "IG.DM", 2, 2, 0]
    assert rec.loc["ic", ["item_group", "raw_records", "mapped", "rejected"]].tolist() == [
        "IG.IC", 2, 0, 2]
    assert rec.loc["ic", "reason"] == "2 source rejected: consent is mapped elsewhere"


def test_14_rejected_source_cannot_be_mapped(tmp_path):
    dm = ODM_DM.replace("sources: [dm]", "sources: [dm, ic]\nstack: [ic]")
    root, _ = make(tmp_path, ODM_SOURCES + ", reject: not needed}\n", {"DM": dm}, {})
    with pytest.raises(ConfigError, match="source 'ic' is declared rejected but DM maps"):
        load_study(root)


def test_15_every_record_of_every_source_accounted_for(tmp_path):
    root, raw = make(tmp_path, STACK_SOURCES + "  extra: {file: extra.csv, reject: duplicate}\n",
                     {"DS": DS_STACK.replace("steps:", "filter: {column: SUBJ, not_equals: '002'}"
                                             "\nsteps:")},
                     {**STACK_RAW, "extra.csv": "A\n1\n2\n3\n"})
    res, _ = run(root, raw)
    rec = res.reconciliation.set_index("source")
    assert (rec["mapped"] + rec["rejected"] == rec["raw_records"]).all()
    assert rec["raw_records"].to_dict() == {"ds": 1, "ic": 2, "rand": 1, "extra": 3}
    assert rec.loc["ic", "rejected"] == 1 and "SUBJ ≠ 002" in rec.loc["ic", "reason"]
    assert rec.loc["extra", "reason"] == "3 source rejected: duplicate"


# ---------------------------------------------------------------- numeric comparisons


def test_22_numeric_comparisons_in_conditions(tmp_path):
    ex = """\
domain: EX
sources: [ex]
filter: {column: DOSE, ge: -100}
steps:
""" + DM_STEPS + """\
  - {target: EXDOSE, algorithm: assign_numeric, source: DOSE}
  - target: EXTRT
    algorithm: conditional
    rules:
      - when: {variable: EXDOSE, le: 0}
        then: {algorithm: hardcode, value: PLACEBO}
      - when: {column: DOSE, gt: "0.5"}
        then: {algorithm: hardcode, value: MSC}
"""
    root, raw = make(tmp_path, "  ex: {file: ex.csv}\n", {"EX": ex},
                     {"ex.csv": "SUBJ,DOSE\n001,0\n002, 1.5 \n003,0.5\n004,ND\n005,-200\n"})
    res, _ = run(root, raw)
    out = res.frames["EX"]
    assert list(zip(out["USUBJID"], out["EXTRT"])) == [
        ("G1-001", "PLACEBO"), ("G1-002", "MSC"), ("G1-003", None)]
    rec = res.reconciliation.set_index("source_file")
    assert rec.loc["ex.csv", "rejected"] == 2 and "DOSE ≥ -100" in rec.loc["ex.csv", "reason"]
