"""Benchmark: XPT v5 writers on one LB-shaped frame, each as a whole separate process.

    python benchmarks/bench_writers.py [--rows 5000000] [--workdir /tmp/bench_writers]
                                       [--nbase-python PATH] [--writers ours,pyreadstat,...]

Builds (once, cached in --workdir) an LB-like frame with numpy/Arrow -- 10 tests x 50 visits per
subject, 10,000 subjects for 5 M rows, 15 character and 6 numeric variables -- saved as Parquet
with our dataset metadata (labels from specs/, lengths = longest value in bytes). Then each
writer runs in its own process reading that same Parquet file:

* ours        converter.io.xpt.write_xpt_parquet (streams row batches)
* ours-frame  read_dataset (pandas frame, object text columns) + write_xpt
* ours-cat    Parquet read with Categorical text columns + write_xpt: the pipeline's path
              (apply_metadata hands the writers Categorical Char columns)
* pyreadstat  pandas + pyreadstat.write_xport (the baseline)
* nbase       nbase_converter 0.0.6 convert_dataset (Rust/Arrow), when it is installed -- it
              needs pandas >= 3, so it lives in its own virtualenv: pass --nbase-python or set
              NBASE_PYTHON (e.g. python -m venv /tmp/nbase && /tmp/nbase/bin/pip install
              nbase-converter==0.0.6)

Reported per writer: wall time of the whole process, ratio to pyreadstat, peak RSS of the child
(os.wait4 rusage), output size and peak RSS / output size. The XPT files of ours and pyreadstat
are then read back with pyreadstat on a sample of rows and compared.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

TESTS = [("CD4", "CD4 Lymphocytes", "IMMUNOLOGY", "10^6/L", 500.0, 200.0, 410.0, 1590.0),
         ("CD8", "CD8 Lymphocytes", "IMMUNOLOGY", "10^6/L", 700.0, 250.0, 190.0, 1140.0),
         ("CD4CD8", "CD4/CD8 Ratio", "IMMUNOLOGY", "RATIO", 0.9, 0.4, 1.0, 3.6),
         ("ALT", "Alanine Aminotransferase", "CHEMISTRY", "U/L", 30.0, 12.0, 7.0, 55.0),
         ("AST", "Aspartate Aminotransferase", "CHEMISTRY", "U/L", 28.0, 10.0, 8.0, 48.0),
         ("HGB", "Hemoglobin", "HEMATOLOGY", "g/L", 135.0, 15.0, 120.0, 170.0),
         ("WBC", "Leukocytes", "HEMATOLOGY", "10^9/L", 6.5, 2.0, 4.0, 11.0),
         ("PLAT", "Platelets", "HEMATOLOGY", "10^9/L", 250.0, 60.0, 150.0, 400.0),
         ("CREAT", "Creatinine", "CHEMISTRY", "umol/L", 80.0, 15.0, 53.0, 115.0),
         ("GLUC", "Glucose", "CHEMISTRY", "mmol/L", 5.2, 0.8, 3.9, 6.1)]
VISITS = 50


def _text(values):
    import pyarrow as pa
    import pyarrow.compute as pc
    return pc.cast(pa.array(values), pa.string())


def build_lb(rows: int, seed: int = 20240101):
    """An LB-like Arrow table of ``rows`` rows (vectorised numpy/Arrow)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    rng = np.random.default_rng(seed)
    per_subject = len(TESTS) * VISITS
    subj = np.arange(rows) // per_subject
    within = np.arange(rows) % per_subject
    test = within // VISITS
    visit = within % VISITS + 1
    t = {k: np.array([x[i] for x in TESTS]) for i, k in enumerate(
        ("code", "name", "cat", "unit", "mean", "sd", "lo", "hi"))}
    mean, sd = t["mean"][test].astype(float), t["sd"][test].astype(float)
    value = np.round(np.abs(rng.normal(mean, sd)), 1)
    missing = rng.random(rows) < 0.01
    lo, hi = t["lo"][test].astype(float), t["hi"][test].astype(float)
    ind = np.where(value < lo, "LOW", np.where(value > hi, "HIGH", "NORMAL"))
    day = (visit - 1) * 14 + 1 + rng.integers(-2, 3, rows) * (visit > 1)
    start = np.datetime64("2014-01-06") + (subj % 700).astype("timedelta64[D]")
    dtc = np.datetime_as_string(start + (day - 1).astype("timedelta64[D]"), unit="D")
    minutes = rng.integers(7 * 60, 12 * 60, rows)
    hhmm = np.char.add(np.char.add(np.char.zfill((minutes // 60).astype(str), 2), ":"),
                       np.char.zfill((minutes % 60).astype(str), 2))
    orres = _text(value)
    orres = pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), orres)
    subj_txt = pc.utf8_lpad(_text(subj + 1), width=5, padding="0")
    usubjid = pc.binary_join_element_wise("MSC-INR-P2-01-", subj_txt, "")
    stresn = np.where(missing, np.nan, value)
    cols = {
        "STUDYID": pa.array(np.full(rows, "MSC-INR-P2")),
        "DOMAIN": pa.array(np.full(rows, "LB")),
        "USUBJID": usubjid,
        "LBSEQ": (within + 1).astype(float),
        "LBTESTCD": pa.array(t["code"][test]),
        "LBTEST": pa.array(t["name"][test]),
        "LBCAT": pa.array(t["cat"][test]),
        "LBORRES": orres,
        "LBORRESU": pa.array(t["unit"][test]),
        "LBORNRLO": _text(lo),
        "LBORNRHI": _text(hi),
        "LBSTRESC": orres,
        "LBSTRESN": stresn,
        "LBSTRESU": pa.array(t["unit"][test]),
        "LBSTNRLO": lo,
        "LBSTNRHI": hi,
        "LBNRIND": pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), pa.array(ind)),
        "VISITNUM": visit.astype(float),
        "VISIT": pc.binary_join_element_wise("WEEK ", _text((visit - 1) * 2), ""),
        "LBDTC": pc.binary_join_element_wise(pa.array(dtc), pa.array(hhmm), "T"),
        "LBDY": day.astype(float),
    }
    return pa.table({k: (v if isinstance(v, (pa.Array, pa.ChunkedArray)) else pa.array(v))
                     for k, v in cols.items()})


def save(table, path: Path) -> None:
    import dataclasses

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from converter.io.datasets import PARQUET_KEY
    from converter.metadata import load_spec
    spec = load_spec("SDTMIG 3.3").dataset("LB")
    variables = []
    for name in table.column_names:
        v = spec.variable(name)
        col = table.column(name)
        if pa.types.is_string(col.type):
            v.length = max(1, int(pc.max(pc.binary_length(col)).as_py() or 0))
        else:
            v.length = 8
        variables.append(dataclasses.asdict(v))
    meta = {"name": "LB", "label": spec.label, "klass": spec.klass, "structure": spec.structure,
            "keys": [k for k in spec.keys if k in table.column_names], "variables": variables,
            "standard": spec.standard, "repeating": spec.repeating,
            "reference_data": spec.reference_data, "comment": None}
    table = table.replace_schema_metadata({PARQUET_KEY: json.dumps(meta).encode()})
    pq.write_table(table, path, compression="zstd", row_group_size=250_000)


def run(python: str, writer: str, parquet: Path, out: Path) -> dict:
    if out.exists():
        out.unlink()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    start = time.perf_counter()
    proc = subprocess.Popen([python, str(HERE / "bench_writers_child.py"), writer, str(parquet),
                             str(out)], env=env, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        return {"writer": writer, "error": err.strip().splitlines()[-1] if err.strip() else
                f"exit {proc.returncode}"}
    size = out.stat().st_size if out.exists() else 0
    return {"writer": writer, "wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024,
            "size_mb": size / 1e6, "rss_over_size": usage.ru_maxrss * 1024 / size if size else 0}


def compare(a: Path, b: Path, rows: int, sample: int = 20_000) -> str:
    import pandas as pd
    import pyreadstat
    offsets = sorted({0, max(0, rows // 2 - sample // 2), max(0, rows - sample)})
    for off in offsets:
        x, mx = pyreadstat.read_xport(str(a), row_offset=off, row_limit=sample)
        y, my = pyreadstat.read_xport(str(b), row_offset=off, row_limit=sample)
        pd.testing.assert_frame_equal(x, y, check_exact=True)
        assert mx.column_labels == my.column_labels and mx.column_names == my.column_names
    return f"identical on {len(offsets)} samples of {sample} rows (values, names, labels)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/bench_writers"))
    ap.add_argument("--writers", default="ours,ours-frame,ours-cat,pyreadstat,nbase")
    ap.add_argument("--nbase-python", default=os.environ.get("NBASE_PYTHON"))
    ap.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    parquet = args.workdir / f"lb_{args.rows}.parquet"
    if args.build_only:
        save(build_lb(args.rows), parquet)
        return
    if not parquet.exists():
        # built in its own process: a child forked from a big parent would count the
        # parent's pages in its peak RSS
        t = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--rows", str(args.rows), "--workdir",
                        str(args.workdir), "--build-only"], check=True,
                       env=dict(os.environ, PYTHONPATH=str(REPO)))
        print(f"built {parquet} ({parquet.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - t:.1f} s", flush=True)
    results = []
    for writer in args.writers.split(","):
        python = sys.executable
        if writer == "nbase":
            probe = subprocess.run([sys.executable, "-c", "import nbase_converter"],
                                   check=False, capture_output=True)
            if probe.returncode != 0:
                python = args.nbase_python
                if not python:
                    print("nbase: nbase-converter is not installed (it needs pandas >= 3); "
                          "pass --nbase-python PATH of a venv where it is")
                    continue
        res = run(python, writer, parquet, args.workdir / f"lb_{writer}.xpt")
        results.append(res)
        print(json.dumps(res), flush=True)
    base = next((r["wall_s"] for r in results if r["writer"] == "pyreadstat" and "wall_s" in r),
                None)
    print(f"\nrows: {args.rows:,}   parquet: {parquet}")
    print(f"{'writer':<12}{'wall s':>9}{'vs pyreadstat':>15}{'peak RSS MB':>13}"
          f"{'XPT MB':>9}{'RSS/size':>10}")
    for r in results:
        if "error" in r:
            print(f"{r['writer']:<12} failed: {r['error']}")
            continue
        ratio = f"{base / r['wall_s']:.1f}x" if base else "-"
        print(f"{r['writer']:<12}{r['wall_s']:>9.2f}{ratio:>15}{r['peak_rss_mb']:>13.0f}"
              f"{r['size_mb']:>9.0f}{r['rss_over_size']:>10.2f}")
    names = {r["writer"] for r in results if "wall_s" in r}
    if {"ours", "pyreadstat"} <= names:
        print("check ours vs pyreadstat:",
              compare(args.workdir / "lb_ours.xpt", args.workdir / "lb_pyreadstat.xpt",
                      args.rows))
    for other in ("ours-frame", "ours-cat"):
        if {"ours", other} <= names:
            same = filecmp.cmp(args.workdir / "lb_ours.xpt", args.workdir / f"lb_{other}.xpt",
                               shallow=False)
            print(f"check ours vs {other}: byte-identical = {same}")


if __name__ == "__main__":
    main()
