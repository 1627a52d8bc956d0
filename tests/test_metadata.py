"""The metadata stage: order, sort, types, byte lengths, reported gaps, lineage."""

from __future__ import annotations

import numpy as np
import pandas as pd

from converter.issues import IssueLog
from converter.metadata import apply_metadata, load_spec, missing_codes
from converter.model import SRC_FILE, SRC_ROW

SDTM = load_spec("SDTMIG 3.3")
ADAM = load_spec("ADaMIG 1.1")


def _lb() -> pd.DataFrame:
    return pd.DataFrame({
        "LBSTRESN": ["5.1", "n/a", "7", "", "0.1"],
        "USUBJID": ["S-2", "S-1", "S-1", "S-2", "S-1"],
        "LBTESTCD": ["CD4", "CD4", "CD8", "CD4", "CD4"],
        "STUDYID": "ST",
        "DOMAIN": "LB",
        "LBSEQ": [1, 1, 2, 2, 3],
        "VISITNUM": ["2", "1", "1", "1", "2"],
        "LBORRES": ["5.1", "n/a", "7", None, "0.1"],
        "LBXTRA": ["é", "a", "b", "c", "d"],
        SRC_FILE: "lab.csv",
        SRC_ROW: ["10", "11", "12", "13", "14"],
    })


def test_order_sort_types_and_lineage():
    log = IssueLog()
    ds, lineage = apply_metadata(_lb(), "lb", SDTM, log)
    data = ds.data
    assert ds.name == "LB" and ds.meta.label == "Laboratory Test Results"
    # spec order first, the non-standard column last
    assert list(data.columns) == ["STUDYID", "DOMAIN", "USUBJID", "LBSEQ", "LBTESTCD", "LBORRES",
                                  "LBSTRESN", "VISITNUM", "LBXTRA"]
    # sorted by the keys present: STUDYID, USUBJID, LBTESTCD, VISITNUM (stable)
    assert list(zip(data["USUBJID"], data["LBTESTCD"], data["VISITNUM"])) == [
        ("S-1", "CD4", 1.0), ("S-1", "CD4", 2.0), ("S-1", "CD8", 1.0), ("S-2", "CD4", 1.0),
        ("S-2", "CD4", 2.0)]
    assert data["LBSTRESN"].dtype == np.float64 and data["LBSEQ"].dtype == np.float64
    assert data["LBSTRESN"].isna().tolist() == [True, False, False, True, False]
    assert SRC_FILE not in data.columns and SRC_ROW not in data.columns
    assert lineage.columns.tolist() == ["dataset", "row", "usubjid", "seq", "source_file",
                                        "source_row"]
    assert lineage["source_row"].tolist() == ["11", "14", "12", "13", "10"]
    assert lineage["row"].tolist() == [1, 2, 3, 4, 5]
    assert lineage["seq"].tolist() == [1, 3, 2, 2, 1]
    meta = {v.name: v for v in ds.meta.variables}
    assert meta["LBXTRA"].length == 2          # 'é' is two bytes in UTF-8
    assert meta["USUBJID"].length == 3 and meta["LBSTRESN"].length == 8
    assert meta["USUBJID"].key_sequence == 2 and meta["LBTESTCD"].key_sequence == 3
    assert meta["LBSTRESN"].label == "Numeric Result/Finding in Standard Units"
    assert ds.meta.keys == ["STUDYID", "USUBJID", "LBTESTCD", "VISITNUM"]

    issues = log.to_frame()
    bad = issues[issues["rule_id"] == "MD.NUMTYPE"]
    assert len(bad) == 1
    row = bad.iloc[0]
    assert (row["variable"], row["usubjid"], row["source_file"], row["source_row"],
            row["value"]) == ("LBSTRESN", "S-1", "lab.csv", "11", "n/a")
    assert row["seq"] == 1
    nonstd = issues[issues["rule_id"] == "MD.NONSTD"]
    assert nonstd["variable"].tolist() == ["LBXTRA"] and "SUPPLB" in nonstd["expected"].iloc[0]
    req_missing = set(issues.loc[issues["rule_id"] == "MD.REQMISS", "variable"])
    assert req_missing == {"LBTEST"}
    exp_missing = set(issues.loc[issues["rule_id"] == "MD.EXPMISS", "variable"])
    assert {"LBORRESU", "LBSTRESC", "LBDTC", "LBNRIND", "LBCAT"} <= exp_missing
    assert "LBSPEC" not in exp_missing   # permissible


def test_required_nulls_reported_per_record():
    frame = pd.DataFrame({"STUDYID": ["ST", "ST", None], "DOMAIN": "DM",
                          "USUBJID": ["A", "B", "C"], "SUBJID": ["1", "", "3"],
                          SRC_ROW: ["1", "2", "3"]})
    log = IssueLog()
    apply_metadata(frame, "DM", SDTM, log)
    nulls = log.filter(["MD.REQNULL"])
    assert sorted(zip(nulls["variable"], nulls["usubjid"], nulls["source_row"])) == [
        ("STUDYID", "C", "3"), ("SUBJID", "B", "2")]


def test_expected_present_but_empty_and_dates_to_sas_numbers():
    frame = pd.DataFrame({
        "STUDYID": "ST", "USUBJID": ["A", "B"], "PARAMCD": "CD4", "PARAM": "CD4 (10^6/L)",
        "ADT": ["2014-01-02", "1960-01-01"], "TRTSDT": pd.to_datetime(["1960-01-02", None]),
        "AVAL": [1.0, 2.5], "ADTF": [None, None], "CNSR": [0, 1]})
    log = IssueLog()
    ds, _ = apply_metadata(frame, "ADLB", ADAM, log)
    assert ds.data["ADT"].tolist() == [19725.0, 0.0]
    assert ds.data["TRTSDT"].iloc[0] == 1.0 and np.isnan(ds.data["TRTSDT"].iloc[1])
    assert ds.meta.variable("ADT").format == "DATE9."
    assert "MD.NUMTYPE" not in set(log.to_frame()["rule_id"])
    assert "CNSR" in set(log.filter(["MD.NONSTD"])["variable"])


def test_special_missing_text_and_origins_and_overrides():
    frame = pd.DataFrame({"STUDYID": "ST", "USUBJID": ["A", "B", "C"], "AGE": ["34", ".A", "."],
                          "SEX": ["F", "M", "F"]})
    origins = {"AGE": {"origin": "Collected", "source": "dm.csv AGE"},
               "SEX": {"origin": "Collected", "method": None}}
    ds, _ = apply_metadata(frame, "ADSL", ADAM, IssueLog(), origins=origins,
                           overrides={"AGE": {"format": "3."}})
    assert missing_codes(ds.data["AGE"]).tolist() == [None, "A", "."]
    age = ds.meta.variable("AGE")
    assert (age.origin, age.source, age.format) == ("Collected", "dm.csv AGE", "3.")
    assert ds.meta.variable("SEX").origin == "Collected"


def test_supp_and_unknown_dataset():
    frame = pd.DataFrame({"STUDYID": "ST", "RDOMAIN": "AE", "USUBJID": ["A"], "IDVAR": "AESEQ",
                          "IDVARVAL": "1", "QNAM": "AETRTEM", "QLABEL": "Treatment Emergent",
                          "QVAL": "Y", "QORIG": "Derived"})
    ds, _ = apply_metadata(frame, "SUPPAE", SDTM, IssueLog())
    assert ds.meta.label == "Supplemental Qualifiers for AE"
    log = IssueLog()
    ds, _ = apply_metadata(pd.DataFrame({"X": [1, 2], "Y": ["a", "b"]}), "ZZ", SDTM, log)
    assert [v.type for v in ds.meta.variables] == ["Num", "Char"]
    assert log.to_frame()["rule_id"].tolist() == ["MD.NODSPEC"]


def test_vectorised_on_a_large_frame():
    n = 200_000
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({
        "STUDYID": "ST", "DOMAIN": "LB",
        "USUBJID": pd.Series(rng.integers(0, 5000, n)).map("S-{:05d}".format),
        "LBSEQ": np.arange(n), "LBTESTCD": rng.choice(["CD4", "CD8", "ALT"], n),
        "LBTEST": "x", "LBSTRESN": rng.normal(size=n).astype(str),
        "VISITNUM": rng.integers(1, 10, n).astype(float)})
    ds, lineage = apply_metadata(frame, "LB", SDTM, IssueLog())
    assert len(ds.data) == n == len(lineage)
    assert ds.data["USUBJID"].is_monotonic_increasing


def test_arrow_backed_text_becomes_categorical():
    frame = pd.DataFrame({"STUDYID": pd.array(["ST", "ST"], dtype="string[pyarrow]"),
                          "USUBJID": pd.array(["B", "A"], dtype="string[pyarrow]"),
                          "DOMAIN": "DM", "SUBJID": ["2", None]})
    log = IssueLog()
    ds, _ = apply_metadata(frame, "DM", SDTM, log)
    assert ds.data["USUBJID"].tolist() == ["A", "B"]
    assert isinstance(ds.data["USUBJID"].dtype, pd.CategoricalDtype)
    assert ds.data["SUBJID"].isna().tolist() == [True, False]
    assert ds.data["SUBJID"].iloc[1] == "2"
    assert log.filter(["MD.REQNULL"])["usubjid"].tolist() == ["A"]
