"""Every catalogue rule: one tiny study that violates it and one that does not.

Cases are numbered by rule id; ``bad`` must end in ``issues_found`` (each finding carrying
the rule id, stage and dataset), ``good`` in ``passed``.
"""

from __future__ import annotations

import pytest

from converter.ct import load_ct
from converter.model import DatasetMeta, VariableMeta
from converter.validate import load_rules
from tests.test_validate_helpers import AE_SPEC, ds, run_rule, spec_of

CT = load_ct("sdtmct-2015-12-18")
SPEC = {"spec": spec_of(AE_SPEC)}


def dm(**extra):
    cols = {"STUDYID": ["S1", "S1"], "DOMAIN": ["DM", "DM"], "USUBJID": ["S1-001", "S1-002"],
            "RFSTDTC": ["2014-01-10", "2014-01-12"], "RFICDTC": ["2014-01-05", "2014-01-06"]}
    cols.update(extra)
    return ds("DM", **cols)


def ae(**extra):
    cols = {"STUDYID": ["S1", "S1"], "DOMAIN": ["AE", "AE"], "USUBJID": ["S1-001", "S1-002"],
            "AESEQ": [1.0, 1.0], "AETERM": ["HEADACHE", "NAUSEA"],
            "AESTDTC": ["2014-01-10", "2014-01-13"]}
    cols.update(extra)
    return ds("AE", **cols)


def ta():
    return ds("TA", STUDYID=["S1", "S1"], DOMAIN=["TA", "TA"], ARMCD=["A", "A"],
              ARM=["Drug A", "Drug A"], TAETORD=[1.0, 2.0], ETCD=["SCRN", "TRT"],
              ELEMENT=["Screening", "Treatment"], EPOCH=["SCREENING", "TREATMENT"])


def ts(params):
    n = len(params)
    return ds("TS", STUDYID=["S1"] * n, DOMAIN=["TS"] * n, TSSEQ=[1.0] * n,
              TSPARMCD=[p for p, _ in params], TSVAL=[v for _, v in params])


TS_ALL = [("SSTDTC", "2014-01-01"), ("SDTIGVER", "3.3"), ("SDTMVER", "1.7"),
          ("STYPE", "INTERVENTIONAL"), ("TITLE", "A study"), ("SPONSOR", "ACME"),
          ("TPHASE", "PHASE II TRIAL"), ("TTYPE", "EFFICACY"), ("INDIC", "HIV"),
          ("TRT", "MSC"), ("PLANSUB", "20"), ("SEXPOP", "BOTH"), ("AGEMIN", "P18Y"),
          ("AGEMAX", "P65Y")]


def adsl(subjects=("S1-001", "S1-002")):
    return ds("ADSL", STUDYID=["S1"] * len(subjects), USUBJID=list(subjects))


def adlb(**extra):
    cols = {"STUDYID": ["S1"] * 3, "USUBJID": ["S1-001"] * 3, "PARAMCD": ["CD4"] * 3,
            "AVAL": [500.0, 550.0, 400.0], "BASE": [500.0, 500.0, 500.0],
            "CHG": [0.0, 50.0, -100.0], "PCHG": [0.0, 10.0, -20.0], "ABLFL": ["Y", "", ""],
            "BASETYPE": ["LAST", "LAST", "LAST"]}
    cols.update(extra)
    return ds("ADLB", **cols)


def adtte(cnsr, aval):
    return ds("ADTTE", STUDYID=["S1", "S1"], USUBJID=["S1-001", "S1-002"],
              PARAMCD=["TTDEATH", "TTDEATH"], AVAL=aval, CNSR=cnsr)


def define_file(tmp_path, groups: dict[str, list[str]], codelists=None):
    """A minimal define.xml; ``codelists`` maps (dataset, variable) to its coded values."""
    items, defs, lists = [], [], []
    for name, variables in groups.items():
        refs = "".join(f'<ItemRef ItemOID="IT.{name}.{v}" Mandatory="No"/>' for v in variables)
        items.append(f'<ItemGroupDef OID="IG.{name}" Name="{name}" Repeating="No">{refs}'
                     "</ItemGroupDef>")
        for v in variables:
            terms = (codelists or {}).get((name, v))
            ref = f'<CodeListRef CodeListOID="CL.{name}.{v}"/>' if terms else ""
            defs.append(f'<ItemDef OID="IT.{name}.{v}" Name="{v}" DataType="text">{ref}'
                        "</ItemDef>")
            if terms:
                lists.append(f'<CodeList OID="CL.{name}.{v}" Name="{v}" DataType="text">'
                             + "".join(f'<EnumeratedItem CodedValue="{t}"/>' for t in terms)
                             + "</CodeList>")
    defs += lists
    xml = ('<?xml version="1.0" encoding="UTF-8"?>'
           '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" '
           'xmlns:def="http://www.cdisc.org/ns/def/v2.1"><Study OID="S1"><MetaDataVersion '
           f'OID="MDV.1" Name="x">{"".join(items)}{"".join(defs)}</MetaDataVersion></Study></ODM>')
    path = tmp_path / "define.xml"
    path.write_text(xml, encoding="utf-8")
    return {"define_path": path}


def spec_with(**changes):
    meta = DatasetMeta(name="AE", klass="EVENTS", keys=list(AE_SPEC.keys),
                       variables=[VariableMeta(**{**v.__dict__, **changes.get(v.name, {})})
                                  for v in AE_SPEC.variables])
    return {"spec": spec_of(meta)}


LONG_LABEL = "A label that is clearly longer than forty characters"

# rule id -> (bad study, good study, extra validate() arguments given tmp_path)
CASES = {
    "META.RECORDS": (lambda: [ds("AE", USUBJID=[])], lambda: [ae()], None),
    "META.REQ_PRESENT": (lambda: [ae().__class__(ae().meta, ae().data.drop(columns="AETERM"))],
                         lambda: [ae()], lambda p: SPEC),
    "META.EXP_PRESENT": (lambda: [ae().__class__(ae().meta, ae().data.drop(columns="AESTDTC"))],
                         lambda: [ae()], lambda p: SPEC),
    "META.REQ_NOT_NULL": (lambda: [ae(AETERM=["HEADACHE", " "])], lambda: [ae()],
                          lambda p: SPEC),
    "META.EXP_NOT_EMPTY": (lambda: [ae(AESTDTC=["", None])], lambda: [ae(AESTDTC=["", "2014"])],
                           lambda p: SPEC),
    "META.TYPE": (lambda: [ae(AESEQ=["1", "1"])], lambda: [ae()], lambda p: SPEC),
    "META.LENGTH": (lambda: [ds("AE", lengths={"AETERM": 5}, AETERM=["HEADACHE"])],
                    lambda: [ds("AE", lengths={"AETERM": 8}, AETERM=["HEADACHE"])], None),
    "META.LABEL": (lambda: [ds("AE", labels={"AETERM": "Term"}, AETERM=["X"])],
                   lambda: [ds("AE", labels={"AETERM": "Reported Term for the Adverse Event"},
                               AETERM=["X"])], lambda p: SPEC),
    "META.IN_SPEC": (lambda: [ae(AEFOO=["a", "b"])], lambda: [ae()], lambda p: SPEC),
    "SDTM.DOMAIN.VALUE": (lambda: [ae(DOMAIN=["AE", "CM"])], lambda: [ae()], None),
    "XPT.NAME": (lambda: [ae(AELONGNAME=["a", "b"])], lambda: [ae()], None),
    "XPT.LABEL": (lambda: [ds("AE", labels={"AETERM": LONG_LABEL}, AETERM=["X"])],
                  lambda: [ds("AE", labels={"AETERM": LONG_LABEL[:40]}, AETERM=["X"])], None),
    "XPT.CHAR_LENGTH": (lambda: [ae(AETERM=["x" * 200, "é" * 101])],
                        lambda: [ae(AETERM=["x" * 200, "e" * 101])], None),
    "XPT.ASCII": (lambda: [ae(AETERM=["café", "tea"])], lambda: [ae(AETERM=["cafe", "tea"])],
                  None),
    "SDTM.CT.NON_EXTENSIBLE": (lambda: [dm(SEX=["F", "female"])], lambda: [dm(SEX=["F", "M"])],
                               lambda p: {"ct": CT}),
    "SDTM.CT.EXTENSIBLE": (lambda: [ds("EX", USUBJID=["S1-001"], EXROUTE=["BY MOUTH"])],
                           lambda: [ds("EX", USUBJID=["S1-001"], EXROUTE=["ORAL"])],
                           lambda p: {"ct": CT}),
    "SDTM.DTC.ISO8601": (lambda: [ae(AESTDTC=["2014-02-30", "2014-1-5"])],
                         lambda: [ae(AESTDTC=["2014-02-28T10:15", "2014---15"])], None),
    "SDTM.DUR.ISO8601": (lambda: [ae(AEDUR=["2 days", "P2D"])], lambda: [ae(AEDUR=["P2D", "PT4H"])],
                         None),
    "SDTM.DY.CONSISTENT": (lambda: [dm(), ae(AESTDY=[1.0, 3.0])],
                           lambda: [dm(), ae(AESTDY=[1.0, 2.0])], None),
    "SDTM.DY.NOT_ZERO": (lambda: [ae(AESTDY=[0.0, 1.0])], lambda: [ae(AESTDY=[-1.0, 1.0])], None),
    "SDTM.DTC.START_LE_END": (lambda: [ae(AEENDTC=["2014-01-09", "2014-01-13"])],
                              lambda: [ae(AESTDTC=["2014-01", "2014-01-13"],
                                          AEENDTC=["2014-01-02", "2014-01-13T10:00"])], None),
    "SDTM.DTC.AFTER_CONSENT": (lambda: [dm(), ae(AESTDTC=["2014-01-04", "2014-01-13"])],
                               lambda: [dm(), ae(AESTDTC=["2014-01-05", "2014-01"])], None),
    "SDTM.SEQ.UNIQUE": (lambda: [ae(USUBJID=["S1-001", "S1-001"])], lambda: [ae()], None),
    "SDTM.KEYS.UNIQUE": (lambda: [ae(USUBJID=["S1-001", "S1-001"], AETERM=["X", "X"],
                                     AESEQ=[1.0, 2.0])], lambda: [ae()], lambda p: SPEC),
    "SDTM.DM.ONE_PER_SUBJECT": (lambda: [dm(USUBJID=["S1-001", "S1-001"])], lambda: [dm()], None),
    "SDTM.USUBJID.IN_DM": (lambda: [dm(), ae(USUBJID=["S1-001", "S1-999"])],
                           lambda: [dm(), ae()], None),
    "SDTM.DM.ARM_IN_TA": (lambda: [ta(), dm(ARMCD=["A", "A"], ARM=["Drug A", "Drug B"])],
                          lambda: [ta(), dm(ARMCD=["A", "SCRNFAIL"], ARM=["Drug A",
                                                                           "Screen Failure"])],
                          None),
    "SDTM.EPOCH.IN_DESIGN": (
        lambda: [ds("SE", USUBJID=["S1-001"], ETCD=["TRT"], EPOCH=["TREATMENT"]),
                 ae(EPOCH=["FOLLOW-UP", ""])],
        lambda: [ds("SE", USUBJID=["S1-001"], ETCD=["TRT"], EPOCH=["TREATMENT"]),
                 ae(EPOCH=["TREATMENT", ""])], None),
    "SDTM.VISIT.IN_TV": (
        lambda: [ds("TV", VISITNUM=[1.0, 2.0], VISIT=["SCREENING", "WEEK 2"]),
                 ds("SV", USUBJID=["S1-001", "S1-001"], VISITNUM=[1.0, 3.0],
                    VISIT=["SCREENING", "WEEK 4"])],
        lambda: [ds("TV", VISITNUM=[1.0, 2.0], VISIT=["SCREENING", "WEEK 2"]),
                 ds("SV", USUBJID=["S1-001", "S1-001"], VISITNUM=[1.0, 2.1],
                    VISIT=["SCREENING", "UNSCHEDULED 2.1"])], None),
    "SDTM.SUPP.PARENT": (
        lambda: [ae(), ds("SUPPAE", RDOMAIN=["AE"], USUBJID=["S1-001"], IDVAR=["AESEQ"],
                          IDVARVAL=["2"], QNAM=["AETRTEM"], QVAL=["Y"])],
        lambda: [ae(), ds("SUPPAE", RDOMAIN=["AE"], USUBJID=["S1-001"], IDVAR=["AESEQ"],
                          IDVARVAL=["1"], QNAM=["AETRTEM"], QVAL=["Y"])], None),
    "SDTM.SUPP.QNAM": (lambda: [ds("SUPPAE", QNAM=["AETRTEMFLAG"])],
                       lambda: [ds("SUPPAE", QNAM=["AETRTEM"])], None),
    "FDA.TRC.1734.TS_SSTDTC": (lambda: [dm(), ts([("TITLE", "x"), ("SSTDTC", "2014-01")])],
                               lambda: [dm(), ts([("SSTDTC", "2014-01-01")])], None),
    "FDA.TRC.1736.DM_PRESENT": (lambda: [ae()], lambda: [dm(), ae()], None),
    "SDTM.TS.PARAMETERS": (lambda: [dm(), ts(TS_ALL[:-1])], lambda: [dm(), ts(TS_ALL)], None),
    "FDA.TRC.1736.ADSL_PRESENT": (lambda: [ds("ADAE", USUBJID=["S1-001"])],
                                  lambda: [adsl(), ds("ADAE", USUBJID=["S1-001"])], None),
    "ADAM.ADSL.ONE_PER_SUBJECT": (lambda: [adsl(("S1-001", "S1-001"))], lambda: [adsl()], None),
    "ADAM.USUBJID.IN_ADSL": (lambda: [adsl(("S1-001",)), adtte([0, 1], [1.0, 2.0])],
                             lambda: [adsl(), adtte([0, 1], [1.0, 2.0])], None),
    "ADAM.BDS.BASE_CONSTANT": (lambda: [adlb(BASE=[500.0, 500.0, 510.0])], lambda: [adlb()],
                               None),
    "ADAM.BDS.CHG": (lambda: [adlb(CHG=[0.0, 50.0, -90.0])], lambda: [adlb()], None),
    "ADAM.BDS.PCHG": (lambda: [adlb(PCHG=[0.0, 10.0, -25.0])], lambda: [adlb()], None),
    "ADAM.BDS.ABLFL_ONCE": (lambda: [adlb(ABLFL=["Y", "Y", ""])], lambda: [adlb()], None),
    "ADAM.ADTTE.CNSR": (lambda: [adtte([0, 2], [1.0, 2.0])], lambda: [adtte([0, 1], [1.0, 2.0])],
                        None),
    "ADAM.ADTTE.AVAL_NONNEG": (lambda: [adtte([0, 1], [-1.0, 2.0])],
                               lambda: [adtte([0, 1], [0.0, 2.0])], None),
    "SDTM.TEST.WITHIN_TESTCD": (
        lambda: [ds("LB", LBTESTCD=["ALT", "ALT"], LBTEST=["Alanine Aminotransferase", "ALT"])],
        lambda: [ds("LB", LBTESTCD=["ALT", "AST"], LBTEST=["Alanine Aminotransferase",
                                                           "Aspartate Aminotransferase"])], None),
    "SDTM.TESTCD.WITHIN_TEST": (
        lambda: [ds("LB", LBTESTCD=["ALT", "SGPT"], LBTEST=["Alanine Aminotransferase"] * 2)],
        lambda: [ds("LB", LBTESTCD=["ALT", "ALT"], LBTEST=["Alanine Aminotransferase"] * 2)],
        None),
    "SDTM.VISIT.WITHIN_VISITNUM": (
        lambda: [ds("SV", VISITNUM=[1.0, 1.0], VISIT=["SCREENING", "SCREEN"])],
        lambda: [ds("SV", VISITNUM=[1.0, 2.0], VISIT=["SCREENING", "WEEK 2"])], None),
    "SDTM.VISITNUM.WITHIN_VISIT": (
        lambda: [ds("SV", VISITNUM=[1.0, 2.0], VISIT=["SCREENING", "SCREENING"])],
        lambda: [ds("SV", VISITNUM=[1.0, 1.0], VISIT=["SCREENING", "SCREENING"])], None),
    "SDTM.DOSE.NONNEG": (lambda: [ds("EX", USUBJID=["S1-001"], EXDOSE=[-5.0])],
                         lambda: [ds("EX", USUBJID=["S1-001"], EXDOSE=[0.0])], None),
    "SDTM.TIMING.END": (lambda: [ae(AEENDTC=["2014-01-11", ""])],
                        lambda: [ae(AEENDTC=["2014-01-11", ""], AEENRF=["", "ONGOING"])], None),
    "SDTM.TIMING.START": (lambda: [ae(AESTDTC=["", "2014-01-13"])],
                          lambda: [ae(AESTDTC=["", "2014-01-13"], AEOCCUR=["N", "Y"])], None),
    "SDTM.DY.START_LE_END": (lambda: [ae(AESTDY=[5.0, 1.0], AEENDY=[4.0, 1.0])],
                             lambda: [ae(AESTDY=[5.0, 1.0], AEENDY=[5.0, None])], None),
    "DEFINE.CODELIST.VALUES": (
        lambda: [dm(SEX=["F", "U"])], lambda: [dm(SEX=["F", "M"])],
        lambda p: define_file(p, {"DM": list(dm(SEX=["F", "M"]).data.columns)},
                              codelists={("DM", "SEX"): ["F", "M"]})),
    "DEFINE.DATASET.DESCRIBED": (lambda: [dm(), ae()], lambda: [dm()],
                                 lambda p: define_file(p, {"DM": list(dm().data.columns)})),
    "DEFINE.DATASET.PRESENT": (lambda: [dm()], lambda: [dm(), ae()],
                               lambda p: define_file(p, {"DM": list(dm().data.columns),
                                                         "AE": list(ae().data.columns)})),
    "DEFINE.VAR.DESCRIBED": (lambda: [dm(EXTRA=["a", "b"])], lambda: [dm()],
                             lambda p: define_file(p, {"DM": list(dm().data.columns)})),
    "DEFINE.VAR.PRESENT": (lambda: [dm()], lambda: [dm(EXTRA=["a", "b"])],
                           lambda p: define_file(p, {"DM": list(dm(EXTRA=["a", "b"]).data)})),
}


def test_every_rule_has_a_case():
    assert set(CASES) == {r.id for r in load_rules()}


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_finds_violation(rule_id, tmp_path):
    bad, _, extra = CASES[rule_id]
    state, reason, issues = run_rule(rule_id, bad(), **(extra(tmp_path) if extra else {}))
    assert state == "issues_found", reason
    assert len(issues) >= 1
    assert (issues["stage"] == "validation").all()
    assert issues["message"].str.len().gt(0).all()
    assert not issues["message"].str.contains(r"\{[a-z_]+\}", regex=True).any(), \
        "unfilled placeholder in message"


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_passes_clean_data(rule_id, tmp_path):
    _, good, extra = CASES[rule_id]
    state, reason, issues = run_rule(rule_id, good(), **(extra(tmp_path) if extra else {}))
    assert state == "passed", (reason, issues[["dataset", "variable", "value", "message"]])
    assert issues.empty
