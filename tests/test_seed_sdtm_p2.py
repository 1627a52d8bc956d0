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

DOMAINS = {"DM", "AE", "EX", "LB", "DS", "VS", "MH", "IE", "CM", "SUPPDM", "SUPPEX", "SUPPCM", "SUPPDS",
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
    return result.plain(), issues.to_frame()


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


def test_reconciliation_accounts_for_every_record(mapped, raw, repo_root):
    recon = mapped[0].reconciliation
    assert (recon["mapped"] + recon["rejected"] == recon["raw_records"]).all()
    assert recon.loc[recon["rejected"] > 0, "reason"].str.len().gt(0).all()
    # one row per declared source, none left out
    study = load_study(repo_root / "mappings" / "msc-inr-p2")
    assert sorted(recon["source"]) == sorted(study.config.sources)
    rows = recon.set_index("source")
    for name, src in study.config.sources.items():
        if src.file.endswith(".csv"):
            assert rows.loc[name, "raw_records"] == len(_csv(raw / src.file)), name
    lst = pd.read_excel(raw / "randomisation_list.xlsx", sheet_name="Randomisation", dtype=str)
    assert rows.loc["randlist", "raw_records"] == len(lst) == 120
    # the list is read for the arms only (its records are not SDTM records): all accounted
    # for as used for joins; every other source but ie is mapped in full
    assert "joins" in rows.loc["randlist", "reason"]
    full = rows.drop(index=["randlist", "ie"])
    assert (full["mapped"] == full["raw_records"]).all(), full
    assert rows.loc["ie", "mapped"] == 26 and rows.loc["ie", "rejected"] == 74
    assert "IEYN" in rows.loc["ie", "reason"]


def test_dm_arms_sdtmig33(mapped, raw, raw_arms):
    dm = mapped[0].frames["DM"].set_index("USUBJID")
    arms = ["ARM", "ARMCD", "ACTARM", "ACTARMCD"]
    rand = dm.index.isin(raw_arms.index)
    assert rand.sum() == 72
    # planned arm = the unblinded list's code for the subject's randomisation number
    assert (dm.loc[rand, "ARMCD"] == raw_arms.reindex(dm.index[rand]).to_numpy()).all()
    assert dm.loc[rand, "ARMCD"].value_counts().to_dict() == {"HIGH": 24, "LOW": 24,
                                                              "PLACEBO": 24}
    names = {"HIGH": "hUC-MSC 1.5 x 10^6 cells/kg", "LOW": "hUC-MSC 0.5 x 10^6 cells/kg",
             "PLACEBO": "Placebo (0.9% sodium chloride)"}
    assert (dm.loc[rand, "ARM"] == dm.loc[rand, "ARMCD"].map(names)).all()
    # actual arm from the infusion log: every subject's six doses agree, and match the arm
    ex = _csv(raw / "ex.csv")
    per = ex.assign(USUBJID=ex["Project"] + "-" + ex["Subject"]).groupby("USUBJID")["EXDOSE"]
    assert (per.nunique() == 1).all()
    actual = per.first().map({"1.5": "HIGH", "0.5": "LOW", "0": "PLACEBO"})
    assert (dm.loc[rand, "ACTARMCD"] == actual.reindex(dm.index[rand]).to_numpy()).all()
    assert (dm.loc[rand, "ACTARM"] == dm.loc[rand, "ACTARMCD"].map(names)).all()
    assert dm.loc[rand, "ARMNRS"].isna().all() and dm["ACTARMUD"].isna().all()
    # not randomised: no arm at all, the reason in ARMNRS (SDTMIG 3.3)
    out = dm.loc[~rand]
    assert len(out) == 28 and out[arms].isna().all().all()
    ds = _csv(raw / "ds.csv")
    reason = pd.Series(ds["DSREAS"].to_numpy(), index=ds["Project"] + "-" + ds["Subject"])
    expected = reason.reindex(out.index).map({"Screen failure": "SCREEN FAILURE",
                                              "Withdrawal by subject": "NOT ASSIGNED"})
    assert (out["ARMNRS"] == expected).all()
    assert out["ARMNRS"].value_counts().to_dict() == {"SCREEN FAILURE": 26, "NOT ASSIGNED": 2}
    # informed consent date of every screened subject, from the consent form
    ic = _csv(raw / "ic.csv")
    icdt = pd.to_datetime(ic["ICDAT"], format="%d %b %Y").dt.strftime("%Y-%m-%d")
    icdt.index = ic["Project"] + "-" + ic["Subject"]
    assert (dm["RFICDTC"] == icdt.reindex(dm.index)).all()


def test_ds_milestones_and_disposition(mapped, raw):
    ds = mapped[0].frames["DS"]
    raw_ds, ic, rand = _csv(raw / "ds.csv"), _csv(raw / "ic.csv"), _csv(raw / "rand.csv")
    assert len(ds) == len(raw_ds) + len(ic) + len(rand) == 272
    cat = ds.groupby(["DSCAT", "DSDECOD"]).size().to_dict()
    assert cat[("PROTOCOL MILESTONE", "INFORMED CONSENT OBTAINED")] == len(ic) == 100
    assert cat[("PROTOCOL MILESTONE", "RANDOMIZED")] == len(rand) == 72
    events = ds[ds["DSCAT"] == "DISPOSITION EVENT"]
    assert events["DSDECOD"].value_counts().to_dict() == \
        raw_ds["DSREAS"].str.upper().value_counts().to_dict()
    assert events["DSDECOD"].value_counts()["LOST TO FOLLOW-UP"] == 9
    # each record keeps the file it came from
    src = ds.groupby("DSDECOD")["__source_file"].unique().map(list).to_dict()
    assert src["INFORMED CONSENT OBTAINED"] == ["ic.csv"] and src["RANDOMIZED"] == ["rand.csv"]
    randomized = ds[ds["DSDECOD"] == "RANDOMIZED"].set_index("USUBJID")["DSSTDTC"]
    stamp = pd.to_datetime(rand["RANDDAT"] + " " + rand["RANDTIM"], format="%d %b %Y %H:%M")
    stamp.index = rand["Project"] + "-" + rand["Subject"]
    assert (randomized == stamp.dt.strftime("%Y-%m-%dT%H:%M").reindex(randomized.index)).all()
    # consent form version and randomisation number kept as supplemental qualifiers
    supp = mapped[0].frames["SUPPDS"]
    assert (supp["QNAM"] == "ICVERS").sum() == 100 and supp["QVAL"].notna().all()
    linked = ds.loc[ds["DSDECOD"] == "INFORMED CONSENT OBTAINED", ["USUBJID", "DSSEQ"]]
    assert set(zip(supp["USUBJID"], supp["IDVARVAL"].astype(float))) == \
        set(zip(linked["USUBJID"], linked["DSSEQ"].astype(float)))
    suppdm = mapped[0].frames["SUPPDM"]
    assert (suppdm["QNAM"] == "RANDNO").sum() == 72
    assert ds["DSSTDTC"].notna().all() and ds["EPOCH"].notna().all()
    assert not ds.duplicated(["USUBJID", "DSSEQ"]).any()


def test_se_elements_and_epochs(mapped):
    frames = mapped[0].frames
    dm, se = frames["DM"].set_index("USUBJID"), frames["SE"]
    assert set(se["USUBJID"]) == set(dm.index)
    per = se.groupby("USUBJID")["ETCD"].apply(list)
    rand = dm["ACTARMCD"].notna()
    element = {"HIGH": "HIGH", "LOW": "LOW", "PLACEBO": "PBO"}
    assert (per[~rand] == pd.Series([["SCRN"]] * (~rand).sum(), index=dm.index[~rand])).all()
    want = dm.loc[rand, "ACTARMCD"].map(lambda a: ["SCRN", element[a], "FU"])
    assert (per[rand].sort_index() == want.sort_index()).all()
    # contiguous: each element ends when the next starts; treatment starts at the first dose
    se = se.sort_values(["USUBJID", "SESEQ"])
    nxt = se.groupby("USUBJID")["SESTDTC"].shift(-1)
    assert (se["SEENDTC"][nxt.notna()] == nxt[nxt.notna()]).all()
    trt = se[se["EPOCH"] == "TREATMENT"].set_index("USUBJID")
    assert (trt["SESTDTC"] == dm.loc[trt.index, "RFXSTDTC"]).all()
    assert se.groupby("EPOCH").size().to_dict() == {"FOLLOW-UP": 72, "SCREENING": 100,
                                                     "TREATMENT": 72}
    # EPOCH from SE on every record with a complete date
    for dom, dtc in [("AE", "AESTDTC"), ("EX", "EXSTDTC"), ("LB", "LBDTC"), ("VS", "VSDTC"),
                     ("DS", "DSSTDTC")]:
        f = frames[dom]
        full = f[dtc].str.match(r"^\d{4}-\d{2}-\d{2}", na=False)
        assert f.loc[full, "EPOCH"].notna().all(), dom
        assert f.loc[~full, "EPOCH"].isna().all(), dom
    assert set(frames["EX"]["EPOCH"]) == {"TREATMENT"}
    lb = frames["LB"]
    assert set(lb.loc[lb["VISIT"] == "SCREENING", "EPOCH"]) == {"SCREENING"}
    assert set(lb.loc[lb["VISITNUM"] >= 8, "EPOCH"]) == {"FOLLOW-UP"}
    assert set(lb.loc[lb["VISITNUM"].between(3, 7), "EPOCH"]) == {"TREATMENT"}


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
    # study start = earliest informed consent, study end = last end-of-study date in the data
    dm, ds = frames["DM"], frames["DS"]
    tsval = ts.set_index("TSPARMCD")["TSVAL"]
    assert tsval["SSTDTC"] == dm["RFICDTC"].min()
    assert tsval["SENDTC"] == ds.loc[ds["DSCAT"] == "DISPOSITION EVENT", "DSSTDTC"].max()
    assert tsval["SENDTC"] == dm["RFPENDTC"].str[:10].max()
    assert ts.loc[ts["TSPARMCD"] == "REGID", "TSVAL"].tolist() == ["NCT01213186"]
    assert set(frames["TA"]["ARMCD"]) == {"HIGH", "LOW", "PLACEBO"}
    assert len(frames["TV"]) == 11 and set(frames["TI"]["IECAT"]) == {"INCLUSION", "EXCLUSION"}
    ie = frames["IE"]
    assert set(ie["IETESTCD"]) <= set(frames["TI"]["IETESTCD"])
    sv = frames["SV"]
    assert sv.loc[sv["VISIT"] == "WEEK 0", "USUBJID"].nunique() == 72
