"""Read what validation needs from a define.xml (2.0 or 2.1), with the safe XML parser:
the variables of each dataset, its key variables and the codelists bound to variables."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from converter.errors import InputError
from converter.io.safe_xml import parse_file

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
NS = {"odm": ODM_NS}


@dataclass
class BoundCodelist:
    """A codelist of define.xml as bound to one variable."""

    oid: str
    name: str
    terms: frozenset[str]
    nci_code: str | None = None


@dataclass
class DefineInfo:
    variables: dict[str, list[str]] = field(default_factory=dict)   # dataset -> variables
    keys: dict[str, list[str]] = field(default_factory=dict)        # dataset -> key variables
    codelists: dict[str, dict[str, BoundCodelist]] = field(default_factory=dict)


def read_define_structure(path: str | Path) -> dict[str, list[str]]:
    """{dataset name: [variable names in ItemRef order]} from a define.xml.

    Raises InputError when the file is not a define.xml (no ItemGroupDef).
    """
    return read_define(path).variables


def _codelists(root) -> dict[str, BoundCodelist]:
    out = {}
    for cl in root.iterfind(".//odm:CodeList", NS):
        terms = [el.get("CodedValue") for el in cl.iterfind("odm:CodeListItem", NS)]
        terms += [el.get("CodedValue") for el in cl.iterfind("odm:EnumeratedItem", NS)]
        alias = next((a.get("Name") for a in cl.iterfind("odm:Alias", NS)
                      if a.get("Context") == "nci:ExtCodeID"), None)
        if not terms:   # ExternalCodeList (MedDRA, WHODrug...): no terms to check against
            continue
        out[cl.get("OID")] = BoundCodelist(cl.get("OID"), cl.get("Name") or "",
                                           frozenset(t for t in terms if t is not None), alias)
    return out


def read_define(path: str | Path) -> DefineInfo:
    """Variables, keys (ItemRef KeySequence order) and bound codelists per dataset."""
    root = parse_file(path).getroot()
    codelists = _codelists(root)
    items = {}
    for el in root.iterfind(".//odm:ItemDef", NS):
        ref = el.find("odm:CodeListRef", NS)
        items[el.get("OID")] = (el.get("Name"), None if ref is None
                                else codelists.get(ref.get("CodeListOID")))
    info = DefineInfo()
    for group in root.iterfind(".//odm:ItemGroupDef", NS):
        name = (group.get("Name") or group.get("SASDatasetName") or "").upper()
        refs = [(r, items.get(r.get("ItemOID"))) for r in group.iterfind("odm:ItemRef", NS)]
        refs = [(r, item) for r, item in refs if item and item[0]]
        info.variables[name] = [item[0] for _, item in refs]
        ranked = sorted((int(r.get("KeySequence")), item[0]) for r, item in refs
                        if (r.get("KeySequence") or "").isdigit())
        info.keys[name] = [n for _, n in ranked]
        info.codelists[name] = {item[0]: item[1] for _, item in refs if item[1] is not None}
    if not info.variables:
        raise InputError("no ItemGroupDef found; is this a define.xml?", file=str(path),
                         hint="pass the study's define.xml (Define-XML 2.0 or 2.1)")
    return info
