"""MSC-INR-P2: the committed synthetic EDC/lab export mapped by mappings/msc-inr-p2.

Counts are checked against the raw files themselves (read here with plain pandas), so the tests
follow the example if its values are regenerated; the calibrated design counts of the README
(100 screened, 72 randomised, 6 infusions, 31 subjects with an AE: 12 / 8 / 11) are asserted
too. The LB frame is compared with an independent straightforward pandas derivation.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pandas as pd
import pytest

from converter.issues import IssueLog
from converter.mapping.engine import run_sdtm
from converter.mapping.study import load_study

DOMAINS = {"DM", "AE", "EX", "LB", "DS", "VS", "MH", "IE", "CM", "SUPPDM", "SUPPEX", "SUPPCM",
           "TS", "TA", "TE", "TV", "TI", "SV", "SE"}


def _csv(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def raw(repo_root):
    return repo_root / "examples" / "msc-inr-p2" / "raw"


@pytest.fixture(scope="module")
def mapped(repo_root, raw):
    study = load_study(repo_root / "mappings" / "msc-inr-p2")
    issues = IssueLog(study.config.severity_overrides)
    result = run_sdtm(study, raw, issues)
    return result, issues.to_frame()


@pytest.fixture(scope="module")
def raw_arms(raw) -> pd.Series:
    """Arm code per USUBJID from the raw randomisation form and the unblinded list."""
    rand = _csv(raw / "rand.csv")
    lst = pd.read_excel(raw / "randomisation_list.xlsx", sheet_name="Randomisation", dtype=str)
    arm = rand.merge(lst, left_on="RANDNO", right_on="RAND_NO", how="left")
    code = arm["TRT_CODE"].map({"A": "HIGH", "B": "LOW", "C": "PLACEBO"})
    return pd.Series(code.to_numpy(), index=(arm["Project"] + "-" + arm["Subject"]).to_numpy())


def test_check_command_exits_0(repo_root):
    done = subprocess.run([sys.executable, "-m", "converter", "check",
                           str(repo_root / "mappings" / "msc-inr-p2")],
                          capture_output=True, text=True, cwd=repo_root, check=False)
    assert done.returncode == 0, done.stderr


def test_all_domains_produced(mapped):
    result, _ = mapped
    missing = DOMAINS - set(result.frames)
    assert not missing
    empty = {d for d in DOMAINS - {"SE"} if len(result.frames[d]) == 0}
    assert not empty


def test_dm_screened_subjects(mapped, raw):
    dm = mapped[0].frames["DM"]
    raw_dm = _csv(raw / "dm.csv")
    assert len(dm) == len(raw_dm) == 100
    assert dm["USUBJID"].is_unique
    assert set(dm["USUBJID"]) == set("MSC-INR-P2-" + raw_dm["Subject"])
    # exposed (RFXSTDTC) = randomised subjects of rand.csv; the others are never treated
    rand = set("MSC-INR-P2-" + _csv(raw / "rand.csv")["Subject"])
    assert len(rand) == 72
    assert set(dm.loc[dm["RFXSTDTC"].notna(), "USUBJID"]) == rand
    assert dm.loc[~dm["USUBJID"].isin(rand), "RFSTDTC"].isna().all()
    assert (dm["COUNTRY"] == "CHN").all()
    assert dm["SEX"].isin(["M", "F"]).all() and (dm["AGEU"] == "YEARS").all()
    assert dm["BRTHDTC"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()


def test_ex_six_infusions_per_subject(mapped, raw):
    ex = mapped[0].frames["EX"]
    assert len(ex) == len(_csv(raw / "ex.csv")) == 432
    per = ex.groupby("USUBJID").size()
    assert len(per) == 72 and (per == 6).all()
    assert ex.groupby("USUBJID")["EXSEQ"].apply(lambda s: sorted(s) == [1, 2, 3, 4, 5, 6]).all()
    assert set(ex["EXDOSU"]) == {"10^6 cells/kg"} and set(ex["EXROUTE"]) == {"INTRAVENOUS"}
    assert set(ex["EXDOSE"]) == {0.0, 0.5, 1.5}
    assert ex.loc[ex["EXDOSE"] == 0, "EXTRT"].eq("PLACEBO").all()
    assert ex["EXSTDTC"].str.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}").all()
    first = ex[ex["EXSEQ"] == 1]
    assert (first["EXSTDY"] == 1).all() and (first["VISIT"] == "WEEK 0").all()


def test_ae_subjects_by_arm(mapped, raw, raw_arms):
    ae = mapped[0].frames["AE"]
    assert len(ae) == len(_csv(raw / "ae.csv"))
    subjects = ae["USUBJID"].drop_duplicates()
    assert len(subjects) == 31
    assert subjects.map(raw_arms).value_counts().to_dict() == {"HIGH": 12, "PLACEBO": 11,
                                                                "LOW": 8}
    assert ae["AEDECOD"].notna().all() and ae["AEBODSYS"].notna().all()
    assert set(ae["AETOXGR"]) <= {"1", "2"} and set(ae["AESER"]) == {"N"}
    # partial onset dates stay partial and give no study day
    partial = ae["AESTDTC"].str.len() == 7
    assert partial.any() and ae.loc[partial, "AESTDY"].isna().all()
    assert ae.loc[~partial, "AESTDY"].notna().all() and (ae["AESTDY"] != 0).all()


def test_lb_rows_and_not_done(mapped, raw):
    lb = mapped[0].frames["LB"]
    lab = _csv(raw / "lab_central.csv")
    assert len(lb) == len(lab)
    assert lb["LBTESTCD"].notna().all() and lb["LBTEST"].notna().all()
    assert lb["LBTESTCD"].nunique() == lab["TEST_CODE"].nunique() == 45
    not_done = lab["STATUS"].eq("NOT DONE").sum()
    assert not_done > 0 and lb["LBSTAT"].eq("NOT DONE").sum() == not_done
    assert lb.loc[lb["LBSTAT"].notna(), "LBREASND"].notna().all()
    assert lb.loc[lb["LBSTAT"].notna(), "LBORRES"].isna().all()
    below = lb["LBORRES"].eq("<50")
    assert below.any() and lb.loc[below, "LBSTRESN"].isna().all()
    # one baseline per randomised subject and test: the BASELINE (week 0) sample, or the
    # screening sample when the week-0 result was not done
    flagged = lb[lb["LBBLFL"] == "Y"]
    assert not flagged.duplicated(["USUBJID", "LBTESTCD"]).any()
    assert set(flagged["VISIT"]) <= {"WEEK 0", "SCREENING"}
    early = flagged.loc[flagged["VISIT"] == "SCREENING", ["USUBJID", "LBTESTCD"]]
    week0 = lb[lb["VISIT"] == "WEEK 0"].merge(early, on=["USUBJID", "LBTESTCD"])
    assert len(week0) == len(early) and week0["LBSTAT"].eq("NOT DONE").all()
    assert flagged.groupby("LBTESTCD")["USUBJID"].nunique().eq(72).sum() >= 40


def test_lb_equals_plain_pandas_derivation(mapped, repo_root, raw):
    spec = importlib.util.spec_from_file_location(
        "bench_sdtm_lb", repo_root / "benchmarks" / "bench_sdtm_lb.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    oracle = bench.pandas_lb(raw)
    lb = mapped[0].frames["LB"]
    key = ["LBREFID", "LBTESTCD"]
    both = lb.merge(oracle, on=key, suffixes=("", "_pd"), validate="one_to_one")
    assert len(both) == len(lb)
    for col in ["USUBJID", "LBTEST", "LBSPEC", "LBORRESU", "LBSTRESN", "LBNRIND", "LBSTAT",
                "LBDTC", "VISITNUM", "VISIT", "LBDY", "LBBLFL", "LBSEQ"]:
        a = both[col].astype(object).where(both[col].notna(), None)
        b = both[col + "_pd"].astype(object).where(both[col + "_pd"].notna(), None)
        assert (a.astype(str) == b.astype(str)).all(), col


def test_reconciliation_accounts_for_every_record(mapped, raw):
    recon = mapped[0].reconciliation
    assert (recon["mapped"] + recon["rejected"] == recon["raw_records"]).all()
    assert recon.loc[recon["rejected"] > 0, "reason"].str.len().gt(0).all()
    rows = dict(zip(recon["source_file"], recon["raw_records"]))
    for name in ["dm.csv", "ae.csv", "ex.csv", "ds.csv", "vs.csv", "mh.csv", "hivhx.csv",
                 "ie.csv", "lab_central.csv"]:
        assert rows[name] == len(_csv(raw / name)), name
    ie = recon.set_index("source_file").loc["ie.csv"]
    assert ie["mapped"] == 26 and ie["rejected"] == 74 and "IEYN" in ie["reason"]


def test_no_error_level_issues(mapped):
    issues = mapped[1]
    errors = issues[issues["severity"] == "error"] if len(issues) else issues
    assert len(errors) == 0, errors[["dataset", "variable", "rule_id", "message"]].head()


def test_trial_design_from_study_yaml(mapped):
    frames = mapped[0].frames
    ts = frames["TS"]
    for code in ["SSTDTC", "SDTIGVER", "STYPE", "TITLE", "TPHASE", "SPONSOR", "INDIC", "TRT",
                 "RANDOM", "TBLIND", "TCNTRL", "PLANSUB", "AGEMIN", "SEXPOP", "ADDON",
                 "LENGTH", "REGID"]:
        assert code in set(ts["TSPARMCD"]), code
    assert ts.loc[ts["TSPARMCD"] == "REGID", "TSVAL"].tolist() == ["NCT01213186"]
    assert set(frames["TA"]["ARMCD"]) == {"HIGH", "LOW", "PLACEBO"}
    assert len(frames["TV"]) == 11 and set(frames["TI"]["IECAT"]) == {"INCLUSION", "EXCLUSION"}
    ie = frames["IE"]
    assert set(ie["IETESTCD"]) <= set(frames["TI"]["IETESTCD"])
    sv = frames["SV"]
    assert sv.loc[sv["VISIT"] == "WEEK 0", "USUBJID"].nunique() == 72
