"""Benchmark: validate a 10,000-subject SDTM study (~5 M LB rows plus DM, AE, EX, TS, TA, TV)
with the full rule catalogue, SDTMIG 3.3 metadata and CT; then write the four reports.

    python benchmarks/bench_validate.py [--subjects 10000] [--lb-per-subject 500]

Prints wall time, CPU time and peak memory (max RSS of this process, data generation
included), and the ratio of the validation time to a baseline measured in the same run: one
``pd.factorize`` pass over every LB column (the least work that touches every value once).
Targets: validation < 120 s and peak memory < 4 GiB on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from converter.ct import load_ct
from converter.issues import IssueLog
from converter.metadata import load_spec
from converter.model import Dataset, DatasetMeta, VariableMeta
from converter.report import write_reports
from converter.validate import validate

STUDY = "BENCH01"
TESTS = [("ALT", "Alanine Aminotransferase", "U/L", "CHEMISTRY"),
         ("AST", "Aspartate Aminotransferase", "U/L", "CHEMISTRY"),
         ("ALB", "Albumin", "g/L", "CHEMISTRY"), ("BILI", "Bilirubin", "umol/L", "CHEMISTRY"),
         ("CREAT", "Creatinine", "umol/L", "CHEMISTRY"), ("GLUC", "Glucose", "mmol/L", "CHEMISTRY"),
         ("K", "Potassium", "mmol/L", "CHEMISTRY"), ("SODIUM", "Sodium", "mmol/L", "CHEMISTRY"),
         ("HGB", "Hemoglobin", "g/L", "HEMATOLOGY"), ("WBC", "Leukocytes", "10^9/L", "HEMATOLOGY"),
         ("PLAT", "Platelets", "10^9/L", "HEMATOLOGY"), ("CD4", "CD4", "10^6/L", "HEMATOLOGY"),
         ("CD8", "CD8", "10^6/L", "HEMATOLOGY"), ("LYM", "Lymphocytes", "10^9/L", "HEMATOLOGY"),
         ("NEUT", "Neutrophils", "10^9/L", "HEMATOLOGY"), ("MONO", "Monocytes", "10^9/L", "HEMATOLOGY"),
         ("EOS", "Eosinophils", "10^9/L", "HEMATOLOGY"), ("BASO", "Basophils", "10^9/L", "HEMATOLOGY"),
         ("HCT", "Hematocrit", "%", "HEMATOLOGY"), ("RBC", "Erythrocytes", "10^12/L", "HEMATOLOGY"),
         ("CHOL", "Cholesterol", "mmol/L", "CHEMISTRY"), ("TRIG", "Triglycerides", "mmol/L", "CHEMISTRY"),
         ("UREA", "Urea", "mmol/L", "CHEMISTRY"), ("CA", "Calcium", "mmol/L", "CHEMISTRY"),
         ("PHOS", "Phosphate", "mmol/L", "CHEMISTRY")]


def dataset(name: str, frame: pd.DataFrame) -> Dataset:
    variables = [VariableMeta(c, type="Num" if pd.api.types.is_numeric_dtype(frame[c]) else "Char")
                 for c in frame.columns]
    return Dataset(DatasetMeta(name, variables=variables), frame)


def objects(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=object)


def generate(n_subj: int, lb_per_subject: int, rng: np.random.Generator) -> dict[str, Dataset]:
    subjects = objects([f"{STUDY}-{i:05d}" for i in range(1, n_subj + 1)])
    start = np.datetime64("2020-01-01") + rng.integers(0, 365, n_subj).astype("timedelta64[D]")
    day_strings = np.datetime_as_string(np.arange(np.datetime64("2019-12-01"),
                                                  np.datetime64("2022-06-01")), unit="D")
    day_table = objects(day_strings)
    base = np.datetime64("2019-12-01")

    def dtc(days: np.ndarray) -> np.ndarray:
        return day_table[(days - base).astype(int)]

    armcd = rng.choice(objects(["A", "B"]), n_subj)
    dm = pd.DataFrame({
        "STUDYID": STUDY, "DOMAIN": "DM", "USUBJID": subjects,
        "SUBJID": objects([s[-5:] for s in subjects]), "RFSTDTC": dtc(start),
        "RFENDTC": dtc(start + 180), "RFICDTC": dtc(start - 14), "SITEID": "01",
        "AGE": rng.integers(18, 80, n_subj).astype(float), "AGEU": "YEARS",
        "SEX": rng.choice(objects(["F", "M"]), n_subj), "RACE": "WHITE",
        "ARMCD": armcd, "ARM": np.where(armcd == "A", "Drug A", "Placebo").astype(object),
        "ACTARMCD": armcd, "ACTARM": np.where(armcd == "A", "Drug A", "Placebo").astype(object),
        "COUNTRY": "USA", "DMDTC": dtc(start - 14), "DMDY": -14.0})

    n_visits = lb_per_subject // len(TESTS)
    visit_days = np.arange(n_visits) * 7
    subj_idx = np.repeat(np.arange(n_subj), n_visits * len(TESTS))
    visit_idx = np.tile(np.repeat(np.arange(n_visits), len(TESTS)), n_subj)
    test_idx = np.tile(np.arange(len(TESTS)), n_subj * n_visits)
    n_lb = len(subj_idx)
    lbdate = start[subj_idx] + visit_days[visit_idx].astype("timedelta64[D]")
    delta = (lbdate - start[subj_idx]).astype(int)
    codes, names, units, cats = (objects([t[i] for t in TESTS]) for i in range(4))
    value = rng.normal(50, 10, n_lb).round(1)
    visitnum = (visit_idx + 1).astype(float)
    visit_names = objects([f"WEEK {i}" for i in range(n_visits)])
    seq = (np.arange(n_lb) - np.repeat(np.arange(n_subj) * n_visits * len(TESTS),
                                       n_visits * len(TESTS)) + 1).astype(float)
    value_text = objects(np.char.mod("%.1f", value))
    lb = pd.DataFrame({
        "STUDYID": STUDY, "DOMAIN": "LB", "USUBJID": subjects[subj_idx], "LBSEQ": seq,
        "LBTESTCD": codes[test_idx], "LBTEST": names[test_idx], "LBCAT": cats[test_idx],
        "LBORRES": value_text, "LBORRESU": units[test_idx], "LBSTRESC": value_text,
        "LBSTRESN": value, "LBSTRESU": units[test_idx],
        "LBNRIND": rng.choice(objects(["NORMAL", "LOW", "HIGH"]), n_lb, p=[.9, .05, .05]),
        "LBBLFL": np.where(visit_idx == 0, "Y", "").astype(object),
        "VISITNUM": visitnum, "VISIT": visit_names[visit_idx], "EPOCH": "TREATMENT",
        "LBDTC": dtc(lbdate), "LBDY": np.where(delta >= 0, delta + 1, delta).astype(float)})

    n_ae = 5
    ae_subj = np.repeat(np.arange(n_subj), n_ae)
    ae_start = start[ae_subj] + rng.integers(0, 150, len(ae_subj)).astype("timedelta64[D]")
    ae_end = ae_start + rng.integers(0, 20, len(ae_subj)).astype("timedelta64[D]")
    ae = pd.DataFrame({
        "STUDYID": STUDY, "DOMAIN": "AE", "USUBJID": subjects[ae_subj],
        "AESEQ": np.tile(np.arange(1, n_ae + 1), n_subj).astype(float),
        "AETERM": rng.choice(objects(["HEADACHE", "NAUSEA", "FATIGUE", "RASH"]), len(ae_subj)),
        "AEDECOD": rng.choice(objects(["Headache", "Nausea", "Fatigue", "Rash"]), len(ae_subj)),
        "AESEV": rng.choice(objects(["MILD", "MODERATE", "SEVERE"]), len(ae_subj)),
        "AESER": "N", "EPOCH": "TREATMENT", "AESTDTC": dtc(ae_start), "AEENDTC": dtc(ae_end),
        "AESTDY": ((ae_start - start[ae_subj]).astype(int) + 1).astype(float),
        "AEENDY": ((ae_end - start[ae_subj]).astype(int) + 1).astype(float)})

    n_ex = 10
    ex_subj = np.repeat(np.arange(n_subj), n_ex)
    ex_start = start[ex_subj] + np.tile(np.arange(n_ex) * 14, n_subj).astype("timedelta64[D]")
    ex = pd.DataFrame({
        "STUDYID": STUDY, "DOMAIN": "EX", "USUBJID": subjects[ex_subj],
        "EXSEQ": np.tile(np.arange(1, n_ex + 1), n_subj).astype(float), "EXTRT": "DRUG A",
        "EXDOSE": 10.0, "EXDOSU": "mg", "EXDOSFRM": "TABLET", "EXROUTE": "ORAL",
        "EPOCH": "TREATMENT", "EXSTDTC": dtc(ex_start), "EXENDTC": dtc(ex_start + 13),
        "EXSTDY": ((ex_start - start[ex_subj]).astype(int) + 1).astype(float),
        "EXENDY": ((ex_start - start[ex_subj]).astype(int) + 14).astype(float)})

    ta = pd.DataFrame({"STUDYID": STUDY, "DOMAIN": "TA", "ARMCD": ["A", "B"],
                       "ARM": ["Drug A", "Placebo"], "TAETORD": [1.0, 1.0],
                       "ETCD": ["TRT", "PBO"], "ELEMENT": ["Drug A", "Placebo"],
                       "EPOCH": ["TREATMENT", "TREATMENT"]})
    tv = pd.DataFrame({"STUDYID": STUDY, "DOMAIN": "TV", "VISITNUM": visitnum[:n_visits * 25:25],
                       "VISIT": visit_names})
    ts = pd.DataFrame({"STUDYID": STUDY, "DOMAIN": "TS", "TSSEQ": 1.0,
                       "TSPARMCD": ["SSTDTC", "SDTIGVER", "STYPE", "TITLE"],
                       "TSVAL": ["2020-01-01", "3.3", "INTERVENTIONAL", "Benchmark"]})

    # a few known violations so that finding paths are exercised too
    lb.loc[rng.choice(n_lb, 100, replace=False), "LBDTC"] = "2020-02-30"
    lb.loc[rng.choice(n_lb, 50, replace=False), "LBSEQ"] = 1.0
    ae.loc[rng.choice(len(ae), 20, replace=False), "AEENDTC"] = "2019-12-01"
    return {name: dataset(name, frame) for name, frame in
            [("DM", dm), ("LB", lb), ("AE", ae), ("EX", ex), ("TA", ta), ("TV", tv), ("TS", ts)]}


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(pickled: Path) -> None:
    """Child process: load the study, validate it, write the reports, print the figures."""
    with open(pickled, "rb") as fh:
        data = pickle.load(fh)
    print(f"loaded study: peak {peak_mib():.0f} MiB (the data alone)")
    lb = data["LB"].data
    t = time.perf_counter()
    for col in lb.columns:
        pd.factorize(lb[col])
    baseline = time.perf_counter() - t
    print(f"baseline: one factorize pass over the {lb.shape[1]} LB columns: {baseline:.1f} s")

    spec, ct = load_spec("SDTMIG 3.3"), load_ct("sdtmct-2015-12-18")
    issues = IssueLog()
    t, c = time.perf_counter(), time.process_time()
    result = validate(data, spec=[spec], ct=ct, issues=issues)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    states = result.rules["state"].value_counts().to_dict()
    print(f"validate: {wall:.1f} s wall, {cpu:.1f} s CPU, {len(result.rules)} rules {states}, "
          f"{len(issues)} issues; ratio to baseline {wall / baseline:.1f}x")
    errors = result.rules[result.rules["state"] == "execution_error"]
    for row in errors.itertuples():
        print(f"  EXECUTION ERROR {row.rule_id}: {row.reason}")
    found = result.rules[result.rules["n_issues"] > 0][["rule_id", "n_issues"]]
    print("  findings: " + ", ".join(f"{r.rule_id}={r.n_issues}" for r in found.itertuples()))
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        write_reports(issues, result, out, title="benchmark")
        reports = time.perf_counter() - t
    print(f"reports: {reports:.1f} s")
    peak = peak_mib()
    print(f"peak memory of the validating process (max RSS, data included): {peak:.0f} MiB")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    ok = wall < 120 and peak < 4096
    print(f"target (validate < 120 s, peak < 4096 MiB): {'met' if ok else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subjects", type=int, default=10_000)
    parser.add_argument("--lb-per-subject", type=int, default=500)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure(args.child)
        return
    rng = np.random.default_rng(20240501)
    t = time.perf_counter()
    data = generate(args.subjects, args.lb_per_subject, rng)
    rows = {n: len(d.data) for n, d in data.items()}
    print(f"generated {rows} in {time.perf_counter() - t:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        pickled = Path(tmp) / "study.pkl"
        with open(pickled, "wb") as fh:
            pickle.dump(data, fh, protocol=pickle.HIGHEST_PROTOCOL)
        del data
        # a fresh process, so that peak memory is the validation's, not the generator's
        subprocess.run([sys.executable, __file__, "--child", str(pickled)], check=True)


if __name__ == "__main__":
    main()
