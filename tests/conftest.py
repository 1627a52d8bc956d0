"""Shared test fixtures: the ``shared`` reference folder and the repository root."""

from __future__ import annotations

from pathlib import Path

import pytest

from converter.paths import REPO_ROOT, shared_dir


@pytest.fixture(scope="session")
def shared() -> Path:
    path = shared_dir()
    if not path.is_dir():
        raise RuntimeError(f"shared reference folder not found at {path}; set CONVERTER_SHARED")
    return path


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT
