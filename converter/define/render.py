"""Render a define.xml model as one self-contained HTML page (no stylesheet, script or network).

The page has a table of contents, an overview of the datasets, one table per dataset (variables,
labels, keys, types, lengths, controlled terms, origins, methods and comments), the value-level
metadata, the codelists, the methods, the comments and the documents. It is the converter's own
rendering, so users need nothing from CDISC to read it; ``apply_stylesheet`` renders with CDISC's
``define2-1.xsl`` when the user has it.

>>> from converter.define.model import Define, MetaDataVersion, Study
>>> page = render_html(Define("F", "2024-01-01T00:00:00",
...                           Study("S", "Study X", "d", "p", MetaDataVersion("M", "M"))))
>>> "Study X" in page and page.startswith("<!DOCTYPE html>")
True
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path

from converter.define.model import (
    CodeList,
    Define,
    DocumentRef,
    ItemDef,
    ItemGroupDef,
    ItemRef,
    Origin,
    RangeCheck,
)

CSS = """
body{font-family:Arial,Helvetica,sans-serif;font-size:13px;margin:0;color:#1a1a1a}
header{background:#1f3b5a;color:#fff;padding:14px 24px}
header h1{margin:0 0 4px 0;font-size:20px}
header p{margin:2px 0;font-size:12px;color:#dbe6f2}
.layout{display:flex}
nav{width:260px;min-width:260px;background:#f1f4f8;border-right:1px solid #cfd8e3;padding:10px 14px;
 position:sticky;top:0;align-self:flex-start;max-height:100vh;overflow:auto}
nav h2{font-size:14px;margin:10px 0 6px}
nav ul{list-style:none;padding-left:8px;margin:0}
nav li{margin:2px 0}
nav a{color:#1f3b5a;text-decoration:none}
nav a:hover{text-decoration:underline}
main{padding:10px 24px;flex:1;min-width:0}
h2{font-size:17px;color:#1f3b5a;border-bottom:2px solid #1f3b5a;padding-bottom:3px;margin-top:28px}
h3{font-size:14px;color:#1f3b5a;margin:18px 0 6px}
table{border-collapse:collapse;width:100%;margin:6px 0 14px}
th{background:#dfe7f1;text-align:left;padding:4px 6px;border:1px solid #b9c6d6;font-size:12px}
td{padding:3px 6px;border:1px solid #d3dbe6;vertical-align:top}
tr:nth-child(even) td{background:#f8fafc}
.meta{color:#555;font-size:12px;margin:2px 0 6px}
.key{font-weight:bold;color:#8a3b00}
.ext{color:#8a3b00;font-style:italic}
.small{font-size:11px;color:#555}
"""


def _e(value: object) -> str:
    return "" if value is None else escape(str(value))


def _anchor(oid: str) -> str:
    return escape(oid.replace(" ", "_"), quote=True)


def _link(oid: str | None, text: str | None = None) -> str:
    if not oid:
        return ""
    return f'<a href="#{_anchor(oid)}">{_e(text or oid)}</a>'


class _Page:
    def __init__(self, define: Define):
        self.d = define
        mdv = define.mdv
        self.items = {i.oid: i for i in mdv.item_defs}
        self.codelists = {c.oid: c for c in mdv.codelists}
        self.method_defs = {m.oid: m for m in mdv.methods}
        self.comments = {c.oid: c for c in mdv.comments}
        self.where = {w.oid: w for w in mdv.where_clauses}
        self.value_lists = {v.oid: v for v in mdv.value_lists}
        self.leaves = {lf.id: lf for lf in mdv.leaves}
        for g in mdv.item_groups:
            if g.leaf is not None:
                self.leaves[g.leaf.id] = g.leaf
        self.standards = {s.oid: s for s in mdv.standards}
        self.out: list[str] = []

    def w(self, text: str) -> None:
        self.out.append(text)

    # ----- pieces ---------------------------------------------------------------------------
    def doc_refs(self, refs: list[DocumentRef]) -> str:
        parts = []
        for ref in refs:
            leaf = self.leaves.get(ref.leaf_id)
            title = leaf.title if leaf else ref.leaf_id
            href = leaf.href if leaf else None
            pages = " ".join(p.page_refs or (f"{p.first_page}-{p.last_page}"
                                             if p.first_page else "") for p in ref.pages)
            label = _e(title) + (f" p. {_e(pages)}" if pages else "")
            parts.append(f'<a href="{_e(href)}">{label}</a>' if href else label)
        return "; ".join(parts)

    def origin(self, origins: list[Origin]) -> str:
        parts = []
        for o in origins:
            text = _e(o.type) + (f" ({_e(o.source)})" if o.source else "")
            if o.description:
                text += f"<br><span class='small'>{_e(o.description)}</span>"
            if o.document_refs:
                text += f"<br>{self.doc_refs(o.document_refs)}"
            parts.append(text)
        return "<br>".join(parts)

    def terms(self, item: ItemDef) -> str:
        cl = self.codelists.get(item.codelist_oid or "")
        if cl is None:
            return ""
        if cl.external is not None:
            x = cl.external
            return _link(cl.oid, f"{x.dictionary} {x.version or ''}".strip())
        shown = [i.coded_value for i in cl.items[:5]]
        more = "" if len(cl.items) <= 5 else f" … ({len(cl.items)} terms)"
        return _link(cl.oid, cl.name) + "<br><span class='small'>" + _e(
            ", ".join(f'"{v}"' for v in shown)) + more + "</span>"

    def method_comment(self, ref: ItemRef | None, item: ItemDef) -> str:
        parts = []
        if ref is not None and ref.method_oid in self.method_defs:
            m = self.method_defs[ref.method_oid]
            parts.append(f"<b>{_link(m.oid, 'Method')}:</b> {_e(m.description)}")
        if item.comment_oid in self.comments:
            c = self.comments[item.comment_oid]
            parts.append(f"<b>{_link(c.oid, 'Comment')}:</b> {_e(c.description)}")
        if item.value_list_oid:
            parts.append(f"Value-level metadata: {_link(item.value_list_oid)}")
        return "<br>".join(parts)

    def where_text(self, oids: list[str]) -> str:
        parts = []
        for oid in oids:
            wc = self.where.get(oid)
            if wc is None:
                parts.append(_e(oid))
                continue
            parts.append(" and ".join(self.range_check(rc) for rc in wc.range_checks))
        return " or ".join(parts)

    def range_check(self, rc: RangeCheck) -> str:
        item = self.items.get(rc.item_oid)
        name = item.name if item else rc.item_oid
        values = ", ".join(f'"{v}"' for v in rc.check_values)
        return f"{_e(name)} {_e(rc.comparator)} {_e(values)}"

    # ----- sections -------------------------------------------------------------------------
    def header(self) -> None:
        d, mdv = self.d, self.d.mdv
        stds = ", ".join(f"{s.name} {s.version}" + (f" ({s.publishing_set})"
                                                    if s.publishing_set else "")
                         for s in mdv.standards)
        self.w(f"<header><h1>{_e(mdv.name)}</h1>"
               f"<p>{_e(d.study.study_description)}</p>"
               f"<p>Protocol {_e(d.study.protocol_name)} · Define-XML {_e(mdv.define_version)}"
               f" · created {_e(d.creation_datetime)} · context {_e(d.context)}</p>"
               f"<p>Standards: {_e(stds)}</p></header>")

    def toc(self) -> None:
        mdv = self.d.mdv
        self.w('<nav><h2>Table of contents</h2><ul>')
        if mdv.annotated_crf or mdv.supplemental_docs:
            self.w('<li><a href="#documents">Documents</a></li>')
        self.w('<li><a href="#datasets">Datasets</a><ul>')
        for g in mdv.item_groups:
            self.w(f"<li>{_link(g.oid, g.name)} <span class='small'>"
                   f"{_e(g.description)}</span></li>")
        self.w("</ul></li>")
        if mdv.value_lists:
            self.w('<li><a href="#valuelevel">Value-level metadata</a></li>')
        if mdv.codelists:
            self.w('<li><a href="#codelists">Controlled terminology</a><ul>')
            for c in mdv.codelists:
                self.w(f"<li>{_link(c.oid, c.name)}</li>")
            self.w("</ul></li>")
        if mdv.methods:
            self.w('<li><a href="#methods">Methods</a></li>')
        if mdv.comments:
            self.w('<li><a href="#comments">Comments</a></li>')
        self.w("</ul></nav>")

    def documents(self) -> None:
        mdv = self.d.mdv
        if not (mdv.annotated_crf or mdv.supplemental_docs):
            return
        self.w('<h2 id="documents">Documents</h2><ul>')
        if mdv.annotated_crf:
            self.w(f"<li>Annotated CRF: {self.doc_refs(mdv.annotated_crf)}</li>")
        for ref in mdv.supplemental_docs:
            self.w(f"<li>{self.doc_refs([ref])}</li>")
        self.w("</ul>")

    def overview(self) -> None:
        self.w('<h2 id="datasets">Datasets</h2><table><tr><th>Dataset</th><th>Description</th>'
               "<th>Class</th><th>Structure</th><th>Purpose</th><th>Keys</th>"
               "<th>Location</th></tr>")
        for g in self.d.mdv.item_groups:
            self.w(f"<tr><td>{_link(g.oid, g.name)}</td><td>{_e(g.description)}</td>"
                   f"<td>{_e(g.class_name)}</td><td>{_e(g.structure)}</td>"
                   f"<td>{_e(g.purpose)}</td><td>{_e(self.keys(g))}</td>"
                   f"<td>{self.location(g)}</td></tr>")
        self.w("</table>")

    def keys(self, g: ItemGroupDef) -> str:
        keyed = sorted((r for r in g.item_refs if r.key_sequence), key=lambda r: r.key_sequence)
        return ", ".join(self.items[r.item_oid].name if r.item_oid in self.items else r.item_oid
                         for r in keyed)

    def location(self, g: ItemGroupDef) -> str:
        leaf = self.leaves.get(g.archive_location_id or "")
        return f'<a href="{_e(leaf.href)}">{_e(leaf.title)}</a>' if leaf else ""

    def dataset(self, g: ItemGroupDef) -> None:
        extra = []
        if g.is_non_standard:
            extra.append("non-standard")
        if g.has_no_data:
            extra.append("no data")
        std = self.standards.get(g.standard_oid or "")
        self.w(f'<h3 id="{_anchor(g.oid)}">{_e(g.name)} — {_e(g.description)}</h3>'
               f"<p class='meta'>{_e(g.class_name)} · {_e(g.structure)} · "
               f"{_e(std.name + ' ' + std.version if std else '')} "
               f"{_e(', '.join(extra))} · {self.location(g)}</p>")
        if g.comment_oid in self.comments:
            self.w(f"<p class='meta'>{_e(self.comments[g.comment_oid].description)}</p>")
        self.w("<table><tr><th>#</th><th>Variable</th><th>Label</th><th>Key</th><th>Type</th>"
               "<th>Length</th><th>Format</th><th>Controlled terms</th><th>Origin</th>"
               "<th>Derivation / comment</th></tr>")
        for ref in g.item_refs:
            it = self.items.get(ref.item_oid)
            if it is None:
                self.w(f"<tr><td>{_e(ref.order_number)}</td><td colspan='9'>"
                       f"undefined item {_e(ref.item_oid)}</td></tr>")
                continue
            length = _e(it.length) + (f".{_e(it.significant_digits)}"
                                       if it.significant_digits else "")
            key = f"<span class='key'>{ref.key_sequence}</span>" if ref.key_sequence else ""
            self.w(f"<tr><td>{_e(ref.order_number)}</td><td>{_e(it.name)}</td>"
                   f"<td>{_e(it.description)}</td><td>{key}</td><td>{_e(it.data_type)}</td>"
                   f"<td>{length}</td><td>{_e(it.display_format)}</td>"
                   f"<td>{self.terms(it)}</td><td>{self.origin(it.origins)}</td>"
                   f"<td>{self.method_comment(ref, it)}</td></tr>")
        self.w("</table>")

    def value_level(self) -> None:
        if not self.d.mdv.value_lists:
            return
        self.w('<h2 id="valuelevel">Value-level metadata</h2>')
        for vl in self.d.mdv.value_lists:
            self.w(f'<h3 id="{_anchor(vl.oid)}">{_e(vl.oid)}</h3>')
            self.w("<table><tr><th>Variable</th><th>Where</th><th>Label</th><th>Type</th>"
                   "<th>Length</th><th>Controlled terms</th><th>Origin</th>"
                   "<th>Derivation / comment</th></tr>")
            for ref in vl.item_refs:
                it = self.items.get(ref.item_oid)
                if it is None:
                    continue
                length = _e(it.length) + (f".{_e(it.significant_digits)}"
                                           if it.significant_digits else "")
                self.w(f"<tr><td>{_e(it.name)}</td><td>{self.where_text(ref.where_clause_oids)}"
                       f"</td><td>{_e(it.description)}</td><td>{_e(it.data_type)}</td>"
                       f"<td>{length}</td><td>{self.terms(it)}</td>"
                       f"<td>{self.origin(it.origins)}</td>"
                       f"<td>{self.method_comment(ref, it)}</td></tr>")
            self.w("</table>")

    def codelist(self, cl: CodeList) -> None:
        std = self.standards.get(cl.standard_oid or "")
        info = [cl.data_type]
        if cl.nci_code:
            info.append(f"NCI {cl.nci_code}")
        if std:
            info.append(f"{std.name} {std.publishing_set or ''} {std.version}")
        self.w(f'<h3 id="{_anchor(cl.oid)}">{_e(cl.name)}</h3>'
               f"<p class='meta'>{_e(' · '.join(info))}</p>")
        if cl.external is not None:
            x = cl.external
            self.w(f"<table><tr><th>Dictionary</th><th>Version</th></tr><tr><td>"
                   f"{_e(x.dictionary)}</td><td>{_e(x.version)}</td></tr></table>")
            return
        self.w("<table><tr><th>Coded value</th><th>Decode</th><th>NCI code</th></tr>")
        for item in cl.items:
            ext = " <span class='ext'>(sponsor extension)</span>" if item.extended_value else ""
            self.w(f"<tr><td>{_e(item.coded_value)}{ext}</td><td>{_e(item.decode)}</td>"
                   f"<td>{_e(item.nci_code)}</td></tr>")
        self.w("</table>")

    def methods(self) -> None:
        if not self.d.mdv.methods:
            return
        self.w('<h2 id="methods">Methods</h2><table><tr><th>Method</th><th>Type</th>'
               "<th>Description</th></tr>")
        for m in self.d.mdv.methods:
            docs = f"<br>{self.doc_refs(m.document_refs)}" if m.document_refs else ""
            self.w(f'<tr id="{_anchor(m.oid)}"><td>{_e(m.name)}</td><td>{_e(m.type)}</td>'
                   f"<td>{_e(m.description)}{docs}</td></tr>")
        self.w("</table>")

    def comments_section(self) -> None:
        if not self.d.mdv.comments:
            return
        self.w('<h2 id="comments">Comments</h2><table><tr><th>Comment</th><th>Text</th></tr>')
        for c in self.d.mdv.comments:
            docs = f"<br>{self.doc_refs(c.document_refs)}" if c.document_refs else ""
            self.w(f'<tr id="{_anchor(c.oid)}"><td>{_e(c.oid)}</td>'
                   f"<td>{_e(c.description)}{docs}</td></tr>")
        self.w("</table>")

    def render(self) -> str:
        mdv = self.d.mdv
        self.w("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
               f"<title>{_e(self.d.study.study_name)} — define.xml</title>"
               f"<style>{CSS}</style></head><body>")
        self.header()
        self.w("<div class='layout'>")
        self.toc()
        self.w("<main>")
        self.documents()
        self.overview()
        for g in mdv.item_groups:
            self.dataset(g)
        self.value_level()
        if mdv.codelists:
            self.w('<h2 id="codelists">Controlled terminology</h2>')
            for cl in mdv.codelists:
                self.codelist(cl)
        self.methods()
        self.comments_section()
        self.w("</main></div></body></html>\n")
        return "\n".join(self.out)


def render_html(define: Define) -> str:
    """The HTML page of ``define`` (deterministic, self-contained)."""
    return _Page(define).render()


def apply_stylesheet(define_xml: str | os.PathLike, stylesheet: str | os.PathLike) -> str:
    """Render a define.xml with an XSLT stylesheet such as CDISC's ``define2-1.xsl``."""
    from lxml import etree

    from converter.define.reader import parse_define, safe_parser
    from converter.errors import ConfigError

    try:
        xslt = etree.XSLT(etree.parse(str(Path(stylesheet)), safe_parser()),
                          access_control=etree.XSLTAccessControl.DENY_ALL)
    except (OSError, etree.XSLTParseError, etree.XMLSyntaxError) as exc:
        raise ConfigError(f"cannot load stylesheet: {exc}", file=str(stylesheet),
                          key="--stylesheet") from exc
    result = xslt(parse_define(define_xml))
    return str(result)
