"""junit.xml: one test case per rule so CI systems show failing rules.

issues_found at or above the threshold -> <failure>; execution_error -> <error>;
skipped -> <skipped> with the reason. Rules that only appear in the issue log (mapping-stage
rules such as unmapped CT terms) become test cases of their stage.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from converter.atomic import atomic_write_bytes
from converter.issues import SEVERITY_RANK
from converter.report.common import ReportData, cell_text, xml_safe

MAX_LISTED = 50


def _issue_lines(frame) -> str:
    lines = []
    for row in frame.head(MAX_LISTED).itertuples(index=False):
        where = " ".join(p for p in (cell_text(row.dataset), cell_text(row.variable),
                                     cell_text(row.usubjid)) if p)
        lines.append(f"[{row.severity}] {where}: {cell_text(row.message)}")
    if len(frame) > MAX_LISTED:
        lines.append(f"... and {len(frame) - MAX_LISTED} more (see report.xlsx / report.json)")
    return xml_safe("\n".join(lines))


def write_junit(data: ReportData, path: Path) -> Path:
    rank = SEVERITY_RANK[data.fail_on]
    issues = data.issues
    live = issues[issues["waived"].isna()]
    failing = live[live["severity"].map(SEVERITY_RANK) >= rank]
    by_rule = dict(tuple(failing.groupby("rule_id", sort=False, observed=True)))
    suite = etree.Element("testsuite", name=xml_safe(data.title))
    n_fail = n_err = n_skip = 0
    cases = []
    for rule in data.rules.itertuples(index=False):
        case = etree.Element("testcase", classname=f"validation.{rule.rule_id.split('.')[0]}",
                             name=xml_safe(f"{rule.rule_id} {cell_text(rule.title)}".strip()), time="0")
        if rule.state == "execution_error":
            etree.SubElement(case, "error", message=xml_safe(cell_text(rule.reason)),
                             type="execution_error").text = xml_safe(cell_text(rule.reason))
            n_err += 1
        elif rule.state == "skipped":
            etree.SubElement(case, "skipped", message=xml_safe(cell_text(rule.reason)))
            n_skip += 1
        elif rule.rule_id in by_rule:
            hits = by_rule[rule.rule_id]
            worst = max(hits["severity"], key=SEVERITY_RANK.get)
            etree.SubElement(case, "failure", type=worst,
                             message=xml_safe(f"{len(hits)} {worst}-level finding(s): {rule.title}")
                             ).text = _issue_lines(hits)
            n_fail += 1
        elif rule.state == "issues_found":
            out = etree.SubElement(case, "system-out")
            out.text = (f"{int(rule.n_issues)} finding(s) below the '{data.fail_on}' threshold "
                        f"or waived")
        cases.append(case)
    known = set(data.rules["rule_id"])
    extra = issues[~issues["rule_id"].isin(known)]
    for (stage, rule_id), hits in extra.groupby(["stage", "rule_id"], sort=True, dropna=False, observed=True):
        case = etree.Element("testcase", classname=f"{stage or 'log'}", name=xml_safe(str(rule_id)),
                             time="0")
        hits_failing = hits[hits.index.isin(failing.index)]
        if len(hits_failing):
            worst = max(hits_failing["severity"], key=SEVERITY_RANK.get)
            etree.SubElement(case, "failure", type=worst,
                             message=f"{len(hits_failing)} {worst}-level finding(s)"
                             ).text = _issue_lines(hits_failing)
            n_fail += 1
        else:
            etree.SubElement(case, "system-out").text = (
                f"{len(hits)} finding(s) below the '{data.fail_on}' threshold or waived")
        cases.append(case)
    suite.extend(cases)
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(n_fail))
    suite.set("errors", str(n_err))
    suite.set("skipped", str(n_skip))
    root = etree.Element("testsuites", name=xml_safe(data.title), tests=str(len(cases)),
                         failures=str(n_fail), errors=str(n_err), skipped=str(n_skip))
    root.append(suite)
    atomic_write_bytes(path, etree.tostring(root, xml_declaration=True, encoding="UTF-8",
                                            pretty_print=True))
    return path
