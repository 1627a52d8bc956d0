"""Typed errors. Configuration mistakes stop a run (exit 2); data problems go to the issue log.

Each error carries where it happened (file, line, key) so the CLI can print one located line.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_CANNOT_RUN = 2


@dataclass
class Location:
    """Where a configuration or input problem was found."""

    file: str | None = None
    line: int | None = None
    key: str | None = None

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file if self.line is None else f"{self.file}:{self.line}")
        if self.key:
            parts.append(f"key '{self.key}'")
        return ", ".join(parts)


class ConverterError(Exception):
    """Base class: every error the converter raises on purpose."""

    exit_code = EXIT_CANNOT_RUN

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 key: str | None = None, hint: str | None = None):
        self.message = message
        self.location = Location(file, line, key)
        self.hint = hint
        super().__init__(self.one_line())

    def one_line(self) -> str:
        loc = str(self.location)
        text = f"{loc}: {self.message}" if loc else self.message
        if self.hint:
            text += f" (hint: {self.hint})"
        # A bad value or a library message may hold line breaks; the error stays one line.
        return text.replace("\r", "\\r").replace("\n", "\\n")


class ConfigError(ConverterError):
    """A mapping, spec, study config or command-line mistake: the run cannot start."""


class InputError(ConverterError):
    """An input file cannot be read at all (not a row-level data problem)."""


class UnsafePathError(ConfigError):
    """A study file reference escapes the study folder."""
