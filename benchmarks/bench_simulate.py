"""Time the MSC-INR-P2 simulator at scale and print lab rows and seconds.

Usage: python benchmarks/bench_simulate.py [--subjects 10000] [--out DIR]

The baseline is the default 72-subject study measured in the same run, so the printed ratio
(seconds per randomised subject at scale / at 72) shows how the generator scales.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from converter.simulate import simulate


def _lab_rows(folder: Path) -> int:
    with open(folder / "lab_central.csv", "rb") as fh:
        return sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 24), b"")) - 1


def _run(n: int, out: Path) -> tuple[float, int]:
    start = time.perf_counter()
    simulate("msc-inr-p2", out, subjects=n)
    return time.perf_counter() - start, _lab_rows(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        big = args.out or Path(tmp) / "big"
        t0, rows0 = _run(72, base)
        t1, rows1 = _run(args.subjects, big)
    print(f"baseline   72 subjects: {rows0:>10,} lab rows in {t0:7.2f} s")
    print(f"scaled {args.subjects:>5} subjects: {rows1:>10,} lab rows in {t1:7.2f} s "
          f"({rows1 / t1:,.0f} lab rows/s)")
    print(f"seconds per subject, scaled / baseline: {(t1 / args.subjects) / (t0 / 72):.2f}")


if __name__ == "__main__":
    main()
