"""The shipped versions of the standards (SDTMIG 3.3/3.4, ADaMIG 1.1/1.2/1.3): every folder is
registered and covers the same datasets as its predecessor; the differences between versions are
checked against facts written down here independently of the CSV tables; one study runs end to
end on SDTMIG 3.4 and ADaMIG 1.3.

Structural checks (labels <= 40, names <= 8, keys among the variables, codelists in the shipped CT)
run for every registered standard in tests/test_specs.py::test_shipped_metadata_is_well_formed.
"""

from __future__ import annotations

import json
import re
import shutil

import pyreadstat
import pytest
from lxml import etree

from converter.define.check import check_define
from converter.metadata import load_spec
from converter.metadata.spec import SPECS_DIR, STANDARDS
from converter.paths import REPO_ROOT
from converter.pipeline import run_study

PREDECESSOR = {"SDTMIG 3.4": "SDTMIG 3.3", "ADaMIG 1.2": "ADaMIG 1.1", "ADaMIG 1.3": "ADaMIG 1.1"}


def test_every_specs_folder_is_registered_and_loads():
    folders = {p.name for p in SPECS_DIR.iterdir() if (p / "variables.csv").is_file()}
    assert folders == set(STANDARDS.values())
    for name, folder in STANDARDS.items():
        ig, version = name.split()
        assert folder == f"{ig.lower()}-{version}"
        spec = load_spec(name)
        assert spec.standard == name
        # the spellings users write in study.yaml / on the command line
        assert load_spec(folder).standard == name
        assert load_spec(name.upper().replace(" ", "-")).standard == name


@pytest.mark.parametrize("standard,previous", sorted(PREDECESSOR.items()))
def test_new_versions_cover_the_same_datasets(standard, previous):
    new, old = load_spec(standard), load_spec(previous)
    assert set(new.datasets) == set(old.datasets)
    for name, meta in new.datasets.items():
        assert meta.klass == old.datasets[name].klass, name
        assert meta.keys == old.datasets[name].keys, name


# --- SDTMIG 3.4 -------------------------------------------------------------------------------
# Source: SDTMIG v3.4 domain specification tables (CDISC Library SDTMIG v3.4 metadata and the
# SDTMIG_v3.4.pdf sections 5, 6 and 7): number of variables per domain (the "Order" column),
# and the attributes below. Written by hand from those tables, not read from specs/.
SDTMIG34_VARIABLE_COUNT = {
    "DM": 32, "SE": 13, "SV": 16, "CM": 41, "EX": 37, "AE": 60, "DS": 16, "MH": 27, "LB": 62,
    "VS": 38, "TA": 10, "TE": 7, "TV": 9, "TI": 8, "TS": 11, "RELREC": 7, "SUPPQUAL": 10,
}
# (dataset, variable): (label, core) in SDTMIG 3.4
SDTMIG34_FACTS = {
    ("LB", "LBLOBXFL"): ("Last Observation Before Exposure Flag", "Exp"),
    ("LB", "LBBLFL"): ("Baseline Flag", "Perm"),
    ("VS", "VSLOBXFL"): ("Last Observation Before Exposure Flag", "Exp"),
    ("VS", "VSBLFL"): ("Baseline Flag", "Perm"),
    ("LB", "LBTSTCND"): ("Test Condition", "Perm"),
    ("LB", "LBBDAGNT"): ("Binding Agent", "Perm"),
    ("LB", "LBTSTOPO"): ("Test Operational Objective", "Perm"),
    ("LB", "LBRESSCL"): ("Result Scale", "Perm"),
    ("LB", "LBRESTYP"): ("Result Type", "Perm"),
    ("LB", "LBCOLSRT"): ("Collected Summary Result Type", "Perm"),
    ("LB", "LBLLOD"): ("Lower Limit of Detection", "Perm"),
    ("LB", "LBSPCUFL"): ("Specimen Usability for the Test", "Perm"),
    ("LB", "LBANMETH"): ("Analysis Method", "Perm"),
    ("LB", "LBTMTHSN"): ("Test Method Sensitivity", "Perm"),
    ("LB", "LBCLSIG"): ("Clinically Significant, Collected", "Perm"),
    ("LB", "LBPTFL"): ("Point in Time Flag", "Perm"),
    ("LB", "LBPDUR"): ("Planned Duration", "Perm"),
    ("SV", "SVPRESP"): ("Pre-specified", "Exp"),
    ("SV", "SVOCCUR"): ("Occurrence", "Exp"),
    ("SV", "SVREASOC"): ("Reason for Occur Value", "Perm"),
    ("SV", "SVCNTMOD"): ("Contact Mode", "Perm"),
    ("SV", "SVEPCHGI"): ("Epi/Pandemic Related Change Indicator", "Perm"),
    ("SV", "SVSTDTC"): ("Start Date/Time of Observation", "Exp"),
    ("SV", "SVENDTC"): ("End Date/Time of Observation", "Exp"),
    ("DM", "RFCSTDTC"): ("Date/Time of First Challenge Agent Admin", "Perm"),
    ("DM", "RFCENDTC"): ("Date/Time of Last Challenge Agent Admin", "Perm"),
    ("DS", "DSSTDY"): ("Study Day of Start of Disposition Event", "Exp"),
    ("TS", "TSVALNF"): ("Parameter Value Null Flavor", "Perm"),
    ("TV", "VISIT"): ("Visit Name", "Req"),
    ("CM", "CMDUR"): ("Duration", "Perm"),
    ("CM", "CMRSDISC"): ("Reason the Intervention Was Discontinued", "Perm"),
    ("AE", "AESINTV"): ("Needs Intervention to Prevent Impairment", "Perm"),
    ("AE", "AEUNANT"): ("Unanticipated Adverse Device Effect", "Perm"),
    ("AE", "SPDEVID"): ("Sponsor Device Identifier", "Perm"),
    ("MH", "MHEVDTYP"): ("Medical History Event Date Type", "Perm"),
}
# variables of the 3.3 table that SDTMIG 3.4 no longer lists in these domains
SDTMIG34_ABSENT = {("SV", "EPOCH"), ("SV", "TAETORD"), ("MH", "MHLOC")}
SDTMIG34_ROLES = {("DM", "ACTARMUD"): "Record Qualifier", ("SV", "SVUPDES"): "Record Qualifier",
                  ("CM", "CMDOSFRQ"): "Record Qualifier", ("EX", "EXDOSRGM"): "Record Qualifier"}


def test_sdtmig34_domains_have_the_published_variable_counts():
    spec = load_spec("SDTMIG 3.4")
    assert {n: len(m.variables) for n, m in spec.datasets.items()} == SDTMIG34_VARIABLE_COUNT


def test_sdtmig34_differences_from_33():
    new, old = load_spec("SDTMIG 3.4"), load_spec("SDTMIG 3.3")
    for (ds, var), (label, core) in SDTMIG34_FACTS.items():
        meta = new.dataset(ds).variable(var)
        assert meta is not None, (ds, var)
        assert (meta.label, meta.core) == (label, core), (ds, var)
    for (ds, var), role in SDTMIG34_ROLES.items():
        assert new.dataset(ds).variable(var).role == role, (ds, var)
    for ds, var in SDTMIG34_ABSENT:
        assert new.dataset(ds).variable(var) is None and old.dataset(ds).variable(var) is not None
    # our 3.3 table still has the baseline flag as Exp and no LOBXFL (see docs/specs.md)
    assert old.dataset("LB").variable("LBBLFL").core == "Exp"
    assert old.dataset("LB").variable("LBLOBXFL") is None
    lb = new.dataset("LB").names
    assert lb.index("LBLOBXFL") + 1 == lb.index("LBBLFL")       # IG order 40, 41
    assert new.dataset("CM").label == "Concomitant/Prior Medications"
    assert new.dataset("SV").structure == "One record per actual or planned visit per subject"
    assert new.dataset("SV").variable("SVEPCHGI").codelist == "NY"
    assert new.dataset("SUPPVS").label == "Supplemental Qualifiers for VS"
    # identical where SDTMIG 3.4 did not change anything (SE, TA, TE, TI, RELREC, SUPPQUAL)
    for ds in ("SE", "TA", "TE", "TI", "RELREC", "SUPPQUAL"):
        assert [(v.name, v.label, v.core) for v in new.dataset(ds).variables] == \
            [(v.name, v.label, v.core) for v in old.dataset(ds).variables], ds


# --- ADaMIG 1.3 -------------------------------------------------------------------------------
# Source: CDISC's ADaMIG v1.3 class-variable metadata (cdisc-org/analysis-concepts,
# model/adam-ac/adam-class-variables.json, exported from the CDISC Library): label and core of
# the ADSL and BDS variables below as ADaMIG 1.3 states them.
ADAMIG13_FACTS = {
    ("ADSL", "ARM"): ("Description of Planned Arm", "Req"),
    ("ADSL", "ACTARM"): ("Description of Actual Arm", "Perm"),
    ("ADSL", "TRT01P"): ("Planned Treatment for Period 01", "Req"),
    ("ADSL", "TRT01A"): ("Actual Treatment for Period 01", "Cond"),
    ("ADSL", "AGEGR1"): ("Pooled Age Group 1", "Perm"),
    ("ADSL", "AGEGR1N"): ("Pooled Age Group 1 (N)", "Perm"),
    ("ADSL", "TRTSDT"): ("Date of First Exposure to Treatment", "Cond"),
    ("ADSL", "TRTSDTM"): ("Datetime of First Exposure to Treatment", "Cond"),
    ("ADSL", "TRTSTMF"): ("Time of First Exposure Imput. Flag", "Cond"),
    ("ADSL", "TRTEDTM"): ("Datetime of Last Exposure to Treatment", "Cond"),
    ("ADSL", "TRTETMF"): ("Time of Last Exposure Imput. Flag", "Cond"),
    ("ADSL", "EOSSTT"): ("End of Study Status", "Perm"),
    ("ADSL", "DCSREAS"): ("Reason for Discontinuation from Study", "Perm"),
    ("ADSL", "RANDDT"): ("Date of Randomization", "Cond"),
    ("ADLB", "PARAM"): ("Parameter", "Req"),
    ("ADLB", "CHG"): ("Change from Baseline", "Perm"),
    ("ADLB", "PCHG"): ("Percent Change from Baseline", "Perm"),
    ("ADLB", "ADY"): ("Analysis Relative Day", "Cond"),
    ("ADLB", "ATM"): ("Analysis Time", "Cond"),
    ("ADLB", "BASETYPE"): ("Baseline Type", "Cond"),
    ("ADLB", "ATOXGRL"): ("Analysis Toxicity Grade Low", "Perm"),
    ("ADLB", "ATOXGRH"): ("Analysis Toxicity Grade High", "Perm"),
    ("ADLB", "BTOXGRL"): ("Baseline Toxicity Grade Low", "Perm"),
    ("ADLB", "BTOXGRH"): ("Baseline Toxicity Grade High", "Perm"),
    ("ADLB", "ATOXDSCL"): ("Analysis Toxicity Description Low", "Perm"),
    ("ADLB", "ATOXDSCH"): ("Analysis Toxicity Description High", "Perm"),
    ("ADTTE", "STARTDT"): ("Time-to-Event Origin Date for Subject", "Perm"),
    ("ADTTE", "ADY"): ("Analysis Relative Day", "Cond"),
}


def test_adamig13_attributes():
    spec = load_spec("ADaMIG 1.3")
    for (ds, var), (label, core) in ADAMIG13_FACTS.items():
        meta = spec.dataset(ds).variable(var)
        assert meta is not None, (ds, var)
        assert (meta.label, meta.core) == (label, core), (ds, var)
    assert spec.dataset("ADSL").variable("EOSSTT").codelist == "SBJTSTAT"
    # the toxicity grades sit with the other range/grade variables and are character
    adlb = spec.dataset("ADLB")
    assert adlb.names.index("ATOXGRL") == adlb.names.index("BNRIND") + 1
    assert all(adlb.variable(v).type == "Char" for v in ("ATOXGRL", "BTOXGRH", "ATOXDSCH"))


# --- ADaMIG 1.2 -------------------------------------------------------------------------------
# Source: the ADaMIG v1.2 (2019, ADaM model v2.1) ADSL and BDS variable tables as transcribed in
# humanpred/cdiscdata, data-raw/ig_source/adamig_1.2/ (ADSL_Subject_Demographics_Variables.csv,
# ADSL_Treatment_Variables.csv, ADSL_Treatment_Timing_Variables.csv,
# ADSL_Subject_Level_Trial_Experience_Variables.csv, Analysis_Parameter_Variables.csv,
# Timing_Variables_BDS_Datasets.csv, Time_To_Event_Variables_BDS_Datasets.csv,
# Toxicity_Range_Variables_BDS_Datasets.csv); the toxicity grades Low/High as ADaMIG 1.2
# variables also per insightsengineering/random.cdisc.data issue #205. (label, core, codelist)
# in ADaMIG 1.2 for the cells where our 1.1 and 1.3 tables differ; AGEGRy/TRTxx in the IG table
# are instantiated as AGEGR1/TRT01. Written by hand, not read from specs/.
ADAMIG12_FACTS = {
    ("ADSL", "ACTARM"): ("Description of Actual Arm", "Perm", None),
    ("ADSL", "AGEGR1"): ("Pooled Age Group 1", "Perm", None),
    ("ADSL", "AGEGR1N"): ("Pooled Age Group 1 (N)", "Perm", None),
    ("ADSL", "TRTSDTM"): ("Datetime of First Exposure to Treatment", "Cond", None),
    ("ADSL", "TRTSTMF"): ("Time of First Exposure Imput. Flag", "Cond", "TIMEFL"),
    ("ADSL", "TRTEDTM"): ("Datetime of Last Exposure to Treatment", "Cond", None),
    ("ADSL", "TRTETMF"): ("Time of Last Exposure Imput. Flag", "Cond", "TIMEFL"),
    ("ADSL", "EOSSTT"): ("End of Study Status", "Perm", "SBJTSTAT"),
    ("ADSL", "DCSREAS"): ("Reason for Discontinuation from Study", "Perm", None),
    ("ADLB", "CHG"): ("Change from Baseline", "Perm", None),
    ("ADLB", "PCHG"): ("Percent Change from Baseline", "Perm", None),
    ("ADLB", "ADY"): ("Analysis Relative Day", "Perm", None),
    ("ADLB", "ATM"): ("Analysis Time", "Perm", None),
    ("ADLB", "ATOXGRL"): ("Analysis Toxicity Grade Low", "Perm", None),
    ("ADLB", "ATOXGRH"): ("Analysis Toxicity Grade High", "Perm", None),
    ("ADLB", "BTOXGRL"): ("Baseline Toxicity Grade Low", "Perm", None),
    ("ADLB", "BTOXGRH"): ("Baseline Toxicity Grade High", "Perm", None),
    ("ADLB", "ATOXDSCL"): ("Analysis Toxicity Description Low", "Perm", None),
    ("ADLB", "ATOXDSCH"): ("Analysis Toxicity Description High", "Perm", None),
    ("ADTTE", "ADY"): ("Analysis Relative Day", "Perm", None),
    ("ADTTE", "STARTDT"): ("Time-to-Event Origin Date for Subject", "Perm", None),
}


def test_adamig12_attributes():
    spec = load_spec("ADaMIG 1.2")
    for (ds, var), (label, core, codelist) in ADAMIG12_FACTS.items():
        meta = spec.dataset(ds).variable(var)
        assert meta is not None, (ds, var)
        assert (meta.label, meta.core, meta.codelist or None) == (label, core, codelist), (ds, var)
    adlb = spec.dataset("ADLB")
    assert adlb.names.index("ATOXGRL") == adlb.names.index("BNRIND") + 1
    assert all(adlb.variable(v).type == "Char" for v in ("ATOXGRL", "BTOXGRH", "ATOXDSCH"))


def test_adam_versions_differ_only_where_documented():
    v11, v12, v13 = (load_spec(f"ADaMIG {v}") for v in ("1.1", "1.2", "1.3"))

    def table(spec):
        return {(d, v.name): (v.label, v.type, v.core, v.codelist, v.format)
                for d, m in spec.datasets.items() for v in m.variables}
    t11, t12, t13 = table(v11), table(v12), table(v13)
    tox = {("ADLB", v) for v in ("ATOXGRL", "ATOXGRH", "BTOXGRL", "BTOXGRH", "ATOXDSCL",
                                 "ATOXDSCH")}
    changed = {k for k in t11 if t13.get(k) != t11[k]}
    added = set(t13) - set(t11)
    assert not set(t11) - set(t13)
    assert added == tox
    assert changed == {k for k in ADAMIG13_FACTS if k in t11 and ADAMIG13_FACTS[k][1] != t11[k][2]
                       } | {("ADSL", "EOSSTT")}
    # ADaMIG 1.2 against 1.1: every difference is one of the verified 1.2 facts
    assert set(t12) - set(t11) == tox and not set(t11) - set(t12)
    changed12 = {k for k in t11 if t12[k] != t11[k]}
    assert changed12 == {k for k in ADAMIG12_FACTS if k in t11 and
                         (ADAMIG12_FACTS[k][1], ADAMIG12_FACTS[k][2]) != (t11[k][2], t11[k][3])}
    # ADaMIG 1.2 against 1.3: only the cores that 1.3 made conditional (ADY, ATM)
    assert {k for k in t13 if t12[k] != t13[k]} == {("ADLB", "ADY"), ("ADLB", "ATM"),
                                                    ("ADTTE", "ADY")}
    # OCCDS (ADAE) is described by the separate OCCDS document: unchanged
    for spec in (v12, v13):
        assert [v.name for v in spec.dataset("ADAE").variables] == \
            [v.name for v in v11.dataset("ADAE").variables]


# --- end to end ---------------------------------------------------------------------------------

def test_study_runs_on_sdtmig34_and_adamig13(tmp_path, shared):
    study = tmp_path / "study"
    shutil.copytree(REPO_ROOT / "mappings" / "msc-inr-sd", study)
    cfg = study / "study.yaml"
    text = cfg.read_text(encoding="utf-8")
    raw = (REPO_ROOT / "mappings" / "msc-inr-sd" / re.search(r"raw_dir: (\S+)", text)[1]).resolve()
    text = text.replace('sdtmig_version: "3.3"', 'sdtmig_version: "3.4"')
    text = text.replace('adamig_version: "1.1"', 'adamig_version: "1.3"')
    text, n = re.subn(r'(parmcd: SDTIGVER, [^}]*value: )"3\.3"', r'\g<1>"3.4"', text)
    assert n == 1
    text = re.sub(r"raw_dir: \S+", f"raw_dir: {raw.as_posix()}", text)
    cfg.write_text(text, encoding="utf-8")
    # the study's override places MH.VISITNUM after MHLOC, which SDTMIG 3.4 MH does not list
    over = study / "specs" / "variables.csv"
    rows = over.read_text(encoding="utf-8")
    assert "MH,VISITNUM," in rows and rows.count(",MHLOC\n") == 1
    over.write_text(rows.replace(",MHLOC\n", ",MHBODSYS\n"), encoding="utf-8")

    out = tmp_path / "out"
    run_study(study, out)
    assert json.loads((out / "run-status.json").read_text())["finished"] is True

    schema = shared / "schemas" / "define-2.1" / "schema"
    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}
    for name, ig, version in (("sdtm-define.xml", "SDTMIG", "3.4"),
                              ("adam-define.xml", "ADaMIG", "1.3")):
        path = out / "define" / name
        assert check_define(path, schema) == []
        tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
        igs = [(s.get("Name"), s.get("Version"))
               for s in tree.iterfind(".//def:Standard[@Type='IG']", ns)]
        assert igs == [(ig, version)], name
        # every dataset the standard describes refers to it (IE comes from the study's override)
        std_oid = tree.find(".//def:Standard[@Type='IG']", ns).get("OID")
        spec = load_spec(f"{ig} {version}")
        groups = [g for g in tree.iterfind(".//odm:ItemGroupDef", ns) if spec.has(g.get("Name"))]
        assert len(groups) >= 4
        assert all(g.get(f"{{{ns['def']}}}StandardOID") == std_oid for g in groups)

    # dataset metadata from the new tables: SDTMIG 3.4 labels and order in SV ...
    sv, meta = pyreadstat.read_xport(str(out / "sdtm" / "sv.xpt"))
    assert meta.column_names_to_labels["SVSTDTC"] == "Start Date/Time of Observation"
    names = load_spec("SDTMIG 3.4").dataset("SV").names
    assert list(sv.columns) == sorted(sv.columns, key=names.index)
    ts, _ = pyreadstat.read_xport(str(out / "sdtm" / "ts.xpt"), encoding="utf-8")
    assert ts.loc[ts["TSPARMCD"] == "SDTIGVER", "TSVAL"].tolist() == ["3.4"]
    # ... and 3.4 cores in the metadata stage: LBLOBXFL is expected, LBBLFL no longer
    report = json.loads((out / "validation" / "report.json").read_text())
    md = {(i["rule_id"], i["dataset"], i["variable"]) for i in report["issues"]}
    assert ("MD.EXPMISS", "LB", "LBLOBXFL") in md
    assert not any(r and r.startswith("MD.") and v == "LBBLFL" for r, d, v in md)
    # ADaMIG 1.3: ACTARM permissible, ADSL label as before
    adsl_def = etree.parse(str(out / "define" / "adam-define.xml"),
                           etree.XMLParser(resolve_entities=False, no_network=True))
    adsl = adsl_def.find(".//odm:ItemGroupDef[@Name='ADSL']", ns)
    refs = {r.get("ItemOID"): r.get("Mandatory") for r in adsl.iterfind("odm:ItemRef", ns)}
    actarm = [oid for oid in refs if oid.endswith(".ACTARM")]
    assert actarm and refs[actarm[0]] == "No"
