"""Reconciliation: every raw record of every source is mapped or rejected with a reason.

One row per declared source (for ODM, per item group): ``source``, ``source_file``,
``item_group``, ``raw_records``, ``mapped`` (records that reached an output row of some
domain, stacked sources included), ``rejected`` (``raw_records - mapped``) and ``reason``
(counts per reason: a domain's filter, nothing to transpose, read only for lookups/joins, or
the ``reject:`` reason of a source declared as rejected as a whole).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from converter.errors import ConfigError
from converter.mapping.stacking import record_sources, source_of

if TYPE_CHECKING:  # pragma: no cover
    from converter.mapping.study import Study

RECONCILIATION_COLUMNS = ["source", "source_file", "item_group", "raw_records", "mapped",
                          "rejected", "reason"]


def _local(d, name: str, positions: np.ndarray) -> np.ndarray:
    """Positions (in the domain's stacked records) that belong to source ``name``, as rows of
    that source."""
    parts = d.parts or [(d.source, 0, None)]
    if len(parts) == 1:
        return positions if parts[0][0] == name else positions[:0]
    which, local = source_of(parts, np.asarray(positions, dtype=np.int64))
    idx = [i for i, p in enumerate(parts) if p[0] == name]
    return local[np.isin(which, idx)] if idx else positions[:0]


def reconcile(study: Study, sources: dict[str, pd.DataFrame], doms: list) -> pd.DataFrame:
    """Per source: raw records, records reaching an output row, rejected with reasons."""
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
                hit[_local(d, name, positions)] = True
                hit &= left
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
    out = recon.groupby("source_file", sort=True).agg(
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
