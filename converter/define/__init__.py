"""define.xml 2.1: typed model, generator, serialiser, reader, checker and HTML rendering.

Public functions (imported lazily so ``define-check`` starts fast):

- ``build_define(datasets, *, standard, study_id, study_name, ct, created, issues=None, ...)``
  -> bytes; ``build_define_model(...)`` -> :class:`~converter.define.model.Define`
- ``write_define(datasets, out_dir, *, standard, study, ct=None, created=None, issues=None)``
  -> [xml path, html path]
- ``check_define(path, schema_dir=None)`` -> list of located problem lines
- ``read_define(path_or_bytes)`` -> Define; ``to_xml(define)`` -> bytes
- ``render_html(define)`` -> str; ``compare_define_to_data(define, datasets, issues)`` -> int
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "build_define": "converter.define.generate",
    "build_define_model": "converter.define.generate",
    "write_define": "converter.define.generate",
    "check_define": "converter.define.check",
    "check_define_problems": "converter.define.check",
    "read_define": "converter.define.reader",
    "to_xml": "converter.define.serialise",
    "render_html": "converter.define.render",
    "compare_define_to_data": "converter.define.compare",
}

__all__ = [
    "build_define", "build_define_model", "check_define", "check_define_problems",
    "compare_define_to_data", "read_define", "render_html", "to_xml", "write_define",
]


def __getattr__(name: str) -> object:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'converter.define' has no attribute {name!r}")
