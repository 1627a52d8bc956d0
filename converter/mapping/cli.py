"""``python -m converter check mappings/<study>``: lint a study's configuration without data.

Prints one located line per problem (``file:line, key 'x': message (hint: ...)``) and exits 2
when there is any, 0 when the study is clean.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from converter import console
from converter.errors import EXIT_CANNOT_RUN, ConfigError, ConverterError


def check_study(study_dir: str | Path, raw_dir: str | Path | None = None) -> list[ConfigError]:
    """Every configuration problem of a study folder (empty list when clean).

    With ``raw_dir`` the raw sources are also read and every raw column the mappings name is
    checked against their headers (no value is mapped).
    """
    from converter.mapping.base import ConfigProblems
    from converter.mapping.study import load_study

    try:
        study = load_study(study_dir)
        if raw_dir is not None:
            from converter.mapping.engine import check_sources
            check_sources(study, raw_dir)
    except ConfigProblems as exc:
        return list(exc.problems)
    except ConverterError as exc:
        return [exc]
    return []


@click.command("check")
@click.argument("study_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--raw", "raw_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Also read the raw sources and check the columns mappings name.")
def check_cmd(study_dir: Path, raw_dir: Path | None) -> None:
    """Lint a study's mapping files (study.yaml, sdtm/*.yaml, CT synonyms) without mapping data."""
    problems = check_study(study_dir, raw_dir)
    for p in problems:
        # plain echo: a located problem stays on one line whatever the terminal width
        click.echo(f"error: {p.one_line()}", err=True)
    if problems:
        console.info(f"{len(problems)} problem(s) in {study_dir}")
        sys.exit(EXIT_CANNOT_RUN)
    console.info(f"{study_dir}: mappings are valid")
