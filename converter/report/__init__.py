"""Reports are views of one issue log: XLSX for people, HTML for reviewers, JSON and JUnit XML
for machines. Mapping-stage issues (unmapped terms, bad dates, rejected records) appear next to
validation findings; waived findings are shown as waived, never hidden.

>>> import tempfile, pathlib
>>> from converter.issues import IssueLog
>>> log = IssueLog(); log.add("MAP.CT", "unmapped term", dataset="DM", variable="SEX", value="X")
>>> paths = write_reports(log, None, pathlib.Path(tempfile.mkdtemp()), title="demo")
>>> sorted(p.name for p in paths)
['junit.xml', 'report.html', 'report.json', 'report.xlsx']
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from converter.issues import IssueLog
from converter.report.common import prepare
from converter.report.html import write_html
from converter.report.jsonreport import write_json
from converter.report.junit import write_junit
from converter.report.xlsx import write_xlsx

REPORT_FILES = ("report.xlsx", "report.html", "report.json", "junit.xml")


def write_reports(issues: IssueLog | pd.DataFrame, rules: object, out_dir: str | Path, *,
                  title: str, figures: Iterable[str | Path] = (), fail_on: str = "error",
                  waivers: object = None, created: str | None = None) -> list[Path]:
    """Write report.xlsx, report.html, report.json and junit.xml into ``out_dir``.

    ``rules``: the rule table of ``validate()`` (or the ValidationResult itself, or None when
    only the log is reported). ``waivers`` default to the ones used by ``validate()``.
    ``created`` is printed in the reports when given (never the wall clock).
    """
    data = prepare(issues, rules, title=title, fail_on=fail_on, waivers=waivers,
                   created=created, figures=figures)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [write_xlsx(data, out / "report.xlsx"), write_html(data, out / "report.html"),
            write_json(data, out / "report.json"), write_junit(data, out / "junit.xml")]


__all__ = ["REPORT_FILES", "write_reports"]
