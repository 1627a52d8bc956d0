"""``python -m converter derive STUDY --sdtm DIR --out OUT``: ADaM from any SDTM folder.

Reads XPT, Dataset-JSON, NDJSON, Parquet, SAS7BDAT or CSV (also .csv.gz) SDTM datasets,
derives the datasets declared in ``STUDY/adam/*.yaml``, finishes each through the metadata
stage (ADaMIG spec) and writes ``OUT/adam/<dataset>.xpt`` and ``.json``; Kaplan–Meier tables,
log-rank tests and plots go to ``OUT/results/``; the issue log to ``OUT/adam/issues.csv``.
Exit 0 clean, 1 issues at or above ``--fail-on``, 2 configuration or input errors.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from converter import console
from converter.errors import EXIT_FINDINGS, EXIT_OK, ConfigError


def _study_settings(study_dir: Path) -> tuple[object, dict]:
    """The study object (for derive_adam) and the few settings the command needs."""
    from converter.mapping.study import load_study

    study = load_study(study_dir)
    cfg = study.config
    settings = {
        "study_id": cfg.study_id,
        "created": cfg.created,
        "adamig": f"ADaMIG {getattr(cfg, 'adamig_version', '1.1')}",
        "sdtmig": f"SDTMIG {getattr(cfg, 'sdtmig_version', '3.3')}",
        "formats": list(getattr(getattr(cfg, "output", None), "formats", None) or ["xpt", "json"]),
        "overrides": getattr(study, "spec_overrides", None),
    }
    return study, settings


def derive_study(study_dir: Path, sdtm_dir: Path, out_dir: Path, *,
                 formats: list[str] | None = None):
    """Library form of the command; returns (AdamResult, IssueLog, written paths)."""
    from converter.adam import derive_adam
    from converter.io.datasetjson import write_dataset_json
    from converter.io.datasets import read_dataset_folder
    from converter.io.xpt import write_xpt
    from converter.issues import IssueLog
    from converter.metadata import apply_metadata, load_spec

    study, st = _study_settings(study_dir)
    created: datetime = st["created"]
    formats = formats or st["formats"]
    issues = IssueLog(getattr(getattr(study, "config", None), "severity_overrides", None))
    datasets = read_dataset_folder(sdtm_dir)
    if not datasets:
        raise ConfigError("no SDTM datasets (xpt, json, ndjson, parquet, sas7bdat, csv, csv.gz) "
                          "found", file=str(sdtm_dir), hint="point --sdtm at the SDTM folder")
    result = derive_adam(study, {k: v.data for k, v in datasets.items()}, issues,
                         out_dir=out_dir / "results")
    spec = load_spec(st["adamig"])
    sdtm_spec = load_spec(st["sdtmig"])
    written: list[Path] = []
    for name in sorted(result.frames):
        ds, _lineage = apply_metadata(result.frames[name], name, spec, issues,
                                      overrides=st["overrides"],
                                      origins=result.origins.get(name),
                                      predecessors=sdtm_spec)
        stem = name.lower()
        if "xpt" in formats:
            written += write_xpt(ds, out_dir / "adam" / f"{stem}.xpt", created=created,
                                 issues=issues)
        if "json" in formats or "ndjson" in formats:
            fmt = "json" if "json" in formats else "ndjson"
            written.append(write_dataset_json(
                ds, out_dir / "adam" / f"{stem}.{fmt}", created=created,
                study_oid=st["study_id"], metadata_version_oid=f"MDV.{st['study_id']}", fmt=fmt))
    from converter.atomic import atomic_write_text

    atomic_write_text(out_dir / "adam" / "issues.csv",
                      issues.to_frame().to_csv(index=False, lineterminator="\n"))
    return result, issues, written


@click.command("derive")
@click.argument("study_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--sdtm", "sdtm_dir", required=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder of SDTM datasets (XPT, Dataset-JSON, CSV, .csv.gz …).")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Output folder: adam/ and results/ are written inside.")
@click.option("--format", "formats", multiple=True, type=click.Choice(["xpt", "json", "ndjson"]),
              help="Output formats (default: the study's output.formats).")
@click.option("--fail-on", type=click.Choice(["error", "warning", "notice", "never"]),
              default="error", show_default=True,
              help="Exit 1 when the issue log holds issues of this severity or above.")
def derive_cmd(study_dir: Path, sdtm_dir: Path, out_dir: Path, formats: tuple[str, ...],
               fail_on: str) -> int:
    """Derive a study's ADaM datasets (declared in STUDY_DIR/adam/*.yaml) from an SDTM folder."""
    result, issues, written = derive_study(study_dir, sdtm_dir, out_dir,
                                           formats=list(formats) or None)
    counts = issues.counts()
    for name in sorted(result.frames):
        console.info(f"{name}: {len(result.frames[name])} records")
    for key, table in sorted(result.tables.items()):
        if key.endswith("_logrank"):
            for row in table.itertuples():
                console.info(f"{row.PARAMCD} log-rank {row.comparison}: P = {row.p_value:.4f}")
    console.info(f"wrote {len(written)} dataset files to {out_dir / 'adam'}, "
                 f"{len(result.figures)} figures to {out_dir / 'results'}; issues: "
                 + ", ".join(f"{k} {v}" for k, v in counts.items()))
    if fail_on != "never" and issues.has_at_least(fail_on):
        return EXIT_FINDINGS
    return EXIT_OK
