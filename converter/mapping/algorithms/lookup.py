"""lookup: take a value from another raw source or an already mapped domain by key.

A key that matches several records on the other side is a one-to-many join: by default
(``multiple: error``) each affected record gets an empty value and a MAP.DUPKEY issue;
``multiple: first`` takes the first record in source order, deliberately.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import model_validator

from converter.mapping.steps import AlgorithmSpec, StepBase, StepContext, clean_text

SEP = "\x1f"


class Lookup(StepBase):
    algorithm: Literal["lookup"]
    from_source: str | None = None
    from_domain: str | None = None
    by: dict[str, str]
    value: str
    multiple: Literal["error", "first"] = "error"
    on_missing: Literal["ignore", "issue"] = "ignore"

    @model_validator(mode="after")
    def _one_side(self) -> Lookup:
        if (self.from_source is None) == (self.from_domain is None):
            raise ValueError("lookup names exactly one of 'from_source' (a raw source) or "
                             "'from_domain' (a mapped domain)")
        if not self.by:
            raise ValueError("'by' needs at least one key pair, e.g. {PATNUM: PATNUM}")
        return self

    def columns(self) -> list[str]:
        return list(self.by) if self.from_source else []

    def variables(self) -> list[str]:
        return list(self.by) if self.from_domain else []

    def domains(self) -> list[str]:
        return [self.from_domain] if self.from_domain else []


def _key(frame: pd.DataFrame, cols: list[str]) -> pd.Series:
    key = clean_text(frame[cols[0]]).astype(str)
    for c in cols[1:]:
        key = key + SEP + clean_text(frame[c]).astype(str)
    return key


def run(p: Lookup, ctx: StepContext) -> pd.Series:
    if p.from_source:
        right = ctx.sources[p.from_source]
        left = ctx.raw
    else:
        right = ctx.frames.get(p.from_domain, pd.DataFrame(columns=[*p.by.values(), p.value]))
        left = ctx.out
    lkey = _key(left, list(p.by))
    rkey = _key(right, list(p.by.values()))
    dup = rkey.duplicated(keep=False).to_numpy()
    if p.multiple == "first":
        keep = ~rkey.duplicated(keep="first").to_numpy()
        hit = np.zeros(len(lkey), dtype=bool)
    else:
        keep = ~dup
        hit = lkey.isin(set(rkey[dup])).to_numpy()
    table = pd.Series(right[p.value].to_numpy()[keep], index=rkey.to_numpy()[keep])
    out = lkey.map(table).astype(object)
    out = out.where(out.notna() & ~hit, None)
    where = p.from_source or p.from_domain
    ctx.issue(hit, "MAP.DUPKEY", f"key matches several records in {where}; value left empty",
              lkey.str.replace(SEP, " ", regex=False),
              expected="one record per key (or set multiple: first)")
    if p.on_missing == "issue":
        miss = ~hit & ~lkey.isin(set(rkey)).to_numpy()
        ctx.issue(miss, "MAP.LOOKUP", f"key not found in {where}",
                  lkey.str.replace(SEP, " ", regex=False), severity="warning")
    return out


ALGORITHM = AlgorithmSpec(
    name="lookup", params=Lookup, run=run, phase=1, origin="Derived",
    phase_of_params=lambda p: 2 if p.from_domain else 1,
    summary="Take a value from another source or domain by key (one-to-many is an error).",
    describe=lambda p: f"{p.value} from {p.from_source or p.from_domain} matched on "
    + ", ".join(f"{a}={b}" for a, b in p.by.items()),
    source=lambda p, f: f"{p.from_source or p.from_domain} {p.value}")
