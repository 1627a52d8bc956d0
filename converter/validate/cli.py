"""``validate`` command: the CI gate.

    python -m converter validate DIR [--define FILE] [--spec STANDARD] [--study mappings/<study>]
        [--waivers FILE] [--out REPORTDIR] [--fail-on error|warning|notice]

Exit codes: 0 no open finding at or above the threshold, 1 findings (or a rule that could not
execute), 2 could not run (bad arguments, unreadable folder, broken waivers/define/study).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import click

from converter import console
from converter.errors import ConfigError, InputError
from converter.issues import IssueLog


def _specs(standards: tuple[str, ...], names: list[str], study) -> list:
    from converter.metadata import load_spec
    from converter.validate.context import standard_of

    if standards:
        return [load_spec(s) for s in standards]
    sdtmig = study.config.sdtmig_version if study is not None else "3.3"
    adamig = study.config.adamig_version if study is not None else "1.1"
    wanted = []
    if any(standard_of(n) == "SDTM" for n in names):
        wanted.append(f"SDTMIG {sdtmig}")
    if any(standard_of(n) == "ADaM" for n in names):
        wanted.append(f"ADaMIG {adamig}")
    return [load_spec(s) for s in wanted]


@click.command("validate")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--define", "define_path", type=click.Path(path_type=Path),
              help="define.xml to check the datasets against.")
@click.option("--spec", "standards", multiple=True, metavar="STANDARD",
              help='Spec to validate against, e.g. "SDTMIG 3.3" or "ADaMIG 1.1" (repeatable; '
                   "default: chosen from the dataset names and the study config).")
@click.option("--study", "study_dir", type=click.Path(path_type=Path),
              help="Study folder (mappings/<study>): CT package, severity overrides, waivers.")
@click.option("--ct", "ct_package", metavar="PACKAGE",
              help="CT package (default: the study's ct_package, else sdtmct-2015-12-18).")
@click.option("--waivers", "waivers_path", type=click.Path(path_type=Path),
              help="Waivers YAML (default: <study>/waivers.yaml when present).")
@click.option("--rules", "rule_files", multiple=True, type=click.Path(path_type=Path),
              help="Rule YAML file(s) to run instead of the shipped catalogue.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("validation"),
              show_default=True, help="Folder for report.xlsx/.html/.json and junit.xml.")
@click.option("--fail-on", type=click.Choice(["error", "warning", "notice"]), default="error",
              show_default=True, help="Lowest severity that fails the gate.")
@click.option("--title", help="Report title (default: the study id or the folder name).")
def validate_cmd(directory: Path, define_path: Path | None, standards: tuple[str, ...],
                 study_dir: Path | None, ct_package: str | None, waivers_path: Path | None,
                 rule_files: tuple[Path, ...], out_dir: Path, fail_on: str,
                 title: str | None) -> int:
    """Validate a folder of SDTM/ADaM datasets and write the reports (a CI gate)."""
    from converter.ct import load_ct
    from converter.report import write_reports
    from converter.validate.loading import read_folder
    from converter.validate.rules import load_rules
    from converter.validate.runner import validate
    from converter.validate.waivers import load_waivers

    study = None
    if study_dir is not None:
        if not (study_dir / "study.yaml").is_file():
            raise ConfigError("no study.yaml in the study folder", file=str(study_dir),
                              key="--study", hint="pass mappings/<study>")
        from converter.mapping.study import load_study
        study = load_study(study_dir)
    if define_path is not None and not define_path.is_file():
        raise InputError("define.xml not found", file=str(define_path), key="--define")
    if waivers_path is None and study is not None and (study_dir / "waivers.yaml").is_file():
        waivers_path = study_dir / "waivers.yaml"
    if waivers_path is not None and not waivers_path.is_file():
        raise InputError("waivers file not found", file=str(waivers_path), key="--waivers")
    waivers = load_waivers(waivers_path) if waivers_path is not None else []
    rules = load_rules(list(rule_files)) if rule_files else load_rules()
    package = ct_package or (study.config.ct_package if study is not None
                             else "sdtmct-2015-12-18")
    ct = load_ct(package)

    # pandas FutureWarnings from concatenating all-empty issue columns are noise for users
    warnings.filterwarnings("ignore", category=FutureWarning, module="converter")
    datasets = read_folder(directory)
    specs = _specs(standards, list(datasets), study)
    overrides = study.config.severity_overrides if study is not None else {}
    issues = IssueLog(severity_overrides=overrides)
    console.info(f"validating {len(datasets)} dataset(s) in {directory} with {len(rules)} rules")
    with console.progress("validating", total=len(datasets)) as advance:
        result = validate(datasets, spec=specs, ct=ct, issues=issues, define_path=define_path,
                          waivers=waivers, rules=rules, progress=advance)
    created = study.config.created.isoformat() if study is not None else None
    name = title or (study.config.study_id if study is not None else directory.resolve().name)
    paths = write_reports(issues, result, out_dir, title=f"Validation report: {name}",
                          fail_on=fail_on, created=created)
    table = result.issues_with_waivers(issues)
    open_ = table[table["waived"].isna()]
    counts = {s: int((open_["severity"] == s).sum()) for s in ("error", "warning", "notice")}
    states = result.rules["state"].value_counts().to_dict()
    console.info(f"rules: {states.get('passed', 0)} passed, {states.get('issues_found', 0)} "
                 f"with issues, {states.get('skipped', 0)} skipped, "
                 f"{states.get('execution_error', 0)} execution errors")
    console.info(f"open findings: {counts['error']} errors, {counts['warning']} warnings, "
                 f"{counts['notice']} notices; {int(table['waived'].notna().sum())} waived")
    for rule in result.rules[result.rules["state"] == "execution_error"].itertuples():
        console.error(f"rule {rule.rule_id} could not execute: {rule.reason}")
    console.info(f"reports: {', '.join(str(p) for p in paths)}")
    return result.exit_code(issues, fail_on)
