"""Read a Define-XML 2.1 file back into the model (round trip, HTML rendering of any define).

Parsing is safe: no entities, no network, no DTD. Elements the model does not carry (e.g. ARM
analysis results, FormalExpression) are ignored; everything :mod:`converter.define.serialise`
writes is read back, so ``to_xml(read_define(to_xml(d))) == to_xml(d)``.

>>> from converter.define.model import *
>>> from converter.define.serialise import to_xml
>>> d = Define("F", "2024-01-01T00:00:00", Study("S", "S", "S", "S", MetaDataVersion("M", "M")))
>>> read_define(to_xml(d)) == d
True
"""

from __future__ import annotations

import os
from pathlib import Path

from lxml import etree

from converter.define.model import (
    DEF_NS,
    ODM_NS,
    XLINK_NS,
    CodeList,
    CodeListItem,
    CommentDef,
    Define,
    DocumentRef,
    ExternalCodeList,
    ItemDef,
    ItemGroupDef,
    ItemRef,
    Leaf,
    MetaDataVersion,
    MethodDef,
    Origin,
    PDFPageRef,
    RangeCheck,
    Standard,
    Study,
    ValueListDef,
    WhereClauseDef,
)
from converter.errors import InputError


def safe_parser() -> etree.XMLParser:
    """The lxml parser every define reader and checker uses."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           huge_tree=False, remove_comments=False)


def _o(tag: str) -> str:
    return f"{{{ODM_NS}}}{tag}"


def _d(tag: str) -> str:
    return f"{{{DEF_NS}}}{tag}"


def _int(value: str | None) -> int | None:
    return None if value is None else int(value)


def _bool(value: str | None) -> bool | None:
    return None if value is None else value == "Yes"


def _text(el: etree._Element, tag: str) -> str | None:
    child = el.find(tag)
    if child is None:
        return None
    tt = child.find(_o("TranslatedText"))
    return (tt.text or "") if tt is not None else (child.text or "")


def _document_refs(el: etree._Element) -> list[DocumentRef]:
    return [DocumentRef(leaf_id=r.get("leafID"), pages=[
        PDFPageRef(type=p.get("Type"), page_refs=p.get("PageRefs"),
                   first_page=_int(p.get("FirstPage")), last_page=_int(p.get("LastPage")),
                   title=p.get("Title"))
        for p in r.findall(_d("PDFPageRef"))]) for r in el.findall(_d("DocumentRef"))]


def _leaf(el: etree._Element) -> Leaf:
    title = el.find(_d("title"))
    return Leaf(id=el.get("ID"), href=el.get(f"{{{XLINK_NS}}}href"),
                title=title.text if title is not None and title.text is not None else "")


def _item_ref(el: etree._Element) -> ItemRef:
    return ItemRef(item_oid=el.get("ItemOID"), mandatory=el.get("Mandatory") == "Yes",
                   order_number=_int(el.get("OrderNumber")),
                   key_sequence=_int(el.get("KeySequence")), method_oid=el.get("MethodOID"),
                   role=el.get("Role"),
                   where_clause_oids=[w.get("WhereClauseOID")
                                      for w in el.findall(_d("WhereClauseRef"))])


def _item_group(el: etree._Element) -> ItemGroupDef:
    cls = el.find(_d("Class"))
    leaf = el.find(_d("leaf"))
    return ItemGroupDef(
        oid=el.get("OID"), name=el.get("Name"), repeating=el.get("Repeating") == "Yes",
        structure=el.get(_d("Structure")), description=_text(el, _o("Description")),
        domain=el.get("Domain"), is_reference_data=_bool(el.get("IsReferenceData")),
        sas_dataset_name=el.get("SASDatasetName"), purpose=el.get("Purpose"),
        archive_location_id=el.get(_d("ArchiveLocationID")),
        standard_oid=el.get(_d("StandardOID")),
        is_non_standard=el.get(_d("IsNonStandard")) == "Yes",
        has_no_data=el.get(_d("HasNoData")) == "Yes", comment_oid=el.get(_d("CommentOID")),
        item_refs=[_item_ref(r) for r in el.findall(_o("ItemRef"))],
        class_name=cls.get("Name") if cls is not None else None,
        leaf=_leaf(leaf) if leaf is not None else None)


def _item_def(el: etree._Element) -> ItemDef:
    clr = el.find(_o("CodeListRef"))
    vlr = el.find(_d("ValueListRef"))
    return ItemDef(
        oid=el.get("OID"), name=el.get("Name"), data_type=el.get("DataType"),
        length=_int(el.get("Length")), significant_digits=_int(el.get("SignificantDigits")),
        sas_field_name=el.get("SASFieldName"), display_format=el.get(_d("DisplayFormat")),
        comment_oid=el.get(_d("CommentOID")), description=_text(el, _o("Description")),
        codelist_oid=clr.get("CodeListOID") if clr is not None else None,
        origins=[Origin(type=o.get("Type"), source=o.get("Source"),
                        description=_text(o, _o("Description")),
                        document_refs=_document_refs(o)) for o in el.findall(_d("Origin"))],
        value_list_oid=vlr.get("ValueListOID") if vlr is not None else None)


def _alias_code(el: etree._Element) -> str | None:
    for alias in el.findall(_o("Alias")):
        if alias.get("Context") == "nci:ExtCodeID":
            return alias.get("Name")
    return None


def _codelist(el: etree._Element) -> CodeList:
    ext = el.find(_o("ExternalCodeList"))
    enumerated = el.find(_o("EnumeratedItem")) is not None
    items = [CodeListItem(coded_value=i.get("CodedValue"),
                          decode=None if enumerated else _text(i, _o("Decode")),
                          order_number=_int(i.get("OrderNumber")),
                          extended_value=i.get(_d("ExtendedValue")) == "Yes",
                          nci_code=_alias_code(i))
             for i in el.findall(_o("EnumeratedItem" if enumerated else "CodeListItem"))]
    return CodeList(
        oid=el.get("OID"), name=el.get("Name"), data_type=el.get("DataType"),
        standard_oid=el.get(_d("StandardOID")),
        is_non_standard=el.get(_d("IsNonStandard")) == "Yes",
        comment_oid=el.get(_d("CommentOID")), sas_format_name=el.get("SASFormatName"),
        items=items, enumerated=enumerated,
        external=None if ext is None else ExternalCodeList(
            dictionary=ext.get("Dictionary"), version=ext.get("Version"), ref=ext.get("ref"),
            href=ext.get("href")),
        nci_code=_alias_code(el))


def _metadata_version(el: etree._Element) -> MetaDataVersion:
    stds = el.find(_d("Standards"))
    acrf = el.find(_d("AnnotatedCRF"))
    sup = el.find(_d("SupplementalDoc"))
    return MetaDataVersion(
        oid=el.get("OID"), name=el.get("Name"), define_version=el.get(_d("DefineVersion")),
        description=el.get("Description"), comment_oid=el.get(_d("CommentOID")),
        standards=[] if stds is None else [
            Standard(oid=s.get("OID"), name=s.get("Name"), type=s.get("Type"),
                     version=s.get("Version"), status=s.get("Status"),
                     publishing_set=s.get("PublishingSet"), comment_oid=s.get(_d("CommentOID")))
            for s in stds.findall(_d("Standard"))],
        annotated_crf=[] if acrf is None else _document_refs(acrf),
        supplemental_docs=[] if sup is None else _document_refs(sup),
        value_lists=[ValueListDef(oid=v.get("OID"),
                                  item_refs=[_item_ref(r) for r in v.findall(_o("ItemRef"))],
                                  description=_text(v, _o("Description")))
                     for v in el.findall(_d("ValueListDef"))],
        where_clauses=[WhereClauseDef(
            oid=w.get("OID"), comment_oid=w.get(_d("CommentOID")),
            range_checks=[RangeCheck(comparator=r.get("Comparator"), item_oid=r.get(_d("ItemOID")),
                                     check_values=[c.text or "" for c in r.findall(_o("CheckValue"))],
                                     soft_hard=r.get("SoftHard"))
                          for r in w.findall(_o("RangeCheck"))])
            for w in el.findall(_d("WhereClauseDef"))],
        item_groups=[_item_group(g) for g in el.findall(_o("ItemGroupDef"))],
        item_defs=[_item_def(i) for i in el.findall(_o("ItemDef"))],
        codelists=[_codelist(c) for c in el.findall(_o("CodeList"))],
        methods=[MethodDef(oid=m.get("OID"), name=m.get("Name"), type=m.get("Type"),
                           description=_text(m, _o("Description")) or "",
                           document_refs=_document_refs(m))
                 for m in el.findall(_o("MethodDef"))],
        comments=[CommentDef(oid=c.get("OID"), description=_text(c, _o("Description")) or "",
                             document_refs=_document_refs(c))
                  for c in el.findall(_d("CommentDef"))],
        leaves=[_leaf(x) for x in el.findall(_d("leaf"))],
    )


def _stylesheet_href(root: etree._Element) -> str | None:
    prev = root.getprevious()
    while prev is not None:
        if isinstance(prev, etree._ProcessingInstruction) and prev.target == "xml-stylesheet":
            return prev.get("href")
        prev = prev.getprevious()
    return None


def parse_define(source: bytes | str | os.PathLike) -> etree._ElementTree:
    """Parse a define.xml file (path) or document (bytes) safely; InputError if it cannot be."""
    parser = safe_parser()
    try:
        if isinstance(source, bytes):
            return etree.ElementTree(etree.fromstring(source, parser))
        return etree.parse(str(Path(source)), parser)
    except OSError as exc:
        raise InputError(f"cannot read define file: {exc}", file=str(source)) from exc
    except etree.XMLSyntaxError as exc:
        raise InputError(f"not well-formed XML: {exc.msg}",
                         file=None if isinstance(source, bytes) else str(source),
                         line=exc.lineno) from exc


def read_define(source: bytes | str | os.PathLike) -> Define:
    """Read a Define-XML 2.1 document (path or bytes) into a :class:`Define`."""
    root = parse_define(source).getroot()
    if root.tag != _o("ODM"):
        raise InputError(f"root element is {root.tag}, expected ODM",
                         file=None if isinstance(source, bytes) else str(source))
    study_el = root.find(_o("Study"))
    mdv_el = study_el.find(_o("MetaDataVersion")) if study_el is not None else None
    if study_el is None or mdv_el is None:
        raise InputError("no Study/MetaDataVersion element",
                         file=None if isinstance(source, bytes) else str(source))
    gv = study_el.find(_o("GlobalVariables"))

    def gv_text(tag: str) -> str:
        el = gv.find(_o(tag)) if gv is not None else None
        return (el.text or "") if el is not None else ""

    return Define(
        file_oid=root.get("FileOID"), creation_datetime=root.get("CreationDateTime"),
        study=Study(oid=study_el.get("OID"), study_name=gv_text("StudyName"),
                    study_description=gv_text("StudyDescription"),
                    protocol_name=gv_text("ProtocolName"),
                    metadata_version=_metadata_version(mdv_el)),
        context=root.get(_d("Context")), file_type=root.get("FileType"),
        odm_version=root.get("ODMVersion"), originator=root.get("Originator"),
        source_system=root.get("SourceSystem"),
        source_system_version=root.get("SourceSystemVersion"),
        stylesheet_href=_stylesheet_href(root))
