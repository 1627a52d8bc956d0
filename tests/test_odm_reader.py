"""read_odm: one frame per item group, repeating groups apart, ODM-path provenance, checks."""

from __future__ import annotations

import pytest

from converter.errors import InputError
from converter.io.readers import read_odm
from converter.issues import IssueLog
from converter.model import SRC_FILE, SRC_ROW

METADATA = """
  <Study OID="ST.SD">
    <GlobalVariables><StudyName>SD</StudyName><StudyDescription>d</StudyDescription>
      <ProtocolName>SD</ProtocolName></GlobalVariables>
    <MetaDataVersion OID="MDV.1" Name="v1">
      <Protocol><StudyEventRef StudyEventOID="SE.SCR" Mandatory="Yes"/>
        <StudyEventRef StudyEventOID="SE.W4" Mandatory="Yes"/></Protocol>
      <StudyEventDef OID="SE.SCR" Name="Screening" Repeating="No" Type="Scheduled">
        <FormRef FormOID="F.DM" Mandatory="Yes"/><FormRef FormOID="F.VS" Mandatory="Yes"/>
      </StudyEventDef>
      <StudyEventDef OID="SE.W4" Name="Week 4" Repeating="No" Type="Scheduled">
        <FormRef FormOID="F.VS" Mandatory="Yes"/></StudyEventDef>
      <FormDef OID="F.DM" Name="Demographics" Repeating="No">
        <ItemGroupRef ItemGroupOID="IG.DM" Mandatory="Yes"/></FormDef>
      <FormDef OID="F.VS" Name="Vital signs" Repeating="No">
        <ItemGroupRef ItemGroupOID="IG.VS" Mandatory="Yes"/></FormDef>
      <ItemGroupDef OID="IG.DM" Name="DM" Repeating="No">
        <ItemRef ItemOID="I.SEX" Mandatory="Yes"/><ItemRef ItemOID="I.BRTHDAT" Mandatory="No"/>
      </ItemGroupDef>
      <ItemGroupDef OID="IG.VS" Name="VS" Repeating="Yes">
        <ItemRef ItemOID="I.VSTEST" Mandatory="Yes"/><ItemRef ItemOID="I.VSORRES" Mandatory="No"/>
      </ItemGroupDef>
      <ItemDef OID="I.SEX" Name="SEX" DataType="text"/>
      <ItemDef OID="I.BRTHDAT" Name="BRTHDAT" DataType="partialDate"/>
      <ItemDef OID="I.VSTEST" Name="VSTEST" DataType="text"/>
      <ItemDef OID="I.VSORRES" Name="VSORRES" DataType="text"/>
    </MetaDataVersion>
  </Study>"""

CLINICAL = """
  <ClinicalData StudyOID="ST.SD" MetaDataVersionOID="MDV.1">
    <SubjectData SubjectKey="01-001">
      <SiteRef LocationOID="SITE.01"/>
      <StudyEventData StudyEventOID="SE.SCR">
        <FormData FormOID="F.DM">
          <ItemGroupData ItemGroupOID="IG.DM">
            <ItemData ItemOID="I.BRTHDAT" Value="1970-UN-UN"/>
            <ItemData ItemOID="I.SEX" Value="F"/>
          </ItemGroupData>
        </FormData>
        <FormData FormOID="F.VS">
          <ItemGroupData ItemGroupOID="IG.VS" ItemGroupRepeatKey="1">
            <ItemData ItemOID="I.VSTEST" Value="SYSBP"/><ItemData ItemOID="I.VSORRES" Value=" 120"/>
          </ItemGroupData>
          <ItemGroupData ItemGroupOID="IG.VS" ItemGroupRepeatKey="2">
            <ItemData ItemOID="I.VSTEST" Value="DIABP"/>
            <ItemData ItemOID="I.VSORRES" IsNull="Yes"/>
          </ItemGroupData>
        </FormData>
      </StudyEventData>
      <StudyEventData StudyEventOID="SE.W4">
        <FormData FormOID="F.VS">
          <ItemGroupData ItemGroupOID="IG.VS" ItemGroupRepeatKey="1">
            <ItemData ItemOID="I.VSTEST" Value="SYSBP"/><ItemData ItemOID="I.VSORRES" Value=""/>
          </ItemGroupData>
        </FormData>
      </StudyEventData>
    </SubjectData>
    <SubjectData SubjectKey="01-002">
      <SiteRef LocationOID="SITE.02"/>
      <StudyEventData StudyEventOID="SE.SCR">
        <FormData FormOID="F.DM">
          <ItemGroupData ItemGroupOID="IG.DM">
            <ItemDataString ItemOID="I.SEX">M</ItemDataString>
          </ItemGroupData>
        </FormData>
      </StudyEventData>
    </SubjectData>
  </ClinicalData>"""


def odm(body: str, ns: str = "http://www.cdisc.org/ns/odm/v1.3") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<ODM xmlns="{ns}" ODMVersion="1.3.2" '
            f'FileType="Snapshot" FileOID="F1" CreationDateTime="2015-01-01T00:00:00">'
            f"{body}</ODM>").encode()


def write(tmp_path, data: bytes, name: str = "sd.xml"):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_one_frame_per_item_group_with_keys_and_paths(tmp_path):
    frames = read_odm(write(tmp_path, odm(METADATA + CLINICAL)))
    assert sorted(frames) == ["IG.DM", "IG.VS"]
    dm = frames["IG.DM"]
    assert list(dm.columns) == [
        "StudyOID", "MetaDataVersionOID", "SubjectKey", "SiteOID", "StudyEventOID",
        "StudyEventRepeatKey", "FormOID", "FormRepeatKey", "ItemGroupOID", "ItemGroupRepeatKey",
        "I.SEX", "I.BRTHDAT", SRC_FILE, SRC_ROW]     # declared item order, not file order
    assert dm[["SubjectKey", "SiteOID", "I.SEX", "I.BRTHDAT"]].values.tolist() == [
        ["01-001", "SITE.01", "F", "1970-UN-UN"], ["01-002", "SITE.02", "M", None]]
    assert set(dm["StudyOID"]) == {"ST.SD"} and set(dm["MetaDataVersionOID"]) == {"MDV.1"}
    vs = frames["IG.VS"]
    assert vs[["StudyEventOID", "ItemGroupRepeatKey", "I.VSTEST", "I.VSORRES"]].values.tolist() \
        == [["SE.SCR", "1", "SYSBP", " 120"], ["SE.SCR", "2", "DIABP", None],
            ["SE.W4", "1", "SYSBP", None]]
    assert vs[SRC_ROW].iloc[1] == (
        "SubjectData[@SubjectKey='01-001']/StudyEventData[@StudyEventOID='SE.SCR']"
        "/FormData[@FormOID='F.VS']/ItemGroupData[@ItemGroupOID='IG.VS'][2]")
    assert set(vs[SRC_FILE]) == {"sd.xml"}
    cells = [v for f in frames.values() for v in f.to_numpy().ravel()]
    assert all(v is None or isinstance(v, str) for v in cells)


def test_source_name(tmp_path):
    frames = read_odm(write(tmp_path, odm(METADATA + CLINICAL)), source_name="raw/sd.xml")
    assert set(frames["IG.DM"][SRC_FILE]) == {"raw/sd.xml"}


UNDECLARED = CLINICAL.replace('ItemOID="I.VSORRES" Value=" 120"', 'ItemOID="I.VSXX" Value="9"') \
    .replace('<FormData FormOID="F.DM">\n          <ItemGroupData ItemGroupOID="IG.DM">\n'
             '            <ItemDataString', '<FormData FormOID="F.ZZ">\n          '
             '<ItemGroupData ItemGroupOID="IG.DM">\n            <ItemDataString')


def test_undeclared_oids_logged_with_location_and_data_kept(tmp_path):
    log = IssueLog()
    frames = read_odm(write(tmp_path, odm(METADATA + UNDECLARED)), issues=log)
    issues = log.filter(["ODM.UNDECLARED_OID"])
    got = sorted(zip(issues["variable"], issues["value"], issues["usubjid"]))
    assert got == [("FormOID", "F.ZZ", "01-002"), ("ItemOID", "I.VSXX", "01-001")]
    assert issues["source_row"].str.startswith("SubjectData[@SubjectKey=").all()
    assert "I.VSXX" in frames["IG.VS"].columns                    # nothing dropped
    assert frames["IG.DM"]["FormOID"].tolist() == ["F.DM", "F.ZZ"]


def test_undeclared_oid_without_log_is_located_error(tmp_path):
    with pytest.raises(InputError, match=r"sd.xml:\d+, key 'FormOID': FormOID 'F.ZZ' is not "
                                         r"declared"):
        read_odm(write(tmp_path, odm(METADATA + UNDECLARED)))
    with pytest.raises(InputError, match="not declared"):
        read_odm(write(tmp_path, odm(METADATA + UNDECLARED)), issues=IssueLog(), strict=True)


def test_duplicate_item_in_one_group(tmp_path):
    dup = CLINICAL.replace('<ItemData ItemOID="I.SEX" Value="F"/>',
                           '<ItemData ItemOID="I.SEX" Value="F"/><ItemData ItemOID="I.SEX" '
                           'Value="M"/>')
    with pytest.raises(InputError, match="I.SEX' appears twice"):
        read_odm(write(tmp_path, odm(METADATA + dup)))
    log = IssueLog()
    frames = read_odm(write(tmp_path, odm(METADATA + dup)), issues=log)
    assert frames["IG.DM"]["I.SEX"].iloc[0] == "F"
    assert log.filter(["ODM.DUPLICATE_ITEM"])["value"].tolist() == ["M"]


def test_wrong_namespace_is_located_error(tmp_path):
    with pytest.raises(InputError, match=r"sd.xml:2: root element is 'ODM' in "
                                         r"http://www.cdisc.org/ns/odm/v1.2"):
        read_odm(write(tmp_path, odm(METADATA + CLINICAL, ns="http://www.cdisc.org/ns/odm/v1.2")))
    plain = b"<ODM><ClinicalData/></ODM>"
    with pytest.raises(InputError, match="no namespace"):
        read_odm(write(tmp_path, plain))


@pytest.mark.parametrize("cut", [200, 900, 2500])
def test_truncated_or_malformed_xml_is_located_error(tmp_path, cut):
    data = odm(METADATA + CLINICAL)[:cut]
    with pytest.raises(InputError, match=r"sd.xml:\d+: malformed XML"):
        read_odm(write(tmp_path, data))


def test_mismatched_tags_and_empty_file(tmp_path):
    with pytest.raises(InputError, match=r"sd.xml:1: malformed XML"):
        read_odm(write(tmp_path, b"<ODM xmlns='http://www.cdisc.org/ns/odm/v1.3'><a></b></ODM>"))
    with pytest.raises(InputError, match="empty"):
        read_odm(write(tmp_path, b""))


def test_remove_transaction_refused(tmp_path):
    body = CLINICAL.replace('<SubjectData SubjectKey="01-002">',
                            '<SubjectData SubjectKey="01-002" TransactionType="Remove">')
    with pytest.raises(InputError, match="TransactionType='Remove'"):
        read_odm(write(tmp_path, odm(METADATA + body)))


def test_no_metadata_gives_warning_not_silence(tmp_path):
    log = IssueLog()
    frames = read_odm(write(tmp_path, odm(CLINICAL)), issues=log)
    assert len(frames["IG.VS"]) == 3
    assert len(log.filter(["ODM.NO_METADATA"])) == 2


def test_seed_study_odm_export_read_completely(repo_root):
    """The committed MSC-INR-SD ODM export: checked against an independent lxml count."""
    from collections import Counter

    from lxml import etree

    path = repo_root / "examples" / "msc-inr-sd" / "raw" / "msc-inr-sd_odm.xml"
    log = IssueLog()
    frames = read_odm(path, issues=log)
    assert len(log) == 0, log.to_frame().head()
    ns = {"o": "http://www.cdisc.org/ns/odm/v1.3"}
    tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
    groups = Counter(g.get("ItemGroupOID") for g in tree.iterfind(".//o:ItemGroupData", ns))
    assert {k: len(v) for k, v in frames.items()} == dict(groups)
    values = Counter()
    for item in tree.iterfind(".//o:ItemData", ns):
        if item.get("Value") not in (None, ""):
            values[item.get("ItemOID")] += 1
    got = Counter()
    for frame in frames.values():
        for col in frame.columns[10:-2]:
            got[col] += int(frame[col].notna().sum())
        assert frame[SRC_ROW].is_unique
    assert got == values
