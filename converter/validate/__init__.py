"""Validation: rules as data (``rules/*.yaml``) executed by small operators over datasets.

>>> from converter.validate import validate, load_rules, ValidationResult
"""

from converter.validate.rules import Rule, load_rules
from converter.validate.runner import ValidationResult, gate_exit_code, issue_table, validate
from converter.validate.waivers import Waiver, load_waivers

__all__ = ["Rule", "ValidationResult", "Waiver", "gate_exit_code", "issue_table", "load_rules",
           "load_waivers", "validate"]
