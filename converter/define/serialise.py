"""The one place where the Define-XML model becomes bytes: lxml, pretty-printed, UTF-8.

Elements and attributes are written in a fixed order (the schema's element order; attributes in
the order the Define-XML specification lists them), so the same model always gives the same bytes.

>>> from converter.define.model import Leaf
>>> _leaf(Leaf("LF.DM", "dm.xpt", "dm.xpt")).get("ID")
'LF.DM'
"""

from __future__ import annotations

import re

from lxml import etree

from converter.define.model import (
    DEF_NS,
    ODM_NS,
    XLINK_NS,
    XML_NS,
    CodeList,
    CommentDef,
    Define,
    DocumentRef,
    ItemDef,
    ItemGroupDef,
    ItemRef,
    Leaf,
    MetaDataVersion,
    MethodDef,
    Origin,
    Standard,
    ValueListDef,
    WhereClauseDef,
)

NSMAP = {None: ODM_NS, "xlink": XLINK_NS, "def": DEF_NS}
# characters XML 1.0 cannot carry; the generator reports values holding them (DEF.XML.CHAR)
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """``text`` with characters XML 1.0 cannot represent replaced by U+FFFD."""
    return NOT_XML.sub("\ufffd", text)


def _o(tag: str) -> str:
    return f"{{{ODM_NS}}}{tag}"


def _d(tag: str) -> str:
    return f"{{{DEF_NS}}}{tag}"


def _el(parent: etree._Element | None, tag: str, attrs: list[tuple[str, object]] = ()
        ) -> etree._Element:
    """Create an element with the attributes whose value is not None, in the given order."""
    el = etree.Element(tag) if parent is None else etree.SubElement(parent, tag)
    for name, value in attrs:
        if value is None or value is False:
            continue
        if value is True:
            value = "Yes"
        el.set(name, xml_safe(str(value)))
    return el


def _yes_no(flag: bool | None) -> str | None:
    return None if flag is None else ("Yes" if flag else "No")


def _text(parent: etree._Element, tag: str, text: str) -> etree._Element:
    """``<tag><TranslatedText xml:lang="en">text</TranslatedText></tag>``."""
    el = etree.SubElement(parent, tag)
    tt = etree.SubElement(el, _o("TranslatedText"))
    tt.set(f"{{{XML_NS}}}lang", "en")
    tt.text = xml_safe(text)
    return el


def _document_ref(parent: etree._Element, ref: DocumentRef) -> None:
    el = _el(parent, _d("DocumentRef"), [("leafID", ref.leaf_id)])
    for page in ref.pages:
        _el(el, _d("PDFPageRef"), [("PageRefs", page.page_refs), ("FirstPage", page.first_page),
                                   ("LastPage", page.last_page), ("Type", page.type),
                                   ("Title", page.title)])


def _leaf(leaf: Leaf, parent: etree._Element | None = None) -> etree._Element:
    el = _el(parent, _d("leaf"), [("ID", leaf.id), (f"{{{XLINK_NS}}}href", leaf.href)])
    title = etree.SubElement(el, _d("title"))
    title.text = leaf.title
    return el


def _standard(parent: etree._Element, std: Standard) -> None:
    _el(parent, _d("Standard"), [("OID", std.oid), ("Name", std.name), ("Type", std.type),
                                 ("PublishingSet", std.publishing_set), ("Version", std.version),
                                 ("Status", std.status), (_d("CommentOID"), std.comment_oid)])


def _item_ref(parent: etree._Element, ref: ItemRef) -> None:
    el = _el(parent, _o("ItemRef"), [
        ("ItemOID", ref.item_oid), ("OrderNumber", ref.order_number),
        ("Mandatory", _yes_no(ref.mandatory)), ("KeySequence", ref.key_sequence),
        ("MethodOID", ref.method_oid), ("Role", ref.role)])
    for oid in ref.where_clause_oids:
        _el(el, _d("WhereClauseRef"), [("WhereClauseOID", oid)])


def _value_list(parent: etree._Element, vl: ValueListDef) -> None:
    el = _el(parent, _d("ValueListDef"), [("OID", vl.oid)])
    if vl.description:
        _text(el, _o("Description"), vl.description)
    for ref in vl.item_refs:
        _item_ref(el, ref)


def _where_clause(parent: etree._Element, wc: WhereClauseDef) -> None:
    el = _el(parent, _d("WhereClauseDef"), [("OID", wc.oid), (_d("CommentOID"), wc.comment_oid)])
    for rc in wc.range_checks:
        rel = _el(el, _o("RangeCheck"), [("Comparator", rc.comparator), ("SoftHard", rc.soft_hard),
                                          (_d("ItemOID"), rc.item_oid)])
        for value in rc.check_values:
            cv = etree.SubElement(rel, _o("CheckValue"))
            cv.text = xml_safe(value)


def _item_group(parent: etree._Element, ig: ItemGroupDef) -> None:
    el = _el(parent, _o("ItemGroupDef"), [
        ("OID", ig.oid), ("Domain", ig.domain), ("Name", ig.name),
        ("Repeating", _yes_no(ig.repeating)), ("IsReferenceData", _yes_no(ig.is_reference_data)),
        ("SASDatasetName", ig.sas_dataset_name), (_d("Structure"), ig.structure),
        ("Purpose", ig.purpose), (_d("StandardOID"), ig.standard_oid),
        (_d("IsNonStandard"), ig.is_non_standard), (_d("HasNoData"), ig.has_no_data),
        (_d("CommentOID"), ig.comment_oid), (_d("ArchiveLocationID"), ig.archive_location_id)])
    if ig.description:
        _text(el, _o("Description"), ig.description)
    for ref in ig.item_refs:
        _item_ref(el, ref)
    if ig.class_name:
        _el(el, _d("Class"), [("Name", ig.class_name)])
    if ig.leaf:
        _leaf(ig.leaf, el)


def _origin(parent: etree._Element, origin: Origin) -> None:
    el = _el(parent, _d("Origin"), [("Type", origin.type), ("Source", origin.source)])
    if origin.description:
        _text(el, _o("Description"), origin.description)
    for ref in origin.document_refs:
        _document_ref(el, ref)


def _item_def(parent: etree._Element, it: ItemDef) -> None:
    el = _el(parent, _o("ItemDef"), [
        ("OID", it.oid), ("Name", it.name), ("DataType", it.data_type), ("Length", it.length),
        ("SignificantDigits", it.significant_digits), ("SASFieldName", it.sas_field_name),
        (_d("DisplayFormat"), it.display_format), (_d("CommentOID"), it.comment_oid)])
    if it.description:
        _text(el, _o("Description"), it.description)
    if it.codelist_oid:
        _el(el, _o("CodeListRef"), [("CodeListOID", it.codelist_oid)])
    for origin in it.origins:
        _origin(el, origin)
    if it.value_list_oid:
        _el(el, _d("ValueListRef"), [("ValueListOID", it.value_list_oid)])


def _alias(parent: etree._Element, code: str | None) -> None:
    if code:
        _el(parent, _o("Alias"), [("Name", code), ("Context", "nci:ExtCodeID")])


def _codelist(parent: etree._Element, cl: CodeList) -> None:
    el = _el(parent, _o("CodeList"), [
        ("OID", cl.oid), ("Name", cl.name), ("DataType", cl.data_type),
        (_d("StandardOID"), cl.standard_oid), (_d("IsNonStandard"), cl.is_non_standard),
        (_d("CommentOID"), cl.comment_oid), ("SASFormatName", cl.sas_format_name)])
    if cl.external is not None:
        x = cl.external
        _el(el, _o("ExternalCodeList"), [("Dictionary", x.dictionary), ("Version", x.version),
                                         ("ref", x.ref), ("href", x.href)])
    for item in cl.items:
        attrs = [("CodedValue", item.coded_value), ("OrderNumber", item.order_number),
                 (_d("ExtendedValue"), item.extended_value)]
        if cl.enumerated:
            iel = _el(el, _o("EnumeratedItem"), attrs)
        else:
            iel = _el(el, _o("CodeListItem"), attrs)
            _text(iel, _o("Decode"), item.decode if item.decode is not None else item.coded_value)
        _alias(iel, item.nci_code)
    _alias(el, cl.nci_code)


def _method(parent: etree._Element, mt: MethodDef) -> None:
    el = _el(parent, _o("MethodDef"), [("OID", mt.oid), ("Name", mt.name), ("Type", mt.type)])
    _text(el, _o("Description"), mt.description)
    for ref in mt.document_refs:
        _document_ref(el, ref)


def _comment(parent: etree._Element, com: CommentDef) -> None:
    el = _el(parent, _d("CommentDef"), [("OID", com.oid)])
    _text(el, _o("Description"), com.description)
    for ref in com.document_refs:
        _document_ref(el, ref)


def _metadata_version(parent: etree._Element, mdv: MetaDataVersion) -> None:
    el = _el(parent, _o("MetaDataVersion"), [
        ("OID", mdv.oid), ("Name", mdv.name), ("Description", mdv.description),
        (_d("DefineVersion"), mdv.define_version), (_d("CommentOID"), mdv.comment_oid)])
    if mdv.standards:
        stds = etree.SubElement(el, _d("Standards"))
        for std in mdv.standards:
            _standard(stds, std)
    if mdv.annotated_crf:
        acrf = etree.SubElement(el, _d("AnnotatedCRF"))
        for ref in mdv.annotated_crf:
            _document_ref(acrf, ref)
    if mdv.supplemental_docs:
        sup = etree.SubElement(el, _d("SupplementalDoc"))
        for ref in mdv.supplemental_docs:
            _document_ref(sup, ref)
    for vl in mdv.value_lists:
        _value_list(el, vl)
    for wc in mdv.where_clauses:
        _where_clause(el, wc)
    for ig in mdv.item_groups:
        _item_group(el, ig)
    for it in mdv.item_defs:
        _item_def(el, it)
    for cl in mdv.codelists:
        _codelist(el, cl)
    for mt in mdv.methods:
        _method(el, mt)
    for com in mdv.comments:
        _comment(el, com)
    for leaf in mdv.leaves:
        _leaf(leaf, el)


def to_element(define: Define) -> etree._Element:
    """The ``ODM`` element tree of ``define``."""
    root = etree.Element(_o("ODM"), nsmap=NSMAP)
    for name, value in [
        ("FileType", define.file_type), ("FileOID", define.file_oid),
        ("ODMVersion", define.odm_version), ("CreationDateTime", define.creation_datetime),
        ("Originator", define.originator), ("SourceSystem", define.source_system),
        ("SourceSystemVersion", define.source_system_version), (_d("Context"), define.context)]:
        if value is not None:
            root.set(name, str(value))
    study = _el(root, _o("Study"), [("OID", define.study.oid)])
    gv = etree.SubElement(study, _o("GlobalVariables"))
    for tag, text in (("StudyName", define.study.study_name),
                      ("StudyDescription", define.study.study_description),
                      ("ProtocolName", define.study.protocol_name)):
        etree.SubElement(gv, _o(tag)).text = text
    _metadata_version(study, define.study.metadata_version)
    return root


def to_xml(define: Define) -> bytes:
    """Serialise ``define`` to pretty-printed UTF-8 bytes (deterministic)."""
    root = to_element(define)
    tree = etree.ElementTree(root)
    if define.stylesheet_href:
        pi = etree.ProcessingInstruction(
            "xml-stylesheet", f'type="text/xsl" href="{define.stylesheet_href}"')
        root.addprevious(pi)
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8", pretty_print=True)
