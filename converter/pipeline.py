"""The main job: raw export -> SDTM -> ADaM -> define.xml -> validation reports.

Everything is built in a staging folder inside OUT and moved into place only when the whole run
succeeded, so a run that dies midway leaves the previous complete output (or none).
``OUT/run-status.json`` is written first with ``"finished": false`` and rewritten at the very end;
a reader that finds ``false`` knows the run did not finish.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import click
import pandas as pd

from converter import __version__, console
from converter.atomic import atomic_write_bytes, atomic_write_text
from converter.errors import EXIT_OK, ConfigError
from converter.issues import SEVERITY_RANK, IssueLog

OUTPUT_PARTS = ("sdtm", "adam", "define", "validation", "results", "lineage")
STAGES = ("read + map SDTM", "SDTM metadata + write", "derive ADaM", "ADaM metadata + write",
          "define.xml", "validation + reports")


@dataclass
class RunSummary:
    out: Path
    issues: IssueLog
    datasets: dict[str, list[str]] = field(default_factory=dict)
    rules: pd.DataFrame | None = None
    reconciliation: pd.DataFrame | None = None
    issue_table: pd.DataFrame | None = None     # the issue log with a ``waived`` column

    def counts(self) -> dict[str, dict[str, int]]:
        """Open and waived issues per severity (waived findings are shown, not hidden)."""
        table = self.issue_table if self.issue_table is not None else self.issues.to_frame()
        waived = table["waived"].notna() if "waived" in table.columns else \
            pd.Series(False, index=table.index)
        return {sev: {"open": int(((table["severity"] == sev) & ~waived).sum()),
                      "waived": int(((table["severity"] == sev) & waived).sum())}
                for sev in SEVERITY_RANK}

    def exit_code(self, fail_on: str) -> int:
        """1 when an open issue is at or above ``fail_on`` or a rule could not execute."""
        from converter.validate.runner import gate_exit_code

        if fail_on == "never":
            return EXIT_OK
        table = self.issue_table if self.issue_table is not None else self.issues.to_frame()
        return gate_exit_code(table, self.rules, fail_on)


def _status(out: Path, finished: bool, **extra: object) -> None:
    payload = {"tool": "cdisc-converter", "version": __version__, "finished": finished, **extra}
    atomic_write_text(out / "run-status.json", json.dumps(payload, indent=2, sort_keys=True) + "\n")


def _write_datasets(datasets: dict, folder: Path, *, formats: list[str], created: datetime,
                    study_oid: str, issues: IssueLog) -> list[str]:
    from converter.io.datasetjson import write_dataset_json
    from converter.io.xpt import write_xpt

    written = []
    for name in sorted(datasets):
        ds = datasets[name]
        stem = name.lower()
        if "xpt" in formats:
            write_xpt(ds, folder / f"{stem}.xpt", created=created, issues=issues)
        if "json" in formats:
            write_dataset_json(ds, folder / f"{stem}.json", created=created, study_oid=study_oid,
                               metadata_version_oid=f"MDV.{study_oid}", fmt="json")
        if "ndjson" in formats:
            write_dataset_json(ds, folder / f"{stem}.ndjson", created=created,
                               study_oid=study_oid, metadata_version_oid=f"MDV.{study_oid}",
                               fmt="ndjson")
        written.append(name)
    return written


def _finish_metadata(frames: dict[str, pd.DataFrame], spec, issues: IssueLog, *,
                     origins: dict, overrides=None, predecessors=None
                     ) -> tuple[dict, pd.DataFrame]:
    from converter.metadata import apply_metadata

    datasets, lineage = {}, []
    for name in sorted(frames):
        ds, lin = apply_metadata(frames[name], name, spec, issues, overrides=overrides,
                                 origins=origins.get(name), predecessors=predecessors)
        datasets[ds.name] = ds
        if lin is not None and len(lin):
            lineage.append(lin.astype(object))
    lineage_df = pd.concat(lineage, ignore_index=True) if lineage else pd.DataFrame()
    return datasets, lineage_df


def _recover_interrupted_swap(out: Path) -> None:
    """Undo a swap that was killed halfway, restoring the previous complete output.

    ``_swap_into_place`` writes ``.previous/manifest.json`` (the parts OUT had before) before
    it moves anything; if that folder is still there at the next start, the swap did not
    finish: every part is removed from OUT and the previous ones are put back.
    """
    previous = out / ".previous"
    manifest = previous / "manifest.json"
    if not previous.is_dir():
        return
    if manifest.is_file():
        had = json.loads(manifest.read_text(encoding="utf-8"))["parts"]
        for part in OUTPUT_PARTS:
            target = out / part
            if (previous / part).exists() or part not in had:
                shutil.rmtree(target, ignore_errors=True)
            if (previous / part).exists():
                os.replace(previous / part, target)
        for extra in ("run-report.json",):
            if (previous / extra).exists():
                os.replace(previous / extra, out / extra)
    shutil.rmtree(previous, ignore_errors=True)


def _swap_into_place(stage: Path, out: Path) -> None:
    """Replace OUT/<part> folders by the staged ones; old copies are removed afterwards.

    A manifest of the old parts is written first, so that a kill between the renames can be
    undone by ``_recover_interrupted_swap`` at the next start (run-status.json still says
    ``finished: false`` in that window).
    """
    previous = out / ".previous"
    shutil.rmtree(previous, ignore_errors=True)
    previous.mkdir()
    had = [part for part in OUTPUT_PARTS if (out / part).exists()]
    atomic_write_text(previous / "manifest.json", json.dumps({"parts": had}) + "\n")
    for part in had:
        os.replace(out / part, previous / part)
    if (out / "run-report.json").exists():
        os.replace(out / "run-report.json", previous / "run-report.json")
    for part in OUTPUT_PARTS:
        if (stage / part).exists():
            os.replace(stage / part, out / part)
    for extra in ("run-report.json",):
        if (stage / extra).exists():
            os.replace(stage / extra, out / extra)
    shutil.rmtree(previous, ignore_errors=True)
    shutil.rmtree(stage, ignore_errors=True)


def run_study(study_dir: Path, out: Path, *, raw_dir: Path | None = None,
              formats: list[str] | None = None, fail_on: str | None = None) -> RunSummary:
    """Run every stage for one study; returns the summary (exit code decided by the caller)."""
    from converter.mapping.study import load_study

    study = load_study(study_dir)           # configuration errors stop here (exit 2)
    cfg = study.config
    raw = Path(raw_dir) if raw_dir else study.raw_dir
    if not raw.is_dir():
        raise ConfigError(f"raw folder '{raw}' does not exist", key="raw_dir",
                          hint="pass --raw DIR or set raw_dir in study.yaml")
    formats = formats or list(cfg.output.formats)
    created = cfg.created
    issues = IssueLog(cfg.severity_overrides)

    out.mkdir(parents=True, exist_ok=True)
    _recover_interrupted_swap(out)
    _status(out, False, study=cfg.study_id, stage="starting")
    for stale in out.glob(".staging-*"):    # left by a run that was killed
        shutil.rmtree(stale, ignore_errors=True)
    stage = out / f".staging-{os.getpid()}"
    stage.mkdir()
    try:
        summary = _run_stages(study, raw, stage, out, formats=formats, created=created,
                              issues=issues)
    except BaseException as exc:
        shutil.rmtree(stage, ignore_errors=True)
        _status(out, False, study=cfg.study_id, stage="failed",
                error=getattr(exc, "message", None) or type(exc).__name__)
        raise
    _swap_into_place(stage, out)
    _status(out, True, study=cfg.study_id, stage="finished", issues_by_severity=summary.counts())
    return summary


def _run_stages(study, raw: Path, stage: Path, out: Path, *, formats: list[str],
                created: datetime, issues: IssueLog) -> RunSummary:
    from converter.adam import derive_adam
    from converter.ct import load_ct
    from converter.define import write_define
    from converter.mapping.engine import run_sdtm
    from converter.metadata import load_spec
    from converter.report import write_reports
    from converter.validate import validate

    cfg = study.config
    summary = RunSummary(out=out, issues=issues)

    with console.progress(f"{cfg.study_id}", total=len(STAGES)) as advance:
        advance(0, description=f"{cfg.study_id}: {STAGES[0]}")
        sdtm = run_sdtm(study, raw, issues)
        summary.reconciliation = sdtm.reconciliation
        advance(1, description=f"{cfg.study_id}: {STAGES[1]}")

        sdtm_spec = load_spec(f"SDTMIG {cfg.sdtmig_version}", study.spec_overrides)
        # the study's spec overrides are in the loaded specs, for metadata and validation alike
        sdtm_sets, sdtm_lineage = _finish_metadata(sdtm.frames, sdtm_spec, issues,
                                                   origins=sdtm.origins)
        summary.datasets["sdtm"] = _write_datasets(sdtm_sets, stage / "sdtm", formats=formats,
                                                   created=created, study_oid=cfg.study_id,
                                                   issues=issues)
        advance(1, description=f"{cfg.study_id}: {STAGES[2]}")

        adam = derive_adam(study, {k: v.data for k, v in sdtm_sets.items()}, issues,
                           out_dir=stage / "results", missing_sdtm="skip")
        advance(1, description=f"{cfg.study_id}: {STAGES[3]}")
        adam_spec = load_spec(f"ADaMIG {cfg.adamig_version}", study.spec_overrides)
        adam_sets, _ = _finish_metadata(adam.frames, adam_spec, issues, origins=adam.origins,
                                        predecessors=sdtm_spec)
        summary.datasets["adam"] = _write_datasets(adam_sets, stage / "adam", formats=formats,
                                                   created=created, study_oid=cfg.study_id,
                                                   issues=issues)
        advance(1, description=f"{cfg.study_id}: {STAGES[4]}")

        ct = load_ct(cfg.ct_package)
        adam_ct = load_ct(cfg.adam_ct_package) if cfg.adam_ct_package else ct
        define_options = {}
        acrf = getattr(study, "acrf_path", None)
        if acrf is not None:    # the define links the annotated CRF beside itself
            (stage / "define").mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(stage / "define" / acrf.name, acrf.read_bytes())
            define_options["acrf"] = acrf.name
        define_paths = write_define(sdtm_sets, stage / "define", standard="SDTM", study=study,
                                    ct=ct, created=created, issues=issues, **define_options)
        write_define(adam_sets, stage / "define", standard="ADaM", study=study, ct=adam_ct,
                     created=created, issues=issues)
        advance(1, description=f"{cfg.study_id}: {STAGES[5]}")

        sdtm_define = next((p for p in define_paths if p.suffix == ".xml"), None)
        result_sdtm = validate(sdtm_sets, spec=sdtm_spec, ct=ct, issues=issues,
                               define_path=sdtm_define, waivers=study.waivers_path)
        result_adam = validate(adam_sets, spec=adam_spec, ct=adam_ct, issues=issues,
                               waivers=study.waivers_path)
        rules = pd.concat([result_sdtm.rules.assign(standard="SDTM"),
                           result_adam.rules.assign(standard="ADaM")], ignore_index=True)
        summary.rules = rules
        summary.issue_table = result_sdtm.issues_with_waivers(issues)
        write_reports(issues, rules, stage / "validation",
                      title=f"{cfg.study_id} conversion and validation report",
                      figures=list(adam.figures), created=created.isoformat())
        advance(1)

    # lineage: every output row back to its raw file and row; reconciliation per source file
    lineage_dir = stage / "lineage"
    lineage_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(lineage_dir / "lineage.csv", sdtm_lineage.to_csv(index=False))
    atomic_write_text(lineage_dir / "reconciliation.csv",
                      sdtm.reconciliation.to_csv(index=False))
    counts = summary.counts()
    report = {
        "study": cfg.study_id, "tool_version": __version__, "created": created.isoformat(),
        "datasets": summary.datasets, "issues_by_severity": counts,
        "reconciliation": json.loads(sdtm.reconciliation.to_json(orient="records")),
        "rules_by_state": {str(k): int(v) for k, v in
                           rules["state"].value_counts().sort_index().items()},
    }
    atomic_write_text(stage / "run-report.json", json.dumps(report, indent=2, sort_keys=True)
                      + "\n")
    return summary


@click.command("run")
@click.argument("study_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--raw", "raw_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Raw export folder (default: raw_dir of study.yaml).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (sdtm/, adam/, define/, validation/, results/, lineage/).")
@click.option("--format", "formats", multiple=True, type=click.Choice(["xpt", "json", "ndjson"]),
              help="Dataset formats to write (repeatable; default from study.yaml).")
@click.option("--fail-on", type=click.Choice(["error", "warning", "never"]), default="never",
              show_default=True, help="Exit 1 when issues at or above this severity remain.")
def run_cmd(study_dir: Path, raw_dir: Path | None, out_dir: Path, formats: tuple[str, ...],
            fail_on: str) -> int:
    """Run the whole job for the study whose mappings are in STUDY_DIR."""
    summary = run_study(study_dir, out_dir, raw_dir=raw_dir, formats=list(formats) or None)
    counts = summary.counts()
    console.info(f"wrote {out_dir}: SDTM {', '.join(summary.datasets.get('sdtm', []))}; "
                 f"ADaM {', '.join(summary.datasets.get('adam', []))}")
    console.info("open issues: " + ", ".join(
        f"{counts[s]['open']} {s}" for s in ("error", "warning", "notice"))
        + f" ({sum(c['waived'] for c in counts.values())} waived) — see "
        + str(out_dir / "validation" / "report.html"))
    return summary.exit_code(fail_on)


__all__ = ["SEVERITY_RANK", "run_cmd", "run_study"]
