"""define.xml 2.1 generation: schema validity, exact coverage of the data, value-level metadata,
round trip through the reader, HTML rendering (headless Chromium), the write_define API."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lxml import etree

from converter.ct import load_ct
from converter.define.check import check_define
from converter.define.generate import build_define, build_define_model, write_define
from converter.define.model import DEF_NS, ODM_NS
from converter.define.reader import read_define
from converter.define.render import render_html
from converter.define.serialise import to_xml
from converter.issues import IssueLog
from converter.model import Dataset, DatasetMeta, VariableMeta

CREATED = "2024-03-01T09:30:00"
NS = {"odm": ODM_NS, "def": DEF_NS}


def V(name, label, type="Char", **kw):  # short: reads like a spec row
    return VariableMeta(name=name, label=label, type=type, **kw)


def sdtm_datasets() -> dict[str, Dataset]:
    """A small SDTM study: DM, AE (MedDRA), LB (two tests), SUPPDM, TS (reference data)."""
    dm = Dataset(DatasetMeta(
        "DM", "Demographics", klass="SPECIAL PURPOSE", structure="One record per subject",
        keys=["STUDYID", "USUBJID"], variables=[
            V("STUDYID", "Study Identifier", core="Req", role="Identifier", origin="Protocol"),
            V("DOMAIN", "Domain Abbreviation", core="Req", codelist="DOMAIN", origin="Assigned"),
            V("USUBJID", "Unique Subject Identifier", core="Req", origin="Derived",
              method="STUDYID, '-', site and subject number joined"),
            V("AGE", "Age", "Num", origin="Collected", source="dm.csv column AGE"),
            V("AGEU", "Age Units", codelist="AGEU", origin="Assigned"),
            V("SEX", "Sex", core="Req", codelist="SEX", origin="Collected", source="dm.csv SEX"),
            V("RACE", "Race", codelist="RACE", origin="crf", comment="Collected as free text"),
            V("BRTHDTC", "Date/Time of Birth", data_type="date", origin="Collected"),
        ]), pd.DataFrame({
            "STUDYID": ["S1"] * 3, "DOMAIN": ["DM"] * 3,
            "USUBJID": ["S1-001", "S1-002", "S1-003"], "AGE": [34.0, 51.0, np.nan],
            "AGEU": ["YEARS", "YEARS", None], "SEX": ["F", "F", "M"],
            "RACE": ["WHITE", None, "WHITE"], "BRTHDTC": ["1980-01-02", "1972", None]}))
    ae = Dataset(DatasetMeta(
        "AE", "Adverse Events", klass="EVENTS", structure="One record per adverse event per subject",
        keys=["STUDYID", "USUBJID", "AESEQ"], variables=[
            V("STUDYID", "Study Identifier", core="Req", origin="Protocol"),
            V("USUBJID", "Unique Subject Identifier", core="Req", origin="Derived",
              method="as DM.USUBJID"),
            V("AESEQ", "Sequence Number", "Num", core="Req", origin="Derived",
              method="record number within subject"),
            V("AETERM", "Reported Term for the Adverse Event", origin="Collected"),
            V("AEDECOD", "Dictionary-Derived Term", origin="Assigned"),
            V("AESEV", "Severity/Intensity", codelist="C66769", origin="Collected"),
            V("AESER", "Serious Event", codelist="NY", origin="Collected"),
            V("AESTDTC", "Start Date/Time of Adverse Event", origin="Collected"),
        ]), pd.DataFrame({
            "STUDYID": ["S1"] * 3, "USUBJID": ["S1-001", "S1-001", "S1-002"],
            "AESEQ": [1.0, 2.0, 1.0], "AETERM": ["headache", "nausea", "rash"],
            "AEDECOD": ["Headache", "Nausea", "Rash"], "AESEV": ["MILD", "MILD", "MODERATE"],
            "AESER": ["N", "N", "N"],
            "AESTDTC": ["2024-01-03T10:00", "2024-01-05", "2024-02"]}))
    lb = Dataset(DatasetMeta(
        "LB", "Laboratory Test Results", klass="FINDINGS",
        structure="One record per lab test per visit per subject",
        keys=["STUDYID", "USUBJID", "LBTESTCD", "VISITNUM"], variables=[
            V("STUDYID", "Study Identifier", core="Req", origin="Protocol"),
            V("USUBJID", "Unique Subject Identifier", core="Req", origin="Derived",
              method="as DM.USUBJID"),
            V("LBTESTCD", "Lab Test or Examination Short Name", core="Req", codelist="LBTESTCD",
              origin="Assigned"),
            V("LBTEST", "Lab Test or Examination Name", core="Req", origin="Assigned"),
            V("LBORRES", "Result or Finding in Original Units", origin="eDT"),
            V("LBORRESU", "Original Units", codelist="UNIT", origin="eDT"),
            V("LBSTRESC", "Character Result/Finding in Std Format", origin="Derived",
              method="LBORRES converted to standard units, as text"),
            V("LBSTRESN", "Numeric Result/Finding in Standard Units", "Num", origin="Derived",
              method="numeric value of LBSTRESC"),
            V("LBSTRESU", "Standard Units", codelist="UNIT", origin="Derived",
              method="standard unit of the test"),
            V("LBNRIND", "Reference Range Indicator", codelist="NRIND", origin="eDT"),
            V("VISITNUM", "Visit Number", "Num", origin="Assigned", data_type="float"),
        ]), pd.DataFrame({
            "STUDYID": ["S1"] * 4, "USUBJID": ["S1-001", "S1-001", "S1-002", "S1-002"],
            "LBTESTCD": ["CD4", "ALT", "CD4", "ALT"],
            "LBTEST": ["CD4 Cells", "Alanine Aminotransferase", "CD4 Cells",
                       "Alanine Aminotransferase"],
            "LBORRES": ["512", "35.5", "488", "40.25"],
            "LBORRESU": ["10^6/L", "U/L", "10^6/L", "U/L"],
            "LBSTRESC": ["512", "35.5", "488", "40.25"],
            "LBSTRESN": [512.0, 35.5, 488.0, 40.25],
            "LBSTRESU": ["10^6/L", "U/L", "10^6/L", "U/L"],
            "LBNRIND": ["NORMAL", "HIGH", "NORMAL", "NORMAL"],
            "VISITNUM": [1.0, 1.0, 2.0, 2.0]}))
    suppdm = Dataset(DatasetMeta(
        "SUPPDM", "Supplemental Qualifiers for DM", klass="RELATIONSHIP",
        structure="One record per supplemental qualifier per related parent domain record(s)",
        keys=["STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"], variables=[
            V("STUDYID", "Study Identifier", core="Req", origin="Protocol"),
            V("RDOMAIN", "Related Domain Abbreviation", core="Req", origin="Assigned"),
            V("USUBJID", "Unique Subject Identifier", core="Req", origin="Derived",
              method="as DM.USUBJID"),
            V("IDVAR", "Identifying Variable", origin="Assigned"),
            V("IDVARVAL", "Identifying Variable Value", origin="Assigned"),
            V("QNAM", "Qualifier Variable Name", core="Req", origin="Assigned"),
            V("QLABEL", "Qualifier Variable Label", core="Req", origin="Assigned"),
            V("QVAL", "Data Value", core="Req", origin="Collected"),
            V("QORIG", "Origin", core="Req", origin="Assigned"),
        ]), pd.DataFrame({
            "STUDYID": ["S1"] * 3, "RDOMAIN": ["DM"] * 3,
            "USUBJID": ["S1-001", "S1-002", "S1-002"], "IDVAR": [None] * 3,
            "IDVARVAL": [None] * 3, "QNAM": ["RACEOTH", "RACEOTH", "RANDDT"],
            "QLABEL": ["Race, Other", "Race, Other", "Randomisation Date"],
            "QVAL": ["MAORI", "SAMOAN", "2024-01-01"], "QORIG": ["CRF", "CRF", "Derived"]}))
    ts = Dataset(DatasetMeta(
        "TS", "Trial Summary", klass="TRIAL DESIGN",
        structure="One record per trial summary parameter value",
        keys=["STUDYID", "TSPARMCD", "TSSEQ"], variables=[
            V("STUDYID", "Study Identifier", core="Req", origin="Protocol"),
            V("TSSEQ", "Sequence Number", "Num", core="Req", origin="Assigned"),
            V("TSPARMCD", "Trial Summary Parameter Short Name", core="Req",
              codelist="TSPARMCD", origin="Protocol"),
            V("TSVAL", "Parameter Value", core="Req", origin="Protocol"),
        ]), pd.DataFrame({"STUDYID": ["S1", "S1"], "TSSEQ": [1.0, 1.0],
                          "TSPARMCD": ["AGEMIN", "SPONSOR"], "TSVAL": ["P18Y", "ACME"]}))
    return {"DM": dm, "AE": ae, "LB": lb, "SUPPDM": suppdm, "TS": ts}


def adam_datasets() -> dict[str, Dataset]:
    adsl = Dataset(DatasetMeta(
        "ADSL", "Subject-Level Analysis Dataset", klass="SUBJECT LEVEL ANALYSIS DATASET",
        structure="One record per subject", keys=["STUDYID", "USUBJID"], variables=[
            V("STUDYID", "Study Identifier", core="Req", origin="Predecessor", source="DM.STUDYID"),
            V("USUBJID", "Unique Subject Identifier", core="Req", origin="Predecessor",
              source="DM.USUBJID"),
            V("SEX", "Sex", codelist="SEX", origin="Predecessor", source="DM.SEX"),
            V("TRTSDT", "Date of First Exposure to Treatment", "Num", data_type="date",
              format="DATE9.", origin="Derived", method="first EX.EXSTDTC as a SAS date"),
            V("SAFFL", "Safety Population Flag", codelist="NY", origin="Derived",
              method="Y if any dose taken, else N"),
        ]), pd.DataFrame({"STUDYID": ["S1"] * 3, "USUBJID": ["S1-001", "S1-002", "S1-003"],
                          "SEX": ["F", "F", "M"], "TRTSDT": [23376.0, 23377.0, np.nan],
                          "SAFFL": ["Y", "Y", "N"]}))
    adlb = Dataset(DatasetMeta(
        "ADLB", "Laboratory Analysis Dataset", klass="BASIC DATA STRUCTURE",
        structure="One record per subject per parameter per analysis visit",
        keys=["STUDYID", "USUBJID", "PARAMCD", "AVISITN"], variables=[
            V("STUDYID", "Study Identifier", core="Req", origin="Predecessor", source="LB.STUDYID"),
            V("USUBJID", "Unique Subject Identifier", core="Req", origin="Predecessor",
              source="LB.USUBJID"),
            V("PARAMCD", "Parameter Code", core="Req", origin="Derived",
              method="LBTESTCD"),
            V("PARAM", "Parameter", core="Req", origin="Derived", method="LBTEST (LBSTRESU)"),
            V("AVISITN", "Analysis Visit (N)", "Num", origin="Derived", method="VISITNUM"),
            V("AVAL", "Analysis Value", "Num", origin="Predecessor", source="LB.LBSTRESN"),
            V("DTYPE", "Derivation Type", codelist="DTYPE", origin="Derived",
              method="LOCF when the visit value is missing"),
        ]), pd.DataFrame({
            "STUDYID": ["S1"] * 4, "USUBJID": ["S1-001", "S1-001", "S1-002", "S1-002"],
            "PARAMCD": ["CD4", "ALT", "CD4", "ALT"],
            "PARAM": ["CD4 Cells (10^6/L)", "Alanine Aminotransferase (U/L)",
                      "CD4 Cells (10^6/L)", "Alanine Aminotransferase (U/L)"],
            "AVISITN": [1.0, 1.0, 1.0, 1.0], "AVAL": [512.0, 35.5, 488.0, 40.25],
            "DTYPE": [None, None, "LOCF", None]}))
    return {"ADSL": adsl, "ADLB": adlb}


def build_sdtm(issues: IssueLog | None = None, **kw) -> bytes:
    return build_define(sdtm_datasets(), standard="SDTMIG 3.3", study_id="S1",
                        study_name="Study One", ct=load_ct("sdtmct-2015-12-18"), created=CREATED,
                        issues=issues, acrf="acrf.pdf",
                        crf_pages={"DM": {"SEX": "3", "AGE": "3"}},
                        dictionaries={"MedDRA": "26.1"}, **kw)


def build_adam(issues: IssueLog | None = None) -> bytes:
    return build_define(adam_datasets(), standard="ADaMIG 1.1", study_id="S1",
                        study_name="Study One",
                        ct=["adamct-2026-03-27", "sdtmct-2015-12-18"], created=CREATED,
                        issues=issues)


@pytest.fixture(scope="module")
def xsd(shared: Path) -> etree.XMLSchema:
    path = shared / "schemas/define-2.1/schema/cdisc-define-2.1/define2-1-0.xsd"
    return etree.XMLSchema(etree.parse(str(path)))


def _tree(xml: bytes) -> etree._Element:
    return etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))


# ------------------------------------------------------------------------------------------
# 1. schema validity and the referential rules
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("builder", [build_sdtm, build_adam], ids=["sdtm", "adam"])
def test_generated_define_validates_against_cdisc_xsd(builder, xsd, shared, tmp_path):
    xml = builder()
    doc = etree.ElementTree(_tree(xml))
    assert xsd.validate(doc), [str(e) for e in xsd.error_log]
    path = tmp_path / "define.xml"
    path.write_bytes(xml)
    assert check_define(path, shared / "schemas/define-2.1/schema") == []
    assert check_define(path) == []  # default schema source (odmlib)


def test_pilot_sdtm_through_metadata_stage_validates(shared, xsd, tmp_path):
    """Real data: CDISC pilot SDTM XPT files passed through apply_metadata."""
    import pyreadstat

    from converter.metadata.stage import apply_metadata

    issues = IssueLog()
    datasets = {}
    folder = shared / "reference/cdisc-pilot/sdtm"
    for name in ("dm", "ae", "suppdm", "ts", "ex"):
        frame, _ = pyreadstat.read_xport(str(folder / f"{name}.xpt"),
                                         encoding="cp1252" if name == "ts" else None)
        datasets[name.upper()], _ = apply_metadata(frame, name.upper(), "SDTMIG 3.3", issues)
    xml = build_define(datasets, standard="SDTMIG 3.3", study_id="CDISCPILOT01",
                       study_name="CDISCPILOT01", ct="sdtmct-2015-12-18", created=CREATED,
                       issues=issues)
    assert xsd.validate(etree.ElementTree(_tree(xml))), [str(e) for e in xsd.error_log]
    path = tmp_path / "define.xml"
    path.write_bytes(xml)
    assert check_define(path) == []
    _assert_describes_exactly(xml, datasets)
    model = build_define_model(datasets, standard="SDTMIG 3.3", study_id="CDISCPILOT01",
                               study_name="CDISCPILOT01", ct="sdtmct-2015-12-18",
                               created=CREATED)
    assert read_define(xml) == model and to_xml(model) == xml    # round trip on real data


def test_generation_is_deterministic():
    assert build_sdtm() == build_sdtm()
    assert build_adam() == build_adam()


def test_root_attributes_and_standards():
    root = _tree(build_sdtm())
    assert root.get("FileType") == "Snapshot"
    assert root.get("ODMVersion") == "1.3.2"
    assert root.get("CreationDateTime") == CREATED
    assert root.get(f"{{{DEF_NS}}}Context") == "Submission"
    mdv = root.find("odm:Study/odm:MetaDataVersion", NS)
    assert mdv.get(f"{{{DEF_NS}}}DefineVersion") == "2.1.0"
    stds = [(s.get("Name"), s.get("Type"), s.get("Version"), s.get("PublishingSet"))
            for s in mdv.iterfind("def:Standards/def:Standard", NS)]
    assert stds == [("SDTMIG", "IG", "3.3", None), ("CDISC/NCI", "CT", "2015-12-18", "SDTM")]
    acrf = mdv.find("def:AnnotatedCRF/def:DocumentRef", NS)
    assert acrf.get("leafID") == "LF.acrf"


# ------------------------------------------------------------------------------------------
# 2. everything in the data is described, and nothing else
# ------------------------------------------------------------------------------------------

def _present(series: pd.Series) -> set[str]:
    if pd.api.types.is_numeric_dtype(series.dtype):
        return {f"{v:.10f}".rstrip("0").rstrip(".") for v in series.dropna()}
    s = series.dropna().astype(str)
    return set(s[s != ""])


def _assert_describes_exactly(xml: bytes, datasets: dict[str, Dataset]) -> None:
    root = _tree(xml)
    mdv = root.find("odm:Study/odm:MetaDataVersion", NS)
    items = {i.get("OID"): i for i in mdv.iterfind("odm:ItemDef", NS)}
    codelists = {c.get("OID"): c for c in mdv.iterfind("odm:CodeList", NS)}
    groups = {g.get("Name"): g for g in mdv.iterfind("odm:ItemGroupDef", NS)}
    assert set(groups) == set(datasets)
    used_terms: dict[str, set[str]] = {}
    for name, ds in datasets.items():
        refs = groups[name].findall("odm:ItemRef", NS)
        assert [items[r.get("ItemOID")].get("Name") for r in refs] == list(ds.data.columns)
        for ref in refs:
            item = items[ref.get("ItemOID")]
            clref = item.find("odm:CodeListRef", NS)
            if clref is not None:
                used_terms.setdefault(clref.get("CodeListOID"), set()).update(
                    _present(ds.data[item.get("Name")]))
        # value-level codelists (DSDECOD by DSCAT): the terms of the subset each item describes
        for ref in refs:
            vlr = items[ref.get("ItemOID")].find("def:ValueListRef", NS)
            if vlr is None:
                continue
            vl = mdv.find(f"def:ValueListDef[@OID='{vlr.get('ValueListOID')}']", NS)
            for vref in vl.findall("odm:ItemRef", NS):
                vitem = items[vref.get("ItemOID")]
                clref = vitem.find("odm:CodeListRef", NS)
                if clref is None:
                    continue
                wc_oid = vref.find("def:WhereClauseRef", NS).get("WhereClauseOID")
                (rc,) = mdv.findall(f"def:WhereClauseDef[@OID='{wc_oid}']/odm:RangeCheck", NS)
                by = items[rc.get(f"{{{DEF_NS}}}ItemOID")].get("Name")
                values = [c.text for c in rc.findall("odm:CheckValue", NS)]
                subset = ds.data.loc[ds.data[by].isin(values), vitem.get("Name")]
                used_terms.setdefault(clref.get("CodeListOID"), set()).update(_present(subset))
    for oid, terms in used_terms.items():
        cl = codelists[oid]
        if cl.find("odm:ExternalCodeList", NS) is not None:
            continue
        coded = {i.get("CodedValue") for i in cl if i.get("CodedValue") is not None}
        assert coded == terms, oid
    assert set(codelists) == set(used_terms)


def test_every_dataset_variable_and_term_is_described_and_nothing_else():
    _assert_describes_exactly(build_sdtm(), sdtm_datasets())
    _assert_describes_exactly(build_adam(), adam_datasets())


def test_codelists_carry_nci_codes_ct_standard_and_sponsor_extensions():
    d = read_define(build_sdtm())
    sex = d.codelist("CL.SEX")
    assert sex.nci_code == "C66731" and sex.standard_oid == "STD.CT.sdtmct-2015-12-18"
    assert [(i.coded_value, i.decode, i.nci_code) for i in sex.items] == [
        ("F", "Female", "C16576"), ("M", "Male", "C20197")]
    # TSPARMCD is extensible; SPONSOR is a term of it, AGEMIN too: no extension expected
    ts = d.codelist("CL.TSPARMCD")
    assert {i.coded_value for i in ts.items} == {"AGEMIN", "SPONSOR"}
    meddra = d.codelist("CL.MedDRA")
    assert meddra.external.dictionary == "MedDRA" and meddra.external.version == "26.1"
    assert d.item_def("IT.AE.AEDECOD").codelist_oid == "CL.MedDRA"


def test_sponsor_term_in_extensible_codelist_is_marked_extended_and_logged():
    datasets = sdtm_datasets()
    datasets["LB"].data.loc[0, "LBORRESU"] = "cells/uL-x"
    issues = IssueLog()
    d = build_define_model(datasets, standard="SDTMIG 3.3", study_id="S1", study_name="S1",
                           ct="sdtmct-2015-12-18", created=CREATED, issues=issues)
    unit = {i.coded_value: i for i in d.codelist("CL.UNIT").items}
    assert unit["cells/uL-x"].extended_value and unit["cells/uL-x"].nci_code is None
    assert not unit["U/L"].extended_value and unit["U/L"].nci_code == "C67456"
    found = issues.filter(["DEF.CT.EXTENDED"])
    assert found["value"].tolist() == ["cells/uL-x"]


def test_value_outside_non_extensible_codelist_is_an_error_but_still_described():
    datasets = sdtm_datasets()
    datasets["DM"].data.loc[2, "SEX"] = "X"
    issues = IssueLog()
    d = build_define_model(datasets, standard="SDTMIG 3.3", study_id="S1", study_name="S1",
                           ct="sdtmct-2015-12-18", created=CREATED, issues=issues)
    assert "X" in {i.coded_value for i in d.codelist("CL.SEX").items}
    found = issues.filter(["DEF.CT.NOTINCL"])
    assert found[["dataset", "variable", "value", "severity"]].values.tolist() == [
        ["DM", "SEX", "X", "error"]]


def test_variable_mismatch_between_data_and_metadata_is_an_issue():
    datasets = sdtm_datasets()
    dm = datasets["DM"]
    dm.meta.variables.append(V("ETHNIC", "Ethnicity", origin="Collected"))  # not in data
    dm.data["EXTRA"] = ["a", "b", "c"]                                    # not in metadata
    issues = IssueLog()
    d = build_define_model(datasets, standard="SDTMIG 3.3", study_id="S1", study_name="S1",
                           ct="sdtmct-2015-12-18", created=CREATED, issues=issues)
    names = [d.item_def(r.item_oid).name for r in d.item_group("DM").item_refs]
    assert "ETHNIC" not in names and names[-1] == "EXTRA"
    assert issues.filter(["DEF.VAR.NODATA"])["variable"].tolist() == ["ETHNIC"]
    assert issues.filter(["DEF.VAR.NOMETA"])["variable"].tolist() == ["EXTRA"]


def test_item_attributes_from_metadata_and_data():
    d = read_define(build_sdtm())
    dm = d.item_group("DM")
    assert (dm.repeating, dm.is_reference_data, dm.class_name) == (False, False,
                                                                   "SPECIAL PURPOSE")
    assert d.item_group("TS").is_reference_data is True
    keys = {d.item_def(r.item_oid).name: r.key_sequence for r in d.item_group("LB").item_refs
            if r.key_sequence}
    assert keys == {"STUDYID": 1, "USUBJID": 2, "LBTESTCD": 3, "VISITNUM": 4}
    age = d.item_def("IT.DM.AGE")
    assert (age.data_type, age.length, age.significant_digits) == ("integer", 2, None)
    stresn = d.item_def("IT.LB.LBSTRESN")
    assert (stresn.data_type, stresn.length, stresn.significant_digits) == ("float", 5, 2)
    assert d.item_def("IT.DM.BRTHDTC").data_type == "date"
    assert d.item_def("IT.AE.AESTDTC").data_type == "datetime"
    assert d.item_def("IT.AE.AETERM").length == len("headache")
    # origins: Collected with aCRF pages, eDT -> Vendor, Derived -> method
    sex = d.item_def("IT.DM.SEX").origins[0]
    assert (sex.type, sex.source, sex.description) == ("Collected", "Investigator", "dm.csv SEX")
    assert sex.document_refs[0].leaf_id == "LF.acrf"
    assert sex.document_refs[0].pages[0].page_refs == "3"
    assert d.item_def("IT.LB.LBORRES").origins[0].source == "Vendor"
    ref = next(r for r in d.item_group("DM").item_refs if r.item_oid == "IT.DM.USUBJID")
    method = next(m for m in d.mdv.methods if m.oid == ref.method_oid)
    assert method.type == "Computation" and "joined" in method.description
    race = d.item_def("IT.DM.RACE")
    assert next(c for c in d.mdv.comments if c.oid == race.comment_oid).description == \
        "Collected as free text"
    # ADaM numeric date: integer with display format
    a = read_define(build_adam())
    trtsdt = a.item_def("IT.ADSL.TRTSDT")
    assert (trtsdt.data_type, trtsdt.display_format) == ("integer", "DATE9.")
    assert a.item_def("IT.ADSL.SEX").origins[0].type == "Predecessor"
    assert a.item_def("IT.ADSL.SEX").origins[0].description == "DM.SEX"


def test_unknown_origin_and_missing_method_are_issues():
    datasets = sdtm_datasets()
    datasets["DM"].meta.variable("AGE").origin = "Guessed"
    datasets["DM"].meta.variable("USUBJID").method = None
    issues = IssueLog()
    d = build_define_model(datasets, standard="SDTMIG 3.3", study_id="S1", study_name="S1",
                           ct="sdtmct-2015-12-18", created=CREATED, issues=issues)
    assert d.item_def("IT.DM.AGE").origins == []
    assert issues.filter(["DEF.ORIGIN.UNKNOWN"])["value"].tolist() == ["Guessed"]
    assert issues.filter(["DEF.METHOD.MISSING"])["variable"].tolist() == ["USUBJID"]


# ------------------------------------------------------------------------------------------
# 3. value-level metadata
# ------------------------------------------------------------------------------------------

def _vlm(d, vl_oid):
    vl = next(v for v in d.mdv.value_lists if v.oid == vl_oid)
    wcs = {w.oid: w for w in d.mdv.where_clauses}
    out = {}
    for ref in vl.item_refs:
        (wc,) = [wcs[o] for o in ref.where_clause_oids]
        (rc,) = wc.range_checks
        out[tuple(rc.check_values)] = (rc.item_oid, d.item_def(ref.item_oid))
    return out


def test_value_level_metadata_for_lb_results_by_testcd():
    d = read_define(build_sdtm())
    for var in ("LBORRES", "LBSTRESC", "LBSTRESN"):
        assert d.item_def(f"IT.LB.{var}").value_list_oid == f"VL.LB.{var}"
        vlm = _vlm(d, f"VL.LB.{var}")
        assert set(vlm) == {("CD4",), ("ALT",)}
        assert {by for by, _ in vlm.values()} == {"IT.LB.LBTESTCD"}
    stresn = _vlm(d, "VL.LB.LBSTRESN")
    assert (stresn[("CD4",)][1].data_type, stresn[("CD4",)][1].length) == ("integer", 3)
    alt = stresn[("ALT",)][1]
    assert (alt.data_type, alt.significant_digits, alt.description) == (
        "float", 2, "Alanine Aminotransferase")
    orres = _vlm(d, "VL.LB.LBORRES")
    assert orres[("CD4",)][1].data_type == "integer"      # text results that are all numbers


def test_value_level_metadata_for_supp_qval_by_qnam_with_qorig():
    d = read_define(build_sdtm())
    vlm = _vlm(d, "VL.SUPPDM.QVAL")
    assert set(vlm) == {("RACEOTH",), ("RANDDT",)}
    raceoth = vlm[("RACEOTH",)][1]
    assert raceoth.description == "Race, Other" and raceoth.length == len("SAMOAN")
    assert raceoth.origins[0].type == "Collected"
    assert vlm[("RANDDT",)][1].origins[0].type == "Derived"


def test_value_level_metadata_for_adam_aval_by_paramcd_and_paramcd_codelist():
    d = read_define(build_adam())
    vlm = _vlm(d, "VL.ADLB.AVAL")
    assert set(vlm) == {("CD4",), ("ALT",)}
    assert vlm[("ALT",)][1].description == "Alanine Aminotransferase (U/L)"
    paramcd = d.codelist(d.item_def("IT.ADLB.PARAMCD").codelist_oid)
    assert {(i.coded_value, i.decode) for i in paramcd.items} == {
        ("CD4", "CD4 Cells (10^6/L)"), ("ALT", "Alanine Aminotransferase (U/L)")}
    dtype = d.codelist("CL.DTYPE")
    assert [i.coded_value for i in dtype.items] == ["LOCF"]
    assert dtype.standard_oid == "STD.CT.adamct-2026-03-27"


# ------------------------------------------------------------------------------------------
# 4. round trip
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["sdtm", "adam"])
def test_round_trip_gives_same_model_and_bytes(which):
    datasets = sdtm_datasets() if which == "sdtm" else adam_datasets()
    model = build_define_model(
        datasets, standard="SDTMIG 3.3" if which == "sdtm" else "ADaMIG 1.1", study_id="S1",
        study_name="Study One", created=CREATED, ct=["adamct-2026-03-27", "sdtmct-2015-12-18"],
        acrf="acrf.pdf", crf_pages={"DM": {"SEX": "3"}},
        supplemental_docs=[("csdrg.pdf", "Guide")])
    xml = to_xml(model)
    back = read_define(xml)
    assert back == model
    assert to_xml(back) == xml


def test_round_trip_of_cdisc_examples(shared):
    for path in sorted((shared / "schemas/define-2.1/cdisc-2019/examples").rglob("*.xml")):
        model = read_define(path)
        assert read_define(to_xml(model)) == model, path.name
        assert model.mdv.item_groups and model.mdv.item_defs


# ------------------------------------------------------------------------------------------
# 5. writing and HTML
# ------------------------------------------------------------------------------------------

def test_write_define_writes_xml_and_html(tmp_path, shared):
    study = {"study_id": "S1", "study_name": "Study One", "created": CREATED,
             "sdtmig_version": "3.3", "ct_package": "sdtmct-2015-12-18",
             "adam_ct_package": "adamct-2026-03-27",
             "define": {"acrf": "acrf.pdf", "dictionaries": {"MedDRA": "26.1"}}}
    issues = IssueLog()
    paths = write_define(sdtm_datasets(), tmp_path / "define", standard="sdtm", study=study,
                         issues=issues)
    assert [p.name for p in paths] == ["sdtm-define.xml", "sdtm-define.html"]
    assert check_define(paths[0]) == []
    xsl = shared / "schemas/define-2.1/cdisc-2019/stylesheets/define2-1.xsl"
    paths2 = write_define(adam_datasets(), tmp_path / "define", standard="ADaM", study=study,
                          ct=load_ct("adamct-2026-03-27"), issues=issues, stylesheet=xsl)
    assert [p.name for p in paths2] == ["adam-define.xml", "adam-define.html",
                                        "adam-define.cdisc.html"]
    assert check_define(paths2[0]) == []
    assert "ADLB" in paths2[2].read_text(encoding="utf-8")
    adam = read_define(paths2[0])
    assert adam.item_group("ADSL").leaf.href == "../adam/adsl.xpt"
    # ADaM's SEX and SAFFL use SDTM CT even when the study passes only the ADaM package
    assert {s.version for s in adam.mdv.standards if s.type == "CT"} == {"2015-12-18",
                                                                          "2026-03-27"}
    assert adam.codelist("CL.SEX").standard_oid == "STD.CT.sdtmct-2015-12-18"
    html = paths[1].read_text(encoding="utf-8")
    for text in ("Table of contents", "Demographics", "LBSTRESN", "Value-level metadata",
                 "Female", "MedDRA 26.1"):
        assert text in html


def test_html_has_toc_dataset_tables_and_is_deterministic():
    model = read_define(build_sdtm())
    page = render_html(model)
    assert page == render_html(read_define(build_sdtm()))
    root = etree.fromstring(page.encode(), etree.HTMLParser())
    toc_links = [a.get("href") for a in root.iterfind(".//nav//a")]
    for g in model.mdv.item_groups:
        assert f"#{g.oid}" in toc_links
        heading = root.find(f".//h3[@id='{g.oid}']")
        table = heading.getnext()
        while table.tag != "table":
            table = table.getnext()
        rows = table.findall("tr")
        assert len(rows) == 1 + len(g.item_refs)
    assert "<script" not in page and "http" not in page.split("<body>")[1]


def test_html_renders_in_headless_chromium(tmp_path):
    chromium = shutil.which("chromium")
    assert chromium, "chromium is required for this test (apt-get install chromium)"
    html = tmp_path / "sdtm-define.html"
    html.write_text(render_html(read_define(build_sdtm())), encoding="utf-8")
    profile = tmp_path / "profile"
    shot = tmp_path / "shot.png"
    proc = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", f"--screenshot={shot}",
         "--window-size=1400,1000", html.as_uri()],
        check=False, capture_output=True, text=True, timeout=90)
    assert shot.is_file(), proc.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20_000   # a blank 1400x1000 page compresses to a few kB
    import matplotlib.image as mpimg

    img = mpimg.imread(shot)[:, :, :3]
    assert img.shape[:2] == (1000, 1400)

    def share(color: str, region: np.ndarray) -> float:
        rgb = np.array([int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)])
        return float((np.abs(region - rgb).max(axis=2) < 0.02).mean())

    assert share("#1f3b5a", img[:60]) > 0.5                 # the header band
    assert share("#f1f4f8", img[150:450, :250]) > 0.5        # the table-of-contents column
    assert share("#dfe7f1", img[:, 300:]) > 0.01             # dataset table header cells


def test_codelist_of_an_all_missing_variable_is_left_out():
    datasets = sdtm_datasets()
    datasets["DM"].data["AGEU"] = None
    d = build_define_model(datasets, standard="SDTMIG 3.3", study_id="S1", study_name="S1",
                           ct="sdtmct-2015-12-18", created=CREATED)
    assert d.item_def("IT.DM.AGEU").codelist_oid is None
    assert d.codelist("CL.AGEU") is None


def test_define_command_on_pilot_xpt_folder(shared, tmp_path, capsys):
    data = tmp_path / "sdtm"
    data.mkdir()
    for name in ("dm", "ae", "suppdm", "ts"):
        shutil.copy(shared / f"reference/cdisc-pilot/sdtm/{name}.xpt", data)
    study = tmp_path / "study"
    study.mkdir()
    (study / "study.yaml").write_text(
        "study_id: CDISCPILOT01\nstudy_name: CDISC Pilot\nct_package: sdtmct-2015-12-18\n"
        f"created: '{CREATED}'\n", encoding="utf-8")
    out = tmp_path / "define"
    from converter.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["define", str(data), "--standard", "sdtm", "--study", str(study), "--out", str(out)])
    err = capsys.readouterr().err
    # origins are unknown for datasets read from files: warnings, not errors
    assert exc.value.code == 0, err
    assert "DEF.ORIGIN.MISSING" in err
    assert check_define(out / "sdtm-define.xml") == []
    d = read_define(out / "sdtm-define.xml")
    assert [g.name for g in d.mdv.item_groups] == ["TS", "DM", "AE", "SUPPDM"]
    assert d.item_group("DM").class_name == "SPECIAL PURPOSE"    # from the spec
    assert (d.item_group("DM").leaf.href, d.item_group("DM").leaf.title) == (
        "../sdtm/dm.xpt", "dm.xpt")
    assert (out / "sdtm-define.html").stat().st_size > 10_000


def test_compare_define_to_data_finds_every_difference(tmp_path):
    from converter.define.compare import compare_define_to_data

    path = tmp_path / "define.xml"
    path.write_bytes(build_sdtm())
    assert compare_define_to_data(path, sdtm_datasets(), IssueLog()) == 0
    datasets = sdtm_datasets()
    del datasets["TS"]
    dm = datasets["DM"]
    dm.data = dm.data.drop(columns=["RACE"]).assign(NEWVAR="x")
    dm.data.loc[0, "SEX"] = "U"
    datasets["AE"].data.loc[0, "AETERM"] = "a much longer verbatim term"
    issues = IssueLog()
    assert compare_define_to_data(path, datasets, issues) == 5
    got = issues.to_frame()[["rule_id", "dataset", "variable"]].fillna("").values.tolist()
    assert sorted(map(tuple, got)) == sorted([
        ("DEF.DATA.DATASET", "TS", ""), ("DEF.DATA.VARIABLE", "DM", "RACE"),
        ("DEF.DATA.VARIABLE", "DM", "NEWVAR"), ("DEF.DATA.TERM", "DM", "SEX"),
        ("DEF.DATA.LENGTH", "AE", "AETERM")])


def test_method_words_of_non_derived_values_describe_the_origin():
    datasets = sdtm_datasets()
    domain = datasets["DM"].meta.variable("DOMAIN")
    domain.method = "Set to 'DM'"
    sex = datasets["DM"].meta.variable("SEX")
    sex.method = "SEX recoded with codelist SEX"
    d = build_define_model(datasets, standard="SDTMIG 3.3", study_id="S1", study_name="S1",
                           ct="sdtmct-2015-12-18", created=CREATED)
    assert d.item_def("IT.DM.DOMAIN").origins[0].description == "Set to 'DM'"
    assert d.item_def("IT.DM.SEX").origins[0].description == \
        "dm.csv SEX; SEX recoded with codelist SEX"
    refs = {r.item_oid: r for r in d.item_group("DM").item_refs}
    assert refs["IT.DM.DOMAIN"].method_oid is None and refs["IT.DM.SEX"].method_oid is None
    assert refs["IT.DM.USUBJID"].method_oid == "MT.DM.USUBJID"
    assert {m.oid for m in d.mdv.methods if m.oid.startswith("MT.DM.")} == {"MT.DM.USUBJID"}


def test_characters_xml_cannot_carry_are_replaced_and_reported(xsd):
    datasets = sdtm_datasets()
    datasets["LB"].data.loc[0, "LBTESTCD"] = "CD\x014"
    datasets["DM"].data.loc[0, "SEX"] = "F\x02"
    issues = IssueLog()
    xml = build_define(
        datasets, standard="SDTMIG 3.3", study_id="S1", study_name="S1",
        ct="sdtmct-2015-12-18", created=CREATED, issues=issues)
    assert xsd.validate(etree.ElementTree(_tree(xml)))
    assert "CD\ufffd4".encode() in xml and "F\ufffd".encode() in xml
    found = issues.filter(["DEF.XML.CHAR"])
    assert sorted(found["variable"]) == ["LBTESTCD", "SEX"]


def test_mandatory_for_required_variables_and_keys_never_empty():
    datasets = adam_datasets()
    adlb = datasets["ADLB"]
    adlb.meta.keys = ["STUDYID", "USUBJID", "PARAMCD", "AVISITN", "DTYPE"]
    d = build_define_model(datasets, standard="ADaMIG 1.1", study_id="S1", study_name="S1",
                           ct=["adamct-2026-03-27", "sdtmct-2015-12-18"], created=CREATED)
    refs = {d.item_def(r.item_oid).name: r for r in d.item_group("ADLB").item_refs}
    assert refs["DTYPE"].key_sequence == 5 and refs["DTYPE"].mandatory is False
    assert refs["AVISITN"].mandatory is True          # a key, never empty
    assert refs["PARAMCD"].mandatory is True          # Req
    assert refs["AVAL"].mandatory is False


def test_dsdecod_codelist_depends_on_dscat():
    datasets = sdtm_datasets()
    datasets["DS"] = Dataset(DatasetMeta(
        "DS", "Disposition", klass="EVENTS", structure="One record per disposition status",
        keys=["STUDYID", "USUBJID", "DSDECOD"], variables=[
            V("STUDYID", "Study Identifier", core="Req", origin="Protocol"),
            V("USUBJID", "Unique Subject Identifier", core="Req", origin="Derived",
              method="as DM.USUBJID"),
            V("DSDECOD", "Standardized Disposition Term", core="Req", codelist="NCOMPLT",
              origin="Assigned"),
            V("DSCAT", "Category for Disposition Event", codelist="DSCAT", origin="Assigned"),
        ]), pd.DataFrame({
            "STUDYID": ["S1"] * 4, "USUBJID": ["S1-001", "S1-001", "S1-002", "S1-002"],
            "DSDECOD": ["INFORMED CONSENT OBTAINED", "COMPLETED", "RANDOMIZED", "ADVERSE EVENT"],
            "DSCAT": ["PROTOCOL MILESTONE", "DISPOSITION EVENT", "PROTOCOL MILESTONE",
                      "DISPOSITION EVENT"]}))
    issues = IssueLog()
    xml = build_define(datasets, standard="SDTMIG 3.3", study_id="S1", study_name="S1",
                       ct="sdtmct-2015-12-18", created=CREATED, issues=issues)
    d = read_define(xml)
    assert d.item_def("IT.DS.DSDECOD").codelist_oid is None
    vlm = _vlm(d, "VL.DS.DSDECOD")
    assert vlm[("PROTOCOL MILESTONE",)][1].codelist_oid == "CL.PROTMLST"
    assert vlm[("DISPOSITION EVENT",)][1].codelist_oid == "CL.NCOMPLT"
    assert {i.coded_value for i in d.codelist("CL.PROTMLST").items} == {
        "INFORMED CONSENT OBTAINED", "RANDOMIZED"}
    assert {i.coded_value for i in d.codelist("CL.NCOMPLT").items} == {"COMPLETED",
                                                                        "ADVERSE EVENT"}
    assert issues.filter(["DEF.CT.EXTENDED", "DEF.CT.NOTINCL"]).empty
    _assert_describes_exactly(xml, datasets)
