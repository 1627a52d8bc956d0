"""Nothing lost (issue 6 item 3): property-based test over random raw exports.

For any raw export, every raw record must reach an output row (its source file and row travel
with it) or be in the issue log with a reason; and every non-empty raw value that a mapping
reads must reach its target variable or be in the issue log for that row and variable. The
reconciliation must add up. Hypothesis generates messy exports: bad dates and times, non-numeric
results, unknown CT terms, duplicate and orphan subjects, empty cells, odd Unicode text.
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from converter.io.readers import read_raw
from converter.issues import IssueLog
from converter.model import SRC_FILE, SRC_ROW

STUDY = """\
study_id: LOST
study_name: Nothing lost
ct_package: sdtmct-2015-12-18
created: "2026-01-01T00:00:00"
sources:
  dm: {file: dm.csv}
  ae: {file: ae.csv}
"""
DM = """\
domain: DM
sources: [dm]
unique: [USUBJID]
steps:
  - {target: STUDYID, algorithm: hardcode, value: LOST}
  - {target: DOMAIN, algorithm: hardcode, value: DM}
  - target: USUBJID
    algorithm: concat
    parts: [{value: "LOST"}, {column: SUBJ}]
    separator: "-"
  - {target: SUBJID, algorithm: assign, source: SUBJ}
  - {target: SEX, algorithm: assign_ct, source: SEX, codelist: SEX}
  - {target: AGE, algorithm: assign_numeric, source: AGE}
  - {target: BRTHDTC, algorithm: iso_datetime, date: BRTHDAT, date_formats: [DD MON YYYY, YYYY-MM-DD]}
"""
AE = """\
domain: AE
sources: [ae]
steps:
  - {target: STUDYID, algorithm: hardcode, value: LOST}
  - {target: DOMAIN, algorithm: hardcode, value: AE}
  - target: USUBJID
    algorithm: concat
    parts: [{value: "LOST"}, {column: SUBJ}]
    separator: "-"
  - {target: AETERM, algorithm: assign, source: AETERM}
  - {target: AESEV, algorithm: assign_ct, source: AESEV, codelist: AESEV}
  - {target: AESTDTC, algorithm: iso_datetime, date: AESTDAT, date_formats: [DD MON YYYY, YYYY-MM-DD], time: AESTTIM}
  - {target: AESEQ, algorithm: seq, order: [AESTDTC]}
"""
# raw column -> (domain, target variable) for value-level checks
VALUE_MAP = {
    "dm.csv": {"SUBJ": ("DM", "SUBJID"), "SEX": ("DM", "SEX"), "AGE": ("DM", "AGE"),
               "BRTHDAT": ("DM", "BRTHDTC")},
    "ae.csv": {"AETERM": ("AE", "AETERM"), "AESEV": ("AE", "AESEV"),
               "AESTDAT": ("AE", "AESTDTC")},
}

subjects = st.sampled_from(["001", "002", "003", "004", "", "01 ", "999"])
dm_rows = st.lists(st.fixed_dictionaries({
    "SUBJ": subjects,
    "SEX": st.sampled_from(["M", "F", "U", "X", "", "male", "m"]),
    "AGE": st.sampled_from(["34", "<50", ">1000", "1,234.5", "ND", "", "-3", "1e3", " 7 "]),
    "BRTHDAT": st.sampled_from(["05 FEB 1980", "31 FEB 1980", "2014-13-01", "UNK UNK 2014",
                                "1980-02-05", "", "garbage", "UN JAN 1970"]),
}), min_size=0, max_size=12)
ae_rows = st.lists(st.fixed_dictionaries({
    "SUBJ": subjects,
    "AETERM": st.one_of(st.sampled_from(["HEADACHE", "", "nausea"]),
                        st.text(st.characters(blacklist_categories=("Cs",),
                                              blacklist_characters="\x00"), max_size=12)),
    "AESEV": st.sampled_from(["MILD", "MODERATE", "SEVERE", "mild", "X", ""]),
    "AESTDAT": st.sampled_from(["05 FEB 2014", "31 FEB 2014", "2014-13-01", "UNK UNK 2014",
                                "2014-02-05", ""]),
    "AESTTIM": st.sampled_from(["08:30", "25:61", "", "8.30", "23:59"]),
}), min_size=0, max_size=12)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    from converter.mapping.study import load_study

    root = tmp_path_factory.mktemp("lost") / "lost"
    (root / "sdtm").mkdir(parents=True)
    (root / "study.yaml").write_text(STUDY)
    (root / "sdtm" / "dm.yaml").write_text(DM)
    (root / "sdtm" / "ae.yaml").write_text(AE)
    return load_study(root)


def write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=columns)
        w.writeheader()
        w.writerows(rows)


def check_nothing_lost(study, raw: Path) -> None:
    from converter.mapping.engine import run_sdtm

    issues = IssueLog()
    result = run_sdtm(study, raw, issues)
    log = issues.to_frame()
    assert log["message"].fillna("").str.len().gt(0).all(), "every issue has a reason"
    logged = set(zip(log["source_file"], log["source_row"].astype(str)))
    logged_var = set(zip(log["source_file"], log["source_row"].astype(str), log["variable"]))
    out_rows = set()
    outputs = {}
    for name, frame in result.frames.items():
        if SRC_FILE in frame.columns:
            pairs = frame[[SRC_FILE, SRC_ROW]].dropna().astype(str)
            out_rows |= set(zip(pairs[SRC_FILE], pairs[SRC_ROW]))
            outputs[name] = frame
    recon = result.reconciliation.groupby("source_file")[["raw_records", "mapped",
                                                           "rejected"]].max()
    for file, value_map in VALUE_MAP.items():
        raw_frame = read_raw(raw / file)
        rows = set(zip(raw_frame[SRC_FILE], raw_frame[SRC_ROW]))
        lost = {r for r in rows if r not in out_rows and r not in logged}
        assert not lost, f"records neither mapped nor logged: {sorted(lost)}"
        if file in recon.index:
            rc = recon.loc[file]
            assert rc["raw_records"] == len(raw_frame)
            assert rc["mapped"] + rc["rejected"] == rc["raw_records"]
        # value level: a non-empty raw value read by a step reaches its variable or is logged
        for column, (domain, variable) in value_map.items():
            out = outputs.get(domain)
            if out is None:
                continue
            merged = raw_frame[[SRC_FILE, SRC_ROW, column]].rename(
                columns={column: "raw_value"}).merge(
                out[[SRC_FILE, SRC_ROW, variable]].astype({SRC_ROW: str}),
                on=[SRC_FILE, SRC_ROW], how="inner")
            dropped = merged[merged["raw_value"].notna() & merged[variable].isna()]
            for f, r, value in dropped[[SRC_FILE, SRC_ROW, "raw_value"]].itertuples(index=False):
                assert (f, r, variable) in logged_var or (f, r) in logged, (
                    f"{f} row {r}: {column}={value!r} did not reach {domain}.{variable} "
                    f"and no issue says why")


@settings(max_examples=12, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(dm=dm_rows, ae=ae_rows)
def test_every_raw_record_is_mapped_or_logged(study, dm, ae):
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp)
        write_csv(raw / "dm.csv", ["SUBJ", "SEX", "AGE", "BRTHDAT"], dm)
        write_csv(raw / "ae.csv", ["SUBJ", "AETERM", "AESEV", "AESTDAT", "AESTTIM"], ae)
        check_nothing_lost(study, raw)


def test_known_messy_export_is_fully_accounted(study, tmp_path):
    """A fixed example of the same property, with the values the issue names."""
    write_csv(tmp_path / "dm.csv", ["SUBJ", "SEX", "AGE", "BRTHDAT"], [
        {"SUBJ": "001", "SEX": "M", "AGE": "<50", "BRTHDAT": "31 FEB 1980"},
        {"SUBJ": "001", "SEX": "X", "AGE": "1,234.5", "BRTHDAT": "2014-13-01"},
        {"SUBJ": "002", "SEX": "F", "AGE": "ND", "BRTHDAT": "UNK UNK 2014"},
    ])
    write_csv(tmp_path / "ae.csv", ["SUBJ", "AETERM", "AESEV", "AESTDAT", "AESTTIM"], [
        {"SUBJ": "001", "AETERM": "", "AESEV": "MILD", "AESTDAT": "05 FEB 2014",
         "AESTTIM": "25:61"},
        {"SUBJ": "777", "AETERM": "RASH", "AESEV": "X", "AESTDAT": "", "AESTTIM": ""},
    ])
    check_nothing_lost(study, tmp_path)
    frame = pd.read_csv(tmp_path / "dm.csv")
    assert len(frame) == 3
