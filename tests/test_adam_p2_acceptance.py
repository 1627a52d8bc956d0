"""MSC-INR-P2 acceptance: the published figures from ADaM derived from this tool's own SDTM
of the committed synthetic raw export (examples/msc-inr-p2/raw)."""

from __future__ import annotations

import pytest

from converter.adam import derive_adam
from converter.issues import IssueLog
from converter.mapping.engine import run_sdtm
from converter.mapping.study import load_study

ARMCD_N = {"HIGH": 1.0, "LOW": 2.0, "PLACEBO": 3.0}


@pytest.fixture(scope="module")
def p2(repo_root, tmp_path_factory):
    study = load_study(repo_root / "mappings" / "msc-inr-p2")
    issues = IssueLog()
    sdtm = run_sdtm(study, repo_root / "examples" / "msc-inr-p2" / "raw", issues)
    out = tmp_path_factory.mktemp("p2results")
    result = derive_adam(study, sdtm.frames, issues, out_dir=out)
    return sdtm.frames, result, issues


def _by_arm(frame, var="TRT01PN"):
    inv = {v: k for k, v in ARMCD_N.items()}
    return {inv[k]: v for k, v in frame.groupby(var).size().to_dict().items()}


def test_adsl_72_randomised_24_per_arm(p2):
    adsl = p2[1].frames["ADSL"]
    itt = adsl.loc[adsl["ITTFL"] == "Y"]
    assert len(itt) == 72
    assert _by_arm(itt) == {"HIGH": 24, "LOW": 24, "PLACEBO": 24}
    assert (itt["SAFFL"] == "Y").all()
    assert itt["TRTSDT"].notna().all() and itt["BCD4"].notna().all()


def test_adsl_holds_the_randomised_and_logs_the_others(p2):
    sdtm, result, issues = p2
    assert len(result.frames["ADSL"]) == 72
    not_randomised = set(sdtm["DM"].loc[sdtm["DM"]["ARM"].isna(), "USUBJID"])
    assert len(not_randomised) == len(sdtm["DM"]) - 72
    logged = issues.filter(["ADAM.NOTINPOP"])
    assert set(logged.loc[logged["dataset"] == "ADSL", "usubjid"]) == not_randomised
    assert len(issues.filter(["ADAM.ORPHAN"])) == 0


def test_adae_subjects_with_event_12_8_11(p2):
    adae = p2[1].frames["ADAE"]
    te = adae.loc[(adae["TRTEMFL"] == "Y") & (adae["ITTFL"] == "Y")]
    subjects = te.drop_duplicates("USUBJID")
    assert _by_arm(subjects, "TRT01AN") == {"HIGH": 12, "LOW": 8, "PLACEBO": 11}


def test_adlb_locf_for_exactly_the_9_lost_after_week_60(p2):
    sdtm, result, _ = p2
    adlb = result.frames["ADLB"]
    locf = adlb.loc[adlb["DTYPE"] == "LOCF"]
    lost = set(sdtm["DS"].loc[sdtm["DS"]["DSDECOD"] == "LOST TO FOLLOW-UP", "USUBJID"])
    assert len(lost) == 9
    assert set(locf["USUBJID"]) == lost
    assert _by_arm(locf.drop_duplicates("USUBJID")) == {"LOW": 5, "PLACEBO": 4}
    observed = adlb.loc[adlb["USUBJID"].isin(lost) & adlb["DTYPE"].isna()
                        & (adlb["PARAMCD"] == "CD4") & (adlb["ANL01FL"] == "Y")]
    assert (observed.groupby("USUBJID")["AVISITN"].max() == 60).all()
    assert set(locf["AVISITN"]) == {72.0, 84.0, 96.0}


def test_km_ttr30_by_week_96_and_logrank(p2):
    result = p2[1]
    km = result.tables["adtte_km"]
    adsl = result.frames["ADSL"]
    names = adsl.drop_duplicates("ARMCD").set_index("ARMCD")["TRT01P"]
    ttr30 = km.loc[km["PARAMCD"] == "TTR30"].set_index("group")
    assert ttr30.loc[names["LOW"], "cum_prob_wk96"] == pytest.approx(95.8, abs=0.05)
    assert ttr30.loc[names["PLACEBO"], "cum_prob_wk96"] == pytest.approx(70.8, abs=0.05)
    lr = result.tables["adtte_logrank"].set_index(["PARAMCD", "comparison"])
    pair = [c for p, c in lr.index if p == "TTR30" and names["LOW"] in c
            and names["PLACEBO"] in c and " vs " in c and c.count(" vs ") == 1]
    assert len(pair) == 1
    assert lr.loc[("TTR30", pair[0]), "p_value"] < 0.05
    assert {f.name for f in result.figures} >= {"adtte_km.png", "adlb_cd4_by_visit.png"}
