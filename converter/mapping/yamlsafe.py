"""A strict, safe YAML reader for study and mapping files that remembers line numbers.

Mapping files are written by people; a silent surprise in YAML becomes a wrong dataset. So this
reader refuses what plain ``yaml.safe_load`` accepts quietly:

- duplicate keys (the second would silently win),
- tab characters in indentation,
- anchors and aliases (``&x`` / ``*x``: shared, invisible edits),
- YAML 1.1 implicit typing: every plain scalar stays a string (``No`` is not ``False``, ``01``
  is not ``1``); pydantic converts strings where a model asks for a number or a date. Only
  ``null``, ``~`` and an empty value are ``None``.

``load_yaml(path)`` returns ``(data, lines)`` where ``lines`` maps a key path such as
``("steps", 3, "source")`` to its 1-based line number.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "x.yaml"
>>> _ = p.write_text("a: No\\nb:\\n  - 01\\n")
>>> load_yaml(p)
({'a': 'No', 'b': ['01']}, {(): 1, ('a',): 1, ('b',): 2, ('b', 0): 3})
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from converter.errors import ConfigError

Path_ = tuple[Any, ...]
_NULLS = {"null", "Null", "NULL", "~", ""}


def _fail(message: str, file: str, line: int | None, key: str | None = None,
          hint: str | None = None) -> ConfigError:
    return ConfigError(message, file=file, line=line, key=key, hint=hint)


def _check_tabs(text: str, file: str) -> None:
    for number, line in enumerate(text.splitlines(), start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            raise _fail("tab character in indentation", file, number,
                        hint="indent with spaces only (YAML forbids tabs)")


def _build(node: yaml.Node, path: Path_, lines: dict[Path_, int], file: str) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise _fail("a mapping key must be a plain word", file,
                            key_node.start_mark.line + 1)
            if key_node.tag == "tag:yaml.org,2002:merge" or key_node.value == "<<":
                raise _fail("merge keys ('<<') are not allowed", file,
                            key_node.start_mark.line + 1, key="<<",
                            hint="write the keys out in full")
            key = key_node.value
            if key in out:
                first = lines.get(path + (key,))
                raise _fail(f"duplicate key '{key}' (first at line {first})", file,
                            key_node.start_mark.line + 1, key=key,
                            hint="remove or rename one of the two")
            lines[path + (key,)] = key_node.start_mark.line + 1
            out[key] = _build(value_node, path + (key,), lines, file)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), lines, file) for i, item in enumerate(node.value)]
    if isinstance(node, yaml.ScalarNode):
        if node.tag.startswith("!") and not node.tag.startswith("!!"):
            raise _fail(f"YAML tag '{node.tag}' is not allowed", file, node.start_mark.line + 1)
        if node.style is None and node.value in _NULLS:
            return None
        return node.value
    raise _fail("unsupported YAML node", file, node.start_mark.line + 1)  # pragma: no cover


def loads_yaml(text: str, file: str = "<string>") -> tuple[Any, dict[Path_, int]]:
    """Parse YAML text strictly; see the module docstring."""
    _check_tabs(text, file)
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise _fail("anchors and aliases (&name / *name) are not allowed", file,
                            event.start_mark.line + 1, hint="repeat the values explicitly")
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise _fail(f"not valid YAML: {exc.problem or exc.context}", file, line) from None
    except yaml.YAMLError as exc:  # pragma: no cover - non-marked errors are rare
        raise _fail(f"not valid YAML: {exc}", file, None) from None
    if len(nodes) > 1:
        raise _fail("more than one YAML document ('---') in the file", file,
                    nodes[1].start_mark.line + 1)
    lines: dict[Path_, int] = {}
    if not nodes or nodes[0] is None:
        return None, lines
    return _build(nodes[0], (), lines, file), lines


def load_yaml(path: str | Path, display: str | None = None) -> tuple[Any, dict[Path_, int]]:
    """Read a YAML file strictly; ``display`` is the name used in error messages."""
    path = Path(path)
    file = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _fail(f"cannot read file: {exc.strerror}", file, None) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _fail(f"file is not UTF-8 (byte {exc.start})", file, None,
                    hint="save the file as UTF-8") from None
    return loads_yaml(text, file)


def line_of(lines: dict[Path_, int], data: Any, loc: tuple[Any, ...]) -> tuple[int | None, Path_]:
    """Find the line of a pydantic error location, skipping union tags not in the data."""
    path: list[Any] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node or isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            path.append(part)
            node = node[part]
        # otherwise: a union tag or a missing key; stay at the parent
    tpath = tuple(path)
    while tpath and tpath not in lines:
        tpath = tpath[:-1]
    return lines.get(tpath), tuple(path)
