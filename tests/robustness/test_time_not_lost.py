"""A time collected with a partial or missing date cannot be in an ISO 8601 --DTC (a time needs
a complete date): the date is kept truncated and the time is logged (MAP.TIMELOST warning with
the collected date and time), never dropped silently."""
import pandas as pd
import pytest
from test_corpus_values import DM, STUDY  # tests/robustness on path

from converter.issues import IssueLog


def _run(tmp_path, date, time="08:30"):
    from converter.mapping.engine import run_sdtm
    from converter.mapping.study import load_study
    (tmp_path / "study" / "sdtm").mkdir(parents=True)
    (tmp_path / "study" / "study.yaml").write_text(STUDY)
    (tmp_path / "study" / "sdtm" / "dm.yaml").write_text(DM)
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "dm.csv").write_text(f"SUBJ,AGE,ICDAT,ICTIM\n001,1,{date},{time}\n")
    log = IssueLog()
    frame = run_sdtm(load_study(tmp_path / "study"), tmp_path / "raw", log).frames["DM"]
    value = frame.iloc[0]["RFICDTC"]   # missing text may be None or NaN (Categorical)
    return (None if pd.isna(value) else value), log.filter(["MAP.TIMELOST"])


@pytest.mark.parametrize("date, kept", [("UN FEB 2014", "2014-02"), ("", None)])
def test_time_dropped_with_partial_or_missing_date_is_logged(tmp_path, date, kept):
    value, lost = _run(tmp_path, date)
    assert value == kept
    assert len(lost) == 1
    row = lost.iloc[0]
    assert (row["source_row"], row["variable"], row["severity"], row["usubjid"]) == (
        "1", "RFICDTC", "warning", "VALS-001")
    assert row["value"] == f"date '{date}', time '08:30'"


@pytest.mark.parametrize("date, time", [("05 FEB 2014", "08:30"), ("UN FEB 2014", ""),
                                        ("UN FEB 2014", "25:61")])
def test_no_timelost_when_no_valid_time_is_dropped(tmp_path, date, time):
    _, lost = _run(tmp_path, date, time)
    assert lost.empty
