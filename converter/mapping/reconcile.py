"""Reconciliation: every raw record of every source is mapped or rejected with a reason.

One row per declared source (for ODM, per item group): ``source``, ``source_file``,
``item_group``, ``raw_records``, ``mapped`` (records that reached an output row of some
domain, stacked sources included), ``rejected`` (``raw_records - mapped``) and ``reason``
(counts per reason: a domain's filter, nothing to transpose, read only for lookups/joins, or
the ``reject:`` reason of a source declared as rejected as a whole). Records a domain filter
excludes are also in the issue log, one MAP.FILTERED notice each (source file, row, USUBJID).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from converter.errors import ConfigError
from converter.issues import IssueLog
from converter.mapping.stacking import record_sources, source_of
from converter.model import SRC_FILE, SRC_ROW

if TYPE_CHECKING:  # pragma: no cover
    from converter.mapping.study import Study

RECONCILIATION_COLUMNS = ["source", "source_file", "item_group", "raw_records", "mapped",
                          "rejected", "reason"]


def _local(d, name: str, positions: np.ndarray) -> np.ndarray:
    """Positions (in the domain's stacked records) that belong to source ``name``, as rows of
    that source."""
    return _local_sel(d, name, positions)[0]


def _local_sel(d, name: str, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``_local`` and the mask of ``positions`` that belong to source ``name``."""
    parts = d.parts or [(d.source, 0, None)]
    if len(parts) == 1:
        sel = np.full(len(positions), parts[0][0] == name)
        return positions[sel], sel
    which, local = source_of(parts, np.asarray(positions, dtype=np.int64))
    idx = [i for i, p in enumerate(parts) if p[0] == name]
    sel = np.isin(which, idx)
    return local[sel], sel


def _log_filtered(issues: IssueLog, d, frame: pd.DataFrame, rows: np.ndarray,
                  usubjid: np.ndarray, reason: str) -> None:
    """One notice per raw record a domain filter excluded and no domain mapped."""
    if not len(rows):
        return
    col = (lambda c: frame[c].to_numpy(dtype=object)[rows] if c in frame else None)
    issues.add_frame(pd.DataFrame({"source_file": col(SRC_FILE), "source_row": col(SRC_ROW),
                                   "usubjid": usubjid[rows]}),
                     rule_id="MAP.FILTERED", severity="notice", stage="sdtm", dataset=d.name,
                     message=f"record not mapped: {reason}")


def reconcile(study: Study, sources: dict[str, pd.DataFrame], doms: list,
              issues: IssueLog | None = None) -> pd.DataFrame:
    """Per source: raw records, records reaching an output row, rejected with reasons.

    With ``issues``, every record a domain filter excluded (and no other domain mapped) is
    also logged, one MAP.FILTERED notice each with its source file, row and USUBJID."""
    record_srcs = {p[0] for d in doms for p in (d.parts or [(d.source, 0, None)])}
    rows = []
    for name, frame in sources.items():
        src = study.config.sources[name]
        n = len(frame)
        mapped = np.zeros(n, dtype=bool)
        why: dict[str, int] = {}
        for d in doms:
            mapped[_local(d, name, d.pos)] = True
        left = ~mapped
        reject = getattr(src, "reject", None)
        if reject and left.any():
            why[f"source rejected: {reject}"] = int(left.sum())
            left[:] = False
        for d in doms:
            for reason, positions in d.rejected.items():
                hit = np.zeros(n, dtype=bool)
                local, sel = _local_sel(d, name, positions)
                hit[local] = True
                hit &= left
                if hit.any() and issues is not None:
                    usub = np.full(n, None, dtype=object)
                    given = d.rejected_usubjid.get(reason)
                    if given is not None:
                        usub[local] = given[sel]
                    _log_filtered(issues, d, frame, np.flatnonzero(hit), usub, reason)
                if hit.any():
                    why[reason] = why.get(reason, 0) + int(hit.sum())
                    left &= ~hit
        if left.any():
            what = ("no values to transpose or not selected by any domain"
                    if name in record_srcs
                    else "used only for lookups/joins (no domain maps its records)")
            why[what] = int(left.sum())
        rows.append({"source": name, "source_file": src.file, "item_group": src.item_group,
                     "raw_records": n, "mapped": int(mapped.sum()),
                     "rejected": int(n - mapped.sum()),
                     "reason": "; ".join(f"{k} {r}" for r, k in why.items())})
    out = pd.DataFrame(rows, columns=RECONCILIATION_COLUMNS)
    return out.astype({"raw_records": np.int64, "mapped": np.int64, "rejected": np.int64})


def by_file(recon: pd.DataFrame) -> pd.DataFrame:
    """The per-source reconciliation summed per file (ODM item groups of one file together)."""
    out = recon.groupby("source_file", sort=True, observed=True).agg(
        raw_records=("raw_records", "sum"), mapped=("mapped", "sum"),
        rejected=("rejected", "sum"),
        reason=("reason", lambda r: "; ".join(x for x in r if x))).reset_index()
    return out.astype({"raw_records": np.int64, "mapped": np.int64, "rejected": np.int64})


def check_declared_sources(study: Study, lines: dict, cfg_file: str) -> list[ConfigError]:
    """Nothing silently dropped: every declared source is read by some domain (records, stack,
    join or lookup) or declared ``reject: <reason>``; a rejected source is mapped by none."""
    read: set[str] = set()
    mapped_by: dict[str, str] = {}
    for dom, m in study.domains.items():
        read |= set(m.sources)
        for name in record_sources(m):
            mapped_by.setdefault(name, dom)
    problems = []
    for name, src in study.config.sources.items():
        line = lines.get(("sources", name, "reject"), lines.get(("sources", name)))
        if src.reject is None and name not in read:
            problems.append(ConfigError(
                f"source '{name}' is read by no domain; map it or declare reject: <reason>",
                file=cfg_file, line=line, key=f"sources.{name}",
                hint="list it in a domain's sources (records, stack, join or lookup), or "
                f"add reject: <why its records are not mapped> to {name}"))
        elif src.reject is not None and name in mapped_by:
            problems.append(ConfigError(
                f"source '{name}' is declared rejected but {mapped_by[name]} maps its records",
                file=cfg_file, line=line, key=f"sources.{name}.reject",
                hint="remove 'reject', or the source from that domain"))
    return problems
