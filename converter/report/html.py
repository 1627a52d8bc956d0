"""report.html: one self-contained file (inline CSS/JS, figures as data URIs) for reviewers."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np
import pandas as pd

from converter.atomic import atomic_write_text
from converter.report.common import ReportData, cell_text

MAX_HTML_ISSUES = 5_000

_CSS = """
body{font-family:system-ui,Segoe UI,Arial,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em}
.cards{display:flex;gap:1em;flex-wrap:wrap}
.card{border-radius:6px;padding:.6em 1em;min-width:9em}
.error{background:#f8d7da}.warning{background:#fff3cd}.notice{background:#e2e3e5}
.card b{font-size:1.6em;display:block}
table{border-collapse:collapse;font-size:.85em;margin-top:.5em}
th,td{border:1px solid #ccc;padding:3px 6px;vertical-align:top;text-align:left}
th{background:#dde4ee;cursor:pointer;position:sticky;top:0}
th.asc::after{content:" \\25B2"}th.desc::after{content:" \\25BC"}
tr.waived td{color:#777;font-style:italic}
.state-issues_found{color:#a00}.state-execution_error{color:#fff;background:#a00}
.state-skipped{color:#777}.state-passed{color:#060}
img{max-width:48%;margin:.5em;border:1px solid #ddd}
input{margin:.3em 0;padding:3px;width:24em}
"""

_JS = """
function sortTable(th){
  const table=th.closest('table'), body=table.tBodies[0], idx=[...th.parentNode.children].indexOf(th);
  const asc=!th.classList.contains('asc');
  [...th.parentNode.children].forEach(h=>h.classList.remove('asc','desc'));
  th.classList.add(asc?'asc':'desc');
  const rows=[...body.rows];
  const key=r=>r.cells[idx]?r.cells[idx].textContent:'';
  rows.sort((a,b)=>{const x=key(a),y=key(b),nx=parseFloat(x),ny=parseFloat(y);
    const c=(!isNaN(nx)&&!isNaN(ny)&&String(nx)===x.trim()&&String(ny)===y.trim())?nx-ny:x.localeCompare(y);
    return asc?c:-c;});
  rows.forEach(r=>body.appendChild(r));
}
function filterTable(input,id){
  const q=input.value.toLowerCase();
  [...document.getElementById(id).tBodies[0].rows].forEach(r=>{
    r.style.display=r.textContent.toLowerCase().includes(q)?'':'none';});
}
document.querySelectorAll('th').forEach(th=>th.addEventListener('click',()=>sortTable(th)));
"""


def _table(frame: pd.DataFrame, table_id: str, row_class: pd.Series | None = None,
           cell_class: dict[str, str] | None = None) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    text = frame.astype(object).map(lambda v: html.escape(cell_text(v)))
    rows = pd.Series("", index=frame.index, dtype=object)
    for col in frame.columns:
        prefix = (cell_class or {}).get(col)
        if prefix:
            rows = rows + f'<td class="{prefix}' + text[col] + '">' + text[col] + "</td>"
        else:
            rows = rows + "<td>" + text[col] + "</td>"
    if row_class is not None:
        opening = np.where(row_class.to_numpy() != "", '<tr class="' + row_class + '">', "<tr>")
    else:
        opening = np.full(len(frame), "<tr>", dtype=object)
    body = (pd.Series(opening, index=frame.index, dtype=object) + rows + "</tr>").tolist()
    return (f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>'
            + "\n".join(body) + "</tbody></table>")


def _figure(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    alt = html.escape(path.stem)
    return f'<img alt="{alt}" title="{alt}" src="data:image/png;base64,{data}">'


def write_html(data: ReportData, path: Path) -> Path:
    counts = data.counts()
    cards = ""
    for sev in counts.index:
        waived = int(counts.loc[sev, "waived"])
        extra = f" (+{waived} waived)" if waived else ""
        cards += (f'<div class="card {sev}"><b>{int(counts.loc[sev, "open"])}</b>'
                  f"{sev}s{extra}</div>")
    failing = len(data.failing())
    verdict = (f"<p><b>{failing}</b> open finding(s) at or above <b>{data.fail_on}</b>.</p>"
               if failing else f"<p>No open findings at or above <b>{data.fail_on}</b>.</p>")
    issues = data.issues.copy()
    shown = issues.head(MAX_HTML_ISSUES)
    note = (f"<p>Showing the first {MAX_HTML_ISSUES} of {len(issues)} issues; report.xlsx and "
            "report.json hold all of them.</p>" if len(issues) > MAX_HTML_ISSUES else "")
    row_class = shown["waived"].notna().map({True: "waived", False: ""})
    shown = shown.rename(columns={"waived": "waiver"})
    rules = data.rules[["rule_id", "severity", "state", "n_issues", "n_waived", "title",
                        "reason", "authority"]]
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(data.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(data.title)}</h1>",
        f"<p>Created {html.escape(data.created)}</p>" if data.created else "",
        f'<div class="cards">{cards}</div>', verdict,
    ]
    if data.figures:
        parts.append("<h2>Figures</h2>" + "".join(_figure(f) for f in data.figures))
    parts += [
        "<h2>Datasets</h2>", _table(data.by_dataset(), "datasets"),
        "<h2>Rules</h2>",
        '<input placeholder="filter rules" oninput="filterTable(this,\'rules\')">',
        _table(rules, "rules", cell_class={"state": "state-"}),
        f"<h2>Issues ({len(issues)})</h2>", note,
        '<input placeholder="filter issues" oninput="filterTable(this,\'issues\')">',
        _table(shown, "issues", row_class=row_class),
        f"<script>{_JS}</script></body></html>",
    ]
    atomic_write_text(path, "\n".join(p for p in parts if p) + "\n")
    return path
