"""What every mapping step shares: the step base model, row conditions, the run context and
the algorithm registry record.

A step names one algorithm and its arguments. Arguments that name **raw columns** of the
domain's source are called ``source``/``column``/``date``/``time``; arguments that name
**variables already mapped** in the domain (targets of earlier steps) are called ``variable``,
``dtc``, ``by``, ``order``. Keeping the two vocabularies apart avoids a raw column ``AEDECOD``
being confused with the SDTM variable ``AEDECOD``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import Field, field_validator, model_validator

from converter.issues import IssueLog
from converter.mapping.base import Strict
from converter.mapping.fast import Codes, clean_uniques, take, unique_apply
from converter.model import SRC_FILE, SRC_ROW

if TYPE_CHECKING:  # pragma: no cover
    from converter.mapping.study import Study

ORIGINS = ("Collected", "Derived", "Assigned", "Protocol", "Predecessor")
OPERATORS = ("equals", "not_equals", "in_", "not_in", "missing", "matches", "lt", "le", "gt",
             "ge")


class Condition(Strict):
    """One test on a raw ``column`` or a mapped ``variable``; exactly one operator.

    ``{column: IT.DSDECOD, missing: true}`` · ``{variable: DSDECOD, in: [DEATH]}`` ·
    ``{column: VISIT, matches: "(?i)^unsch"}`` · ``{variable: AESER, equals: "Y"}`` ·
    ``{variable: EXDOSE, le: 0}`` (lt/le/gt/ge compare numbers; values that are not numbers
    never satisfy them)
    """

    column: str | None = None
    variable: str | None = None
    source: str | None = None     # {source: ic}: the record comes from source ic (stacking)
    equals: str | None = None
    not_equals: str | None = None
    in_: list[str] | None = Field(default=None, alias="in")
    not_in: list[str] | None = None
    missing: bool | None = None
    matches: str | None = None
    lt: float | None = None
    le: float | None = None
    gt: float | None = None
    ge: float | None = None

    @field_validator("matches")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"'matches' is not a valid regular expression: {exc}") from None
        return v

    @model_validator(mode="after")
    def _one_each(self) -> Condition:
        if self.source is not None:
            if self.column is not None or self.variable is not None or any(
                    getattr(self, k) is not None for k in OPERATORS):
                raise ValueError("a 'source' condition stands alone, e.g. {source: ic}")
            return self
        if (self.column is None) == (self.variable is None):
            raise ValueError("a condition names exactly one of 'column' (raw) or 'variable'")
        ops = [k for k in OPERATORS if getattr(self, k) is not None]
        if len(ops) != 1:
            raise ValueError("a condition has exactly one operator: equals, not_equals, in, "
                             "not_in, missing, matches, lt, le, gt, ge")
        return self

    def evaluate(self, ctx: StepContext) -> pd.Series:
        """Boolean per record, computed on the distinct values of the column."""
        if self.source is not None:
            from converter.mapping.stacking import source_mask

            return source_mask(self.source, ctx)
        codes, uniques = (ctx.col_codes(self.column) if self.column
                          else ctx.var_codes(self.variable))
        on_missing = bool(self.missing) if self.missing is not None else (
            self.not_equals is not None or self.not_in is not None)
        result = take(self._test(uniques).to_numpy(dtype=bool), codes, missing=on_missing)
        return pd.Series(result.astype(bool), index=ctx.out.index)

    def _test(self, u: pd.Series) -> pd.Series:
        t = u.astype(str)
        present = u.notna() & t.str.strip().ne("")
        if self.missing is not None:
            return ~present if self.missing else present
        if self.equals is not None:
            return present & t.eq(self.equals)
        if self.not_equals is not None:
            return ~(present & t.eq(self.not_equals))
        if self.in_ is not None:
            return present & t.isin(self.in_)
        if self.not_in is not None:
            return ~(present & t.isin(self.not_in))
        for op in ("lt", "le", "gt", "ge"):
            bound = getattr(self, op)
            if bound is not None:   # numbers only: text such as "<50" never compares
                vals = u if u.dtype.kind in "fiu" else t.str.strip().where(present, None)
                num = pd.to_numeric(vals, errors="coerce")
                return present & getattr(num, op)(bound).fillna(False).astype(bool)
        return present & t.str.contains(self.matches, regex=True)

    def describe(self) -> str:
        if self.source is not None:
            return f"record from source {self.source}"
        what = self.column or self.variable
        for k, word in (("equals", "="), ("not_equals", "≠"), ("in_", "in"),
                        ("not_in", "not in"), ("matches", "matches"), ("lt", "<"),
                        ("le", "≤"), ("gt", ">"), ("ge", "≥")):
            v = getattr(self, k)
            if v is not None:
                return f"{what} {word} {v:g}" if isinstance(v, float) else f"{what} {word} {v}"
        return f"{what} is {'missing' if self.missing else 'present'}"


def evaluate_all(conditions: list[Condition], ctx: StepContext) -> pd.Series:
    mask = pd.Series(True, index=ctx.out.index)
    for c in conditions:
        mask &= c.evaluate(ctx).to_numpy()
    return mask


class StepBase(Strict):
    """Fields every step has. ``target`` is the variable written (absent inside ``conditional``)."""

    target: str | None = None
    algorithm: str
    comment: str | None = None
    # keep: false makes the target a helper value: readable by later steps of the domain,
    # dropped before output (before supp), never in SUPP-- nor in the origins
    keep: bool = True

    def columns(self) -> list[str]:
        """Raw columns this step reads (checked against the source header before mapping)."""
        return []

    def variables(self) -> list[str]:
        """Mapped variables this step reads (it runs after the steps producing them)."""
        return []

    def domains(self) -> list[str]:
        """Other domains this step reads (their earlier phases run first)."""
        return []


@dataclass
class StepContext:
    """Everything a step may read. Algorithms return a Series aligned on ``out.index``."""

    domain: str
    raw: pd.DataFrame
    out: pd.DataFrame
    study: Study
    issues: IssueLog
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    sources: dict[str, pd.DataFrame] = field(default_factory=dict)
    file: str = ""
    line: int | None = None
    target: str | None = None
    codes: Codes = field(default_factory=Codes)

    def col(self, name: str) -> pd.Series:
        return self.raw[name]

    def col_codes(self, name: str) -> tuple[np.ndarray, pd.Series]:
        """Factorised raw column (cached per domain): codes and distinct values."""
        return self.codes.get("raw", name, self.raw[name])

    def var_codes(self, name: str) -> tuple[np.ndarray, pd.Series]:
        """Factorised mapped variable (cached; variables are written once)."""
        return self.codes.get("var", name, self.var(name))

    def result(self, values: np.ndarray | pd.Series, codes: np.ndarray) -> pd.Series:
        """``values[codes]`` as the step's result (missing where code is -1); the
        factorisation is kept so later steps reading the target do not hash it again."""
        values = np.asarray(values)
        if self.target and len(codes) == len(self.out):
            return self.codes.put("var", self.target, codes, values, self.out.index)
        return pd.Series(take(values, codes), index=self.out.index)

    def clean_col(self, name: str, strip: bool = True) -> pd.Series:
        """Raw column as text/None (blank → None), computed on distinct values."""
        return unique_apply(self.raw[name], lambda u: clean_uniques(u, strip),
                            self.col_codes(name))

    def var(self, name: str) -> pd.Series:
        if name not in self.out.columns:
            return pd.Series(None, index=self.out.index, dtype=object)
        return self.out[name]

    def issue(self, mask: pd.Series | np.ndarray, rule_id: str, message: str | pd.Series,
              values: pd.Series | None = None, *, severity: str = "error",
              expected: str | None = None, variable: str | None = None) -> int:
        """Log one issue per masked row with provenance (source file/row, USUBJID, value)."""
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return 0
        rows = np.flatnonzero(mask)

        def at(col) -> np.ndarray:   # the flagged rows only (no column-sized object arrays)
            col = col if isinstance(col, pd.Series) else pd.Series(col)
            picked = col.iloc[rows]
            return picked.astype(object).where(picked.notna(), None).to_numpy(dtype=object)

        frame = pd.DataFrame({
            "source_file": at(self.raw[SRC_FILE]) if SRC_FILE in self.raw else None,
            "source_row": at(self.raw[SRC_ROW]) if SRC_ROW in self.raw else None,
            "usubjid": at(self.var("USUBJID")),
            "value": None if values is None else at(values),
        })
        if expected is not None:
            frame["expected"] = expected
        if isinstance(message, pd.Series):
            message = message[mask]
        return self.issues.add_frame(frame, rule_id=rule_id, message=message,
                                     severity=severity, stage="sdtm", dataset=self.domain,
                                     variable=variable or self.target)


def empty(index: pd.Index) -> pd.Series:
    return pd.Series(None, index=index, dtype=object)


def clean_text(s: pd.Series, strip: bool = True) -> pd.Series:
    """Object series of str/None; blank strings become None (computed on distinct values)."""
    return unique_apply(s.astype(object), lambda u: clean_uniques(u, strip))


@dataclass
class AlgorithmSpec:
    """A registry entry: name, argument model, run function, phase, origin and method words."""

    name: str
    params: type[StepBase]
    run: Callable[[Any, StepContext], pd.Series]
    summary: str
    phase: int = 1                       # 1 record, 2 cross-domain, 3 relative, 4 seq, 5 supp
    origin: str | Callable[[Any], str] = "Derived"
    describe: Callable[[Any], str] = lambda p: ""
    source: Callable[[Any, dict[str, str]], str | None] = lambda p, files: None

    phase_of_params: Callable[[Any], int] | None = None

    def phase_of(self, params: Any) -> int:
        return self.phase_of_params(params) if self.phase_of_params else self.phase

    def origin_of(self, params: Any) -> str:
        return self.origin(params) if callable(self.origin) else self.origin
