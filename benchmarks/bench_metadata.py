"""Benchmark: metadata stage + XPT writer on a 5 M-row LB-like frame, object vs Categorical text.

    python benchmarks/bench_metadata.py [--rows 5000000] [--out /tmp/bench_metadata]
                                        [--kinds object,categorical] [--no-xpt]

Builds an LB-shaped frame the way the SDTM engine hands it over -- 10,000 subjects, 50 tests
per visit, 10 visits; 20 character variables (LBREFID with one accession per sample, about
500,000 distinct values; LBDTC one per sample; results with a few thousand distinct values) and
6 numeric ones, plus the provenance columns -- in raw order (subject, visit, test), so the key
sort has real work to do. The text columns are built once as Categoricals (numpy codes) and
given to the stages either as they are or as object columns of Python str (what the engine
gave before Categoricals).

For each kind: wall and CPU time (``time.process_time``, all threads; steadier than wall time
on a busy machine) of ``apply_metadata`` and of ``write_xpt``, the XPT size and write rate. The XPT files of the two kinds are compared byte for byte, and the ratios object /
Categorical are printed (same run, same machine).
"""

from __future__ import annotations

import argparse
import filecmp
import os
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from converter.issues import IssueLog
from converter.metadata import apply_metadata, load_spec
from converter.model import SRC_FILE, SRC_ROW

CREATED = datetime(2024, 1, 1)
TESTS = 50
VISITS = 10


def _cat(codes: np.ndarray, categories) -> pd.Categorical:
    return pd.Categorical.from_codes(codes.astype(np.int32), categories=pd.Index(
        np.asarray(categories, dtype=object)))


def build(rows: int, seed: int = 20240101) -> dict[str, pd.Series]:
    """Columns of an LB-like frame; text columns as Categoricals (vectorised numpy)."""
    rng = np.random.default_rng(seed)
    per_subject = TESTS * VISITS
    i = np.arange(rows)
    subj = i // per_subject
    visit = (i % per_subject) // TESTS          # raw order: subject, visit, test
    test = i % TESTS
    sample = i // TESTS                         # one accession per subject and visit
    nsubj = int(subj.max()) + 1
    nsample = int(sample.max()) + 1
    codes = [f"T{k:03d}" for k in range(TESTS)]
    names = [f"Laboratory test number {k}" for k in range(TESTS)]
    cats = ["CHEMISTRY", "HEMATOLOGY", "IMMUNOLOGY", "URINALYSIS", "VIROLOGY"]
    units = ["g/L", "U/L", "10^9/L", "mmol/L", "umol/L", "%", "cells/uL", "copies/mL"]
    value = np.round(np.abs(rng.normal(50, 20, rows)), 1)
    missing = rng.random(rows) < 0.01
    vcode = np.round(value * 10).astype(np.int64)           # ~ a few thousand distinct values
    vcats = np.unique(vcode)
    res_codes = np.searchsorted(vcats, vcode)
    res_text = [f"{x / 10:g}" for x in vcats]
    res_codes = np.where(missing, -1, res_codes)
    lo_codes = test % 7
    lo_text = [str(x) for x in (1, 3, 5, 10, 40, 120, 200)]
    hi_text = [str(x) for x in (7, 30, 55, 90, 400, 800, 2000)]
    start = np.datetime64("2014-01-06") + (np.arange(nsample) // VISITS % 700
                                           ).astype("timedelta64[D]")
    day = (np.arange(nsample) % VISITS) * 14
    minutes = rng.integers(7 * 60, 12 * 60, nsample)
    dtc = np.char.add(np.char.add(np.datetime_as_string(
        start + day.astype("timedelta64[D]"), unit="D"), "T"),
        np.char.add(np.char.add(np.char.zfill((minutes // 60).astype(str), 2), ":"),
                    np.char.zfill((minutes % 60).astype(str), 2)))
    dtc_cats, dtc_codes = np.unique(dtc, return_inverse=True)
    flags = ["LOW", "NORMAL", "HIGH"]
    nrind = np.where(missing, -1, np.where(value < 20, 0, np.where(value > 80, 2, 1)))
    notdone = missing & (rng.random(rows) < 0.5)
    cols = {
        "STUDYID": _cat(np.zeros(rows), ["MSC-INR-P2"]),
        "DOMAIN": _cat(np.zeros(rows), ["LB"]),
        "USUBJID": _cat(subj, [f"MSC-INR-P2-01-{k:05d}" for k in range(nsubj)]),
        "LBSEQ": pd.Series((i % per_subject + 1).astype(np.float64)),
        "LBREFID": _cat(sample, [f"L{k:07d}" for k in range(nsample)]),
        "LBTESTCD": _cat(test, codes),
        "LBTEST": _cat(test, names),
        "LBCAT": _cat(test % len(cats), cats),
        "LBORRES": _cat(res_codes, res_text),
        "LBORRESU": _cat(test % len(units), units),
        "LBORNRLO": _cat(lo_codes, lo_text),
        "LBORNRHI": _cat(lo_codes, hi_text),
        "LBSTRESC": _cat(res_codes, res_text),
        "LBSTRESN": pd.Series(np.where(missing, np.nan, value)),
        "LBSTRESU": _cat(test % len(units), units),
        "LBSTNRLO": pd.Series(np.array([1, 3, 5, 10, 40, 120, 200], float)[lo_codes]),
        "LBSTNRHI": pd.Series(np.array([7, 30, 55, 90, 400, 800, 2000], float)[lo_codes]),
        "LBNRIND": _cat(nrind, flags),
        "LBSTAT": _cat(np.where(notdone, 0, -1), ["NOT DONE"]),
        "LBREASND": _cat(np.where(notdone, 0, -1), ["SAMPLE HAEMOLYSED"]),
        "LBSPEC": _cat(np.zeros(rows), ["BLOOD"]),
        "LBBLFL": _cat(np.where(visit == 1, 0, -1), ["Y"]),
        "VISITNUM": pd.Series((visit + 1).astype(np.float64)),
        "VISIT": _cat(visit, [f"WEEK {2 * k}" for k in range(VISITS)]),
        "EPOCH": _cat((visit > 0).astype(int), ["SCREENING", "TREATMENT"]),
        "LBDTC": _cat(dtc_codes[sample], dtc_cats.astype(object)),
        "LBDY": pd.Series(np.repeat(day + 1, TESTS)[:rows].astype(np.float64)),
        SRC_FILE: _cat(np.zeros(rows), ["lab_central.csv"]),
        SRC_ROW: pd.Series((i + 1).astype(str).astype(object)),
    }
    return {k: (v if isinstance(v, pd.Series) else pd.Series(v)) for k, v in cols.items()}


def frame_of(cols: dict[str, pd.Series], kind: str) -> pd.DataFrame:
    if kind == "categorical":
        return pd.DataFrame(cols, copy=False)
    out = {}
    for k, s in cols.items():
        if isinstance(s.dtype, pd.CategoricalDtype):
            arr = np.asarray(s.cat.categories, dtype=object).take(s.cat.codes.to_numpy())
            arr[s.cat.codes.to_numpy() < 0] = None
            out[k] = pd.Series(arr, dtype=object)
        else:
            out[k] = s
    return pd.DataFrame(out, copy=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench_metadata"))
    ap.add_argument("--kinds", default="object,categorical")
    ap.add_argument("--no-xpt", action="store_true")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from converter.io.xpt import write_xpt
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores", flush=True)
    t = time.perf_counter()
    cols = build(args.rows)
    print(f"built {args.rows:,} rows in {time.perf_counter() - t:.1f} s", flush=True)
    spec = load_spec("SDTMIG 3.3")
    results = {}
    for kind in args.kinds.split(","):
        frame = frame_of(cols, kind)
        issues = IssueLog()
        t, c = time.perf_counter(), time.process_time()
        ds, _lineage = apply_metadata(frame, "LB", spec, issues)
        meta_s, meta_cpu = time.perf_counter() - t, time.process_time() - c
        del frame
        res = {"metadata_s": meta_s, "issues": len(issues.to_frame())}
        if not args.no_xpt:
            path = args.out / f"lb_{kind}.xpt"
            if path.exists():
                path.unlink()
            t, c = time.perf_counter(), time.process_time()
            write_xpt(ds, path, created=CREATED)
            res["xpt_s"], xpt_cpu = time.perf_counter() - t, time.process_time() - c
            res["xpt_mb"] = path.stat().st_size / 1e6
            res["path"] = path
        results[kind] = res
        del ds
        line = f"{kind:<12} apply_metadata {meta_s:6.2f} s (cpu {meta_cpu:6.2f} s)"
        if "xpt_s" in res:
            line += (f"   write_xpt {res['xpt_s']:6.2f} s (cpu {xpt_cpu:6.2f} s; "
                     f"{res['xpt_mb']:.0f} MB, {res['xpt_mb'] / res['xpt_s']:.0f} MB/s)")
        print(line + f"   issues {res['issues']}", flush=True)
    if {"object", "categorical"} <= set(results):
        o, c = results["object"], results["categorical"]
        print(f"ratio object/categorical: apply_metadata {o['metadata_s'] / c['metadata_s']:.1f}x"
              + (f", write_xpt {o['xpt_s'] / c['xpt_s']:.1f}x" if "xpt_s" in o else ""))
        if "path" in o:
            same = filecmp.cmp(o["path"], c["path"], shallow=False)
            print(f"XPT object vs categorical byte-identical: {same}")


if __name__ == "__main__":
    main()
