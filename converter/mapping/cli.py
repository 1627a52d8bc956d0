"""``python -m converter check mappings/<study>``: lint a study's configuration without data.

Prints one located line per problem (``file:line, key 'x': message (hint: ...)``) and exits 2
when there is any, 0 when the study is clean.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from converter import console
from converter.errors import EXIT_CANNOT_RUN, ConfigError


def check_study(study_dir: str | Path) -> list[ConfigError]:
    """Every configuration problem of a study folder (empty list when clean)."""
    from converter.mapping.base import ConfigProblems
    from converter.mapping.study import load_study

    try:
        load_study(study_dir)
    except ConfigProblems as exc:
        return list(exc.problems)
    except ConfigError as exc:
        return [exc]
    return []


@click.command("check")
@click.argument("study_dir", type=click.Path(file_okay=False, path_type=Path))
def check_cmd(study_dir: Path) -> None:
    """Lint a study's mapping files (study.yaml, sdtm/*.yaml, CT synonyms) without reading data."""
    problems = check_study(study_dir)
    for p in problems:
        # plain echo: a located problem stays on one line whatever the terminal width
        click.echo(f"error: {p.one_line()}", err=True)
    if problems:
        console.info(f"{len(problems)} problem(s) in {study_dir}")
        sys.exit(EXIT_CANNOT_RUN)
    console.info(f"{study_dir}: mappings are valid")
