"""The MSC-INR-SD synthetic ODM export: schema-valid, reproducible, and true to the design."""

from __future__ import annotations

from collections import Counter

import pytest
from lxml import etree

from converter.simulate import simulate

NS = {"o": "http://www.cdisc.org/ns/odm/v1.3"}
SAFE = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@pytest.fixture(scope="module")
def odm_path(tmp_path_factory):
    out = tmp_path_factory.mktemp("sd")
    (path,) = simulate("msc-inr-sd", out)
    return path


@pytest.fixture(scope="module")
def doc(odm_path):
    return etree.parse(str(odm_path), SAFE)


def _values(subject, item_oid):
    return [e.get("Value") for e in subject.iterfind(f".//o:ItemData[@ItemOID='{item_oid}']", NS)]


def test_matches_committed_example(odm_path, repo_root):
    committed = repo_root / "examples" / "msc-inr-sd" / "raw"
    assert sorted(p.name for p in committed.iterdir()) == [odm_path.name]
    assert (committed / odm_path.name).read_bytes() == odm_path.read_bytes()


def test_validates_against_odm_132_schema(doc, shared):
    xsd = shared / "schemas" / "define-2.1" / "schema" / "cdisc-odm-1.3.2" / "ODM1-3-2.xsd"
    schema = etree.XMLSchema(etree.parse(str(xsd), SAFE))
    ok = schema.validate(doc)
    assert ok, [str(e) for e in schema.error_log][:5]


def test_header_is_fixed_and_metadata_complete(doc):
    root = doc.getroot()
    assert root.get("ODMVersion") == "1.3.2"
    assert root.get("CreationDateTime") == "2025-11-20T10:00:00+08:00"
    mdv = root.find("o:Study/o:MetaDataVersion", NS)
    events = [e.get("OID") for e in mdv.iterfind("o:StudyEventDef", NS)]
    scheduled = [e for e in mdv.iterfind("o:StudyEventDef", NS) if e.get("Type") == "Scheduled"]
    assert len(scheduled) == 7 and "SE.AE" in events
    # every OID used in the clinical data is defined in the metadata
    defined = {e.get("OID") for e in mdv.iter() if e.get("OID")}
    used = {e.get(a) for a in ("StudyEventOID", "FormOID", "ItemGroupOID", "ItemOID")
            for e in root.find("o:ClinicalData", NS).iter() if e.get(a)}
    assert used <= defined
    # coded values are in their code lists
    cl_values = {cl.get("OID"): {i.get("CodedValue") for i in cl.iterfind("o:CodeListItem", NS)}
                 for cl in mdv.iterfind("o:CodeList", NS)}
    item_cl = {i.get("OID"): i.find("o:CodeListRef", NS).get("CodeListOID")
               for i in mdv.iterfind("o:ItemDef", NS) if i.find("o:CodeListRef", NS) is not None}
    for item in root.iterfind(".//o:ItemData", NS):
        cl = item_cl.get(item.get("ItemOID"))
        if cl:
            assert item.get("Value") in cl_values[cl], (item.get("ItemOID"), item.get("Value"))


def test_design_counts(doc):
    subjects = doc.getroot().findall(".//o:SubjectData", NS)
    status = Counter(_values(s, "IT.DS.DSDECOD")[0] for s in subjects)
    assert status == {"1": 19, "2": 2, "4": 1}
    arms = Counter(v for s in subjects for v in _values(s, "IT.RAND.ARM"))
    assert arms == {"1": 10, "2": 10}
    for s in subjects:
        if _values(s, "IT.RAND.ARM"):
            ex = _values(s, "IT.EX.EXSTDAT")
            assert len(ex) == 3
            assert _values(s, "IT.EX.EXVOL") == ["100"] * 3
            visits = {e.get("StudyEventOID") for e in s.iterfind("o:StudyEventData", NS)}
            assert {"SE.SCR", "SE.D0", "SE.D30", "SE.D60", "SE.W24", "SE.W36"} <= visits
    dates = [e.get("Value") for e in doc.getroot().iterfind(".//o:ItemData", NS)
             if e.get("ItemOID") in {"IT.LB.LBDAT", "IT.VS.VSDAT", "IT.EX.EXSTDAT", "IT.IC.ICDAT"}]
    assert min(dates) >= "2023-04-16" and max(dates) <= "2025-11-15"


def test_repeating_groups_have_distinct_keys(doc):
    for form in doc.getroot().iterfind(".//o:FormData", NS):
        keys = [(g.get("ItemGroupOID"), g.get("ItemGroupRepeatKey"))
                for g in form.iterfind("o:ItemGroupData", NS)]
        assert len(keys) == len(set(keys))
