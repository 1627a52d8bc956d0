"""CDISC ODM 1.3 clinical data → one raw table per item group.

The file is streamed with the safe parser of :mod:`converter.io.safe_xml` (no entities, no DTD,
no network), so a large export never sits in memory as a tree. Each ``ItemGroupData`` becomes one
row of the frame for its ``ItemGroupOID``; repeating groups stay separate rows (their
``ItemGroupRepeatKey`` is kept). Values are the text of ``ItemData/@Value`` (or of the typed
``ItemDataString``-style elements of ODM 1.3.2) — never parsed; ``IsNull="Yes"`` and empty values
are ``None``.

Provenance: ``SRC_FILE`` is the file name (or ``source_name``), ``SRC_ROW`` the XPath-like ODM
path of the item group, e.g.
``SubjectData[@SubjectKey='01-001']/StudyEventData[@StudyEventOID='SE.W4']/FormData[@FormOID='F.VS']/ItemGroupData[@ItemGroupOID='IG.VS'][2]``
(the trailing ``[n]`` is the position among the form's item groups with that OID).

Data referencing OIDs that the file's metadata does not declare (item, item group, form or study
event) is a data problem: with an ``IssueLog`` each affected row is logged (rule
``ODM.UNDECLARED_OID``) and the data is kept; without one, or with ``strict=True``, the first
case raises a located :class:`~converter.errors.InputError`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from converter.errors import InputError
from converter.model import SRC_FILE, SRC_ROW

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
_N = "{" + ODM_NS + "}"

KEY_COLUMNS = [
    "StudyOID", "MetaDataVersionOID", "SubjectKey", "SiteOID", "StudyEventOID",
    "StudyEventRepeatKey", "FormOID", "FormRepeatKey", "ItemGroupOID", "ItemGroupRepeatKey",
]
_TYPED_ITEMDATA = {
    _N + t for t in (
        "ItemDataAny", "ItemDataString", "ItemDataInteger", "ItemDataFloat", "ItemDataDate",
        "ItemDataTime", "ItemDataDatetime", "ItemDataBoolean", "ItemDataDouble",
        "ItemDataHexBinary", "ItemDataBase64Binary", "ItemDataHexFloat",
        "ItemDataBase64Float", "ItemDataPartialDate", "ItemDataPartialTime",
        "ItemDataPartialDatetime", "ItemDataDurationDatetime", "ItemDataIntervalDatetime",
        "ItemDataIncompleteDatetime", "ItemDataIncompleteDate", "ItemDataIncompleteTime",
        "ItemDataURI")
}
UNDECLARED_RULE = "ODM.UNDECLARED_OID"
DUPLICATE_RULE = "ODM.DUPLICATE_ITEM"


def _q(value: str | None) -> str:
    """Quote an attribute value for an XPath predicate."""
    value = value or ""
    return f"'{value}'" if "'" not in value else f'"{value}"'


class _Group:
    """Rows of one ItemGroupOID, gathered column-wise."""

    def __init__(self) -> None:
        self.keys: list[list[str | None]] = []
        self.items: list[dict[str, str | None]] = []
        self.paths: list[str] = []
        self.lines: list[int | None] = []
        self.item_order: dict[str, None] = {}


def read_odm(path: str | os.PathLike, *, source_name: str | None = None, issues=None,
             strict: bool = False) -> dict[str, pd.DataFrame]:
    """Read an ODM 1.3 file into ``{ItemGroupOID: frame}``.

    Columns: StudyOID, MetaDataVersionOID, SubjectKey, SiteOID, StudyEventOID,
    StudyEventRepeatKey, FormOID, FormRepeatKey, ItemGroupOID, ItemGroupRepeatKey, one column per
    ItemOID (declared order first, then order of appearance), SRC_FILE, SRC_ROW.

    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.xml"
    >>> _ = p.write_text('''<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3"><ClinicalData
    ...  StudyOID="S" MetaDataVersionOID="M"><SubjectData SubjectKey="1"><StudyEventData
    ...  StudyEventOID="SE"><FormData FormOID="F"><ItemGroupData ItemGroupOID="IG"><ItemData
    ...  ItemOID="I.AGE" Value="34"/></ItemGroupData></FormData></StudyEventData></SubjectData>
    ... </ClinicalData></ODM>''')
    >>> read_odm(p, strict=False, issues=__import__("converter.issues").issues.IssueLog()
    ...          )["IG"][["SubjectKey", "I.AGE"]].values.tolist()
    [['1', '34']]
    """
    from converter.io.safe_xml import safe_iterparse

    p = Path(path)
    name = source_name or p.name
    if not p.is_file():
        raise InputError("ODM file not found", file=name)
    if p.stat().st_size == 0:
        raise InputError("ODM file is empty (0 bytes)", file=name, line=1)

    declared: dict[str, set[str]] = {"StudyEventOID": set(), "FormOID": set(),
                                     "ItemGroupOID": set(), "ItemOID": set()}
    group_items: dict[str, list[str]] = {}
    mdv_oids: set[tuple[str | None, str | None]] = set()
    have_metadata = False
    groups: dict[str, _Group] = {}

    study = mdv = subject = site = None
    event = event_rk = form = form_rk = None
    subject_path = event_path = form_path = ""
    position: dict[str, int] = {}
    root_checked = False

    for ev, elem in _guarded(safe_iterparse(p, events=("start", "end"), name=name), name):
        tag = elem.tag
        if not root_checked:
            root_checked = True
            if not isinstance(tag, str) or tag != _N + "ODM":
                got = tag if isinstance(tag, str) else "?"
                local = got.rsplit("}", 1)[-1]
                ns = got[1:].split("}", 1)[0] if got.startswith("{") else "no namespace"
                raise InputError(
                    f"root element is '{local}' in {ns}; expected 'ODM' in namespace {ODM_NS}",
                    file=name, line=elem.sourceline,
                    hint="the file is not a CDISC ODM 1.3 export (wrong namespace or format)")
        if not isinstance(tag, str):
            continue  # comments, processing instructions
        if ev == "start":
            if tag == _N + "ClinicalData":
                study = elem.get("StudyOID")
                mdv = elem.get("MetaDataVersionOID")
            elif tag == _N + "SubjectData":
                _refuse_remove(elem, name)
                subject = elem.get("SubjectKey")
                site = None
                subject_path = f"SubjectData[@SubjectKey={_q(subject)}]"
            elif tag == _N + "SiteRef":
                site = elem.get("LocationOID")
            elif tag == _N + "StudyEventData":
                _refuse_remove(elem, name)
                event, event_rk = elem.get("StudyEventOID"), elem.get("StudyEventRepeatKey")
                event_path = (f"{subject_path}/StudyEventData[@StudyEventOID={_q(event)}]"
                              + (f"[@StudyEventRepeatKey={_q(event_rk)}]" if event_rk else ""))
            elif tag == _N + "FormData":
                _refuse_remove(elem, name)
                form, form_rk = elem.get("FormOID"), elem.get("FormRepeatKey")
                form_path = (f"{event_path}/FormData[@FormOID={_q(form)}]"
                             + (f"[@FormRepeatKey={_q(form_rk)}]" if form_rk else ""))
                position = {}
            continue

        # end events
        if tag == _N + "ItemGroupData":
            _refuse_remove(elem, name)
            ig = elem.get("ItemGroupOID")
            if ig is None:
                raise InputError("ItemGroupData without ItemGroupOID", file=name,
                                 line=elem.sourceline)
            if form is None:
                raise InputError("ItemGroupData outside SubjectData/StudyEventData/FormData",
                                 file=name, line=elem.sourceline)
            position[ig] = position.get(ig, 0) + 1
            ig_rk = elem.get("ItemGroupRepeatKey")
            g = groups.setdefault(ig, _Group())
            items: dict[str, str | None] = {}
            for child in elem:
                ctag = child.tag
                if ctag == _N + "ItemData":
                    value = None if child.get("IsNull") == "Yes" else child.get("Value")
                elif ctag in _TYPED_ITEMDATA:
                    value = None if child.get("IsNull") == "Yes" else child.text
                else:
                    continue  # AuditRecord, Signature, Annotation, MeasurementUnitRef, ...
                _refuse_remove(child, name)
                oid = child.get("ItemOID")
                if oid is None:
                    raise InputError("ItemData without ItemOID", file=name,
                                     line=child.sourceline)
                value = value if value != "" else None
                if oid in items:
                    _duplicate(issues, strict, name, child, oid, value,
                               f"{form_path}/ItemGroupData[@ItemGroupOID={_q(ig)}][{position[ig]}]",
                               subject)
                    continue
                items[oid] = value
                g.item_order.setdefault(oid, None)
            g.keys.append([study, mdv, subject, site, event, event_rk, form, form_rk, ig, ig_rk])
            g.items.append(items)
            g.paths.append(f"{form_path}/ItemGroupData[@ItemGroupOID={_q(ig)}][{position[ig]}]")
            g.lines.append(elem.sourceline)
            elem.clear()
            _drop_previous(elem)
        elif tag == _N + "FormData":
            form = form_rk = None
            elem.clear()
            _drop_previous(elem)
        elif tag == _N + "StudyEventData":
            event = event_rk = None
            elem.clear()
            _drop_previous(elem)
        elif tag == _N + "SubjectData":
            subject = site = None
            elem.clear()
            _drop_previous(elem)
        elif tag == _N + "StudyEventDef":
            declared["StudyEventOID"].add(elem.get("OID"))
        elif tag == _N + "FormDef":
            declared["FormOID"].add(elem.get("OID"))
        elif tag == _N + "ItemGroupDef":
            declared["ItemGroupOID"].add(elem.get("OID"))
            group_items[elem.get("OID")] = [r.get("ItemOID") for r in elem.iter(_N + "ItemRef")]
        elif tag == _N + "ItemDef":
            declared["ItemOID"].add(elem.get("OID"))
        elif tag == _N + "MetaDataVersion":
            have_metadata = True
            parent = elem.getparent()
            mdv_oids.add((parent.get("OID") if parent is not None else None, elem.get("OID")))
            elem.clear()

    frames: dict[str, pd.DataFrame] = {}
    for ig in sorted(groups):
        g = groups[ig]
        order = [i for i in group_items.get(ig, []) if i in g.item_order]
        order += [i for i in g.item_order if i not in order]
        frame = pd.DataFrame(g.keys, columns=KEY_COLUMNS, dtype=object)
        items = pd.DataFrame.from_records(g.items, columns=order) if order else None
        if items is not None:
            items = items.astype(object).where(items.notna(), None)
            frame = pd.concat([frame, items], axis=1)
        frame[SRC_FILE] = name
        frame[SRC_ROW] = pd.Series(g.paths, dtype=object)
        frames[ig] = frame
        if have_metadata:
            _check_declared(frame, g, ig, order, declared, mdv_oids, issues, strict, name)
        elif issues is not None and len(frame):
            issues.add("ODM.NO_METADATA", "the ODM file holds no MetaDataVersion; OIDs were "
                       "not checked against metadata", severity="warning", stage="read",
                       dataset=ig, source_file=name)
    if not groups and not have_metadata:
        raise InputError("ODM file holds neither metadata nor clinical data", file=name)
    return frames


def _guarded(events, name: str):
    """Stream events; I/O errors (permissions, vanished file) become InputError."""
    try:
        yield from events
    except OSError as exc:
        raise InputError(f"cannot read ODM file: {exc.strerror or exc}", file=name) from None


def _refuse_remove(elem, name: str) -> None:
    if elem.get("TransactionType") == "Remove":
        raise InputError("transactional ODM with TransactionType='Remove' is not supported",
                         file=name, line=elem.sourceline,
                         hint="export an ODM snapshot (FileType='Snapshot') instead")


def _drop_previous(elem) -> None:
    """Free already-processed siblings so memory stays flat on big files."""
    parent = elem.getparent()
    if parent is None:
        return
    while elem.getprevious() is not None:
        del parent[0]


def _duplicate(issues, strict, name, child, oid, value, path, subject) -> None:
    message = (f"ItemOID '{oid}' appears twice in one ItemGroupData; the first value is kept")
    if issues is None or strict:
        raise InputError(message.replace("; the first value is kept", ""), file=name,
                         line=child.sourceline, key=oid,
                         hint="each item may hold one value per item group record")
    issues.add(DUPLICATE_RULE, message, severity="error", stage="read", variable=oid,
               usubjid=subject, source_file=name, source_row=path, value=value)


def _check_declared(frame: pd.DataFrame, g: _Group, ig: str, order: list[str],
                    declared: dict[str, set[str]], mdv_oids: set, issues, strict: bool,
                    name: str) -> None:
    """Log (or raise for) rows whose event, form, group or item OIDs are undeclared."""
    problems: list[tuple[pd.Series, str, pd.Series | str]] = []
    for col in ("StudyEventOID", "FormOID", "ItemGroupOID"):
        bad = ~frame[col].isin(declared[col])
        if bad.any():
            problems.append((bad, col, frame[col]))
    pairs = pd.MultiIndex.from_frame(frame[["StudyOID", "MetaDataVersionOID"]])
    bad = pd.Series(~pairs.isin(list(mdv_oids)), index=frame.index)
    if bad.any():
        problems.append((bad, "MetaDataVersionOID", frame["MetaDataVersionOID"]))
    for item in order:
        if item not in declared["ItemOID"]:
            problems.append((frame[item].notna(), "ItemOID", item))
    for mask, kind, values in problems:
        rows = frame.loc[mask]
        vals = values.loc[mask] if isinstance(values, pd.Series) else pd.Series(
            [values] * len(rows), index=rows.index, dtype=object)
        if issues is None or strict:
            first = int(mask.to_numpy().nonzero()[0][0])
            raise InputError(
                f"{kind} '{vals.iloc[0]}' is not declared in the file's metadata",
                file=name, line=g.lines[first], key=kind,
                hint="declare it in the MetaDataVersion, or correct the reference")
        issues.add_frame(
            pd.DataFrame({"usubjid": rows["SubjectKey"].to_numpy(),
                          "source_row": rows[SRC_ROW].to_numpy(),
                          "value": vals.to_numpy()}),
            rule_id=UNDECLARED_RULE, severity="error", stage="read", dataset=ig,
            variable=kind, source_file=name,
            message=f"{kind} not declared in the ODM metadata; data kept as read",
            expected="an OID declared in MetaDataVersion")
