"""iso_datetime, study_day, ref_date — partial dates truncate, impossible dates are issues."""

from __future__ import annotations

import pandas as pd
import pytest
from algo_helpers import raw, run, values
from pydantic import ValidationError

from converter.mapping.dates import parse_dates


def iso(date, formats, time=None, time_formats=None):
    step = {"target": "XXDTC", "algorithm": "iso_datetime", "date": "D",
            "date_formats": formats}
    cols = {"D": date}
    if time is not None:
        step["time"] = "T"
        cols["T"] = time
        if time_formats:
            step["time_formats"] = time_formats
    return run(step, raw(**cols))


def test_iso_01_day_month_name_year():
    got, issues = iso(["12 MAR 2014", "12 mar 2014", "01 Jun 2014"], ["DD MON YYYY"])
    assert values(got) == ["2014-03-12", "2014-03-12", "2014-06-01"] and len(issues) == 0


def test_iso_02_unknown_parts_truncate_never_invent():
    got, issues = iso(["UN JUN 2014", "UNK UNK 2014", "UN UNK 2014", "UNK"], ["DD MON YYYY"])
    assert values(got) == ["2014-06", "2014", "2014", None] and len(issues) == 0


def test_iso_03_us_format_and_year_only_alternative():
    got, _ = iso(["01/16/2014", "2002", "1/2/2014"], ["MM/DD/YYYY", "YYYY"])
    assert values(got) == ["2014-01-16", "2002", "2014-01-02"]


@pytest.mark.parametrize("bad", ["31 FEB 2014", "29 FEB 2013", "32 JAN 2014", "12 XYZ 2014",
                                 "garbage"])
def test_iso_04_impossible_dates_are_issues_and_empty(bad):
    got, issues = iso([bad, "28 FEB 2013"], ["DD MON YYYY"])
    assert values(got) == [None, "2013-02-28"]
    df = issues.to_frame()
    assert df["rule_id"].tolist() == ["MAP.DATE"] and df["value"].tolist() == [bad]
    assert df["source_row"].tolist() == ["1"]


def test_iso_05_month_13_in_iso_input():
    got, issues = iso(["2014-13-01", "2014-12-01", "2014-02"], ["ISO8601"])
    assert values(got) == [None, "2014-12-01", "2014-02"] and len(issues) == 1


def test_iso_06_time_attached_to_complete_dates_only():
    got, issues = iso(["01-02-2014", "01-02-2014", "UN-02-2014", "01-02-2014"], ["DD-MM-YYYY"],
                      time=["09:30", None, "10:00", "UN:UN"])
    assert values(got) == ["2014-02-01T09:30", "2014-02-01", "2014-02", "2014-02-01"]
    # the time of the partial date is not kept, and says so (never silently)
    log = issues.to_frame()
    assert log["rule_id"].tolist() == ["MAP.TIMELOST"] and log["source_row"].tolist() == ["3"]
    assert log["value"].tolist() == ["date 'UN-02-2014', time '10:00'"]


def test_iso_07_invalid_time_is_issue_and_value_empty():
    got, issues = iso(["01-02-2014", "01-02-2014"], ["DD-MM-YYYY"], time=["25:61", "23:59"])
    assert values(got) == [None, "2014-02-01T23:59"]
    assert issues.to_frame()["value"].tolist() == ["25:61"]


def test_iso_08_declared_format_must_have_tokens():
    with pytest.raises(ValidationError, match="no date/time token"):
        iso(["x"], ["dd/xx"])


def test_iso_09_each_distinct_value_parsed_once():
    s = pd.Series(["12 MAR 2014", "12 MAR 2014", None] * 1000)
    out, bad = parse_dates(s, ["DD MON YYYY"])
    assert out.iloc[0] == "2014-03-12" and out.iloc[2] is None and not bad.any()


# --- study_day -------------------------------------------------------------------------------


def test_study_day_01_no_day_zero_partial_gives_none():
    dm = raw(USUBJID=["S1"], RFSTDTC=["2014-01-02"])
    got, _ = run({"target": "AESTDY", "algorithm": "study_day", "dtc": "AESTDTC"},
                 raw(A=[1, 2, 3, 4, 5]),
                 {"USUBJID": ["S1"] * 4 + ["S9"],
                  "AESTDTC": ["2014-01-02", "2014-01-01", "2014-01-05T10:00", "2014-01",
                              "2014-01-03"]}, frames={"DM": dm})
    assert values(got) == [1.0, -1.0, 4.0, None, None]


# --- ref_date --------------------------------------------------------------------------------


def test_ref_date_01_first_and_last_with_where():
    ex = raw(USUBJID=["S1", "S1", "S2"], EXSTDTC=["2014-01-05", "2014-01-02", "2014-02"],
             EXTRT=["A", "B", "A"])
    first, _ = run({"target": "RFXSTDTC", "algorithm": "ref_date", "pick": "first",
                    "from": [{"domain": "EX", "variable": "EXSTDTC"}]}, raw(A=[1, 2, 3]),
                   {"USUBJID": ["S1", "S2", "S3"]}, frames={"EX": ex}, domain="DM")
    assert values(first) == ["2014-01-02", None, None]  # partial 2014-02 does not count
    last_a, _ = run({"target": "X", "algorithm": "ref_date", "pick": "last",
                     "from": [{"domain": "EX", "variable": "EXSTDTC",
                               "where": {"variable": "EXTRT", "equals": "A"}}]},
                    raw(A=[1]), {"USUBJID": ["S1"]}, frames={"EX": ex}, domain="DM")
    assert values(last_a) == ["2014-01-05"]
