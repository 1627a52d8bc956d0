"""convert_unit: a result in a standard unit, from the original value and unit.

``conversions`` lists ``from`` unit → ``to`` unit with a multiplicative ``factor``, optionally
per ``test`` (value of the mapped ``test`` variable). A per-test conversion wins over a general
one. ``output: value`` gives the converted number (rounded to 10 decimals so that 0.1 × 3 is
0.3), ``output: unit`` the standard unit. A present value whose unit has no declared conversion
is a MAP.UNIT issue and stays empty — nothing is assumed, not even "same unit, factor 1"
unless declared (``{from: U/L, to: U/L, factor: 1}``). Non-numeric values give no number.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from converter.mapping.base import Strict
from converter.mapping.fast import clean_uniques, take
from converter.mapping.steps import AlgorithmSpec, StepBase, StepContext

ANY = "\x00any"


class Conversion(Strict):
    from_: str = Field(alias="from")
    to: str
    factor: float
    test: str | None = None


class ConvertUnit(StepBase):
    algorithm: Literal["convert_unit"]
    value: str
    unit: str
    test: str | None = None
    conversions: list[Conversion]
    output: Literal["value", "unit"] = "value"

    @model_validator(mode="after")
    def _unique(self) -> ConvertUnit:
        seen = set()
        for c in self.conversions:
            key = (c.test, c.from_)
            if key in seen:
                raise ValueError(f"conversion from '{c.from_}'"
                                 + (f" for test {c.test}" if c.test else "") + " is repeated")
            seen.add(key)
        if any(c.test for c in self.conversions) and not self.test:
            raise ValueError("conversions name a test: set 'test' to the variable holding it")
        return self

    def variables(self) -> list[str]:
        return [self.value, self.unit] + ([self.test] if self.test else [])


def numbers(ctx: StepContext, variable: str) -> np.ndarray:
    """A mapped variable as float64 (text parsed on its distinct values; non-numbers NaN)."""
    s = ctx.var(variable)
    if s.dtype.kind in "fiu":
        return s.to_numpy(dtype="float64")
    codes, uniques = ctx.var_codes(variable)
    num = pd.to_numeric(clean_uniques(uniques.astype(object)), errors="coerce")
    return take(num.to_numpy(dtype="float64"), codes)


def run(p: ConvertUnit, ctx: StepContext) -> pd.Series:
    n = len(ctx.out)
    u_codes, u_uniques = ctx.var_codes(p.unit)
    units = clean_uniques(u_uniques.astype(object))
    if p.test:
        t_codes, t_uniques = ctx.var_codes(p.test)
        tests = clean_uniques(t_uniques.astype(object))
    else:
        t_codes, tests = np.zeros(n, dtype=np.int64), pd.Series([ANY], dtype=object)
    # resolve each distinct (test, unit) pair once
    pairs = pd.DataFrame({"t": t_codes, "u": u_codes})
    kc = pairs.groupby(["t", "u"], sort=False, observed=True).ngroup().to_numpy()
    first = pairs.drop_duplicates()
    unit_of = take(units.to_numpy(dtype=object), first["u"].to_numpy())
    test_of = take(tests.to_numpy(dtype=object), first["t"].to_numpy())
    ku = first
    table = {(c.test or ANY, c.from_): (c.to, c.factor) for c in p.conversions}
    to_u = np.full(len(ku), None, dtype=object)
    factor_u = np.full(len(ku), np.nan)
    for i, (t, u) in enumerate(zip(test_of, unit_of)):  # distinct pairs only
        hit = table.get((t if p.test else ANY, u)) or table.get((ANY, u))
        if hit and u is not None:
            to_u[i], factor_u[i] = hit
    value = numbers(ctx, p.value)
    raw_value = ctx.var(p.value)
    present = raw_value.notna().to_numpy()
    found = take(np.array([x is not None for x in to_u]), kc, missing=False).astype(bool)
    if p.output == "value":
        missing = present & ~found
        ctx.issue(missing, "MAP.UNIT", "no conversion declared for this unit; left empty",
                  pd.Series(take(unit_of, kc), index=ctx.out.index),
                  expected="a 'from' unit of the step's conversions")
        out = np.round(value * take(factor_u, kc), 10)
        return pd.Series(out, index=ctx.out.index, dtype="float64")
    out = take(to_u, kc)
    out[~(present & found)] = None
    return pd.Series(out, index=ctx.out.index, dtype=object)


ALGORITHM = AlgorithmSpec(
    name="convert_unit", params=ConvertUnit, run=run, origin="Derived",
    summary="Standard result or unit from original value and unit by declared factors.",
    describe=lambda p: (f"{p.value} × factor for {p.unit}" if p.output == "value"
                        else f"Standard unit for {p.unit}")
    + (" and " + p.test if p.test else "") + ": "
    + "; ".join(f"{c.from_}→{c.to} ×{c.factor:g}" + (f" ({c.test})" if c.test else "")
                for c in p.conversions))
