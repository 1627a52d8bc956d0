"""Metadata: the standard tables in ``specs/`` and the stage that applies them.

>>> from converter.metadata import load_spec, apply_metadata
"""

from converter.metadata.missing import missing_codes, special_missing
from converter.metadata.spec import Spec, load_spec
from converter.metadata.stage import LINEAGE_COLUMNS, apply_metadata, byte_lengths, char_length

__all__ = [
           "LINEAGE_COLUMNS",
           "Spec",
           "apply_metadata",
           "byte_lengths",
           "char_length",
           "load_spec",
           "missing_codes",
           "special_missing",
]
