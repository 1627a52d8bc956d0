"""Check any define.xml: Define-XML 2.1 schema plus the referential rules, every problem located.

The checker never stops at the first problem: it reports every schema error libxml2 finds and
every referential problem (an OID referenced but not defined, a definition never referenced,
duplicate OIDs, OrderNumber/KeySequence that are not unique or not 1..n), each as one line
``FILE:LINE: RULE: message``.

Schemas come from, in order: the ``schema_dir`` argument, the ``CONVERTER_DEFINE_SCHEMAS``
environment variable, or the schemas bundled in the installed ``odmlib`` package. Any folder
holding ``define2-1-0.xsd`` (with its imports beside it, as CDISC or odmlib lay them out) works;
``arm1-0-0.xsd`` is used instead when the document carries Analysis Results Metadata.

>>> import converter.paths
>>> shared = converter.paths.shared_dir() / "schemas/define-2.1"
>>> ex = shared / "cdisc-2019/examples/DefineXML-2-1-SDTM/defineV21-SDTM.xml"
>>> check_define(ex, schema_dir=shared / "schema")
[]
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from converter.define.model import ARM_NS, DEF_NS, ODM_NS
from converter.define.reader import safe_parser
from converter.errors import ConfigError, InputError

SCHEMA_ENV = "CONVERTER_DEFINE_SCHEMAS"
DEFINE_XSD = "define2-1-0.xsd"
ARM_XSD = "arm1-0-0.xsd"


@dataclass(frozen=True, order=True)
class Problem:
    """One located problem in a define.xml."""

    line: int
    rule: str
    message: str

    def format(self, file: str) -> str:
        return f"{file}:{self.line}: {self.rule}: {self.message}"


@dataclass(frozen=True)
class SchemaSource:
    define_xsd: Path
    arm_xsd: Path | None
    origin: str        # "--schema-dir", "CONVERTER_DEFINE_SCHEMAS" or "odmlib"


def _odmlib_schema_dir() -> Path | None:
    spec = importlib.util.find_spec("odmlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "schemas"
    return path if path.is_dir() else None


def _pick_arm(folder: Path) -> Path | None:
    """The ARM 1.0 root schema that extends Define-XML 2.1 (not 2.0) under ``folder``."""
    for candidate in sorted(folder.rglob(ARM_XSD)):
        ext = candidate.parent / "arm-extension.xsd"
        ns = candidate.parent / "arm-ns.xsd"
        text = (ext.read_text(errors="replace") if ext.is_file() else "") + (
            ns.read_text(errors="replace") if ns.is_file() else "")
        if "define-2.1" in text or "define/2.1" in text or "def/v2.1" in text:
            return candidate
    return None


def _from_folder(folder: Path, origin: str) -> SchemaSource | None:
    if not folder.is_dir():
        return None
    hits = sorted(folder.rglob(DEFINE_XSD))
    if not hits:
        return None
    return SchemaSource(define_xsd=hits[0], arm_xsd=_pick_arm(folder), origin=origin)


def find_schemas(schema_dir: str | os.PathLike | None = None) -> SchemaSource:
    """Locate the Define-XML 2.1 schema; ConfigError (exit 2) when none can be found."""
    if schema_dir is not None:
        src = _from_folder(Path(schema_dir), "--schema-dir")
        if src is None:
            raise ConfigError(f"no {DEFINE_XSD} under schema folder '{schema_dir}'",
                              key="--schema-dir",
                              hint="point --schema-dir at a folder holding the Define-XML 2.1 "
                                   "schemas (define2-1-0.xsd with its imports)")
        return src
    env = os.environ.get(SCHEMA_ENV)
    if env:
        src = _from_folder(Path(env), SCHEMA_ENV)
        if src is None:
            raise ConfigError(f"no {DEFINE_XSD} under {SCHEMA_ENV}='{env}'", key=SCHEMA_ENV,
                              hint="set it to a folder holding the Define-XML 2.1 schemas")
        return src
    odmlib_dir = _odmlib_schema_dir()
    src = _from_folder(odmlib_dir, "odmlib") if odmlib_dir else None
    if src is None:
        raise ConfigError("no Define-XML 2.1 schema available",
                          hint=f"install odmlib (pip install odmlib), or pass --schema-dir / set "
                               f"{SCHEMA_ENV} to a folder holding {DEFINE_XSD}")
    return src


@functools.lru_cache(maxsize=8)
def _compile(xsd: Path) -> etree.XMLSchema:
    try:
        return etree.XMLSchema(etree.parse(str(xsd), safe_parser()))
    except (OSError, etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
        raise ConfigError(f"cannot load schema: {exc}", file=str(xsd),
                          hint="the schema folder must hold the complete Define-XML 2.1 set "
                               "(define-ns, define-extension, ODM 1.3.2 foundation, xlink, xml)"
                          ) from exc


def _o(tag: str) -> str:
    return f"{{{ODM_NS}}}{tag}"


def _d(tag: str) -> str:
    return f"{{{DEF_NS}}}{tag}"


# What each kind of definition is, keyed by element tag -> (kind, id attribute).
DEFINITIONS = {
    _o("ItemGroupDef"): ("ItemGroupDef", "OID"),
    _o("ItemDef"): ("ItemDef", "OID"),
    _o("CodeList"): ("CodeList", "OID"),
    _o("MethodDef"): ("MethodDef", "OID"),
    _o("MeasurementUnit"): ("MeasurementUnit", "OID"),
    _d("CommentDef"): ("CommentDef", "OID"),
    _d("ValueListDef"): ("ValueListDef", "OID"),
    _d("WhereClauseDef"): ("WhereClauseDef", "OID"),
    _d("Standard"): ("Standard", "OID"),
    _d("leaf"): ("leaf", "ID"),
}
# Reference attributes (on any element) -> kind they point to.
REFERENCES = {
    "ItemOID": "ItemDef", _d("ItemOID"): "ItemDef", "ParameterOID": "ItemDef",
    "ItemGroupOID": "ItemGroupDef", "MethodOID": "MethodDef", "CodeListOID": "CodeList",
    "RoleCodeListOID": "CodeList", "MeasurementUnitOID": "MeasurementUnit",
    "ValueListOID": "ValueListDef", "WhereClauseOID": "WhereClauseDef",
    _d("CommentOID"): "CommentDef", _d("StandardOID"): "Standard",
    _d("ArchiveLocationID"): "leaf", "leafID": "leaf",
}
# Kinds whose definitions must be referenced somewhere (no orphans).
MUST_BE_REFERENCED = ("ItemDef", "CodeList", "MethodDef", "CommentDef", "ValueListDef",
                      "WhereClauseDef", "leaf", "Standard", "MeasurementUnit")


def _local(tag: str) -> str:
    if tag.startswith(f"{{{DEF_NS}}}"):
        return "def:" + tag.split("}", 1)[1]
    if tag.startswith(f"{{{ARM_NS}}}"):
        return "arm:" + tag.split("}", 1)[1]
    return tag.split("}", 1)[-1]


def _attr_name(attr: str) -> str:
    return _local(attr) if attr.startswith("{") else attr


def _short_names(message: str) -> str:
    """Schema messages with ``def:``/``arm:`` prefixes instead of namespace URIs."""
    return (message.replace(f"{{{ODM_NS}}}", "").replace(f"{{{DEF_NS}}}", "def:")
            .replace(f"{{{ARM_NS}}}", "arm:"))


class _StartLines:
    """libxml2 gives the line where a start tag *ends*; messages point at its first line."""

    def __init__(self, data: bytes | None):
        self.lines = data.decode("utf-8", errors="replace").splitlines() if data else []

    def of_name(self, qname: str, line: int | None) -> int:
        if not line or not self.lines:
            return line or 0
        needle = "<" + qname
        for n in range(min(line, len(self.lines)), max(0, line - 200), -1):
            text = self.lines[n - 1]
            at = text.find(needle)
            if at >= 0 and (len(text) == at + len(needle) or not (
                    text[at + len(needle)].isalnum() or text[at + len(needle)] in "_-.:")):
                return n
        return line

    def __call__(self, el: etree._Element) -> int:
        qname = etree.QName(el).localname
        if el.prefix:
            qname = f"{el.prefix}:{qname}"
        return self.of_name(qname, el.sourceline)


def referential_problems(root: etree._Element, line=None) -> list[Problem]:
    """Every OID/ID problem and OrderNumber/KeySequence problem in the tree."""
    line = line or _StartLines(None)
    problems: list[Problem] = []
    defined: dict[str, dict[str, etree._Element]] = defaultdict(dict)
    used: dict[str, set[str]] = defaultdict(set)
    refs: list[tuple[etree._Element, str, str, str]] = []
    for el in root.iter(etree.Element):
        kind_attr = DEFINITIONS.get(el.tag)
        if kind_attr:
            kind, attr = kind_attr
            oid = el.get(attr)
            if oid is not None:
                if oid in defined[kind]:
                    first = line(defined[kind][oid])
                    problems.append(Problem(line(el), "DEF.OID.DUPLICATE",
                                            f"{kind} {attr} '{oid}' is defined twice "
                                            f"(first at line {first})"))
                else:
                    defined[kind][oid] = el
        for attr, value in el.attrib.items():
            kind = REFERENCES.get(attr)
            if kind:
                refs.append((el, attr, kind, value))
                used[kind].add(value)
    # the MetaDataVersion's own def:CommentOID and friends are ordinary references (above)
    for el, attr, kind, value in refs:
        if value not in defined[kind]:
            owner = _owner(el)
            problems.append(Problem(
                line(el), "DEF.REF.UNDEFINED",
                f"{_local(el.tag)}/@{_attr_name(attr)} '{value}'{owner} refers to no {kind}"))
    for kind in MUST_BE_REFERENCED:
        for oid, el in defined[kind].items():
            if oid not in used[kind]:
                problems.append(Problem(line(el), "DEF.OID.ORPHAN",
                                        f"{kind} '{oid}' is defined but never referenced"))
    for group in root.iter(_o("ItemGroupDef"), _d("ValueListDef")):
        problems.extend(_order_problems(group, line))
    for vl in root.iter(_d("ValueListDef")):
        for ref in vl.findall(_o("ItemRef")):
            if ref.find(_d("WhereClauseRef")) is None:
                problems.append(Problem(line(ref), "DEF.VLM.WHERE",
                                        f"ItemRef '{ref.get('ItemOID')}' in ValueListDef "
                                        f"'{vl.get('OID')}' has no def:WhereClauseRef"))
    return problems


def _owner(el: etree._Element) -> str:
    """' in ItemGroupDef IG.DM' for messages: the nearest ancestor definition."""
    parent = el.getparent()
    while parent is not None:
        if parent.tag in DEFINITIONS:
            kind, attr = DEFINITIONS[parent.tag]
            return f" in {kind} '{parent.get(attr)}'"
        parent = parent.getparent()
    return ""


def _order_problems(group: etree._Element, line) -> list[Problem]:
    problems: list[Problem] = []
    kind, _ = DEFINITIONS[group.tag]
    oid = group.get("OID")
    seen_items: dict[str, int] = {}
    seen_order: dict[int, int] = {}
    keys: dict[int, int] = {}
    for ref in group.findall(_o("ItemRef")):
        at = line(ref)
        item = ref.get("ItemOID")
        if item in seen_items:
            problems.append(Problem(at, "DEF.ITEMREF.DUPLICATE",
                                    f"ItemOID '{item}' appears twice in {kind} '{oid}' "
                                    f"(first at line {seen_items[item]})"))
        else:
            seen_items[item] = at
        for attr, store, rule in (("OrderNumber", seen_order, "DEF.ORDER.DUPLICATE"),
                                  ("KeySequence", keys, "DEF.KEY.DUPLICATE")):
            raw = ref.get(attr)
            if raw is None:
                continue
            try:
                number = int(raw)
            except ValueError:
                continue  # the schema reports non-integers
            if number in store:
                problems.append(Problem(at, rule,
                                        f"{attr} {number} of '{item}' repeats in {kind} '{oid}' "
                                        f"(first at line {store[number]})"))
            else:
                store[number] = at
    if keys and sorted(keys) != list(range(1, len(keys) + 1)):
        problems.append(Problem(line(group), "DEF.KEY.SEQUENCE",
                                f"KeySequence values {sorted(keys)} in {kind} '{oid}' are not "
                                f"1..{len(keys)}"))
    return problems


def check_define_problems(path: str | os.PathLike, schema_dir: str | os.PathLike | None = None
                          ) -> list[Problem]:
    """All problems of the define at ``path`` (schema and referential), sorted by line.

    Raises InputError if the file cannot be read and ConfigError if no schema is available.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("define file not found or not a regular file", file=str(path))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read define file: {exc.strerror}", file=str(path)) from exc
    schemas = find_schemas(schema_dir)
    parser = safe_parser()
    try:
        tree = etree.ElementTree(etree.fromstring(data, parser))
    except etree.XMLSyntaxError as exc:
        # the parser's own log: exc.error_log is lxml's thread-wide log, which can still hold
        # entries of earlier failed parses (of other files) in the same thread
        entries = list(parser.error_log) or []
        if not entries:
            return [Problem(exc.lineno or 0, "DEF.XML.SYNTAX", exc.msg)]
        return sorted({Problem(e.line, "DEF.XML.SYNTAX", e.message) for e in entries})
    root = tree.getroot()
    lines = _StartLines(data)
    problems: list[Problem] = []
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        problems.append(Problem(1, "DEF.XML.DOCTYPE",
                                "document has a DOCTYPE; a define.xml has none (entities are "
                                "not expanded)"))
    if "http://www.cdisc.org/ns/def/v2.0" in (root.nsmap or {}).values():
        problems.append(Problem(1, "DEF.VERSION",
                                "the document uses the Define-XML 2.0 namespace; define-check "
                                "validates Define-XML 2.1 (expect schema errors below)"))
    uses_arm = any(
        isinstance(el.tag, str) and el.tag.startswith(f"{{{ARM_NS}}}") for el in root.iter())
    xsd = schemas.arm_xsd if uses_arm and schemas.arm_xsd else schemas.define_xsd
    schema = _compile(xsd)
    try:
        valid = schema.validate(tree)
    except etree.XMLSchemaValidateError as exc:
        valid = False
        problems.append(Problem(1, "DEF.SCHEMA", f"schema validation could not finish: {exc}"))
    if not valid:
        for err in schema.error_log:
            message = _short_names(err.message)
            found = re.match(r"Element '([^']+)'", message)
            at = lines.of_name(found.group(1), err.line) if found else err.line
            problems.append(Problem(at, "DEF.SCHEMA", message))
    problems.extend(referential_problems(root, lines))
    return sorted(set(problems))


def check_define(path: str | os.PathLike, schema_dir: str | os.PathLike | None = None
                 ) -> list[str]:
    """Every problem of a define.xml as ``FILE:LINE: RULE: message`` lines (empty when valid)."""
    return [p.format(str(path)) for p in check_define_problems(path, schema_dir)]
