"""Run fuzz targets for a while: ``python -m fuzz [TARGET ...] --minutes N``.

Each round runs a target with a fresh random seed; the first failure is printed with hypothesis'
minimal reproducing example and the command exits 1. Targets: see ``fuzz.targets.TARGETS``.
"""

from __future__ import annotations

import argparse
import sys
import time

from hypothesis import HealthCheck, given, settings

from fuzz.targets import TARGETS


def run(name: str, examples: int, seconds: float) -> int:
    strategy, check = TARGETS[name]

    def prop(value) -> None:
        check(value)

    total = 0
    deadline = time.monotonic() + seconds
    while True:
        test = settings(max_examples=examples, deadline=None, database=None,
                        suppress_health_check=list(HealthCheck))(given(strategy)(prop))
        test()
        total += examples
        if time.monotonic() >= deadline:
            return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__)
    parser.add_argument("targets", nargs="*", default=sorted(TARGETS),
                        help=f"targets to run (default all): {', '.join(sorted(TARGETS))}")
    parser.add_argument("--minutes", type=float, default=1.0,
                        help="time per target (default 1)")
    parser.add_argument("--batch", type=int, default=500, help="examples per round")
    args = parser.parse_args(argv)
    unknown = [t for t in args.targets if t not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s) {unknown}; choose from {sorted(TARGETS)}")
    for name in args.targets:
        start = time.monotonic()
        try:
            n = run(name, args.batch, args.minutes * 60)
        except Exception as exc:  # noqa: BLE001 - report any failure of the property
            print(f"{name}: FAILED after {time.monotonic() - start:.0f}s", file=sys.stderr)
            subs = exc.exceptions if isinstance(exc, BaseExceptionGroup) else [exc]
            for sub in subs:
                notes = "\n  ".join(getattr(sub, "__notes__", []))
                print(f"- {type(sub).__name__}: {str(sub)[:2000]}\n  {notes}", file=sys.stderr)
            return 1
        print(f"{name}: {n} examples in {time.monotonic() - start:.0f}s, no failure")
    return 0


if __name__ == "__main__":
    sys.exit(main())
