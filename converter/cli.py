"""Command-line interface: ``python -m converter`` or ``cdisc-convert``.

Exit codes are an interface: 0 clean, 1 ran and found problems at or above the threshold,
2 could not run (bad arguments, configuration or unreadable input). Subcommands live beside the
stage they drive and are imported only when called, so ``--help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys

import click

from converter import __version__, console
from converter.errors import EXIT_CANNOT_RUN, ConverterError

# command name -> "module:attribute"; each module owns its command.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("converter.pipeline", "Run the whole job: raw export -> SDTM -> ADaM -> define.xml -> validation."),
    "check": ("converter.mapping.cli", "Lint a study's mapping files without reading data."),
    "simulate": ("converter.simulate.cli", "Generate the synthetic raw export of a seed study."),
    "convert": ("converter.io.convert", "Convert one dataset between XPT, Dataset-JSON, CSV and Parquet."),
    "derive": ("converter.adam.cli", "Derive a study's ADaM datasets from an SDTM folder."),
    "validate": ("converter.validate.cli", "Validate a folder of datasets and write reports (CI gate)."),
    "define": ("converter.define.cli", "Generate define.xml 2.1 for a folder of datasets."),
    "define-check": ("converter.define.cli", "Validate a define.xml against the schema and OID rules."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module_name, _ = COMMANDS[name]
        module = importlib.import_module(module_name)
        attr = name.replace("-", "_") + "_cmd"
        return getattr(module, attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in sorted(COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cdisc-convert")
@click.option("-q", "--quiet", is_flag=True, help="Print errors only.")
@click.option("-v", "--verbose", is_flag=True, help="Print details of every stage.")
def cli(quiet: bool, verbose: bool) -> None:
    """Turn raw clinical-trial exports into CDISC SDTM and ADaM submission datasets.

    Exit codes: 0 clean, 1 findings at or above the threshold, 2 could not run.
    """
    console.set_verbosity(0 if quiet else (2 if verbose else 1))


def main(argv: list[str] | None = None) -> None:
    """Entry point; turns converter errors into one located line and exit code 2."""
    try:
        rc = cli.main(args=argv, prog_name="cdisc-convert", standalone_mode=False)
    except click.exceptions.Abort:
        console.error("aborted")
        sys.exit(EXIT_CANNOT_RUN)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_CANNOT_RUN)
    except ConverterError as exc:
        console.error(exc.one_line())
        sys.exit(exc.exit_code)
    sys.exit(rc if isinstance(rc, int) else 0)
