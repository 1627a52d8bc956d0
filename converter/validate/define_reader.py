"""Read the dataset and variable structure of a define.xml (2.0 or 2.1) safely."""

from __future__ import annotations

from pathlib import Path

from converter.errors import InputError
from converter.io.safe_xml import parse_file

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = ("http://www.cdisc.org/ns/def/v2.0", "http://www.cdisc.org/ns/def/v2.1")


def read_define_structure(path: str | Path) -> dict[str, list[str]]:
    """{dataset name: [variable names in ItemRef order]} from a define.xml.

    Raises InputError when the file is not a define.xml (no ItemGroupDef).
    """
    return read_define(path)[0]


def read_define(path: str | Path) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Variables per dataset and key variables per dataset (ItemRef KeySequence order)."""
    tree = parse_file(path)
    root = tree.getroot()
    ns = {"odm": ODM_NS}
    items = {el.get("OID"): el.get("Name") for el in root.iterfind(".//odm:ItemDef", ns)}
    out: dict[str, list[str]] = {}
    keys: dict[str, list[str]] = {}
    for group in root.iterfind(".//odm:ItemGroupDef", ns):
        name = group.get("Name") or group.get("SASDatasetName") or ""
        for def_ns in DEF_NS:
            name = group.get(f"{{{def_ns}}}SASDatasetName", name) if not name else name
        refs = list(group.iterfind("odm:ItemRef", ns))
        out[name.upper()] = [items[r.get("ItemOID")] for r in refs if items.get(r.get("ItemOID"))]
        ranked = sorted((int(r.get("KeySequence")), items.get(r.get("ItemOID")))
                        for r in refs if (r.get("KeySequence") or "").isdigit())
        keys[name.upper()] = [n for _, n in ranked if n]
    if not out:
        raise InputError("no ItemGroupDef found; is this a define.xml?", file=str(path),
                         hint="pass the study's define.xml (Define-XML 2.0 or 2.1)")
    return out, keys
