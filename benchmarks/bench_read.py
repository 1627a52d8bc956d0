"""Benchmark: ``read_raw`` (object and categorical modes) against plain pandas readers.

For every raw file of a folder (CSV/TSV/TXT and XLSX), the same run times

- pandas   -- ``pd.read_csv(path, dtype=str, keep_default_na=False)`` (C engine), or
              ``pd.read_excel(path, dtype=str)`` (openpyxl) for workbooks: a plain read
              without any of read_raw's checks;
- object   -- ``read_raw(path)`` (the default: str/None cells, every check);
- category -- ``read_raw(path, categorical=True)``;

and prints wall times (best of ``--repeat``) and the ratios pandas / read_raw (above 1: read_raw
is faster). The export is generated with
``python -m converter simulate msc-inr-p2 --out DIR --subjects 10000``.

    python benchmarks/bench_read.py --raw /tmp/bench10k
    python benchmarks/bench_read.py --raw /tmp/bench10k --files lab_central.csv --repeat 3
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SUFFIXES = {".csv", ".tsv", ".tab", ".txt", ".xlsx", ".xlsm"}


def _best(fn, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        result = None
        gc.collect()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def _pandas(path: Path):
    import pandas as pd
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return pd.read_excel(path, dtype=str)
    sep = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    return pd.read_csv(path, dtype=str, keep_default_na=False, sep=sep)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", type=Path, required=True, help="folder of raw export files")
    parser.add_argument("--files", nargs="*", help="only these file names")
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs (default 1)")
    args = parser.parse_args(argv)

    from converter.io.readers import read_raw

    files = sorted(p for p in args.raw.iterdir() if p.suffix.lower() in SUFFIXES
                   and (not args.files or p.name in args.files))
    if not files:
        print(f"no raw files in {args.raw}", file=sys.stderr)
        return 2
    print(f"{'file':28s} {'MB':>7s} {'rows':>9s} {'pandas s':>9s} {'object s':>9s} "
          f"{'categ. s':>9s} {'x obj':>6s} {'x cat':>6s}")
    totals = [0.0, 0.0, 0.0]
    for path in files:
        t_pd, _ = _best(lambda p=path: _pandas(p), args.repeat)
        t_obj, frame = _best(lambda p=path: read_raw(p), args.repeat)
        rows = len(frame)
        del frame
        t_cat, _ = _best(lambda p=path: read_raw(p, categorical=True), args.repeat)
        for i, t in enumerate((t_pd, t_obj, t_cat)):
            totals[i] += t
        print(f"{path.name:28s} {path.stat().st_size / 1e6:7.1f} {rows:9d} {t_pd:9.2f} "
              f"{t_obj:9.2f} {t_cat:9.2f} {t_pd / t_obj:6.2f} {t_pd / t_cat:6.2f}", flush=True)
    t_pd, t_obj, t_cat = totals
    print(f"{'total':28s} {'':7s} {'':9s} {t_pd:9.2f} {t_obj:9.2f} {t_cat:9.2f} "
          f"{t_pd / t_obj:6.2f} {t_pd / t_cat:6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
