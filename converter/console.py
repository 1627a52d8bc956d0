"""Console output shared by every command: quiet/verbose levels and rich progress bars."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

_state = {"verbosity": 1}
err_console = Console(stderr=True, highlight=False)


def set_verbosity(level: int) -> None:
    """0 = quiet (errors only), 1 = normal, 2 = verbose."""
    _state["verbosity"] = level


def verbosity() -> int:
    return _state["verbosity"]


def info(message: str) -> None:
    if _state["verbosity"] >= 1:
        err_console.print(message)


def debug(message: str) -> None:
    if _state["verbosity"] >= 2:
        err_console.print(f"[dim]{message}[/dim]")


def error(message: str) -> None:
    # The message is data (file names, bad values): never markup, never wrapped, one line.
    err_console.print(f"[bold red]error:[/bold red] {escape(message)}", markup=True,
                      soft_wrap=True)


@contextlib.contextmanager
def progress(description: str, total: int | None = None) -> Iterator[callable]:
    """A progress bar on stderr; yields ``advance(n=1, description=None)``.

    Quiet mode and non-terminals show nothing (CI logs stay readable).
    """
    show = _state["verbosity"] >= 1 and sys.stderr.isatty()
    if not show:
        def advance(n: int = 1, description: str | None = None) -> None:
            if description and _state["verbosity"] >= 1:
                err_console.print(f"  {description}")
        yield advance
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err_console, transient=False) as bar:
        task = bar.add_task(description, total=total)

        def advance(n: int = 1, description: str | None = None) -> None:
            bar.update(task, advance=n, description=description or bar.tasks[task].description)
        yield advance
