"""The SDTM mapping engine: raw sources + a validated :class:`Study` → SDTM frames.

Usage (needs the raw files)::

    from converter.issues import IssueLog
    from converter.mapping.study import load_study
    study = load_study("mappings/cdiscpilot01")
    result = run_sdtm(study, "path/to/raw", IssueLog())
    result.frames["DM"], result.origins["DM"], result.reconciliation

Order of work (documented in docs/mapping.md):

1. read every declared source (``read_raw`` / ``read_odm``);
2. check every raw column a mapping names against the headers → ConfigError (exit 2) before
   any value is mapped;
3. per domain, stack the record sources (``stack``), apply the ``join``s, the row ``filter``
   and ``transpose``;
4. run the steps by phase — 1 record-level, 2 cross-domain (``ref_date``), then SE is built,
   3 relative to DM (``study_day``, ``epoch``, ``baseline_flag``), 4 ``seq``, 5 ``supp`` — and
   within a phase in file order; a step that reads a variable runs after the step writing it;
5. build trial design domains and SV; check duplicates, orphans and 200-byte values;
6. reconcile every raw record of every source: mapped into some domain, or rejected with a
   reason (``reconcile.py``).

A variable is written by exactly one step, and once written it is never overwritten.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from converter.errors import ConfigError
from converter.issues import IssueLog
from converter.mapping.algorithms import REGISTRY
from converter.mapping.algorithms.supp import MAX_BYTES, SUPP_COLUMNS, build_supp
from converter.mapping.algorithms.transpose import transpose
from converter.mapping.base import raise_problems, suggest
from converter.mapping.fast import Codes, is_text, plain_frame, take, utf8_lengths
from converter.mapping.helpers import drop_helpers
from converter.mapping.joins import apply_joins, joined_header
from converter.mapping.reconcile import RECONCILIATION_COLUMNS, reconcile  # noqa: F401
from converter.mapping.stacking import SOURCE_NAME, record_sources, stack_frames
from converter.mapping.steps import StepBase, StepContext, evaluate_all
from converter.mapping.study import Study, _walk
from converter.model import SRC_FILE, SRC_ROW
from converter.paths import confined


@dataclass
class SdtmResult:
    frames: dict[str, pd.DataFrame]
    origins: dict[str, dict[str, dict]]
    reconciliation: pd.DataFrame
    sources: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    def plain(self) -> SdtmResult:
        """The same result with Categorical text columns as plain object columns (missing =
        None), for code that wants ordinary pandas semantics (e.g. tests, group-wise min/max).
        The engine keeps text as Categorical: millions of records repeat few distinct values."""
        return replace(self, frames={k: plain_frame(v) for k, v in self.frames.items()})


@dataclass
class _Domain:
    name: str
    raw: pd.DataFrame
    out: pd.DataFrame
    file: str
    primary_file: str
    source: str = ""
    pos: np.ndarray | None = None            # each record's row position in its raw source
    rejected: dict[str, np.ndarray] = field(default_factory=dict)  # reason -> raw positions
    # reason -> USUBJID of each rejected record (aligned with ``rejected``), where derivable
    rejected_usubjid: dict[str, np.ndarray] = field(default_factory=dict)
    codes: Codes = field(default_factory=Codes)
    # record sources: (name, start, stop) rows of each in the stacked raw (pos indexes it)
    parts: list[tuple[str, int, int]] = field(default_factory=list)


def _read_sources(study: Study, raw_dir: Path, names: list[str], issues: IssueLog
                  ) -> dict[str, pd.DataFrame]:
    from converter.io.readers import read_odm, read_raw

    out: dict[str, pd.DataFrame] = {}
    odm_cache: dict[Path, dict[str, pd.DataFrame]] = {}
    for name in names:
        src = study.config.sources[name]
        path = confined(raw_dir, src.file, what="source",
                        source=f"{study.root.name}/study.yaml")
        fmt = src.format or path.suffix.lower().lstrip(".")
        if fmt in ("odm", "xml"):
            if path not in odm_cache:
                odm_cache[path] = read_odm(path, source_name=src.file, issues=issues)
            groups = odm_cache[path]
            if src.item_group not in groups:
                raise ConfigError(
                    f"item group '{src.item_group}' has no data in {src.file}",
                    file=f"{study.root.name}/study.yaml", key=f"sources.{name}.item_group",
                    hint=suggest(src.item_group, groups) or f"groups: {', '.join(groups)}")
            frame = groups[src.item_group]
        else:
            frame = read_raw(path, source_name=src.file, fmt=src.format, encoding=src.encoding,
                             sheet=src.sheet, delimiter=src.delimiter, categorical=True)
        if not (isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0
                and frame.index.step == 1):
            frame = frame.reset_index(drop=True)
        out[name] = frame
    return out


def _check_columns(study: Study, sources: dict[str, pd.DataFrame]) -> None:
    problems: list[ConfigError] = []
    for dom, m in study.domains.items():
        if m.build:
            continue
        file, lines = study.files[dom], study.lines[dom]
        names = record_sources(m)
        have = {c for n in names for c in sources[n].columns} - {SOURCE_NAME}
        src_file = " / ".join(study.config.sources[n].file for n in names)
        have, bad = joined_header(study, dom, have, sources)
        problems.extend(bad)

        def missing(col: str, where: str, line: int | None, have: set = have,
                    src_file: str = src_file, file: str = file) -> None:
            problems.append(ConfigError(
                f"column '{col}' is not in {src_file}", file=file, line=line, key=where,
                hint=suggest(col, have) or f"columns: {', '.join(sorted(have))[:200]}"))

        for i, c in enumerate(m.filter):
            if c.column not in have:
                missing(c.column, "filter", lines.get(("filter", i), lines.get(("filter",))))
        if m.transpose:
            for col in m.transpose.needed():
                if col not in have:
                    missing(col, "transpose", lines.get(("transpose",)))
            have = (have - set(m.transpose.columns)) | {m.transpose.name_column,
                                                       m.transpose.value_column}
        for i, step in enumerate(m.steps):
            line = lines.get(("steps", i))
            for s in _walk([step]):
                for col in s.columns():
                    if col not in have:
                        missing(col, col, line, have)
                other = getattr(s, "from_source", None)
                if other:
                    o_have = set(sources[other].columns)
                    for col in [*s.by.values(), s.value]:
                        if col not in o_have:
                            missing(col, col, line, o_have, study.config.sources[other].file)
    raise_problems(problems)


def _phases(m_steps: list[StepBase]) -> list[int]:
    """Phase of each step: its algorithm's phase, raised to the phase of what it reads."""
    by_target: dict[str, int] = {}
    phases = []
    for step in m_steps:
        ph = max(REGISTRY[s.algorithm].phase_of(s) for s in _walk([step]))
        for v in step.variables():
            ph = max(ph, by_target.get(v, 1))
        phases.append(ph)
        by_target[step.target] = ph
    # a later step can raise an earlier reader; iterate to a fixed point
    for _ in range(len(m_steps)):
        changed = False
        for i, step in enumerate(m_steps):
            ph = max([phases[i]] + [by_target.get(v, 1) for v in step.variables()])
            if ph != phases[i]:
                phases[i], by_target[step.target], changed = ph, ph, True
        if not changed:
            break
    return phases


def _prepare(study: Study, dom: str, sources: dict[str, pd.DataFrame],
             issues: IssueLog | None = None) -> _Domain:
    m = study.domains[dom]
    raw, parts = stack_frames(m, sources)
    if m.join:
        raw = apply_joins(study, dom, raw, sources, issues if issues is not None else IssueLog())
    src_file = study.config.sources[m.sources[0]].file
    rejected: dict[str, np.ndarray] = {}
    rejected_usubjid: dict[str, np.ndarray] = {}
    pos = np.arange(len(raw))
    if m.filter:
        probe = StepContext(domain=dom, raw=raw, out=raw, study=study, issues=IssueLog())
        keep = evaluate_all(m.filter, probe).to_numpy()
        reason = f"excluded by {study.files[dom]} filter: " + " and ".join(
            c.describe() for c in m.filter)
        if (~keep).any():
            rejected[reason] = pos[~keep]
            rejected_usubjid[reason] = _usubjid_of(study, dom, raw[~keep].reset_index(drop=True))
        raw = raw[keep].reset_index(drop=True)
        pos = pos[keep]
    if m.transpose:
        long = transpose(raw, m.transpose, positions=True)
        pos = pos[long.pop("__pos").to_numpy()]
        raw = long
    out = pd.DataFrame({SRC_FILE: raw[SRC_FILE].to_numpy(), SRC_ROW: raw[SRC_ROW].to_numpy()})
    return _Domain(dom, raw, out, study.files[dom], src_file, m.sources[0], pos, rejected,
                   rejected_usubjid, parts=parts)


# algorithms that derive USUBJID from raw columns of the record alone
_RAW_ONLY = ("assign", "concat", "to_text", "hardcode")


def _usubjid_of(study: Study, dom: str, raw: pd.DataFrame) -> np.ndarray:
    """USUBJID of raw records a filter excludes (for their issue-log rows): the domain's own
    USUBJID step run on them when it reads raw columns only, else a raw USUBJID column."""
    steps = [s for s in study.domains[dom].steps if s.target == "USUBJID"]
    if steps and steps[0].algorithm in _RAW_ONLY and not steps[0].variables():
        probe = StepContext(domain=dom, raw=raw, out=pd.DataFrame(index=raw.index),
                            study=study, issues=IssueLog(), target="USUBJID")
        return REGISTRY[steps[0].algorithm].run(steps[0], probe).to_numpy(dtype=object)
    if "USUBJID" in raw:
        return raw["USUBJID"].to_numpy(dtype=object)
    return np.full(len(raw), None, dtype=object)


def _origin_entry(step: StepBase, src_file: str) -> dict:
    spec = REGISTRY[step.algorithm]
    return {"origin": spec.origin_of(step), "source": spec.source(step, src_file),
            "method": spec.describe(step), "comment": step.comment,
            "algorithm": step.algorithm}


def check_sources(study: Study, raw_dir: str | Path) -> None:
    """Read the raw sources and check every raw column the mappings name (no mapping)."""
    used = list(dict.fromkeys(s for m in study.domains.values() for s in m.sources))
    sources = _read_sources(study, Path(raw_dir), used, IssueLog())
    _check_columns(study, sources)


def run_sdtm(study: Study, raw_dir: str | Path, issues: IssueLog,
             progress: Callable[..., None] | None = None) -> SdtmResult:
    """Map every domain of ``study`` from the raw files in ``raw_dir``.

    Configuration problems found once headers are read (missing columns, missing ODM item
    groups) raise ConfigError before any value is mapped; data problems go to ``issues``.
    """
    from converter.sdtm import trial_design

    raw_dir = Path(raw_dir)
    advance = progress or (lambda n=1, description=None: None)
    # every declared source is read: the reconciliation accounts for all of their records
    used = list(dict.fromkeys([*(s for m in study.domains.values() for s in m.sources),
                               *study.config.sources]))
    sources = _read_sources(study, raw_dir, used, issues)
    advance(1, "read raw sources")
    _check_columns(study, sources)

    doms: dict[str, _Domain] = {}
    for dom, m in study.domains.items():
        if not m.build:
            doms[dom] = _prepare(study, dom, sources, issues)
    frames: dict[str, pd.DataFrame] = {d.name: d.out for d in doms.values()}
    phases = {dom: _phases(study.domains[dom].steps) for dom in doms}
    origins: dict[str, dict[str, dict]] = {}
    supp_frames: dict[str, pd.DataFrame] = {}

    # DM first in every phase: its phase-2 reference dates read the other domains' phase-1
    # variables, and the other domains' phase-2 lookups of DM then see them
    order = sorted(doms, key=lambda d: (d != "DM", d))
    for phase in (1, 2, 3, 4, 5):
        if phase == 3 and "SE" in study.domains:
            frames["SE"] = trial_design.build("se", study, frames, issues)
        if phase == 5:  # helper variables (keep: false) never reach SUPP-- nor the output
            for dom in order:
                doms[dom].out = drop_helpers(doms[dom].out, study.domains[dom],
                                             origins.setdefault(dom, {}))
                frames[dom] = doms[dom].out
        for dom in order:
            d = doms[dom]
            m = study.domains[dom]
            for i, (step, ph) in enumerate(zip(m.steps, phases[dom])):
                if ph != phase:
                    continue
                line = study.lines[dom].get(("steps", i))
                ctx = StepContext(domain=dom, raw=d.raw, out=d.out, study=study, issues=issues,
                                  frames=frames, sources=sources, file=d.file, line=line,
                                  target=step.target, codes=d.codes)
                if step.algorithm == "supp":
                    supp, parent = build_supp(step, ctx)
                    d.out = parent
                    d.codes = Codes()
                    supp_frames[step.target] = supp
                    # SUPP-- columns, then one entry per QNAM (value-level origin)
                    supp_origin = origins.setdefault(step.target, {})
                    for col in SUPP_COLUMNS:
                        supp_origin[col] = {
                            "origin": "Assigned" if col in ("QLABEL", "QORIG", "QEVAL",
                                                            "RDOMAIN", "IDVAR") else "Derived",
                            "source": None, "method": f"Supplemental qualifiers of {dom} "
                            f"({', '.join(q.variable for q in step.qualifiers) or 'long text'})",
                            "comment": None, "algorithm": "supp"}
                    for q in step.qualifiers:
                        supp_origin[q.variable] = origins.get(dom, {}).pop(q.variable, {})
                else:
                    # algorithms return None (text) or NaN (numbers) for missing values
                    d.codes.forget("var", step.target)
                    values = REGISTRY[step.algorithm].run(step, ctx)
                    d.out[step.target] = (values.array if isinstance(
                        values.dtype, pd.CategoricalDtype) else values.to_numpy())
                    origins.setdefault(dom, {})[step.target] = _origin_entry(
                        step, d.primary_file)
                frames[dom] = d.out
            advance(0, f"{dom}: phase {phase}")
    for dom, d in doms.items():
        frames[dom] = d.out
        advance(1, f"mapped {dom}")
    frames.update(supp_frames)
    for dom, m in study.domains.items():
        if m.build and m.build != "se":
            frames[dom] = trial_design.build(m.build, study, frames, issues)
        elif m.build == "se":
            frames[dom] = frames.get("SE", trial_design.build("se", study, frames, issues))
        if m.build:
            origins[dom] = trial_design.origins(m.build, list(frames[dom].columns))
    _checks(study, doms, frames, issues)
    recon = reconcile(study, sources, list(doms.values()), issues)
    ordered = {k: frames[k] for k in sorted(frames)}
    return SdtmResult(frames=ordered, origins=origins, reconciliation=recon, sources=sources)


def _checks(study: Study, doms: dict[str, _Domain], frames: dict[str, pd.DataFrame],
            issues: IssueLog) -> None:
    dm_subjects = None
    if "DM" in frames and "USUBJID" in frames["DM"]:
        dm_subjects = set(frames["DM"]["USUBJID"].dropna())
    for dom, d in doms.items():
        m = study.domains[dom]
        out = d.out
        ctx = StepContext(domain=dom, raw=d.raw, out=out, study=study, issues=issues,
                          codes=d.codes)
        if m.unique and all(v in out for v in m.unique):
            keys = [ctx.var_codes(v)[0] for v in m.unique]
            sizes = [int(k.max()) + 2 if len(k) else 1 for k in keys]   # codes -1 .. max
            if np.prod([float(x) for x in sizes]) < 2.0 ** 62:   # exact: one integer key
                composite = np.zeros(len(out), dtype=np.int64)
                for k, size in zip(keys, sizes):
                    composite = composite * size + (k + 1)
                dup = pd.Series(composite).duplicated(keep=False).to_numpy()
            else:
                dup = pd.DataFrame(dict(enumerate(keys))).duplicated(keep=False).to_numpy()
            if dup.any():
                key = out.loc[dup, m.unique].astype(str).agg(" ".join, axis=1)
                full = pd.Series(None, index=out.index, dtype=object)
                full[dup] = key
                ctx.issue(dup, "MAP.DUPKEY", f"records share the key {', '.join(m.unique)}",
                          full, variable=", ".join(m.unique))
        if dom != "DM" and dm_subjects is not None and "USUBJID" in out:
            codes, subjects = ctx.var_codes("USUBJID")
            orphan_u = ~subjects.isin(dm_subjects).to_numpy()
            if orphan_u.any():
                ctx.issue(take(orphan_u, codes, missing=False).astype(bool), "MAP.ORPHAN",
                          "subject not in DM", out["USUBJID"], variable="USUBJID")
        has_supp = any(s.algorithm == "supp" for s in m.steps)
        if not has_supp:
            for name in out.columns:
                if name in (SRC_FILE, SRC_ROW) or not is_text(out[name].dtype):
                    continue
                codes, uniques = ctx.var_codes(name)
                long_u = utf8_lengths(uniques) > MAX_BYTES   # distinct values only
                if long_u.any():
                    long = take(long_u, codes, missing=False).astype(bool)
                    ctx.issue(long, "MAP.LEN200", f"{name} value over {MAX_BYTES} bytes "
                              "(no supp step to split it)", out[name], variable=name,
                              expected="at most 200 bytes")
