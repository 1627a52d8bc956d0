"""Locating files: the repository, the shared reference folder (tests only), study confinement."""

from __future__ import annotations

import os
from pathlib import Path

from converter.errors import UnsafePathError

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent


def shared_dir() -> Path:
    """The read-only ``shared`` folder used by tests and benchmarks (never needed at run time).

    ``CONVERTER_SHARED`` overrides the default ``<repo>/../shared``.
    """
    env = os.environ.get("CONVERTER_SHARED")
    return Path(env).resolve() if env else (REPO_ROOT.parent / "shared").resolve()


def confined(base: str | os.PathLike, relative: str, *, what: str = "file",
             source: str | None = None) -> Path:
    """Resolve ``relative`` against ``base`` and refuse anything that escapes ``base``.

    >>> confined("/study", "raw/dm.csv").as_posix()
    '/study/raw/dm.csv'
    """
    base_path = Path(base).resolve()
    candidate = Path(relative)
    if candidate.is_absolute():
        raise UnsafePathError(
            f"{what} path '{relative}' is absolute; study files must be relative to {base_path.name}/",
            file=source, hint="write the path relative to the study folder")
    resolved = (base_path / candidate).resolve()
    if resolved != base_path and base_path not in resolved.parents:
        raise UnsafePathError(
            f"{what} path '{relative}' leaves the study folder",
            file=source, hint="study files must stay inside the study folder")
    return resolved
