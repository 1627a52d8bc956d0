"""One safe way to parse XML: no external entities, no DTD loading, no network, no huge trees.

Every module that reads XML (ODM raw exports, define.xml, XLSX parts) should build its parser
here, so that a hostile file cannot read local files (XXE), reach the network or blow up memory
with nested entity expansion ("billion laughs").

>>> root = parse_bytes(b"<a><b>1</b></a>")
>>> root.findtext("b")
'1'
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import IO

from lxml import etree

from converter.errors import InputError

# Options shared by the tree parser and the streaming parser.
SAFE_OPTIONS = {
    "resolve_entities": False,   # never substitute entities: no XXE, no expansion bombs
    "no_network": True,          # never fetch anything referenced by the document
    "load_dtd": False,           # never read an external DTD
    "dtd_validation": False,
    "huge_tree": False,          # keep libxml2's depth and text-size limits
}


def safe_parser(**extra: object) -> etree.XMLParser:
    """An lxml XMLParser with entity resolution, DTD loading and network access disabled.

    ``extra`` may add harmless options such as ``remove_blank_text=True``; it cannot turn the
    safety options back on.
    """
    unsafe = {k for k in extra if k in SAFE_OPTIONS}
    if unsafe:
        raise ValueError(f"safe_parser() refuses to override {sorted(unsafe)}")
    return etree.XMLParser(**SAFE_OPTIONS, **extra)


def _reject_doctype_entities(docinfo: etree.DocInfo, name: str) -> None:
    """Refuse documents that declare entities at all: clinical XML never needs them."""
    dtd = docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise InputError("the document declares XML entities in a DOCTYPE; entity declarations "
                         "are refused for safety (possible XXE or entity-expansion attack)",
                         file=name, line=1,
                         hint="export the file again without a DOCTYPE")


def parse_bytes(data: bytes, *, name: str = "<bytes>") -> etree._Element:
    """Parse a whole document held in memory; located InputError on malformed or unsafe XML."""
    try:
        root = etree.fromstring(data, parser=safe_parser())
    except etree.XMLSyntaxError as exc:
        raise _located(exc, name) from None
    _reject_doctype_entities(root.getroottree().docinfo, name)
    return root


def parse_file(path: str | os.PathLike, *, name: str | None = None) -> etree._ElementTree:
    """Parse a whole file; located InputError on malformed or unsafe XML."""
    label = name or os.fspath(path)
    try:
        tree = etree.parse(os.fspath(path), parser=safe_parser())
    except etree.XMLSyntaxError as exc:
        raise _located(exc, label) from None
    except OSError as exc:
        raise InputError(f"cannot read XML file: {exc}", file=label) from None
    _reject_doctype_entities(tree.docinfo, label)
    return tree


def safe_iterparse(source: str | os.PathLike | IO[bytes], *, events: tuple[str, ...] = ("end",),
                   tag: str | None = None, name: str | None = None) -> Iterator[tuple[str, etree._Element]]:
    """Stream (event, element) pairs with the safe options; syntax errors become InputError.

    Entity declarations in a DOCTYPE are refused as soon as the first element starts.
    """
    label = name or (os.fspath(source) if isinstance(source, (str, os.PathLike)) else "<stream>")
    wanted = set(events)
    stream_events = tuple(sorted(wanted | {"start"}))
    context = etree.iterparse(source if not isinstance(source, os.PathLike) else os.fspath(source),
                              events=stream_events, tag=tag, **SAFE_OPTIONS)
    checked = False
    try:
        for event, elem in context:
            if not checked:
                _reject_doctype_entities(elem.getroottree().docinfo, label)
                checked = True
            if event in wanted:
                yield event, elem
    except etree.XMLSyntaxError as exc:
        raise _located(exc, label) from None


def _located(exc: etree.XMLSyntaxError, name: str) -> InputError:
    line = exc.position[0] if getattr(exc, "position", None) else exc.lineno
    msg = exc.msg if getattr(exc, "msg", None) else str(exc)
    msg = " ".join(msg.split())   # libxml2 messages may hold newlines; errors are one line
    return InputError(f"malformed XML: {msg}", file=name, line=line,
                      hint="check that the export finished and the file was not truncated")
