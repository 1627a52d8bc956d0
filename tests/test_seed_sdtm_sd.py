"""MSC-INR-SD: the committed ODM 1.3.2 export mapped by mappings/msc-inr-sd (same engine, a
different EDC, layout, schedule and code lists). Counts are checked against the ODM item groups
read independently with lxml, and against the design of the README (22 screened, 20
randomised, 3 infusions each).
"""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from lxml import etree

from converter.issues import IssueLog
from converter.mapping.engine import run_sdtm
from converter.mapping.study import load_study

NS = {"o": "http://www.cdisc.org/ns/odm/v1.3"}
DOMAINS = {"DM", "AE", "EX", "LB", "DS", "VS", "MH", "IE", "CM", "SUPPDM", "SUPPEX", "SUPPCM", "SUPPDS",
           "TS", "TA", "TE", "TV", "TI", "SV", "SE"}


@pytest.fixture(scope="module")
def odm(repo_root):
    path = repo_root / "examples" / "msc-inr-sd" / "raw" / "msc-inr-sd_odm.xml"
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.parse(str(path), parser)


def _groups(odm, oid: str) -> pd.DataFrame:
    """Item group records of ``oid``: subject, event and {item: value} (independent reader)."""
    rows = []
    for ig in odm.iterfind(f".//o:ItemGroupData[@ItemGroupOID='{oid}']", NS):
        event = ig.getparent().getparent()
        subject = event.getparent()
        row = {"SubjectKey": subject.get("SubjectKey"), "event": event.get("StudyEventOID")}
        row.update({it.get("ItemOID"): it.get("Value") for it in ig.iterfind("o:ItemData", NS)})
        rows.append(row)
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def mapped(repo_root):
    study = load_study(repo_root / "mappings" / "msc-inr-sd")
    issues = IssueLog(study.config.severity_overrides)
    result = run_sdtm(study, repo_root / "examples" / "msc-inr-sd" / "raw", issues)
    return result.plain(), issues.to_frame()


def test_check_command_exits_0(repo_root):
    done = subprocess.run([sys.executable, "-m", "converter", "check",
                           str(repo_root / "mappings" / "msc-inr-sd")],
                          capture_output=True, text=True, cwd=repo_root, check=False)
    assert done.returncode == 0, done.stderr


def test_all_domains_produced(mapped):
    frames = mapped[0].frames
    assert not DOMAINS - set(frames)
    assert not {d for d in DOMAINS - {"SE"} if len(frames[d]) == 0}


def test_dm_and_exposure(mapped, odm):
    frames = mapped[0].frames
    dm, ex = frames["DM"], frames["EX"]
    raw_dm = _groups(odm, "IG.DM")
    assert len(dm) == len(raw_dm) == 22 and dm["USUBJID"].is_unique
    rand = set("MSC-INR-SD-" + _groups(odm, "IG.RAND")["SubjectKey"])
    assert len(rand) == 20
    assert set(dm.loc[dm["RFXSTDTC"].notna(), "USUBJID"]) == rand
    sex = raw_dm.set_index("SubjectKey")["IT.DM.SEX"].map({"1": "M", "2": "F"})
    assert (dm.set_index("SUBJID")["SEX"] == sex.reindex(dm["SUBJID"])).all()
    per = ex.groupby("USUBJID").size()
    assert len(ex) == len(_groups(odm, "IG.EX")) and len(per) == 20 and (per == 3).all()
    assert set(ex["VISIT"]) == {"DAY 0", "DAY 30", "DAY 60"}
    assert (ex.loc[ex["VISIT"] == "DAY 0", "EXSTDY"] == 1).all()
    raw_trt = _groups(odm, "IG.EX")["IT.EX.EXTRT"].map({"1": "HUC-MSC", "2": "PLACEBO"})
    assert ex["EXTRT"].value_counts().to_dict() == raw_trt.value_counts().to_dict()


def test_findings_and_events(mapped, odm):
    frames = mapped[0].frames
    lb, vs, ae = frames["LB"], frames["VS"], frames["AE"]
    raw_lb = _groups(odm, "IG.LB")
    assert len(lb) == len(raw_lb)
    assert lb["LBTESTCD"].notna().all() and lb["LBTESTCD"].nunique() == 12
    nd = raw_lb["IT.LB.LBND"].eq("Y").sum()
    assert nd > 0 and lb["LBSTAT"].eq("NOT DONE").sum() == nd
    below = lb["LBORRES"].eq("<20")
    assert below.any() and lb.loc[below, "LBSTRESN"].isna().all()
    assert set(lb["VISIT"]) == {"SCREENING", "DAY 0", "DAY 30", "DAY 60", "WEEK 24", "WEEK 36",
                                "WEEK 48"}
    assert not lb[lb["LBBLFL"] == "Y"].duplicated(["USUBJID", "LBTESTCD"]).any()
    raw_vs = _groups(odm, "IG.VS")
    items = [c for c in raw_vs if c.startswith("IT.VS.") and c != "IT.VS.VSDAT"]
    assert len(vs) == int(raw_vs[items].notna().sum().sum())
    assert len(ae) == len(_groups(odm, "IG.AE"))
    assert ae["AESEV"].isin(["MILD", "MODERATE", "SEVERE"]).all()


def test_reconciliation_balances(mapped, odm, repo_root):
    recon = mapped[0].reconciliation
    assert (recon["mapped"] + recon["rejected"] == recon["raw_records"]).all()
    # one row per declared source (item group), none left out, every record mapped
    study = load_study(repo_root / "mappings" / "msc-inr-sd")
    assert sorted(recon["source"]) == sorted(study.config.sources)
    rows = recon.set_index("source")
    for name, src in study.config.sources.items():
        assert rows.loc[name, "item_group"] == src.item_group
        assert rows.loc[name, "raw_records"] == len(_groups(odm, src.item_group)), name
    assert (rows["mapped"] == rows["raw_records"]).all() and (rows["rejected"] == 0).all()
    # and the declared item groups are all the item groups of the export
    found = {ig.get("ItemGroupOID") for ig in odm.iterfind(".//o:ItemGroupData", NS)}
    assert found == {src.item_group for src in study.config.sources.values()}


def test_dm_arms_sdtmig33(mapped, odm):
    dm = mapped[0].frames["DM"].set_index("USUBJID")
    arms = ["ARM", "ARMCD", "ACTARM", "ACTARMCD"]
    rand = _groups(odm, "IG.RAND")
    planned = pd.Series(rand["IT.RAND.ARM"].map({"1": "MSC", "2": "PLACEBO"}).to_numpy(),
                        index="MSC-INR-SD-" + rand["SubjectKey"])
    rnd = dm.index.isin(planned.index)
    assert rnd.sum() == 20
    assert (dm.loc[rnd, "ARMCD"] == planned.reindex(dm.index[rnd]).to_numpy()).all()
    assert dm.loc[rnd, "ARMCD"].value_counts().to_dict() == {"MSC": 10, "PLACEBO": 10}
    names = {"MSC": "hUC-MSC 1 x 10^6 cells/kg", "PLACEBO": "Placebo (normal saline)"}
    assert (dm.loc[rnd, "ARM"] == dm.loc[rnd, "ARMCD"].map(names)).all()
    # actual arm from the infusion form: one treatment per subject, matching the arm
    ex = _groups(odm, "IG.EX")
    per = ex.assign(USUBJID="MSC-INR-SD-" + ex["SubjectKey"]).groupby("USUBJID")["IT.EX.EXTRT"]
    assert (per.nunique() == 1).all()
    actual = per.first().map({"1": "MSC", "2": "PLACEBO"})
    assert (dm.loc[rnd, "ACTARMCD"] == actual.reindex(dm.index[rnd]).to_numpy()).all()
    assert (dm.loc[rnd, "ACTARM"] == dm.loc[rnd, "ACTARMCD"].map(names)).all()
    assert dm.loc[rnd, "ARMNRS"].isna().all() and dm["ACTARMUD"].isna().all()
    out = dm.loc[~rnd]
    assert len(out) == 2 and out[arms].isna().all().all()
    assert (out["ARMNRS"] == "SCREEN FAILURE").all()
    ic = _groups(odm, "IG.IC")
    icdt = pd.Series(ic["IT.IC.ICDAT"].to_numpy(), index="MSC-INR-SD-" + ic["SubjectKey"])
    assert (dm["RFICDTC"] == icdt.reindex(dm.index)).all()


def test_ds_milestones_and_disposition(mapped, odm):
    ds = mapped[0].frames["DS"]
    raw_ds, ic, rand = (_groups(odm, g) for g in ("IG.DS", "IG.IC", "IG.RAND"))
    assert len(ds) == len(raw_ds) + len(ic) + len(rand) == 64
    cat = ds.groupby(["DSCAT", "DSDECOD"]).size().to_dict()
    assert cat[("PROTOCOL MILESTONE", "INFORMED CONSENT OBTAINED")] == 22
    assert cat[("PROTOCOL MILESTONE", "RANDOMIZED")] == 20
    decode = {"1": "COMPLETED", "2": "SCREEN FAILURE", "3": "WITHDRAWAL BY SUBJECT",
              "4": "LOST TO FOLLOW-UP"}
    events = ds[ds["DSCAT"] == "DISPOSITION EVENT"]
    assert events["DSDECOD"].value_counts().to_dict() == \
        raw_ds["IT.DS.DSDECOD"].map(decode).value_counts().to_dict()
    randomized = ds[ds["DSDECOD"] == "RANDOMIZED"].set_index("USUBJID")["DSSTDTC"]
    raw_dt = pd.Series(rand["IT.RAND.RANDDAT"].to_numpy(), index="MSC-INR-SD-" + rand["SubjectKey"])
    assert (randomized == raw_dt.reindex(randomized.index)).all()
    # consent form version and randomisation number kept as supplemental qualifiers
    supp = mapped[0].frames["SUPPDS"]
    assert (supp["QNAM"] == "ICVERS").sum() == 22 and supp["QVAL"].notna().all()
    linked = ds.loc[ds["DSDECOD"] == "INFORMED CONSENT OBTAINED", ["USUBJID", "DSSEQ"]]
    assert set(zip(supp["USUBJID"], supp["IDVARVAL"].astype(float))) == \
        set(zip(linked["USUBJID"], linked["DSSEQ"].astype(float)))
    suppdm = mapped[0].frames["SUPPDM"]
    assert (suppdm["QNAM"] == "RANDNO").sum() == 20
    assert ds["EPOCH"].notna().all() and not ds.duplicated(["USUBJID", "DSSEQ"]).any()


def test_se_elements_and_epochs(mapped):
    frames = mapped[0].frames
    dm, se = frames["DM"].set_index("USUBJID"), frames["SE"]
    per = se.groupby("USUBJID")["ETCD"].apply(list)
    assert set(per.index) == set(dm.index)
    element = {"MSC": "MSC", "PLACEBO": "PBO"}
    for subject, row in dm.iterrows():  # 22 subjects
        arm = row["ACTARMCD"]
        want = ["SCRN"] if pd.isna(arm) else ["SCRN", element[arm], "FU"]
        assert per[subject] == want, subject
    se = se.sort_values(["USUBJID", "SESEQ"])
    nxt = se.groupby("USUBJID")["SESTDTC"].shift(-1)
    assert (se["SEENDTC"][nxt.notna()] == nxt[nxt.notna()]).all()
    for dom, dtc in [("AE", "AESTDTC"), ("EX", "EXSTDTC"), ("LB", "LBDTC"), ("VS", "VSDTC"),
                     ("DS", "DSSTDTC")]:
        f = frames[dom]
        full = f[dtc].str.match(r"^\d{4}-\d{2}-\d{2}", na=False)
        assert f.loc[full, "EPOCH"].notna().all(), dom
    assert set(frames["EX"]["EPOCH"]) == {"TREATMENT"}
    lb = frames["LB"]
    assert set(lb.loc[lb["VISIT"] == "SCREENING", "EPOCH"]) == {"SCREENING"}
    assert set(lb.loc[lb["VISITNUM"] >= 5, "EPOCH"]) == {"FOLLOW-UP"}


def test_no_error_level_issues(mapped):
    issues = mapped[1]
    errors = issues[issues["severity"] == "error"] if len(issues) else issues
    assert len(errors) == 0, errors[["dataset", "variable", "rule_id", "message"]].head()


def test_trial_design(mapped):
    frames = mapped[0].frames
    ts = frames["TS"]
    # study start = earliest informed consent, study end = last end-of-study date in the data
    dm, ds = frames["DM"], frames["DS"]
    tsval = ts.set_index("TSPARMCD")["TSVAL"]
    assert tsval["SSTDTC"] == dm["RFICDTC"].min()
    assert tsval["SENDTC"] == ds.loc[ds["DSCAT"] == "DISPOSITION EVENT", "DSSTDTC"].max()
    assert tsval["SENDTC"] == dm["RFPENDTC"].str[:10].max()
    assert ts.loc[ts["TSPARMCD"] == "REGID", "TSVAL"].tolist() == ["NCT05872659"]
    assert ts.loc[ts["TSPARMCD"] == "TBLIND", "TSVAL"].tolist() == ["SINGLE BLIND"]
    assert set(frames["TA"]["ARMCD"]) == {"MSC", "PLACEBO"}
    assert len(frames["TV"]) == 7
    assert set(frames["IE"]["IETESTCD"]) == {"I05", "E01"}
    assert set(frames["IE"]["IETESTCD"]) <= set(frames["TI"]["IETESTCD"])
    # no upper age limit: a null flavour, not a value
    agemax = ts[ts["TSPARMCD"] == "AGEMAX"]
    assert agemax["TSVAL"].isna().all() and agemax["TSVALNF"].tolist() == ["PINF"]
