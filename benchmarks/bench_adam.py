"""Benchmark: ADLB (and the ADSL it needs) from a 10,000-subject SDTM LB of about 5 M rows.

The LB-shaped frame is generated here with numpy (25 tests x 20 visits per subject), so the
benchmark depends on no other area. The study configuration is the shipped msc-inr-p2 ADSL and
ADLB (analysis windows, baseline, CHG/PCHG, ANRIND, ANL01FL, LOCF, ASEQ). Prints the derivation
time, a same-run baseline (one pandas stable sort of LB by subject/test/date, the least any
BDS derivation must do) with the ratio, and the process's peak resident memory.

    python benchmarks/bench_adam.py                 # 10,000 subjects (≈ 5 M LB rows)
    python benchmarks/bench_adam.py --subjects 1000
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from converter.adam import derive_adam
from converter.issues import IssueLog

WEEKS = [-2, 0, 4, 8, 12, 16, 20, 24, 30, 36, 42, 48, 54, 60, 66, 72, 78, 84, 90, 96]
TESTS = ["CD4", "CD8", "CD4CD8", "ALT", "AST", "ALP", "BILI", "CREAT", "UREA", "WBC", "RBC",
         "HGB", "HCT", "PLAT", "NEUT", "LYM", "MONO", "EOS", "BASO", "GLUC", "CHOL", "TRIG",
         "SODIUM", "K", "HIVVLD"]


def make_sdtm(n_subjects: int, seed: int = 20240501) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    subj = np.array([f"BENCH-{i:06d}" for i in range(n_subjects)], dtype=object)
    start = pd.Timestamp("2014-01-01") + pd.to_timedelta(rng.integers(0, 700, n_subjects), "D")
    armcd = np.array(["HIGH", "LOW", "PLACEBO"], dtype=object)[np.arange(n_subjects) % 3]
    dm = pd.DataFrame({"STUDYID": "BENCH", "USUBJID": subj, "SUBJID": subj, "SITEID": "01",
                       "AGE": rng.integers(20, 65, n_subjects).astype(float), "SEX": "M",
                       "ARMCD": armcd, "ARM": armcd, "ACTARMCD": armcd, "ACTARM": armcd})
    ex = pd.DataFrame({"STUDYID": "BENCH", "USUBJID": np.repeat(subj, 2),
                       "EXSEQ": np.tile([1.0, 2.0], n_subjects),
                       "EXSTDTC": (np.repeat(start, 2) + pd.to_timedelta(
                           np.tile([0, 336], n_subjects), "D")).strftime("%Y-%m-%d")})
    ds = pd.DataFrame({"STUDYID": "BENCH", "USUBJID": subj, "DSSEQ": 1.0,
                       "DSCAT": "DISPOSITION EVENT", "DSDECOD": "COMPLETED",
                       "DSSTDTC": (start + pd.Timedelta(days=673)).strftime("%Y-%m-%d")})
    nv, nt = len(WEEKS), len(TESTS)
    n = n_subjects * nv * nt
    s_idx = np.repeat(np.arange(n_subjects), nv * nt)
    v_idx = np.tile(np.repeat(np.arange(nv), nt), n_subjects)
    t_idx = np.tile(np.arange(nt), n_subjects * nv)
    # 3 % of subjects lost after week 60 → LOCF rows; drop their later visits
    lost = rng.random(n_subjects) < 0.03
    keep = ~(lost[s_idx] & (np.array(WEEKS)[v_idx] > 60))
    day = np.array(WEEKS)[v_idx] * 7 + rng.integers(-3, 4, n)
    dtc = (start[s_idx] + pd.to_timedelta(day, "D")).strftime("%Y-%m-%dT%H:%M")
    value = np.round(rng.lognormal(5, 0.4, n), 1)
    tests = np.array(TESTS, dtype=object)
    lb = pd.DataFrame({
        "STUDYID": "BENCH", "DOMAIN": "LB", "USUBJID": subj[s_idx],
        "LBSEQ": (np.tile(np.arange(nv * nt), n_subjects) + 1).astype(float),
        "LBTESTCD": tests[t_idx], "LBTEST": tests[t_idx], "LBCAT": "CHEMISTRY",
        "LBSTRESC": value.astype(str).astype(object), "LBSTRESN": value, "LBSTRESU": "U/L",
        "LBSTNRLO": 100.0, "LBSTNRHI": 250.0, "VISITNUM": (v_idx + 1).astype(float),
        "VISIT": np.array([f"WEEK {w}" for w in WEEKS], dtype=object)[v_idx],
        "LBDTC": np.asarray(dtc, dtype=object)})
    lb = lb.loc[keep].reset_index(drop=True)
    return {"DM": dm, "EX": ex, "DS": ds, "LB": lb}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=10_000)
    args = ap.parse_args()
    t0 = time.perf_counter()
    sdtm = make_sdtm(args.subjects)
    t_gen = time.perf_counter() - t0
    lb = sdtm["LB"]
    print(f"generated {len(lb):,} LB rows for {args.subjects:,} subjects in {t_gen:.1f} s")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    t0, c0 = time.perf_counter(), time.process_time()
    lb.sort_values(["USUBJID", "LBTESTCD", "LBDTC"], kind="mergesort")
    t_base, c_base = time.perf_counter() - t0, time.process_time() - c0

    study = Path(tempfile.mkdtemp(prefix="bench_adam_"))
    try:
        (study / "adam").mkdir()
        for name in ("adsl.yaml", "adlb.yaml"):
            shutil.copy(REPO / "mappings" / "msc-inr-p2" / "adam" / name, study / "adam" / name)
        text = (study / "adam" / "adlb.yaml").read_text().split("plots:")[0]
        (study / "adam" / "adlb.yaml").write_text(text)
        (study / "adam" / "adsl.yaml").write_text(
            (study / "adam" / "adsl.yaml").read_text().split("merged:")[0]
            + "categories:\n  AGEGR1:\n    - {value: '<40', where: {AGE: {lt: 40}}}\n"
            "    - {value: '>=40', where: {AGE: {ge: 40}}}\n"
            "flags:\n  ITTFL: {ARM: {missing: false}}\n  SAFFL: {TRTSDT: {missing: false}}\n")
        issues = IssueLog()
        t0, c0 = time.perf_counter(), time.process_time()
        result = derive_adam(study, sdtm, issues)
        t_adam, c_adam = time.perf_counter() - t0, time.process_time() - c0
    finally:
        shutil.rmtree(study, ignore_errors=True)
    adlb = result.frames["ADLB"]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"baseline: one stable sort of LB by USUBJID/LBTESTCD/LBDTC: {t_base:.2f} s wall, "
          f"{c_base:.2f} s CPU")
    print(f"derive_adam (ADSL + ADLB): {t_adam:.1f} s wall, {c_adam:.1f} s CPU -> ADLB "
          f"{len(adlb):,} rows ({(adlb['DTYPE'] == 'LOCF').sum():,} LOCF), "
          f"{len(adlb.columns)} columns; {len(lb) / c_adam / 1e6:.2f} M LB rows per CPU second; "
          f"{c_adam / c_base:.1f}x the baseline sort (CPU)")
    print(f"peak resident memory: {peak:,.0f} MiB (after generating the SDTM: "
          f"{rss_before:,.0f} MiB); issues logged: {len(issues)}")


if __name__ == "__main__":
    main()
