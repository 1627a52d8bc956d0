"""Safe YAML loading that remembers the line of every mapping (for located ConfigErrors)."""

from __future__ import annotations

from pathlib import Path

import yaml

from converter.errors import ConfigError

LINE_KEY = "__line__"


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose mappings carry ``__line__`` (1-based)."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    mapping = yaml.SafeLoader.construct_mapping(loader, node, deep=deep)
    mapping[LINE_KEY] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path: str | Path) -> object:
    """Parse ``path`` with the safe loader; ConfigError (file, line) on syntax errors."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read YAML file: {exc}", file=str(p)) from None
    try:
        return yaml.load(text, Loader=_LineLoader)  # _LineLoader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"invalid YAML: {getattr(exc, 'problem', exc)}", file=str(p),
                          line=mark.line + 1 if mark else None,
                          hint="check indentation and quoting") from None


def strip_lines(value: object) -> object:
    """A copy without the ``__line__`` keys."""
    if isinstance(value, dict):
        return {k: strip_lines(v) for k, v in value.items() if k != LINE_KEY}
    if isinstance(value, list):
        return [strip_lines(v) for v in value]
    return value
