"""Validation operators: one small function each, found by name in :data:`OPERATORS`.

An operator receives the :class:`~converter.validate.context.Context`, the dataset in scope
(``None`` for study-level rules) and the rule's ``params`` as keyword arguments. It returns a
findings frame (or ``None`` when there is nothing to report) and raises :class:`Skip` when it
cannot apply (a reason is required). Findings frames may carry these columns:

``row``       positional row number in the dataset (the runner adds USUBJID, --SEQ, record no.)
``variable``  the variable concerned; ``value``, ``expected``: what was found / wanted
``usubjid``   for study-level findings that have no row; ``dataset`` to override the dataset
any other column is available to the rule's message as a ``{placeholder}``.

>>> sorted(OPERATORS)[:3]
['after_reference_date', 'arm_in_trial_arms', 'ascii_only']
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable

import pandas as pd

Operator = Callable[..., "pd.DataFrame | None"]
OPERATORS: dict[str, Operator] = {}


class Skip(Exception):
    """Raised by an operator that cannot apply; ``reason`` is shown in every report."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def operator(name: str) -> Callable[[Operator], Operator]:
    """Register ``func`` under ``name`` (names are unique)."""
    def register(func: Operator) -> Operator:
        if name in OPERATORS:
            raise ValueError(f"operator {name!r} registered twice")
        OPERATORS[name] = func
        return func
    return register


def parameters(name: str) -> dict[str, inspect.Parameter]:
    """The keyword parameters an operator accepts (after ``ctx`` and ``ds``)."""
    params = list(inspect.signature(OPERATORS[name]).parameters.values())[2:]
    return {p.name: p for p in params}


def findings(**columns: object) -> pd.DataFrame:
    """Build a findings frame from equal-length columns or scalars."""
    return pd.DataFrame(columns)


for _module in ("metadata", "xpt", "terminology", "dates", "identity", "crossref",
                "trialsummary", "adam", "define", "consistency"):
    importlib.import_module(f"{__name__}.{_module}")
