"""Benchmark: raw central-lab CSV of a large MSC-INR-P2 export -> SDTM LB, engine vs pandas.

The export is generated with ``python -m converter simulate msc-inr-p2 --subjects N`` (10,000
randomised subjects by default, about 5 M lab rows). Four measurements, each in its own child
process (wall time, and peak resident memory from ``resource.getrusage``):

a. engine   -- ``run_sdtm`` on a copy of ``mappings/msc-inr-p2`` reduced to LB and what LB
               needs (DM for the reference dates, EX for RFSTDTC/RFXSTDTC, DS, SE for EPOCH):
               reading the raw files and mapping them to the LB frame, before any writing;
   pandas   -- a straightforward script doing the same steps: ``pd.read_csv``, USUBJID,
               CT recoding of the lab codes/units/specimen/flags by ``map`` from the study's
               synonym table, ``pd.to_datetime`` + ``strftime`` for LBDTC, visit numbers,
               RFSTDTC from the infusion log merged in for LBDY, the baseline flag, and
               ``groupby().cumcount()`` for LBSEQ;
b. the same, end to end to ``lb.xpt``: our engine + metadata stage + XPT writer, against the
   pandas script + ``pyreadstat.write_xport``.

Both sides read the same files in the same run; the ratios are pandas time / engine time
(goals: >= 3x for a, >= 5x for b).

    python benchmarks/bench_sdtm_lb.py                       # 10,000 subjects
    python benchmarks/bench_sdtm_lb.py --subjects 1000       # quicker
    python benchmarks/bench_sdtm_lb.py --raw DIR             # reuse a generated export
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STUDY = REPO / "mappings" / "msc-inr-p2"
KEEP_DOMAINS = ("lb", "dm", "ex", "ds", "se")


# --- children --------------------------------------------------------------------------------

def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _bench_study(tmp: Path) -> Path:
    """A copy of the msc-inr-p2 study holding only LB and the domains LB depends on."""
    import yaml

    study = tmp / "msc-inr-p2-lb"
    (study / "sdtm").mkdir(parents=True)
    (study / "ct").mkdir()
    (study / "study.yaml").write_text((STUDY / "study.yaml").read_text())
    (study / "ct" / "synonyms.csv").write_text((STUDY / "ct" / "synonyms.csv").read_text())
    for name in KEEP_DOMAINS:
        data = yaml.safe_load((STUDY / "sdtm" / f"{name}.yaml").read_text())
        if name == "dm":
            for step in data["steps"]:
                if step.get("algorithm") == "ref_date":
                    step["from"] = [s for s in step["from"]
                                    if s["domain"].lower() in KEEP_DOMAINS]
            supp = [s for s in data["steps"] if s.get("algorithm") == "supp"]
            drop = {q["variable"] for s in supp for q in s["qualifiers"]}
            data["steps"] = [s for s in data["steps"]
                             if s.get("algorithm") != "supp" and s.get("target") not in drop]
        (study / "sdtm" / f"{name}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    # every declared source must be read by some domain: drop the ones only other domains read
    from converter.errors import ConfigError
    from converter.mapping.study import load_study

    config = yaml.safe_load((STUDY / "study.yaml").read_text())
    config["raw_dir"] = str(STUDY / config["raw_dir"])
    while True:
        (study / "study.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        try:
            load_study(study)
            return study
        except ConfigError as exc:
            unread = {m.group(1) for p in getattr(exc, "problems", [exc])
                      if (m := re.search(r"source '([^']+)' is read by no domain", p.message))}
            if not unread:
                raise
            for src in unread:
                del config["sources"][src]


def child_engine(raw: Path, out: Path | None) -> dict:
    from converter.issues import IssueLog
    from converter.mapping.engine import run_sdtm
    from converter.mapping.study import load_study

    with tempfile.TemporaryDirectory() as tmp:
        study = load_study(_bench_study(Path(tmp)))
        issues = IssueLog()
        t0 = time.perf_counter()
        result = run_sdtm(study, raw, issues)
        lb = result.frames["LB"]
        t_map = time.perf_counter() - t0
        rows = len(lb)
        if out is None:
            return {"seconds": t_map, "rows": rows, "peak_mib": _peak_mib(),
                    "issues": len(issues)}
        from converter.io.xpt import write_xpt
        from converter.metadata import apply_metadata, load_spec

        dataset, _lineage = apply_metadata(lb, "LB", load_spec("SDTMIG 3.3"), issues)
        write_xpt(dataset, out / "lb.xpt", created=study.config.created, issues=issues)
        return {"seconds": time.perf_counter() - t0, "map_seconds": t_map, "rows": rows,
                "peak_mib": _peak_mib(), "bytes": (out / "lb.xpt").stat().st_size}


def _synonyms() -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {}
    with (STUDY / "ct" / "synonyms.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            table.setdefault(row["codelist"], {})[row["collected_value"]] = row[
                "submission_value"]
    return table


def pandas_lb(raw: Path):
    """The straightforward pandas version of the LB mapping (same steps as the engine)."""
    import numpy as np
    import pandas as pd

    syn = _synonyms()
    lab = pd.read_csv(raw / "lab_central.csv", dtype=str, keep_default_na=False,
                      na_values=[""])
    ex = pd.read_csv(raw / "ex.csv", dtype=str, keep_default_na=False, na_values=[""])
    lb = pd.DataFrame({"STUDYID": lab["STUDY"], "DOMAIN": "LB",
                       "USUBJID": lab["STUDY"] + "-" + lab["SUBJID"],
                       "LBREFID": lab["ACCESSION"]})
    lb["LBTESTCD"] = lab["TEST_CODE"].map(syn["LBTESTCD"])
    lb["LBTEST"] = lab["TEST_CODE"].map(syn["LBTEST"])
    lb["LBCAT"] = lab["PANEL"]
    lb["LBSPEC"] = lab["SPECIMEN"].map({**syn["SPECTYPE"], "SERUM": "SERUM"})
    units = {u: u for u in lab["UNIT"].dropna().unique()}
    units.update(syn["UNIT"])
    lb["LBORRES"] = lab["RESULT"]
    lb["LBORRESU"] = lab["UNIT"].map(units).str.replace("ratio", "RATIO")
    lb["LBORNRLO"] = lab["REF_LOW"]
    lb["LBORNRHI"] = lab["REF_HIGH"]
    lb["LBSTRESC"] = lab["RESULT"]
    lb["LBSTRESN"] = pd.to_numeric(lab["RESULT"], errors="coerce")
    lb["LBSTRESU"] = lb["LBORRESU"]
    lb["LBSTNRLO"] = pd.to_numeric(lab["REF_LOW"], errors="coerce")
    lb["LBSTNRHI"] = pd.to_numeric(lab["REF_HIGH"], errors="coerce")
    flag = lab["FLAG"].map(syn["NRIND"])
    normal = lab["RESULT"].notna() & lab["REF_LOW"].notna() & lab["REF_HIGH"].notna()
    lb["LBNRIND"] = flag.where(flag.notna(), np.where(normal, "NORMAL", None))
    done = lab["STATUS"].eq("NOT DONE")
    lb["LBSTAT"] = np.where(done, "NOT DONE", None)
    lb["LBREASND"] = lab["COMMENT"].where(done)
    when = pd.to_datetime(lab["COLL_DATE"] + " " + lab["COLL_TIME"], format="%Y-%m-%d %H:%M")
    lb["LBDTC"] = when.dt.strftime("%Y-%m-%dT%H:%M")
    visits = {"SCREEN": 1.0, "BASELINE": 2.0, **{f"WEEK {w}": float(i + 3) for i, w in
                                                 enumerate([4, 12, 24, 36, 48, 60, 72, 84, 96])}}
    names = {"SCREEN": "SCREENING", "BASELINE": "WEEK 0"}
    lb["VISITNUM"] = lab["VISIT"].map(visits)
    lb["VISIT"] = lab["VISIT"].map(names).fillna(lab["VISIT"])
    ex_when = pd.to_datetime(ex["EXSTDAT"] + " " + ex["EXSTTIM"], format="%d %b %Y %H:%M")
    first = (pd.DataFrame({"USUBJID": ex["Project"] + "-" + ex["Subject"], "ref": ex_when})
             .groupby("USUBJID", as_index=False)["ref"].min())
    lb = lb.merge(first, on="USUBJID", how="left")
    days = (when.dt.normalize() - lb["ref"].dt.normalize()).dt.days
    lb["LBDY"] = days + (days >= 0)
    cand = lb["LBSTRESC"].notna() & (when <= lb["ref"])
    last = (lb[cand].assign(_pos=np.flatnonzero(cand))
            .sort_values(["USUBJID", "LBTESTCD", "LBDTC"], kind="mergesort")
            .groupby(["USUBJID", "LBTESTCD"])["_pos"].last())
    lb["LBBLFL"] = None
    lb.loc[last.to_numpy(), "LBBLFL"] = "Y"
    lb = lb.drop(columns="ref")
    lb = lb.sort_values(["USUBJID", "LBDTC", "LBREFID", "LBTESTCD"], kind="mergesort")
    lb["LBSEQ"] = (lb.groupby("USUBJID").cumcount() + 1).astype(float)
    return lb.reset_index(drop=True)


def child_pandas(raw: Path, out: Path | None) -> dict:
    t0 = time.perf_counter()
    lb = pandas_lb(raw)
    t_map = time.perf_counter() - t0
    if out is None:
        return {"seconds": t_map, "rows": len(lb), "peak_mib": _peak_mib()}
    import pyreadstat

    text = lb.select_dtypes(exclude="number").columns
    lb[text] = lb[text].fillna("")
    pyreadstat.write_xport(lb, str(out / "lb_pandas.xpt"), table_name="LB",
                           file_format_version=5)
    return {"seconds": time.perf_counter() - t0, "map_seconds": t_map, "rows": len(lb),
            "peak_mib": _peak_mib(), "bytes": (out / "lb_pandas.xpt").stat().st_size}


# --- parent ----------------------------------------------------------------------------------

def _run_child(kind: str, raw: Path, out: Path | None) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--raw", str(raw)]
    if out is not None:
        cmd += ["--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=10_000)
    ap.add_argument("--raw", type=Path, help="an export generated before (skips simulate)")
    ap.add_argument("--parts", default="ab", help="a: LB frame, b: LB XPT (default: ab)")
    ap.add_argument("--child", choices=["engine", "pandas"], help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        sys.path.insert(0, str(REPO))
        fn = child_engine if args.child == "engine" else child_pandas
        print(json.dumps(fn(args.raw, args.out)))
        return

    with tempfile.TemporaryDirectory(prefix="bench_sdtm_lb_") as tmp:
        tmp = Path(tmp)
        raw = args.raw
        if raw is None:
            raw = tmp / "raw"
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "converter", "-q", "simulate", "msc-inr-p2",
                            "--out", str(raw), "--subjects", str(args.subjects)],
                           cwd=REPO, check=True)
            print(f"simulated {args.subjects:,} randomised subjects in "
                  f"{time.perf_counter() - t0:.1f} s")
        with (raw / "lab_central.csv").open("rb") as fh:
            n_lab = sum(1 for _ in fh) - 1
        print(f"lab_central.csv: {n_lab:,} rows ({(raw / 'lab_central.csv').stat().st_size / 1e6:,.0f} MB)"
              f"  [{datetime.now():%H:%M}]")

        if "a" in args.parts:
            eng = _run_child("engine", raw, None)
            pds = _run_child("pandas", raw, None)
            print(f"(a) raw -> LB frame: engine {eng['seconds']:.1f} s ({eng['rows']:,} rows, "
                  f"peak {eng['peak_mib']:,.0f} MiB); pandas {pds['seconds']:.1f} s "
                  f"({pds['rows']:,} rows, peak {pds['peak_mib']:,.0f} MiB); "
                  f"speed-up {pds['seconds'] / eng['seconds']:.2f}x (goal >= 3x)", flush=True)
        if "b" in args.parts:
            out = tmp / "out"
            out.mkdir()
            eng_x = _run_child("engine", raw, out)
            pds_x = _run_child("pandas", raw, out)
            print(f"(b) raw -> lb.xpt:    engine {eng_x['seconds']:.1f} s "
                  f"({eng_x['bytes'] / 1e6:,.0f} MB, peak {eng_x['peak_mib']:,.0f} MiB); "
                  f"pandas+pyreadstat {pds_x['seconds']:.1f} s ({pds_x['bytes'] / 1e6:,.0f} MB, "
                  f"peak {pds_x['peak_mib']:,.0f} MiB); "
                  f"speed-up {pds_x['seconds'] / eng_x['seconds']:.2f}x (goal >= 5x)", flush=True)


if __name__ == "__main__":
    main()
