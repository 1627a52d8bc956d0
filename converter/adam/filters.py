"""Declarative record filters for ADaM configuration, compiled into masks.

A filter is a mapping of variable → condition; all entries must hold (AND). ``any_of`` /
``all_of`` take lists of filters (OR / AND). A condition is a scalar (equals), a list (one of)
or a mapping of operators::

    filter:
      PARAMCD: CD4                 # equals
      AVISITN: {gt: 0}             # numeric comparison: lt le gt ge eq ne
      ADT: {le_var: TRTSDT}        # compare with another variable: lt_var le_var … ne_var
      DTYPE: {missing: true}       # missing / present
      DSDECOD: {not_in: [SCREEN FAILURE]}
      any_of:
        - {EXDOSE: {gt: 0}}
        - {EXTRT: {contains: PLACEBO}}   # also: matches (regular expression)

No expression strings are evaluated: configuration cannot run code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError, model_validator

from converter.adam.derivations import DerivationError

Scalar = str | int | float | bool | None
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Condition(BaseModel):
    """Operators on one variable (all given ones must hold)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    eq: Scalar = None
    ne: Scalar = None
    in_: list[Scalar] | None = Field(default=None, alias="in")
    not_in: list[Scalar] | None = None
    lt: float | str | None = None
    le: float | str | None = None
    gt: float | str | None = None
    ge: float | str | None = None
    eq_var: str | None = None
    ne_var: str | None = None
    lt_var: str | None = None
    le_var: str | None = None
    gt_var: str | None = None
    ge_var: str | None = None
    contains: str | None = None
    matches: str | None = None
    missing: bool | None = None

    @model_validator(mode="after")
    def _check(self) -> Condition:
        if not self.model_fields_set:
            raise ValueError("empty condition; give at least one operator")
        if self.matches is not None:
            try:
                re.compile(self.matches)
            except re.error as exc:
                raise ValueError(f"'matches' is not a valid regular expression: {exc}") from exc
        return self


class Filter(RootModel[dict[str, Any]]):
    """Variable → condition, plus ``any_of`` / ``all_of`` lists of filters."""

    @model_validator(mode="after")
    def _check(self) -> Filter:
        for key, value in self.root.items():
            if key in ("any_of", "all_of"):
                if not isinstance(value, list) or not value:
                    raise ValueError(f"'{key}' needs a non-empty list of filters")
                self.root[key] = [v if isinstance(v, Filter) else Filter.model_validate(v)
                                  for v in value]
            elif not _NAME.match(key):
                raise ValueError(f"'{key}' is not a variable name (or any_of / all_of)")
            elif isinstance(value, dict):
                try:
                    self.root[key] = Condition.model_validate(value)
                except ValidationError as exc:
                    problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or key}: {e['msg']}"
                                         for e in exc.errors())
                    raise ValueError(f"condition on '{key}': {problems} (operators: eq ne in "
                                     "not_in lt le gt ge eq_var ne_var lt_var le_var gt_var "
                                     "ge_var contains matches missing)") from None
            elif isinstance(value, list):
                if any(isinstance(v, (dict, list)) for v in value):
                    raise ValueError(f"'{key}': a list means 'one of' and holds plain values")
            elif not isinstance(value, (str, int, float, bool, type(None), Condition)):
                raise ValueError(f"'{key}': unsupported condition {value!r}")
        return self

    def variables(self) -> set[str]:
        out: set[str] = set()
        for key, value in self.root.items():
            if key in ("any_of", "all_of"):
                for f in value:
                    out |= f.variables()
            else:
                out.add(key)
                if isinstance(value, Condition):
                    out |= {v for v in (value.eq_var, value.ne_var, value.lt_var, value.le_var,
                                        value.gt_var, value.ge_var) if v}
        return out

    def compile(self) -> Callable[[pd.DataFrame], pd.Series]:
        """A function: data frame → boolean Series."""
        return lambda frame: evaluate_filter(self, frame)


def _missing(col: pd.Series) -> pd.Series:
    miss = col.isna()
    if col.dtype == object or pd.api.types.is_string_dtype(col):
        miss |= col.astype("string").str.strip().fillna("") == ""
    return miss


def _comparable(col: pd.Series, value: object) -> tuple[pd.Series, object]:
    if pd.api.types.is_datetime64_any_dtype(col):
        return col, pd.Timestamp(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return pd.to_numeric(col, errors="coerce"), value
    return col, value


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name not in frame.columns:
        raise DerivationError(f"filter refers to variable {name!r}, which the dataset does not "
                              f"have (it has {sorted(frame.columns)[:40]})")
    return frame[name]


def _condition(frame: pd.DataFrame, name: str, cond: object) -> pd.Series:
    col = _column(frame, name)
    if not isinstance(cond, Condition):
        if isinstance(cond, list):
            return col.isin(cond)
        if cond is None:
            return _missing(col)
        c, v = _comparable(col, cond)
        return (c == v).fillna(False)
    mask = pd.Series(True, index=frame.index)
    ops = {"eq": "__eq__", "ne": "__ne__", "lt": "__lt__", "le": "__le__", "gt": "__gt__",
           "ge": "__ge__"}
    for op, method in ops.items():
        value = getattr(cond, op)
        if op in cond.model_fields_set and value is not None:
            c, v = _comparable(col, value)
            res = getattr(c, method)(v)
            if op != "ne":
                res = res & c.notna()
            mask &= res.fillna(False).astype(bool)
        var = getattr(cond, f"{op}_var")
        if var is not None:
            other = _column(frame, var)
            a, b = col, other
            if pd.api.types.is_datetime64_any_dtype(a) or pd.api.types.is_datetime64_any_dtype(b):
                a, b = pd.to_datetime(a), pd.to_datetime(b)
            res = getattr(a, method)(b) & a.notna() & b.notna()
            mask &= res.fillna(False).astype(bool)
    if cond.in_ is not None:
        mask &= col.isin(cond.in_)
    if cond.not_in is not None:
        mask &= ~col.isin(cond.not_in)
    if cond.contains is not None:
        mask &= col.astype("string").str.contains(cond.contains, regex=False).fillna(False)
    if cond.matches is not None:
        mask &= col.astype("string").str.contains(cond.matches, regex=True).fillna(False)
    if cond.missing is not None:
        mask &= _missing(col) if cond.missing else ~_missing(col)
    return mask.astype(bool)


def evaluate_filter(flt: Filter | None, frame: pd.DataFrame) -> pd.Series:
    """Boolean Series: rows of ``frame`` meeting ``flt`` (all rows for None)."""
    if flt is None:
        return pd.Series(True, index=frame.index)
    mask = pd.Series(np.ones(len(frame), dtype=bool), index=frame.index)
    for key, value in flt.root.items():
        if key == "any_of":
            anym = pd.Series(np.zeros(len(frame), dtype=bool), index=frame.index)
            for f in value:
                anym |= evaluate_filter(f, frame)
            mask &= anym
        elif key == "all_of":
            for f in value:
                mask &= evaluate_filter(f, frame)
        else:
            mask &= _condition(frame, key, value)
    return mask


def compile_filter(flt: Filter | None) -> Callable[[pd.DataFrame], pd.Series] | None:
    return None if flt is None else flt.compile()
