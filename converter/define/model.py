"""A typed, ordered model of the Define-XML 2.1 elements the converter writes and reads.

Each class is one element; its fields are the element's attributes and children in the order the
schema requires, so the serialiser (:mod:`converter.define.xml`) can walk them without knowing the
schema again. Text in ``Description``/``Decode``/``def:title`` is stored as plain strings
(``xml:lang="en"``). The model knows nothing about datasets; :mod:`converter.define.generate`
fills it and :mod:`converter.define.reader` reads it back from a file.

>>> ItemRef(item_oid="IT.DM.USUBJID", mandatory=True, order_number=3, key_sequence=2)
ItemRef(item_oid='IT.DM.USUBJID', mandatory=True, order_number=3, key_sequence=2, method_oid=None, role=None, where_clause_oids=[])
"""

from __future__ import annotations

from dataclasses import dataclass, field

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = "http://www.cdisc.org/ns/def/v2.1"
XLINK_NS = "http://www.w3.org/1999/xlink"
ARM_NS = "http://www.cdisc.org/ns/arm/v1.0"
XML_NS = "http://www.w3.org/XML/1998/namespace"

ORIGIN_TYPES = ("Collected", "Derived", "Assigned", "Protocol", "Predecessor", "Not Available",
                "Other")
ORIGIN_SOURCES = ("Investigator", "Sponsor", "Subject", "Vendor")
ITEM_GROUP_CLASSES = (
    "ADAM OTHER", "BASIC DATA STRUCTURE", "DEVICE LEVEL ANALYSIS DATASET", "EVENTS", "FINDINGS",
    "FINDINGS ABOUT", "INTERVENTIONS", "MEDICAL DEVICE BASIC DATA STRUCTURE",
    "MEDICAL DEVICE OCCURRENCE DATA STRUCTURE", "OCCURRENCE DATA STRUCTURE", "RELATIONSHIP",
    "SPECIAL PURPOSE", "STUDY REFERENCE", "SUBJECT LEVEL ANALYSIS DATASET", "TRIAL DESIGN",
)


@dataclass
class PDFPageRef:
    type: str                          # PhysicalRef | NamedDestination
    page_refs: str | None = None       # e.g. "6 7" or a named destination
    first_page: int | None = None
    last_page: int | None = None
    title: str | None = None


@dataclass
class DocumentRef:
    leaf_id: str
    pages: list[PDFPageRef] = field(default_factory=list)


@dataclass
class Leaf:
    id: str
    href: str
    title: str


@dataclass
class Standard:
    oid: str
    name: str                          # SDTMIG, ADaMIG, CDISC/NCI
    type: str                          # IG | CT
    version: str
    status: str = "Final"
    publishing_set: str | None = None  # SDTM, ADaM, DEFINE-XML for CT
    comment_oid: str | None = None


@dataclass
class Origin:
    type: str
    source: str | None = None
    description: str | None = None
    document_refs: list[DocumentRef] = field(default_factory=list)


@dataclass
class ItemRef:
    item_oid: str
    mandatory: bool
    order_number: int | None = None
    key_sequence: int | None = None
    method_oid: str | None = None
    role: str | None = None
    where_clause_oids: list[str] = field(default_factory=list)


@dataclass
class ItemGroupDef:
    oid: str
    name: str
    repeating: bool
    structure: str
    description: str | None = None
    domain: str | None = None
    is_reference_data: bool | None = None
    sas_dataset_name: str | None = None
    purpose: str | None = None
    archive_location_id: str | None = None
    standard_oid: str | None = None
    is_non_standard: bool = False
    has_no_data: bool = False
    comment_oid: str | None = None
    item_refs: list[ItemRef] = field(default_factory=list)
    class_name: str | None = None
    leaf: Leaf | None = None


@dataclass
class ItemDef:
    oid: str
    name: str
    data_type: str
    length: int | None = None
    significant_digits: int | None = None
    sas_field_name: str | None = None
    display_format: str | None = None
    comment_oid: str | None = None
    description: str | None = None
    codelist_oid: str | None = None
    origins: list[Origin] = field(default_factory=list)
    value_list_oid: str | None = None


@dataclass
class CodeListItem:
    """One term. Written as ``CodeListItem`` (with ``decode``) or ``EnumeratedItem``."""

    coded_value: str
    decode: str | None = None
    order_number: int | None = None
    extended_value: bool = False
    nci_code: str | None = None        # Alias Context="nci:ExtCodeID"


@dataclass
class ExternalCodeList:
    dictionary: str
    version: str | None = None
    ref: str | None = None
    href: str | None = None


@dataclass
class CodeList:
    oid: str
    name: str
    data_type: str = "text"
    standard_oid: str | None = None
    is_non_standard: bool = False
    comment_oid: str | None = None
    sas_format_name: str | None = None
    items: list[CodeListItem] = field(default_factory=list)
    enumerated: bool = False           # EnumeratedItem instead of CodeListItem
    external: ExternalCodeList | None = None
    nci_code: str | None = None


@dataclass
class MethodDef:
    oid: str
    name: str
    type: str                          # Computation | Imputation
    description: str
    document_refs: list[DocumentRef] = field(default_factory=list)


@dataclass
class CommentDef:
    oid: str
    description: str
    document_refs: list[DocumentRef] = field(default_factory=list)


@dataclass
class ValueListDef:
    oid: str
    item_refs: list[ItemRef] = field(default_factory=list)
    description: str | None = None


@dataclass
class RangeCheck:
    comparator: str                    # EQ, NE, IN, NOTIN, LT, LE, GT, GE
    item_oid: str
    check_values: list[str] = field(default_factory=list)
    soft_hard: str = "Soft"


@dataclass
class WhereClauseDef:
    oid: str
    range_checks: list[RangeCheck] = field(default_factory=list)
    comment_oid: str | None = None


@dataclass
class MetaDataVersion:
    oid: str
    name: str
    define_version: str = "2.1.0"
    description: str | None = None
    comment_oid: str | None = None
    standards: list[Standard] = field(default_factory=list)
    annotated_crf: list[DocumentRef] = field(default_factory=list)
    supplemental_docs: list[DocumentRef] = field(default_factory=list)
    value_lists: list[ValueListDef] = field(default_factory=list)
    where_clauses: list[WhereClauseDef] = field(default_factory=list)
    item_groups: list[ItemGroupDef] = field(default_factory=list)
    item_defs: list[ItemDef] = field(default_factory=list)
    codelists: list[CodeList] = field(default_factory=list)
    methods: list[MethodDef] = field(default_factory=list)
    comments: list[CommentDef] = field(default_factory=list)
    leaves: list[Leaf] = field(default_factory=list)


@dataclass
class Study:
    oid: str
    study_name: str
    study_description: str
    protocol_name: str
    metadata_version: MetaDataVersion


@dataclass
class Define:
    """The ``ODM`` root of a Define-XML 2.1 document."""

    file_oid: str
    creation_datetime: str
    study: Study
    context: str = "Submission"
    file_type: str = "Snapshot"
    odm_version: str = "1.3.2"
    originator: str | None = None
    source_system: str | None = None
    source_system_version: str | None = None
    stylesheet_href: str | None = None   # optional <?xml-stylesheet?> processing instruction

    @property
    def mdv(self) -> MetaDataVersion:
        return self.study.metadata_version

    # Look-ups used by the HTML renderer and tests.
    def item_def(self, oid: str) -> ItemDef | None:
        return next((i for i in self.mdv.item_defs if i.oid == oid), None)

    def item_group(self, name: str) -> ItemGroupDef | None:
        return next((g for g in self.mdv.item_groups if g.name == name), None)

    def codelist(self, oid: str) -> CodeList | None:
        return next((c for c in self.mdv.codelists if c.oid == oid), None)
