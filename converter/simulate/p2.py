"""Synthetic raw EDC export of the MSC-INR-P2 phase II trial (NCT01213186).

Layout and calibration are documented in ``examples/msc-inr-p2/README.md`` (the contract for the
SDTM mappings). Everything is generated on whole arrays: one row per subject, per subject-visit
or per subject-visit-test, never a Python loop over subjects.

Calibration works through *profiles*: each arm has a fixed list of 24 profiles (response visit,
>100 cells/uL responder, lost after week 60, adverse-event kind). With 24 subjects per arm every
profile is used once (the published counts come out exactly); with ``--subjects N`` each arm
reuses the profiles in proportion. The seed only shuffles profiles among subjects and draws the
continuous values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from converter.simulate import common as cm
from converter.simulate import labs as labdef
from converter.simulate import meddra

STUDY = "MSC-INR-P2"
DEFAULT_SEED = 20130515
DEFAULT_SUBJECTS = 72
CREATED = datetime(2013, 4, 22, 9, 0, 0)  # the list is made before enrolment starts

# site number, name, city, allocation weight (24/18/12/18 of 72 randomised)
SITES = [
    ("01", "Fifth Medical Center of PLA General Hospital", "Beijing", 4),
    ("02", "Yunnan Provincial Hospital of Infectious Diseases", "Kunming", 3),
    ("03", "Xinjiang 6th People's Hospital", "Urumqi", 2),
    ("04", "Guangzhou Eighth People's Hospital", "Guangzhou", 3),
]
ARMS = ["HIGH", "LOW", "PLACEBO"]
ARM_LABEL = {"HIGH": "hUC-MSC 1.5 x 10^6 cells/kg", "LOW": "hUC-MSC 0.5 x 10^6 cells/kg",
             "PLACEBO": "Placebo (0.9% sodium chloride)"}
ARM_CODE = {"HIGH": "A", "LOW": "B", "PLACEBO": "C"}
DOSE = {"HIGH": "1.5", "LOW": "0.5", "PLACEBO": "0"}

POST_WEEKS = np.array([4, 12, 24, 36, 48, 60, 72, 84, 96])
INFUSION_WEEKS = {0, 4, 12, 24, 36, 48}
EDC_VISITS = ["Screening", "Week 0"] + [f"Week {w}" for w in POST_WEEKS]
LAB_VISITS = ["SCREEN", "BASELINE"] + [f"WEEK {w}" for w in POST_WEEKS]
WINDOW = np.array([3, 5, 7, 7, 7, 7, 7, 7, 7])  # +- days around the target day per post visit

# --- calibration profiles (24 per arm) ----------------------------------------------------
# Number of responders (CD4 > 30 % over week 0) whose first response is at each post-baseline
# visit (weeks 4..96). Tuned with lifelines so that the log-rank tests land near the report.
RESPONSE_WEEK_COUNTS = {
    "HIGH": [4, 3, 2, 2, 3, 3, 1, 2, 0],
    "LOW": [3, 4, 5, 4, 2, 2, 3, 0, 0],
    "PLACEBO": [2, 2, 2, 2, 2, 2, 2, 3, 0],
}
# Of those, how many also rise > 100 cells/uL at the same visit (per visit, <= the counts above);
# tuned so the > 100 cells/uL definition does not separate the arms (log-rank P ~ 0.2).
HUNDRED_WEEK_COUNTS = {
    "HIGH": [2, 2, 0, 1, 1, 1, 0, 1, 0],
    "LOW": [0, 2, 2, 3, 1, 2, 1, 0, 0],
    "PLACEBO": [1, 0, 1, 1, 1, 0, 1, 0, 0],
}
LOST = {"HIGH": 0, "LOW": 5, "PLACEBO": 4}
AE_SUBJECTS = {"HIGH": 12, "LOW": 8, "PLACEBO": 11}
FFI_SUBJECTS = {"HIGH": 6, "LOW": 3, "PLACEBO": 5}
# Screen failures per 72 randomised: failed inclusion criterion -> count (26 in all); decliners.
SCREEN_FAIL = {"INC05": 16, "INC04": 6, "INC03": 4}
DECLINED = 2
INCLUSION = {
    "INC01": "Age 18 to 65 years",
    "INC02": "Confirmed HIV-1 infection",
    "INC03": "On ART for at least 24 months",
    "INC04": "Plasma HIV-1 RNA < 50 copies/mL on ART",
    "INC05": "CD4 count > 50 and < 250 cells/uL within 6 months before enrolment",
    "INC06": "Signed informed consent",
}

# (min, Q1, median, Q3, max) knots per arm for quantile draws
BASE_CD4 = {"HIGH": [96, 144, 179, 224, 246], "LOW": [92, 149, 181, 200, 243],
            "PLACEBO": [98, 161, 179, 209, 247]}
BASE_RATIO = {"HIGH": [0.09, 0.174, 0.285, 0.346, 0.62], "LOW": [0.10, 0.202, 0.306, 0.408, 0.66],
              "PLACEBO": [0.10, 0.201, 0.294, 0.451, 0.70]}
PREART_CD4 = {"HIGH": [4, 21, 61, 155, 240], "LOW": [3, 14, 53, 110, 230],
              "PLACEBO": [6, 39, 58, 170, 245]}
PREART_CD8 = {"HIGH": [210, 444, 532, 1067, 1800], "LOW": [190, 393, 658, 988, 1700],
              "PLACEBO": [150, 288, 625, 1311, 2100]}
# centre of the CD4 ratio to week 0 after a subject's first response, per post visit
AFTER_RESPONSE = {
    "HIGH": [1.30, 1.30, 1.30, 1.30, 1.38, 1.30, 1.40, 1.50, 1.38],
    "LOW": [1.10, 1.10, 1.08, 1.08, 1.08, 1.15, 1.22, 1.36, 1.32],
    "PLACEBO": [1.20, 1.20, 1.20, 1.20, 1.00, 1.20, 1.22, 1.25, 1.40],
}
ENROL_START = "2013-05-06"
ENROL_DAYS = 1015  # screening up to mid-February 2016, so day 0 falls by March 2016


@dataclass
class P2Design:
    """Sizes derived from the number of randomised subjects."""

    n_rand: int
    n_fail: dict[str, int]
    n_declined: int

    @classmethod
    def for_subjects(cls, n_rand: int) -> P2Design:
        fail = {k: round(v * n_rand / 72) for k, v in SCREEN_FAIL.items()}
        return cls(n_rand, fail, round(DECLINED * n_rand / 72))

    @property
    def n_screened(self) -> int:
        return self.n_rand + sum(self.n_fail.values()) + self.n_declined


def _largest_remainder(total: int, weights: list[float]) -> np.ndarray:
    w = np.asarray(weights, float)
    exact = total * w / w.sum()
    base = np.floor(exact).astype(int)
    rest = total - base.sum()
    order = np.argsort(-(exact - base), kind="stable")
    base[order[:rest]] += 1
    return base


def _profiles(arm: str, rng: np.random.Generator) -> pd.DataFrame:
    """The 24 calibration profiles of one arm (fixed counts; the seed picks combinations)."""
    counts = np.asarray(RESPONSE_WEEK_COUNTS[arm])
    hundred = np.asarray(HUNDRED_WEEK_COUNTS[arm])
    resp_idx = np.r_[np.repeat(np.arange(9), counts), np.full(24 - counts.sum(), -1)]
    h100 = np.zeros(24, bool)
    start = np.r_[0, np.cumsum(counts)[:-1]]
    for v in range(9):  # 9 visits, not rows: mark the first hundred[v] responders of visit v
        h100[start[v]:start[v] + hundred[v]] = True
    lost = np.zeros(24, bool)
    eligible = np.flatnonzero((resp_idx >= 0) & (resp_idx <= 5))  # responded by week 60
    lost[rng.choice(eligible, LOST[arm], replace=False)] = True
    ae = np.r_[np.ones(FFI_SUBJECTS[arm], int), np.full(AE_SUBJECTS[arm] - FFI_SUBJECTS[arm], 2),
               np.zeros(24 - AE_SUBJECTS[arm], int)]
    return pd.DataFrame({"resp_idx": resp_idx, "h100": h100, "lost": lost,
                         "ae_kind": rng.permutation(ae)})


def _subjects(design: P2Design, rng: np.random.Generator) -> pd.DataFrame:
    """One row per screened subject with every subject-level fact the forms need."""
    n_r = design.n_rand
    fails = np.concatenate([np.full(v, k, dtype=object) for k, v in design.n_fail.items()])
    status = np.r_[np.full(n_r, "RANDOMISED", dtype=object), np.full(len(fails), "SCREEN FAILURE",
                   dtype=object), np.full(design.n_declined, "DECLINED", dtype=object)]
    failed = np.r_[np.full(n_r, None, dtype=object), fails,
                   np.full(design.n_declined, None, dtype=object)]
    n = len(status)
    # sites: randomised subjects by weight; the others by the same weights at random
    site_counts = _largest_remainder(n_r, [s[3] for s in SITES])
    site_idx = np.repeat(np.arange(len(SITES)), site_counts)
    other_sites = rng.choice(len(SITES), n - n_r, p=np.array([s[3] for s in SITES]) / 12)
    subj = pd.DataFrame({"status": status, "failed": failed,
                         "site_idx": np.r_[site_idx, other_sites]})
    subj["screen_day"] = rng.integers(0, ENROL_DAYS, n)
    # subject numbers within site in screening order
    subj = subj.sort_values(["site_idx", "screen_day"], kind="stable").reset_index(drop=True)
    seq = subj.groupby("site_idx").cumcount().to_numpy() + 1
    width = max(3, len(str(int(seq.max()))))
    site_no = np.array([s[0] for s in SITES], dtype=object)[subj["site_idx"].to_numpy()]
    subj["site_no"] = site_no
    subj["site_name"] = np.array([s[1] for s in SITES], dtype=object)[subj["site_idx"].to_numpy()]
    subj["subject"] = (pd.Series(site_no) + "-" + pd.Series(seq).astype(str).str.zfill(width)
                       ).to_numpy()
    subj["day0_day"] = subj["screen_day"].to_numpy() + rng.integers(10, 29, n)
    subj["rand_off"] = -rng.integers(0, 4, n)  # randomised 0-3 days before day 0
    # arms: permuted blocks of 6 per site, consumed in order of randomisation
    rand_rows = np.flatnonzero(subj["status"].to_numpy() == "RANDOMISED")
    rand_day = (subj["day0_day"] + subj["rand_off"]).to_numpy()
    order = rand_rows[np.lexsort((rand_rows, rand_day[rand_rows],
                                  subj["site_idx"].to_numpy()[rand_rows]))]
    pos = pd.Series(np.arange(len(order))).groupby(subj["site_idx"].to_numpy()[order]).cumcount()
    arm = np.full(n, None, dtype=object)
    subj["rand_seq"] = -1
    site_blocks = []
    for s_i, c in enumerate(site_counts):  # 4 sites; two spare blocks each on the list
        blocks = np.tile(np.repeat(np.arange(3), 2), -(-c // 6) + 2).reshape(-1, 6)
        blocks = rng.permuted(blocks, axis=1).ravel()
        site_blocks.append(blocks)
        sel = order[subj["site_idx"].to_numpy()[order] == s_i]
        arm[sel] = np.array(ARMS, dtype=object)[blocks[:len(sel)]]
    subj["arm"] = arm
    subj.loc[order, "rand_seq"] = pos.to_numpy()
    subj.attrs["rand_blocks"] = site_blocks

    # calibration profiles per arm
    subj["resp_idx"] = -1
    subj["h100"] = False
    subj["lost"] = False
    subj["ae_kind"] = 0
    for arm in ARMS:  # three arms
        rows = np.flatnonzero(subj["arm"].to_numpy() == arm)
        prof = _profiles(arm, rng)
        pick = np.floor((np.arange(len(rows)) + 0.5) * 24 / max(len(rows), 1)).astype(int)
        prof = prof.iloc[rng.permutation(pick)].reset_index(drop=True)
        for col in ["resp_idx", "h100", "lost", "ae_kind"]:
            subj.loc[rows, col] = prof[col].to_numpy()
    subj["resp_idx"] = subj["resp_idx"].astype(int)
    subj["ae_kind"] = subj["ae_kind"].astype(int)
    subj["h100"] = subj["h100"].astype(bool)
    subj["lost"] = subj["lost"].astype(bool)

    # demography
    male = rng.random(n) < 0.82
    subj["sex"] = np.where(male, "Male", "Female")
    age_days = (rng.uniform(22, 64, n) * 365.25).astype(int)
    subj["age_days"] = age_days
    subj["height"] = np.round(np.where(male, rng.normal(170, 6, n), rng.normal(158, 5.5, n)), 0)
    bmi = rng.normal(21.5, 2.4, n).clip(16.5, 29)
    subj["weight"] = np.round(bmi * (subj["height"] / 100) ** 2, 1)
    return subj


def _dates(subj: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Add day offsets: consent/screening, day 0, randomisation and post-baseline visit days."""
    n = len(subj)
    post = POST_WEEKS * 7 + np.rint(rng.uniform(-1, 1, (n, 9)) * WINDOW).astype(int)
    randomised = subj["status"].to_numpy() == "RANDOMISED"
    attended = np.repeat(randomised[:, None], 9, axis=1)
    attended[:, 6:] &= ~subj["lost"].to_numpy()[:, None]
    return subj, post, attended


def _cd4(subj: pd.DataFrame, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Week-0 and post-baseline CD4/CD8 values per subject (arrays n x 9 for post visits)."""
    n = len(subj)
    arm = subj["arm"].to_numpy()
    b = np.full(n, np.nan)
    ratio0 = np.full(n, np.nan)
    pre4 = np.full(n, np.nan)
    pre8 = np.full(n, np.nan)
    for a in ARMS:  # three arms
        rows = np.flatnonzero(arm == a)
        b[rows] = np.rint(cm.quantile_draw(rng, len(rows), BASE_CD4[a]))
        ratio0[rows] = cm.quantile_draw(rng, len(rows), BASE_RATIO[a])
        pre4[rows] = np.rint(cm.quantile_draw(rng, len(rows), PREART_CD4[a]))
        pre8[rows] = np.rint(cm.quantile_draw(rng, len(rows), PREART_CD8[a]))
    # not randomised: plausible values from the pooled distribution
    nr = np.flatnonzero(pd.isna(arm))
    b[nr] = np.rint(rng.uniform(70, 245, len(nr)))
    ratio0[nr] = rng.uniform(0.12, 0.55, len(nr))
    pre4[nr] = np.rint(rng.uniform(5, 200, len(nr)))
    pre8[nr] = np.rint(rng.uniform(250, 1300, len(nr)))
    cd8_0 = np.rint(b / ratio0)

    resp = subj["resp_idx"].to_numpy()
    h100 = subj["h100"].to_numpy()
    vis = np.arange(9)[None, :]
    # non-responding path: slow drift, never above 1.24 x week 0
    drift = 0.012 * vis + rng.normal(0, 0.07, (n, 9))
    r = np.clip(1.0 + drift, 0.80, 1.24)
    centre = np.zeros((n, 9))
    for a in ARMS:
        centre[arm == a] = AFTER_RESPONSE[a]
    after = np.clip(centre + rng.normal(0, 0.14, (n, 9)), 0.85, 1.95)
    at = rng.uniform(1.36, 1.62, (n, 9))
    is_resp = resp[:, None] >= 0
    r = np.where(is_resp & (vis == resp[:, None]), at, r)
    r = np.where(is_resp & (vis > resp[:, None]), after, r)
    cd4 = np.rint(b[:, None] * r)
    # > 100 cells/uL: only flagged responders, first at their response visit
    cap = b[:, None] + 92
    jump = b[:, None] + rng.integers(108, 150, (n, 9))
    at_resp = is_resp & (vis == resp[:, None])
    cd4 = np.where(h100[:, None] & at_resp, np.maximum(cd4, jump), cd4)
    cd4 = np.where(~h100[:, None] | (vis < resp[:, None]), np.minimum(cd4, cap), cd4)
    # responders at their response visit must keep >= 1.35 x week 0 after the cap
    cd4 = np.where(at_resp, np.maximum(cd4, np.ceil(b[:, None] * 1.36)), cd4)
    cd8_trend = np.where(arm == "LOW", -0.015, np.where(arm == "HIGH", -0.006, 0.008))
    cd8 = np.rint(cd8_0[:, None] * np.exp(cd8_trend[:, None] * vis
                                         + rng.normal(0, 0.09, (n, 9))))
    return {"b": b, "cd8_0": cd8_0, "cd4": cd4, "cd8": cd8, "pre4": pre4, "pre8": pre8}


def generate(out_dir: Path, *, seed: int = DEFAULT_SEED, subjects: int = DEFAULT_SUBJECTS,
             progress=None) -> list[Path]:
    """Write the MSC-INR-P2 raw export into ``out_dir``; returns the files written."""
    advance = progress or (lambda n=1, description=None: None)
    rng = np.random.default_rng(seed)
    design = P2Design.for_subjects(subjects)
    subj = _subjects(design, rng)
    subj, post, attended = _dates(subj, rng)
    vals = _cd4(subj, rng)
    advance(1, "subjects")
    out_dir = Path(out_dir)
    files = []
    files += _edc_forms(subj, post, attended, vals, rng, out_dir)
    advance(1, "EDC forms")
    files.append(_lab_file(subj, post, attended, vals, rng, out_dir))
    advance(1, "laboratory transfer")
    files.append(_randomisation_list(subj, rng, out_dir))
    advance(1, "randomisation list")
    return sorted(files)


# --- EDC forms -----------------------------------------------------------------------------

def _date(days: np.ndarray) -> np.ndarray:
    return cm.to_datetime64(days, ENROL_START)


def _head(subj: pd.DataFrame, rows: np.ndarray, folder, record) -> pd.DataFrame:
    n = len(rows)
    return pd.DataFrame({
        "Project": np.full(n, STUDY, dtype=object),
        "SiteNumber": subj["site_no"].to_numpy()[rows],
        "Site": subj["site_name"].to_numpy()[rows],
        "Subject": subj["subject"].to_numpy()[rows],
        "Folder": np.broadcast_to(np.asarray(folder, dtype=object), (n,)).copy(),
        "RecordPosition": np.broadcast_to(np.asarray(record), (n,)).astype(str).astype(object),
    })


def _edc_forms(subj, post, attended, vals, rng, out_dir: Path) -> list[Path]:
    n = len(subj)
    allrows = np.arange(n)
    rand = np.flatnonzero(subj["status"].to_numpy() == "RANDOMISED")
    screen_day = subj["screen_day"].to_numpy()
    day0 = subj["day0_day"].to_numpy()
    files = []

    # DM ---------------------------------------------------------------------------------
    birth = _date(screen_day - subj["age_days"].to_numpy())
    age = (subj["age_days"].to_numpy() / 365.25).astype(int)
    site_idx = subj["site_idx"].to_numpy()
    groups = np.array(["Han", "Uygur", "Hui", "Kazakh", "Yi", "Bai", "Dai", "Zhuang"], dtype=object)
    p_han = np.array([0.95, 0.80, 0.45, 0.92])[site_idx]
    minority = np.where(site_idx == 2, rng.choice([1, 2, 3], n), rng.choice([2, 4, 5, 6, 7], n))
    eth = np.where(rng.random(n) < p_han, 0, minority)
    dm = _head(subj, allrows, "Screening", 0)
    dm["DMDAT"] = cm.fmt_edc_date(_date(screen_day))
    dm["BRTHDAT"] = cm.fmt_edc_date(birth)
    dm["AGE"] = age.astype(str)
    dm["AGEU"] = "Years"
    dm["SEX"] = subj["sex"].to_numpy()
    dm["RACE"] = "Asian"
    dm["ETHNIC"] = "Not Hispanic or Latino"
    dm["ETHGRP"] = groups[eth]
    files.append(cm.write_csv(dm, out_dir / "dm.csv"))

    # Informed consent ---------------------------------------------------------------------
    ic = _head(subj, allrows, "Screening", 0)
    ic["ICDAT"] = cm.fmt_edc_date(_date(screen_day))
    ic["ICVERS"] = np.where(screen_day < 400, "2.0", "2.1")
    files.append(cm.write_csv(ic, out_dir / "ic.csv"))

    # Eligibility ----------------------------------------------------------------------------
    failed = subj["failed"].to_numpy()
    is_fail = pd.notna(failed)
    ie = _head(subj, allrows, "Screening", 1)
    ie_day = screen_day + np.where(is_fail, rng.integers(3, 12, n), 5)
    ie["IEDAT"] = cm.fmt_edc_date(_date(ie_day))
    ie["IEYN"] = np.where(is_fail, "No", "Yes")
    code = np.where(is_fail, failed, None)
    ie["IECAT"] = np.where(is_fail, "Inclusion", None)
    ie["IETESTCD"] = code
    ie["IETEST"] = pd.Series(code).map(INCLUSION).to_numpy(dtype=object)
    ie["IEORRES"] = np.where(is_fail, "No", None)
    files.append(cm.write_csv(ie, out_dir / "ie.csv"))

    # Randomisation (blinded: number only) ---------------------------------------------------
    rnd = _head(subj, rand, "Week 0", 0)
    rnd["RANDDAT"] = cm.fmt_edc_date(_date(day0[rand] + subj["rand_off"].to_numpy()[rand]))
    # randomised on the infusion day: early morning, before samples (07:30) and infusion
    same_day = subj["rand_off"].to_numpy()[rand] == 0
    rnd["RANDTIM"] = cm.fmt_time(np.where(same_day, rng.integers(7 * 60, 7 * 60 + 25, len(rand)),
                                          rng.integers(8 * 60, 17 * 60, len(rand))))
    subj["rand_no"] = None
    # randomisation numbers: a block of 1000 per site, in order of randomisation within site
    site_r = subj["site_idx"].to_numpy()[rand]
    rand_no = (site_r + 1) * 1000 + subj["rand_seq"].to_numpy()[rand] + 1
    rnd["RANDNO"] = pd.Series(rand_no).astype(str).radd("R").to_numpy()
    subj.loc[rand, "rand_no"] = rnd["RANDNO"].to_numpy()
    files.append(cm.write_csv(rnd, out_dir / "rand.csv"))

    # Visit calendar (randomised subjects): day offsets relative to ENROL_START -----------------
    nr = len(rand)
    vis_days = np.c_[day0[rand], day0[rand][:, None] + post[rand]]  # week 0 + 9 post
    vis_att = np.c_[np.ones(nr, bool), attended[rand]]
    inf_cols = [0, 1, 2, 3, 4, 5]  # week 0, 4, 12, 24, 36, 48
    inf_days = vis_days[:, inf_cols]
    inf_start = rng.integers(9 * 60 + 30, 11 * 60 + 30, (nr, 6))
    inf_end = inf_start + 50 + rng.integers(-3, 9, (nr, 6))

    # Infusion log ------------------------------------------------------------------------------
    r_rep = np.repeat(rand, 6)
    ex = _head(subj, r_rep, np.tile(np.array(EDC_VISITS[1:7], dtype=object), nr), 0)
    ex["EXYN"] = "Yes"
    ex["EXSTDAT"] = cm.fmt_edc_date(_date(inf_days.ravel()))
    ex["EXSTTIM"] = cm.fmt_time(inf_start.ravel())
    ex["EXENTIM"] = cm.fmt_time(inf_end.ravel())
    ex["EXDOSE"] = pd.Series(subj["arm"].to_numpy()[r_rep]).map(DOSE).to_numpy(dtype=object)
    ex["EXDOSU"] = "10^6 cells/kg"
    ex["EXVOL"] = "100"
    ex["EXVOLU"] = "mL"
    ex["EXROUTE"] = "Intravenous"
    ex["EXRATE"] = "2 mL/min"
    files.append(cm.write_csv(ex, out_dir / "ex.csv"))

    # Adverse events -------------------------------------------------------------------------
    ae, fever_temp = _adverse_events(subj, rand, vis_days, vis_att, inf_days, inf_end, rng)
    files.append(cm.write_csv(ae, out_dir / "ae.csv"))

    # Disposition ------------------------------------------------------------------------------
    status = subj["status"].to_numpy()
    last_col = np.where(vis_att[:, -1], 9, 6)
    last_day = vis_days[np.arange(nr), last_col]
    # screen failures: the eligibility decision date; decliners: after eligibility
    ds_day = np.where(pd.notna(failed), ie_day, ie_day + rng.integers(1, 9, n))
    ds_day[rand] = last_day
    reason = np.select([status == "SCREEN FAILURE", status == "DECLINED"],
                       ["Screen failure", "Withdrawal by subject"], "Completed").astype(object)
    lost_r = subj["lost"].to_numpy()[rand]
    reason[rand[lost_r]] = "Lost to follow-up"
    term = pd.Series(reason).map({
        "Completed": "Completed week 96 follow-up",
        "Lost to follow-up": "Could not be contacted after the week 60 visit",
        "Withdrawal by subject": "Declined to continue before the first infusion",
    }).to_numpy(dtype=object)
    fail_term = ("Did not meet inclusion criterion " + pd.Series(failed).fillna("")).to_numpy()
    term = np.where(status == "SCREEN FAILURE", fail_term, term)
    last_vis = np.full(n, "Screening", dtype=object)
    last_vis[rand] = np.array(EDC_VISITS, dtype=object)[last_col + 1]
    ds = _head(subj, allrows, np.where(status == "RANDOMISED", "End of Study", "Screening"), 0)
    ds["DSSTDAT"] = cm.fmt_edc_date(_date(ds_day))
    ds["DSREAS"] = reason
    ds["DSTERM"] = term
    ds["LASTVIS"] = last_vis
    files.append(cm.write_csv(ds, out_dir / "ds.csv"))

    # Vital signs --------------------------------------------------------------------------------
    files.append(cm.write_csv(
        _vitals(subj, rand, vis_days, vis_att, inf_start, inf_end, fever_temp, rng),
        out_dir / "vs.csv"))

    # Medical history and HIV/ART history ---------------------------------------------------------
    mh, hivhx = _histories(subj, vals, rng)
    files.append(cm.write_csv(mh, out_dir / "mh.csv"))
    files.append(cm.write_csv(hivhx, out_dir / "hivhx.csv"))
    subj.attrs["vis_days"] = vis_days
    subj.attrs["vis_att"] = vis_att
    return files


def _adverse_events(subj, rand, vis_days, vis_att, inf_days, inf_end, rng):
    """AE log rows; returns the frame and a (rand x 6) array of post-infusion fever temps."""
    nr = len(rand)
    kind = subj["ae_kind"].to_numpy()[rand]
    dic = meddra.dictionary()
    ffi_terms = np.flatnonzero(dic["group"].to_numpy() != "OTHER")  # fever, fatigue, insomnia
    other_terms = np.flatnonzero(dic["group"].to_numpy() == "OTHER")
    # events per subject: FFI subjects 1-2 FFI events + 0-1 other; other-only subjects 1-2
    n_ffi = np.where(kind == 1, rng.integers(1, 3, nr), 0)
    n_oth = np.where(kind == 1, rng.integers(0, 2, nr),
                     np.where(kind == 2, rng.integers(1, 3, nr), 0))
    s_ffi = np.repeat(np.arange(nr), n_ffi)
    s_oth = np.repeat(np.arange(nr), n_oth)
    t_ffi = rng.choice(ffi_terms, len(s_ffi))
    # a subject's second FFI event is a different term
    dup = (np.r_[False, s_ffi[1:] == s_ffi[:-1]]) & (np.r_[False, t_ffi[1:] == t_ffi[:-1]])
    t_ffi = np.where(dup, ffi_terms[(np.searchsorted(ffi_terms, t_ffi) + 1) % 3], t_ffi)
    t_oth = rng.choice(other_terms, len(s_oth))
    sidx = np.r_[s_ffi, s_oth]
    term = np.r_[t_ffi, t_oth]
    m = len(sidx)
    pt = dic["PT"].to_numpy()[term]
    last_day = np.where(vis_att[:, -1], vis_days[:, -1], vis_days[:, 6])[sidx]
    day0 = vis_days[:, 0][sidx]
    inf_k = rng.integers(0, 6, m)
    on_inf = inf_days[sidx, inf_k]
    start = np.select(
        [pt == "Pyrexia", pt == "Fatigue"],
        [on_inf, on_inf + rng.integers(0, 3, m)],
        day0 + 1 + (rng.random(m) * (last_day - day0 - 1)).astype(int))
    dur = np.select([pt == "Pyrexia", pt == "Fatigue", pt == "Insomnia"],
                    [rng.integers(0, 2, m), rng.integers(1, 6, m), rng.integers(3, 31, m)],
                    rng.integers(1, 21, m))
    end = start + dur
    ongoing = (rng.random(m) < 0.06) & (pt != "Pyrexia")
    ongoing |= end > last_day
    st_time = np.where(pt == "Pyrexia", inf_end[sidx, inf_k] + rng.integers(60, 231, m), -1)
    st_time = np.minimum(st_time, 23 * 60 + 50)
    partial = (rng.random(m) < 0.2) & (pt != "Pyrexia") & (pt != "Fatigue")
    rel = np.where(np.isin(pt, ["Pyrexia", "Fatigue"]),
                   rng.choice(["Possibly related", "Probably related"], m),
                   rng.choice(["Not related", "Unlikely related", "Possibly related"], m))
    last_inf = inf_days[sidx, 5]
    # verbatim spelling: one of the dictionary's variants for the coded term
    n_var = dic["verbatims"].map(len).to_numpy()
    flat = np.array([v for vs in dic["verbatims"] for v in vs], dtype=object)  # 15 terms
    offset = np.r_[0, np.cumsum(n_var)[:-1]]
    verbatim = flat[offset[term] + (rng.random(m) * n_var[term]).astype(int)]

    order = np.lexsort((start, sidx))
    rows = rand[sidx][order]
    ae = _head(subj, rows, "Adverse Events", 0)
    recpos = pd.Series(sidx[order]).groupby(sidx[order]).cumcount().to_numpy() + 1
    ae["RecordPosition"] = recpos.astype(str)
    ae["AETERM"] = verbatim[order]
    ae["AESTDAT"] = cm.fmt_edc_partial(_date(start[order]), partial[order])
    ae["AESTTIM"] = np.where(st_time[order] >= 0, cm.fmt_time(np.maximum(st_time[order], 0)), None)
    ae["AEENDAT"] = np.where(ongoing[order], None, cm.fmt_edc_date(_date(end[order])))
    ae["AEONGO"] = np.where(ongoing[order], "Yes", "No")
    ae["AETOXGR"] = np.where(rng.random(m) < 0.8, "Grade 1", "Grade 2")
    ae["AESER"] = "No"
    ae["AEREL"] = rel[order]
    ae["AEACN"] = np.where(start[order] <= last_inf[order], "Dose not changed", "Not applicable")
    ae["AEOUT"] = np.where(ongoing[order], "Not recovered/Not resolved", "Recovered/Resolved")
    for level in ["LLT", "PT", "HLT", "HLGT", "SOC"]:
        ae[f"AETERM_{level}"] = dic[level].to_numpy()[term][order]
        ae[f"AETERM_{level}_CODE"] = dic[f"{level}_CODE"].to_numpy()[term][order]
    ae["MEDDRA_VERSION"] = meddra.MEDDRA_VERSION
    fever_temp = np.full((nr, 6), np.nan)
    is_fever = pt == "Pyrexia"
    fever_temp[sidx[is_fever], inf_k[is_fever]] = np.round(
        rng.uniform(37.3, 38.0, is_fever.sum()), 1)
    return ae, fever_temp


def _vitals(subj, rand, vis_days, vis_att, inf_start, inf_end, fever_temp, rng):
    n = len(subj)
    nr = len(rand)
    # screening row for every screened subject
    scr = pd.DataFrame({"row": np.arange(n), "folder": "Screening", "tpt": None,
                        "day": subj["screen_day"].to_numpy(),
                        "time": rng.integers(8 * 60, 11 * 60, n), "vis": -1, "k": -1})
    # week 0..96 rows for randomised subjects; infusion visits have pre and post rows
    vv, rr = np.meshgrid(np.arange(10), np.arange(nr))
    att = vis_att.ravel()
    base = pd.DataFrame({"row": rand[rr.ravel()], "rsub": rr.ravel(), "vis": vv.ravel(),
                         "day": vis_days.ravel()})[att]
    inf = base["vis"].to_numpy() <= 5
    pre = base[inf].assign(tpt="Pre-infusion", k=lambda d: d["vis"])
    pre["time"] = inf_start[pre["rsub"], pre["k"]] - rng.integers(5, 20, len(pre))
    postr = base[inf].assign(tpt="4 h post-infusion", k=lambda d: d["vis"])
    postr["time"] = (inf_end[postr["rsub"], postr["k"]] + 190
                     + rng.integers(-10, 10, len(postr)))
    plain = base[~inf].assign(tpt=None, k=-1)
    plain["time"] = rng.integers(8 * 60, 11 * 60, len(plain))
    allv = pd.concat([scr, pre, postr, plain], ignore_index=True)
    allv["folder"] = np.array(EDC_VISITS, dtype=object)[allv["vis"].to_numpy() + 1]
    tp_order = pd.Series(allv["tpt"]).map({"Pre-infusion": 0, "4 h post-infusion": 1}).fillna(0)
    allv = allv.assign(tpo=tp_order).sort_values(["row", "vis", "tpo"], kind="stable")
    rows = allv["row"].to_numpy()
    m = len(allv)
    male = subj["sex"].to_numpy()[rows] == "Male"
    w0 = subj["weight"].to_numpy()[rows]
    vs = _head(subj, rows, allv["folder"].to_numpy(), 0)
    vs["VSDAT"] = cm.fmt_edc_date(_date(allv["day"].to_numpy()))
    vs["VSTPT"] = allv["tpt"].to_numpy()
    vs["VSTIM"] = cm.fmt_time(allv["time"].to_numpy())
    vs["HEIGHT"] = np.where(allv["vis"].to_numpy() == -1,
                            cm.fmt_fixed(subj["height"].to_numpy()[rows], 0), None)
    vs["WEIGHT"] = cm.fmt_fixed(w0 + rng.normal(0, 1.0, m) + 0.02 * allv["vis"].to_numpy(), 1)
    sys_bp = np.rint(rng.normal(np.where(male, 121, 114), 10, m)).clip(92, 158)
    vs["SYSBP"] = cm.fmt_fixed(sys_bp, 0)
    vs["DIABP"] = cm.fmt_fixed(np.rint(sys_bp * rng.uniform(0.58, 0.7, m)), 0)
    vs["PULSE"] = cm.fmt_fixed(np.rint(rng.normal(76, 8, m)).clip(52, 108), 0)
    vs["RESP"] = cm.fmt_fixed(rng.integers(14, 21, m), 0)
    temp = np.round(rng.normal(36.6, 0.22, m).clip(36.0, 37.2), 1)
    is_post = allv["tpt"].to_numpy() == "4 h post-infusion"
    k = allv["k"].to_numpy()
    rsub = allv["rsub"].fillna(0).astype(int).to_numpy()
    ft = np.where(is_post, fever_temp[rsub, np.maximum(k, 0)], np.nan)
    temp = np.where(np.isnan(ft), temp, ft)
    vs["TEMP"] = cm.fmt_fixed(temp, 1)
    return vs


ROUTES = np.array(["Sexual contact (heterosexual)", "Sexual contact (men who have sex with men)",
                   "Injecting drug use", "Blood or plasma donation/transfusion", "Unknown"],
                  dtype=object)
REGIMENS = np.array(["TDF + 3TC + EFV", "AZT + 3TC + NVP", "TDF + 3TC + NVP", "AZT + 3TC + EFV",
                     "TDF + 3TC + LPV/r", "AZT + 3TC + LPV/r"], dtype=object)
COMORBID = np.array(["Chronic hepatitis B", "Hypertension", "Hyperlipidaemia",
                     "Herpes zoster", "Pulmonary tuberculosis", "Syphilis",
                     "Type 2 diabetes mellitus"],
                    dtype=object)
COMORBID_ONGOING = np.array([True, True, True, False, False, False, True])


def _histories(subj, vals, rng):
    n = len(subj)
    screen_day = subj["screen_day"].to_numpy()
    failed = subj["failed"].to_numpy()
    # ART start: >= 24 months before consent, except the INC03 screen failures
    art_months = np.where(failed == "INC03", rng.integers(8, 23, n), rng.integers(26, 110, n))
    art_day = screen_day - (art_months * 30.44).astype(int)
    diag_day = art_day - rng.integers(20, 900, n)
    # medical history: HIV-1 infection for everyone + 0-2 comorbidities
    n_c = rng.choice([0, 0, 1, 1, 2], n)
    c_sub = np.repeat(np.arange(n), n_c)
    c_term = rng.choice(len(COMORBID), len(c_sub))
    dupe = np.r_[False, (c_sub[1:] == c_sub[:-1]) & (c_term[1:] == c_term[:-1])]
    c_term = np.where(dupe, (c_term + 1) % len(COMORBID), c_term)
    c_start = screen_day[c_sub] - rng.integers(60, 3650, len(c_sub))
    c_ongo = COMORBID_ONGOING[c_term]
    c_end = np.minimum(c_start + rng.integers(20, 400, len(c_sub)), screen_day[c_sub] - 10)
    sub = np.r_[np.arange(n), c_sub]
    term = np.r_[np.full(n, "HIV-1 infection", dtype=object), COMORBID[c_term]]
    start = np.r_[diag_day, c_start]
    ongo = np.r_[np.ones(n, bool), c_ongo]
    end = np.r_[np.zeros(n, int), c_end]
    partial = rng.random(len(sub)) < 0.35
    order = np.lexsort((start, sub))
    mh = _head(subj, sub[order], "Screening", 0)
    mh["RecordPosition"] = (pd.Series(sub[order]).groupby(sub[order]).cumcount() + 1).astype(str
                                                                                     ).to_numpy()
    mh["MHTERM"] = term[order]
    mh["MHSTDAT"] = cm.fmt_edc_partial(_date(start[order]), partial[order])
    mh["MHONGO"] = np.where(ongo[order], "Yes", "No")
    mh["MHENDAT"] = np.where(ongo[order], None, cm.fmt_edc_date(_date(end[order])))
    hx = _head(subj, np.arange(n), "Screening", 0)
    hx["HIVROUTE"] = ROUTES[rng.choice(5, n, p=[0.45, 0.25, 0.12, 0.08, 0.10])]
    hx["ARTSTDAT"] = cm.fmt_edc_date(_date(art_day))
    second = rng.random(n) < 0.12
    hx["ARTREG"] = np.where(second, REGIMENS[rng.choice([4, 5], n)], REGIMENS[rng.choice(4, n)])
    hx["ARTLINE"] = np.where(second, "Second-line", "First-line")
    hx["PREARTDAT"] = cm.fmt_edc_date(_date(art_day - rng.integers(3, 40, n)))
    hx["PRECD4"] = cm.fmt_fixed(vals["pre4"], 0)
    hx["PRECD8"] = cm.fmt_fixed(vals["pre8"], 0)
    return mh, hx


# --- central laboratory -----------------------------------------------------------------------

NOT_DONE_REASONS = np.array(["Sample haemolysed", "Insufficient sample volume",
                             "Sample received outside stability window"], dtype=object)


def _lab_file(subj, post, attended, vals, rng, out_dir: Path) -> Path:
    n = len(subj)
    rand_mask = subj["status"].to_numpy() == "RANDOMISED"
    day0 = subj["day0_day"].to_numpy()
    # sample grid: visit 0 = screening (everyone), 1 = baseline, 2..10 post (randomised, attended)
    days = np.c_[subj["screen_day"].to_numpy() + rng.integers(0, 3, n), day0, day0[:, None] + post]
    present = np.c_[np.ones(n, bool), rand_mask, attended]
    s_idx, v_idx = np.nonzero(present)
    m = len(s_idx)
    panel = labdef.panel()
    b = vals["b"]
    cd4_all = np.c_[np.rint(b * np.exp(rng.normal(0, 0.08, n))).clip(55, 248), b, vals["cd4"]]
    cd8_all = np.c_[np.rint(vals["cd8_0"] * np.exp(rng.normal(0, 0.08, n))), vals["cd8_0"],
                    vals["cd8"]]
    failed = subj["failed"].to_numpy()
    # INC05 screen failures: CD4 outside 50-250 at screening
    high = rng.random(n) < 0.75
    cd4_scr_fail = np.where(high, rng.integers(255, 430, n), rng.integers(18, 49, n))
    cd4_all[:, 0] = np.where(failed == "INC05", cd4_scr_fail, cd4_all[:, 0])
    cd4 = cd4_all[s_idx, v_idx]
    cd8 = cd8_all[s_idx, v_idx]
    male = subj["sex"].to_numpy()[s_idx] == "Male"

    def subject_level(median, cv, vcv):
        subj_val = median * np.exp(rng.normal(0, cv, n))
        return subj_val[s_idx] * np.exp(rng.normal(0, vcv, m))

    v = {}
    for row in panel.itertuples():  # 45 tests: columns, not rows
        if row.median is not None and not pd.isna(row.median):
            v[row.code] = subject_level(row.median, row.cv, row.vcv)
    dn = rng.uniform(30, 110, m)
    cd3 = cd4 + cd8 + dn
    lym = cd3 / rng.uniform(0.62, 0.80, m)  # cells/uL
    v["CD4ABS"] = cd4
    v["CD8ABS"] = cd8
    v["CD3ABS"] = np.rint(cd3)
    v["CD3PCT"] = cd3 / lym * 100
    v["CD4PCT"] = cd4 / lym * 100
    v["CD8PCT"] = cd8 / lym * 100
    v["CD4CD8"] = np.round(cd4 / cd8, 2)
    v["LYMPH#"] = lym / 1000
    v["RBC"] = np.where(male, v["RBC"] * 1.06, v["RBC"] * 0.92)
    # red cell indices stay coherent: MCHC is tightly regulated, MCH follows MCV
    v["MCH"] = v["MCV"] * v["MCHC"] / 1000
    v["HGB"] = v["RBC"] * v["MCH"]
    v["HCT"] = v["RBC"] * v["MCV"] / 10
    wbc = v["NEUT#"] + v["LYMPH#"] + v["MONO#"] + v["EOS#"] + v["BASO#"]
    v["WBC"] = wbc
    v["NEUT%"] = v["NEUT#"] / wbc * 100
    v["LYMPH%"] = v["LYMPH#"] / wbc * 100
    v["DBIL"] = v["TBIL"] * rng.uniform(0.18, 0.35, m)
    v["CREA"] = np.where(male, 78, 60) * np.exp(rng.normal(0, 0.12, n))[s_idx] \
        * np.exp(rng.normal(0, 0.05, m))
    v["INR"] = v["PT"] / 11.3
    # HIV-1 RNA: "<50" except rare blips after baseline and the INC04 screen failures
    hiv = np.full(m, "<50", dtype=object)
    blip = (v_idx >= 2) & (rng.random(m) < 0.015)
    hiv = np.where(blip, pd.Series(rng.integers(51, 190, m)).astype(str).to_numpy(), hiv)
    fail04 = (failed[s_idx] == "INC04") & (v_idx == 0)
    hiv = np.where(fail04, pd.Series(rng.integers(68, 4800, m)).astype(str).to_numpy(), hiv)

    return _write_lab(subj, s_idx, v_idx, days, male, v, hiv, panel, rng,
                      out_dir / "lab_central.csv")


def _take(values, index: np.ndarray) -> pa.Array:
    """``values[index]`` as an Arrow string array (values: a small vocabulary)."""
    return pa.array(np.asarray(values, dtype=object), type=pa.string(),
                    from_pandas=True).take(pa.array(index))


def _write_lab(subj, s_idx, v_idx, days, male, v, hiv, panel, rng, path: Path) -> Path:
    """Flatten samples x tests into the long transfer file, column by column in Arrow."""
    m = len(s_idx)
    t = len(panel)
    code = panel["code"].to_numpy()
    dec = panel["decimals"].to_numpy().astype(int)
    num = np.full((m, t), np.nan)
    for j, c in enumerate(code):  # 45 tests: columns, not rows
        if c != "HIV1VL":
            num[:, j] = np.round(np.asarray(v[c], float), int(dec[j]))
    lo_m, hi_m = panel["lo_m"].to_numpy(float), panel["hi_m"].to_numpy(float)
    lo_f, hi_f = panel["lo_f"].to_numpy(float), panel["hi_f"].to_numpy(float)
    lo = np.where(male[:, None], lo_m[None, :], lo_f[None, :])
    hi = np.where(male[:, None], hi_m[None, :], hi_f[None, :])
    flag = np.where(num > hi, 1, np.where(num < lo, 2, 0))  # 0 none, 1 H, 2 L
    # a few routine panels not done (never the lymphocyte subsets or the viral load)
    panels = panel["panel"].to_numpy()
    pnames = ["HAEMATOLOGY", "BIOCHEMISTRY", "COAGULATION"]
    nd_sample = rng.random((m, 3)) < 0.004
    panel_no = np.select([panels == p for p in pnames], [0, 1, 2], -1)
    not_done = np.where(panel_no[None, :] >= 0, nd_sample[:, np.maximum(panel_no, 0)], False)
    reason_idx = np.repeat(rng.integers(0, 3, m), t)
    num = np.where(not_done, np.nan, num)
    flag = np.where(not_done, 0, flag).ravel()

    # result text: fixed decimals, except the viral load (lab text such as "<50")
    is_hiv = np.tile(code == "HIV1VL", m)
    result = cm.fixed_decimal_strings(num.ravel(), np.tile(dec, m))
    hiv_text = pa.array(np.asarray(hiv, dtype=object), type=pa.string()).take(
        pa.array(np.repeat(np.arange(m), t)))
    result = pc.if_else(pa.array(is_hiv), hiv_text, result)

    # reference ranges depend only on (test, sex): a 2 x t vocabulary
    def ref_vocab(male_vals, female_vals):
        vals = np.r_[male_vals, female_vals]
        return np.array([None if np.isnan(x) else f"{x:g}" for x in vals], dtype=object)

    ref_index = (np.where(male, 0, t)[:, None] + np.arange(t)[None, :]).ravel()
    rep = np.repeat(np.arange(m), t)
    tile = np.tile(np.arange(t), m)
    coll_time = rng.integers(7 * 60 + 30, 9 * 60 + 30, m)
    accession = pd.Series(np.arange(m) + 1).astype(str).str.zfill(7).radd("L").to_numpy()
    cols = {
        "STUDY": _take([STUDY], np.zeros(m * t, np.int64)),
        "SITE": _take(subj["site_no"].to_numpy()[s_idx], rep),
        "SUBJID": _take(subj["subject"].to_numpy()[s_idx], rep),
        "SEX": _take(["F", "M"], np.repeat(male.astype(np.int64), t)),
        "VISIT": _take(LAB_VISITS, np.repeat(v_idx, t)),
        "COLL_DATE": _take(cm.fmt_iso_date(_date(days[s_idx, v_idx])), rep),
        "COLL_TIME": _take(cm.fmt_time(coll_time), rep),
        "ACCESSION": _take(accession, rep),
        "PANEL": _take(panels, tile),
        "TEST_CODE": _take(code, tile),
        "TEST_NAME": _take(panel["name"].to_numpy(), tile),
        "SPECIMEN": _take(panel["specimen"].to_numpy(), tile),
        "RESULT": result,
        "UNIT": _take(panel["unit"].to_numpy(), tile),
        "REF_LOW": _take(ref_vocab(lo_m, lo_f), ref_index),
        "REF_HIGH": _take(ref_vocab(hi_m, hi_f), ref_index),
        "FLAG": _take([None, "H", "L"], flag),
        "STATUS": _take(["COMPLETE", "NOT DONE"], not_done.ravel().astype(np.int64)),
        "COMMENT": _take(np.r_[NOT_DONE_REASONS, [None]],
                         np.where(not_done.ravel(), reason_idx, 3)),
    }
    return cm.write_csv(cols, path)


# --- randomisation list ---------------------------------------------------------------------

def _randomisation_list(subj, rng, out_dir: Path) -> Path:
    """The unblinded list: every number of every site's blocks, assigned or spare."""
    blocks = subj.attrs["rand_blocks"]
    site = np.concatenate([np.full(len(b), i) for i, b in enumerate(blocks)])
    pos = np.concatenate([np.arange(len(b)) for b in blocks])
    arm = np.array(ARMS, dtype=object)[np.concatenate(blocks)]
    sheet = pd.DataFrame({
        "RAND_NO": pd.Series((site + 1) * 1000 + pos + 1).astype(str).radd("R"),
        "SITE": np.array([s[0] for s in SITES], dtype=object)[site],
        "BLOCK": pos // 6 + 1,
        "BLOCK_SIZE": 6,
        "TRT_CODE": pd.Series(arm).map(ARM_CODE),
        "TREATMENT": pd.Series(arm).map(ARM_LABEL),
    })
    info = pd.DataFrame({"ITEM": ["Protocol", "Generated by", "Method", "Seed", "Version"],
                         "VALUE": [STUDY, "Independent statistician (unblinded)",
                                   "Permuted blocks of 6 stratified by site, ratio 1:1:1",
                                   "not disclosed", "1.0"]})
    return cm.write_xlsx({"Randomisation": sheet, "Info": info},
                         out_dir / "randomisation_list.xlsx", created=CREATED,
                         title=f"{STUDY} randomisation list", creator="Study statistician")
