"""Compare our findings with a Pinnacle 21 report for the checks both tools cover.

    python -m converter.validate.p21compare SDTM_DIR P21_REPORT.xlsx [--define FILE]

A check is covered when one of our rules that ran (passed or issues_found) names its P21 id in
``p21``. For every covered P21 id and every dataset of the folder, the table gives P21's count,
ours, and whether they agree (both zero or both non-zero) and match exactly.
"""

from __future__ import annotations

import sys
from pathlib import Path

import openpyxl
import pandas as pd

COLUMNS = ["p21_id", "dataset", "p21_count", "our_count", "our_rules", "agree", "same_count"]


def read_p21_summary(path: str | Path) -> pd.DataFrame:
    """(dataset, p21_id, severity, count) from the 'Issue Summary' sheet of a P21 report."""
    # not read_only: the report's sheets declare a wrong 1x1 dimension that read-only mode trusts
    wb = openpyxl.load_workbook(path, data_only=True)
    ws = wb["Issue Summary"]
    rows, domain, started = [], None, False
    for row in ws.iter_rows(values_only=True):
        if not started:
            started = row[:2] == ("Source", "Pinnacle 21 ID")
            continue
        if row[0]:
            domain = str(row[0]).upper()
        elif row[1] and domain:
            rows.append({"dataset": domain, "p21_id": str(row[1]), "severity": row[4],
                         "count": int(row[5] or 0)})
    wb.close()
    return pd.DataFrame(rows, columns=["dataset", "p21_id", "severity", "count"])


def compare_with_p21(rules: pd.DataFrame, issues: pd.DataFrame, p21: pd.DataFrame,
                     datasets: list[str]) -> pd.DataFrame:
    """One row per covered P21 check and dataset."""
    ran = rules[rules["state"].isin(["passed", "issues_found"])]
    covered: dict[str, list[str]] = {}
    for rule_id, ids in zip(ran["rule_id"], ran["p21"]):
        for pid in [i.strip() for i in str(ids or "").split(",") if i.strip()]:
            covered.setdefault(pid, []).append(rule_id)
    theirs = p21.groupby(["p21_id", "dataset"], observed=True)["count"].sum()
    ours = issues.groupby(["rule_id", "dataset"], observed=True).size()
    rows = []
    for pid in sorted(covered):
        for name in sorted(datasets):
            mine = int(sum(ours.get((r, name), 0) for r in covered[pid]))
            their = int(theirs.get((pid, name), 0))
            rows.append({"p21_id": pid, "dataset": name, "p21_count": their, "our_count": mine,
                         "our_rules": ", ".join(covered[pid]),
                         "agree": (mine > 0) == (their > 0), "same_count": mine == their})
    return pd.DataFrame(rows, columns=COLUMNS)


def run_comparison(sdtm_dir: str | Path, report: str | Path, define: str | Path | None = None
                   ) -> tuple[pd.DataFrame, object]:
    """Validate the folder with the full catalogue and compare with the P21 report."""
    from converter.ct import load_ct
    from converter.issues import IssueLog
    from converter.metadata import load_spec
    from converter.validate.loading import read_folder
    from converter.validate.runner import validate

    datasets = read_folder(sdtm_dir)
    log = IssueLog()
    result = validate(datasets, spec=[load_spec("SDTMIG 3.3")], ct=load_ct("sdtmct-2015-12-18"),
                      issues=log, define_path=define)
    table = compare_with_p21(result.rules, log.to_frame(), read_p21_summary(report),
                             list(datasets))
    return table, result


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 4):
        print(__doc__, file=sys.stderr)
        return 2
    define = argv[3] if len(argv) == 4 and argv[2] == "--define" else None
    table, result = run_comparison(argv[0], argv[1], define)
    agree = table["agree"].mean() if len(table) else float("nan")
    same = table["same_count"].mean() if len(table) else float("nan")
    print(f"{len(table)} (check, dataset) pairs; presence agreement {agree:.1%}; "
          f"exact count agreement {same:.1%}")
    print(table[~table["same_count"]].to_string(index=False))
    errors = result.rules[result.rules["state"] == "execution_error"]
    print(f"execution errors: {len(errors)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
