"""Bad values in good files (issue 6 item 1): impossible dates and times, results that are not
numbers. Each must give a located issue (rule, source file, source row, the value) and an empty
target — never a guessed value — while the text as collected stays exactly as it was."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from converter.issues import IssueLog
from converter.model import SRC_ROW

STUDY = """\
study_id: VALS
study_name: Bad values
ct_package: sdtmct-2015-12-18
created: "2026-01-01T00:00:00"
sources:
  dm: {file: dm.csv}
"""
DM = """\
domain: DM
sources: [dm]
steps:
  - {target: STUDYID, algorithm: hardcode, value: VALS}
  - {target: DOMAIN, algorithm: hardcode, value: DM}
  - target: USUBJID
    algorithm: concat
    parts: [{value: "VALS"}, {column: SUBJ}]
    separator: "-"
  - {target: SUBJID, algorithm: assign, source: SUBJ}
  - {target: AGETXT, algorithm: assign, source: AGE}
  - {target: AGE, algorithm: assign_numeric, source: AGE}
  - {target: RFICDTC, algorithm: iso_datetime, date: ICDAT, date_formats: [DD MON YYYY, YYYY-MM-DD], time: ICTIM}
"""


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    from converter.mapping.engine import run_sdtm
    from converter.mapping.study import load_study

    root = tmp_path_factory.mktemp("vals")
    (root / "study" / "sdtm").mkdir(parents=True)
    (root / "study" / "study.yaml").write_text(STUDY)
    (root / "study" / "sdtm" / "dm.yaml").write_text(DM)
    (root / "raw").mkdir()
    (root / "raw" / "dm.csv").write_text(
        "SUBJ,AGE,ICDAT,ICTIM\n"
        "001,<50,31 FEB 2014,08:30\n"
        "002,>1000,2014-13-01,\n"
        '003,"1,234.5",UNK UNK 2014,\n'
        "004,ND,05 FEB 2014,25:61\n"
        "005,34,2014-02-05,23:59\n")
    log = IssueLog()
    result = run_sdtm(load_study(root / "study"), root / "raw", log)
    dm = result.frames["DM"].set_index(SRC_ROW)
    return dm, log.to_frame()


def issue(log, row: str, variable: str):
    hits = log[(log["source_row"] == row) & (log["variable"] == variable)]
    assert len(hits) >= 1, f"no issue for row {row} {variable}:\n{log}"
    hit = hits.iloc[0]
    assert hit["source_file"] == "dm.csv" and hit["message"] and hit["rule_id"]
    return hit


@pytest.mark.parametrize("row, value", [("1", "31 FEB 2014"), ("2", "2014-13-01")])
def test_impossible_dates_are_issues_not_guesses(mapped, row, value):
    dm, log = mapped
    assert pd.isna(dm.loc[row, "RFICDTC"])
    assert issue(log, row, "RFICDTC")["value"] == value


def test_unknown_day_and_month_give_the_year_only(mapped):
    dm, _log = mapped
    assert dm.loc["3", "RFICDTC"] == "2014"          # ISO 8601 right truncation, nothing invented


def test_impossible_time_is_an_issue(mapped):
    dm, log = mapped
    assert issue(log, "4", "RFICDTC")["value"] == "25:61"
    assert "25:61" not in str(dm.loc["4", "RFICDTC"]) and "T" not in str(dm.loc["4", "RFICDTC"])


@pytest.mark.parametrize("row, value", [("1", "<50"), ("2", ">1000"), ("3", "1,234.5"),
                                        ("4", "ND")])
def test_non_numeric_results_are_issues_and_kept_as_collected(mapped, row, value):
    dm, log = mapped
    assert dm.loc[row, "AGETXT"] == value             # the collected text is untouched
    assert dm.loc[row, "AGE"] is None or math.isnan(dm.loc[row, "AGE"])
    assert issue(log, row, "AGE")["value"] == value


def test_good_row_is_clean(mapped):
    dm, log = mapped
    assert dm.loc["5", "RFICDTC"] == "2014-02-05T23:59" and dm.loc["5", "AGE"] == 34
    assert not (log["source_row"] == "5").any()
