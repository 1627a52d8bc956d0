"""supp: move non-standard variables to SUPP-- and split character values over 200 bytes.

``qualifiers`` lists the variables (mapped by earlier steps) that are not SDTM variables; each
non-empty value becomes one SUPP-- record (QNAM = the variable name, QLABEL, QVAL, QORIG,
QEVAL) linked to its parent by IDVAR/IDVARVAL (e.g. AESEQ; none for DM), and the variable is
removed from the parent domain. With ``split_long: true`` (default) any character value of the
parent longer than 200 bytes keeps its first 200 bytes and the rest goes to SUPP-- as
QNAM = name[:7] + 1, 2, … (MAP.LEN200 notice); without it, overlong values are MAP.LEN200 errors.
The step's ``target`` is the SUPP-- dataset name (e.g. SUPPAE).
"""

# pydantic copies mutable defaults per instance, so list/dict defaults are safe here.
# ruff: noqa: RUF012
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import model_validator

from converter.mapping.base import Strict
from converter.mapping.fast import is_text, plain, utf8_lengths
from converter.mapping.steps import AlgorithmSpec, StepBase, StepContext, clean_text
from converter.model import SRC_FILE, SRC_ROW

MAX_BYTES = 200
SUPP_COLUMNS = ["STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL",
                "QORIG", "QEVAL"]


class Qualifier(Strict):
    variable: str
    label: str
    origin: str = "CRF"
    evaluator: str | None = None

    @model_validator(mode="after")
    def _qnam(self) -> Qualifier:
        if len(self.variable) > 8 or not self.variable[:1].isalpha():
            raise ValueError(f"QNAM '{self.variable}' must be ≤ 8 characters starting with a "
                             "letter")
        if len(self.label.encode()) > 40:
            raise ValueError(f"QLABEL for {self.variable} is over 40 bytes")
        return self


class Supp(StepBase):
    algorithm: Literal["supp"]
    idvar: str | None = None
    qualifiers: list[Qualifier] = []
    split_long: bool = True

    def variables(self) -> list[str]:
        return [q.variable for q in self.qualifiers] + (
            [self.idvar] if self.idvar else []) + ["USUBJID", "STUDYID"]


def byte_chunks(s: pd.Series, size: int = MAX_BYTES) -> list[pd.Series]:
    """Split UTF-8 text into pieces of at most ``size`` bytes without cutting a character."""
    enc = s.str.encode("utf-8")
    pieces = []
    rest = enc
    while rest.notna().any() and (rest.str.len() > 0).any():
        head = rest.str[:size]
        # back off to a character boundary: drop trailing continuation bytes (10xxxxxx)
        text = head.map(lambda b: b.decode("utf-8", errors="ignore") if isinstance(b, bytes)
                        else None)
        used = text.str.encode("utf-8").str.len()
        pieces.append(text.where(text.str.len() > 0, None))
        rest = pd.Series([b[u:] if isinstance(b, bytes) else None
                          for b, u in zip(rest, used.fillna(0).astype(int))], index=s.index)
        rest = rest.where(rest.str.len() > 0, None)
    return pieces


def _idvarval(s: pd.Series) -> pd.Series:
    num = pd.to_numeric(s, errors="coerce")
    as_int = num.dropna().eq(num.dropna().round()).all()
    if not is_text(s.dtype) and as_int:
        text = num.round().astype("Int64").astype(str)
        return text.where(num.notna(), None).astype(object)
    return clean_text(s.astype(object))


def build_supp(p: Supp, ctx: StepContext) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(SUPP-- frame with provenance, parent frame with qualifiers removed/values cut)."""
    parent = ctx.out.copy()
    rows = []
    base = pd.DataFrame({
        "STUDYID": ctx.var("STUDYID").to_numpy(), "RDOMAIN": ctx.domain,
        "USUBJID": ctx.var("USUBJID").to_numpy(),
        "IDVAR": p.idvar, "IDVARVAL": _idvarval(ctx.var(p.idvar)).to_numpy()
        if p.idvar else None,
        SRC_FILE: parent[SRC_FILE].to_numpy() if SRC_FILE in parent else None,
        SRC_ROW: parent[SRC_ROW].to_numpy() if SRC_ROW in parent else None,
    })
    for q in p.qualifiers:
        val = clean_text(ctx.var(q.variable).astype(object))
        keep = val.notna().to_numpy()
        part = base[keep].copy()
        part["QNAM"], part["QLABEL"], part["QVAL"] = q.variable, q.label, val[keep].to_numpy()
        part["QORIG"], part["QEVAL"] = q.origin, q.evaluator
        rows.append(part)
        parent = parent.drop(columns=[q.variable], errors="ignore")
    for name in [c for c in parent.columns if c not in (SRC_FILE, SRC_ROW)]:
        col = parent[name]
        if not is_text(col.dtype):
            continue
        long = utf8_lengths(col) > MAX_BYTES
        if not long.any():
            continue
        text = clean_text(col)
        pieces = byte_chunks(text[long])
        if not p.split_long:
            ctx.issue(long, "MAP.LEN200", f"{name} value over {MAX_BYTES} bytes", text,
                      variable=name, expected="at most 200 bytes (enable split_long)")
            continue
        ctx.issue(long, "MAP.LEN200", f"{name} over {MAX_BYTES} bytes: split into SUPP"
                  f"{ctx.domain}", text, severity="notice", variable=name)
        cut = plain(parent[name]).copy()
        cut[long] = pieces[0].to_numpy()
        parent[name] = cut
        for i, piece in enumerate(pieces[1:], start=1):
            keep = piece.notna().to_numpy()
            part = base[long][keep].copy()
            part["QNAM"] = f"{name[:7]}{i}"
            part["QLABEL"] = f"{name} continued ({i})"[:40]
            part["QVAL"] = piece[keep].to_numpy()
            part["QORIG"], part["QEVAL"] = "CRF", None
            rows.append(part)
    cols = SUPP_COLUMNS + [SRC_FILE, SRC_ROW]
    # column by column (pandas' frame concat checks all-empty object columns value by value)
    supp = pd.DataFrame({c: np.concatenate([r[c].to_numpy(dtype=object) for r in rows])
                         for c in cols}, columns=cols) if rows else pd.DataFrame(columns=cols)
    return supp.reset_index(drop=True), parent


def run(p: Supp, ctx: StepContext) -> pd.Series:  # pragma: no cover - engine calls build_supp
    raise RuntimeError("supp is applied by the engine through build_supp")


ALGORITHM = AlgorithmSpec(
    name="supp", params=Supp, run=run, phase=5, origin="Derived",
    summary="Move non-standard variables to SUPP-- and split values over 200 bytes.",
    describe=lambda p: "Supplemental qualifiers " + ", ".join(q.variable for q in p.qualifiers))

