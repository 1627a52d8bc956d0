"""Commands ``define`` (generate define.xml 2.1 + HTML for a folder of datasets) and
``define-check`` (validate any define.xml against the schema and the referential rules).
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from converter import console
from converter.errors import EXIT_FINDINGS, EXIT_OK, ConfigError


@click.command("define-check")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--schema-dir", type=click.Path(path_type=Path), default=None,
              help="Folder holding define2-1-0.xsd and its imports (default: "
                   "$CONVERTER_DEFINE_SCHEMAS, else the schemas bundled with odmlib).")
def define_check_cmd(files: tuple[Path, ...], schema_dir: Path | None) -> int:
    """Validate define.xml FILES against Define-XML 2.1 and the OID/order rules.

    Prints every problem as FILE:LINE: RULE: message. Exit 0 valid, 1 problems found,
    2 cannot run (unreadable file, no schema).
    """
    from converter.define.check import check_define, find_schemas

    source = find_schemas(schema_dir)
    console.debug(f"schema: {source.define_xsd} (from {source.origin})")
    total = 0
    for path in files:
        problems = check_define(path, schema_dir)
        total += len(problems)
        for line in problems:
            click.echo(line)
        console.info(f"{path}: {'valid' if not problems else f'{len(problems)} problem(s)'}")
    return EXIT_FINDINGS if total else EXIT_OK


def _load_study(study_dir: Path) -> object:
    try:
        from converter.mapping.study import load_study
    except ImportError:  # study model not available: read the few keys define needs
        import yaml
        path = study_dir / "study.yaml"
        if not path.is_file():
            raise ConfigError("study.yaml not found", file=str(path),
                              hint="--study must be a study folder holding study.yaml") from None
        with path.open(encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
        if not isinstance(data, dict):
            raise ConfigError("study.yaml is not a mapping", file=str(path)) from None
        return data
    return load_study(study_dir)


def _enrich_from_spec(datasets: dict, standard: str) -> None:
    """Datasets read from files carry labels/types/lengths only; add class, structure, keys,
    roles, cores, codelists and data types from the standard's spec where the file has none."""
    from converter.metadata.spec import load_spec

    spec = load_spec(standard)
    for name, ds in datasets.items():
        if not spec.has(name):
            continue
        ref = spec.dataset(name)
        meta = ds.meta
        meta.label = meta.label or ref.label
        meta.klass = meta.klass or ref.klass
        meta.structure = meta.structure or ref.structure
        meta.keys = meta.keys or [k for k in ref.keys if k in ds.data.columns]
        for vm in meta.variables:
            rv = ref.variable(vm.name)
            if rv is None:
                continue
            for attr in ("label", "role", "core", "codelist", "data_type", "format"):
                if not getattr(vm, attr):
                    setattr(vm, attr, getattr(rv, attr))


@click.command("define")
@click.argument("data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--standard", type=click.Choice(["sdtm", "adam"]), required=True)
@click.option("--study", "study_dir", type=click.Path(exists=True, file_okay=False,
                                                      path_type=Path), required=True,
              help="Study folder with study.yaml (study id, name, created, CT packages).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Output folder (default DATA_DIR/../define).")
@click.option("--stylesheet", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Also render with this XSLT (e.g. CDISC define2-1.xsl).")
def define_cmd(data_dir: Path, standard: str, study_dir: Path, out_dir: Path | None,
               stylesheet: Path | None) -> int:
    """Generate <standard>-define.xml and its HTML page for the datasets in DATA_DIR."""
    from converter.define.generate import write_define
    from converter.io.datasets import read_dataset_folder
    from converter.issues import IssueLog

    study = _load_study(study_dir)
    datasets = read_dataset_folder(data_dir)
    if not datasets:
        raise ConfigError("no datasets found", file=str(data_dir),
                          hint="DATA_DIR must hold .xpt/.json/.csv/.parquet datasets")
    from converter.define.generate import _study_value

    version = _study_value(study, f"{standard}ig_version")
    full = f"{'SDTMIG' if standard == 'sdtm' else 'ADaMIG'} " + str(
        version or ("3.3" if standard == "sdtm" else "1.1"))
    _enrich_from_spec(datasets, full)
    issues = IssueLog()
    out = out_dir or (data_dir.parent / "define")
    formats = sorted({p.suffix.lstrip(".").lower() for p in data_dir.iterdir()
                      if p.stem.upper() in datasets})
    dataset_format = "xpt" if "xpt" in formats else (formats[0] if formats else "xpt")
    paths = write_define(datasets, out, standard=full, study=study, issues=issues,
                         stylesheet=stylesheet, dataset_format=dataset_format,
                         dataset_dir=Path(os.path.relpath(data_dir, out)).as_posix())
    for p in paths:
        console.info(f"wrote {p}")
    df = issues.to_frame()
    for (rule, severity), group in df.groupby(["rule_id", "severity"], sort=True, observed=True):
        console.info(f"{severity}: {rule}: {len(group)} issue(s), e.g. "
                     f"{group['message'].iloc[0]}")
        for message in group["message"]:  # metadata issues: one per variable at most
            console.debug(f"  {message}")
    return EXIT_FINDINGS if issues.has_at_least("error") else EXIT_OK
