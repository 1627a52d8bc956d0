"""Run the rule catalogue over a study's datasets; findings go to the shared IssueLog.

Each rule ends in exactly one state: ``passed``, ``issues_found``, ``skipped`` (with the
reason) or ``execution_error`` (with the error; the run continues with the next rule).
"""

from __future__ import annotations

import fnmatch
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from converter.issues import SEVERITY_RANK, IssueLog
from converter.model import SRC_FILE, SRC_ROW, Dataset
from converter.validate.context import Context, number_text, standard_of
from converter.validate.operators import OPERATORS, Skip
from converter.validate.rules import Rule, load_rules
from converter.validate.waivers import Waiver, match_waivers, resolve_waivers

STAGE = "validation"
RULE_COLUMNS = ["rule_id", "severity", "state", "reason", "n_issues", "n_waived", "authority",
                "message", "title", "p21", "datasets"]
UNUSED_WAIVER_RULE = "WAIVER.UNUSED"


@dataclass(eq=False)
class ValidationResult:
    """Outcome of :func:`validate`: one row per rule, the waivers and a dataset summary."""

    rules: pd.DataFrame
    waivers: list[Waiver] = field(default_factory=list)
    datasets: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __repr__(self) -> str:
        states = self.rules["state"].value_counts().to_dict() if len(self.rules) else {}
        return f"ValidationResult({len(self.rules)} rules: {states}, {len(self.waivers)} waivers)"

    def issues_with_waivers(self, issues: IssueLog | pd.DataFrame) -> pd.DataFrame:
        return issue_table(issues, self.waivers)

    def exit_code(self, issues: IssueLog | pd.DataFrame, fail_on: str = "error") -> int:
        return gate_exit_code(self.issues_with_waivers(issues), self.rules, fail_on)


def issue_table(issues: IssueLog | pd.DataFrame, waivers: list[Waiver] | None = None
                ) -> pd.DataFrame:
    """The issue log as a frame plus ``waived`` (justification text or None)."""
    frame = issues.to_frame() if isinstance(issues, IssueLog) else issues.copy()
    if "waived" not in frame.columns:
        frame["waived"] = match_waivers(frame, waivers or [])[0] if len(frame) else None
    return frame


def gate_exit_code(issues: pd.DataFrame, rules: pd.DataFrame | None, fail_on: str) -> int:
    """1 when a non-waived issue is at or above ``fail_on`` or a rule could not execute."""
    rank = SEVERITY_RANK[fail_on]
    live = issues[issues["waived"].isna()] if "waived" in issues.columns else issues
    if live["severity"].map(SEVERITY_RANK).ge(rank).any():
        return 1
    if rules is not None and len(rules) and (rules["state"] == "execution_error").any():
        return 1
    return 0


class _Outcome:
    def __init__(self) -> None:
        self.n_issues = 0
        self.ran: list[str] = []
        self.skips: dict[str, list[str]] = {}
        self.errors: list[str] = []
        self.notes: list[str] = []

    def state(self, in_scope: int) -> tuple[str, str]:
        skip_text = "; ".join(f"{reason} ({', '.join(names)})" if names != [""] else reason
                              for reason, names in self.skips.items())
        if self.errors:
            return "execution_error", "; ".join(self.errors)
        notes = "; ".join(self.notes)
        if self.n_issues:
            return "issues_found", notes
        if self.ran:
            extra = f"skipped for: {skip_text}" if skip_text else ""
            return "passed", "; ".join(t for t in (notes, extra) if t)
        if in_scope == 0:
            return "skipped", "no dataset in scope"
        return "skipped", skip_text or "not applicable"


def in_scope(rule: Rule, ctx: Context, name: str) -> bool:
    sc = rule.scope
    if sc.standard != "any" and standard_of(name) != sc.standard:
        return False
    if sc.datasets and not ctx.matches(name, sc.datasets):
        return False
    if sc.exclude_datasets and ctx.matches(name, sc.exclude_datasets):
        return False
    klass = ctx.dataset_class(name)
    if sc.classes and klass not in {c.upper() for c in sc.classes}:
        return False
    return not (sc.exclude_classes and klass in {c.upper() for c in sc.exclude_classes})


def _text(values: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values.dtype):
        return number_text(values).fillna("")
    return values.astype(object).where(values.notna(), "").astype(str)


def format_messages(template: str, frame: pd.DataFrame, constants: Mapping[str, object]
                    ) -> str | pd.Series:
    """Fill ``{placeholders}`` from frame columns (vectorised) or constants. Unknown
    placeholders stay as written so a typo shows in the report rather than crashing."""
    pieces = list(string.Formatter().parse(template))
    if not any(name and name in frame.columns for _, name, _, _ in pieces):
        out = ""
        for literal, name, _, _ in pieces:
            out += literal
            if name is not None:
                out += str(constants[name]) if name in constants else "{" + name + "}"
        return out
    result = pd.Series("", index=frame.index, dtype=object)
    for literal, name, _, _ in pieces:
        if literal:
            result = result + literal
        if name is None:
            continue
        if name in frame.columns:
            result = result + _text(frame[name])
        elif name in constants:
            result = result + str(constants[name])
        else:
            result = result + "{" + name + "}"
    return result


def _issue_frame(ctx: Context, ds: Dataset | None, found: pd.DataFrame) -> pd.DataFrame:
    """Add dataset, USUBJID, --SEQ and source (provenance or record number) to findings."""
    out = found.reset_index(drop=True).copy()
    if "dataset" not in out.columns:
        out["dataset"] = ds.name if ds is not None else None
    if ds is None or "row" not in out.columns:
        return out
    rows = pd.to_numeric(out["row"], errors="coerce")
    has = rows.notna().to_numpy()
    pos = rows.fillna(0).astype(np.int64).to_numpy()
    data = ds.data

    def take(column: str) -> np.ndarray:
        vals = data[column].to_numpy()[pos].astype(object)
        vals[~has] = None
        return vals
    if "USUBJID" in data.columns and "usubjid" not in out.columns:
        out["usubjid"] = take("USUBJID")
    seq = ctx.prefix(ds.name) + "SEQ"
    if ctx.prefix(ds.name) and seq in data.columns and "seq" not in out.columns:
        out["seq"] = pd.to_numeric(pd.Series(take(seq)), errors="coerce")
    if SRC_FILE in data.columns and SRC_ROW in data.columns:
        out["source_file"] = take(SRC_FILE)
        out["source_row"] = take(SRC_ROW)
    else:   # the record number in the dataset, as validators report it
        record = (pos + 1).astype(object)
        record[~has] = None
        out["source_row"] = record
    return out


def _run_one(rule: Rule, ctx: Context, ds: Dataset | None, outcome: _Outcome,
             issues: IssueLog) -> None:
    name = ds.name if ds is not None else ""
    if ds is not None:
        missing = [v for v in (ctx.expand(name, r) for r in rule.scope.requires)
                   if v not in ds.data.columns]
        if missing:
            outcome.skips.setdefault(f"variable {', '.join(missing)} not present", []).append(name)
            return
    ctx.notes = []
    try:
        found = OPERATORS[rule.operator](ctx, ds, **rule.params)
    except Skip as skip:
        outcome.skips.setdefault(skip.reason, []).append(name)
        return
    except Exception as exc:  # noqa: BLE001 - a failing rule must not stop the run
        outcome.errors.append(f"{name + ': ' if name else ''}{type(exc).__name__}: {exc}")
        return
    finally:
        for note in ctx.notes:
            if note not in outcome.notes:
                outcome.notes.append(note)
    outcome.ran.append(name)
    if found is None or len(found) == 0:
        return
    frame = _issue_frame(ctx, ds, found)
    constants = {"dataset": name, "rule_id": rule.id, **{k: v for k, v in rule.params.items()
                                                           if not isinstance(v, (dict, list))}}
    message = format_messages(rule.message, frame, constants)
    outcome.n_issues += issues.add_frame(
        frame, rule_id=rule.id, severity=rule.severity, stage=STAGE,
        message=message)


def dataset_summary(ctx: Context) -> pd.DataFrame:
    rows = []
    for name in sorted(ctx.datasets):
        ds = ctx.datasets[name]
        rows.append({"dataset": name, "label": ds.meta.label or "",
                     "class": ctx.dataset_class(name), "standard": standard_of(name),
                     "records": len(ds.data), "variables": len(ctx.columns(ds))})
    return pd.DataFrame(rows, columns=["dataset", "label", "class", "standard", "records",
                                       "variables"])


def validate(datasets: Mapping[str, Dataset], *, spec: object = None, ct: object = None,
             issues: IssueLog, define_path: str | Path | None = None,
             waivers: object = None, rules: list[Rule] | None = None,
             progress: object = None) -> ValidationResult:
    """Validate ``datasets`` (name -> Dataset) with the rule catalogue.

    ``spec``: a ``converter.metadata`` Spec (or a list of them), ``ct``: a CT package from
    ``converter.ct.load_ct``; ``waivers``: a waivers file path or list. Findings are added to
    ``issues`` with stage "validation".

    >>> import pandas as pd
    >>> from converter.model import Dataset, DatasetMeta
    >>> dm = Dataset(DatasetMeta("DM"), pd.DataFrame({"USUBJID": ["1", "1"]}))
    >>> log = IssueLog()
    >>> result = validate({"DM": dm}, issues=log)
    >>> result.rules.set_index("rule_id").loc["SDTM.DM.ONE_PER_SUBJECT", "state"]
    'issues_found'
    """
    waiver_list = resolve_waivers(waivers)
    ctx = Context(datasets, spec=spec, ct=ct, define_path=define_path)
    ctx.define()   # an unreadable define.xml is a bad argument (InputError), not a rule failure
    rule_list = load_rules() if rules is None else rules
    outcomes = {r.id: _Outcome() for r in rule_list}
    scoped = {r.id: 0 for r in rule_list}
    dataset_rules = [r for r in rule_list if r.level == "dataset"]
    names = sorted(ctx.datasets)
    for i, name in enumerate(names):
        ds = ctx.datasets[name]
        for rule in dataset_rules:
            if in_scope(rule, ctx, name):
                scoped[rule.id] += 1
                _run_one(rule, ctx, ds, outcomes[rule.id], issues)
        ctx.release(ds)
        if progress is not None:
            progress(1, f"validated {name} ({i + 1}/{len(names)})")
    for rule in rule_list:
        if rule.level == "study":
            scoped[rule.id] += 1
            _run_one(rule, ctx, None, outcomes[rule.id], issues)

    frame = issues.to_frame()
    waived, counts = match_waivers(frame, waiver_list) if len(frame) else (
        pd.Series(dtype=object), [0] * len(waiver_list))
    ran = [r.id for r in rule_list if outcomes[r.id].ran]
    reported = set(issues.filter([UNUSED_WAIVER_RULE])["value"])
    for waiver, n in zip(waiver_list, counts):
        # unused only if it could have matched here: one of its rules ran on its dataset
        relevant = any(fnmatch.fnmatchcase(r, waiver.rule_id) for r in ran) and (
            waiver.dataset is None or any(fnmatch.fnmatchcase(d, waiver.dataset.upper())
                                          for d in ctx.datasets))
        if n == 0 and relevant and waiver.label not in reported:
            issues.add(UNUSED_WAIVER_RULE, f"waiver {waiver.label} ({waiver.source}) matched "
                       "no finding; remove it or correct its scope", severity="notice",
                       stage=STAGE, value=waiver.label)
    n_waived = (frame.assign(w=waived).loc[lambda f: f["w"].notna()]
                .groupby("rule_id", observed=True).size()) if len(frame) else pd.Series(dtype=int)
    rows = []
    for rule in rule_list:
        state, reason = outcomes[rule.id].state(scoped[rule.id])
        rows.append({
            "rule_id": rule.id,
            "severity": issues.severity_overrides.get(rule.id, rule.severity),
            "state": state, "reason": reason, "n_issues": outcomes[rule.id].n_issues,
            "n_waived": int(n_waived.get(rule.id, 0)), "authority": rule.authority,
            "message": rule.message, "title": rule.title, "p21": ", ".join(rule.p21),
            "datasets": ", ".join(n for n in outcomes[rule.id].ran if n),
        })
    table = pd.DataFrame(rows, columns=RULE_COLUMNS)
    summary = dataset_summary(ctx)
    _remember(issues, waiver_list, summary)
    return ValidationResult(rules=table, waivers=waiver_list, datasets=summary)


def _remember(issues: IssueLog, waivers: list[Waiver], summary: pd.DataFrame) -> None:
    """Keep the waivers and dataset summary with the log, so that a report written from the
    log alone (e.g. after several validate() calls whose rule tables were concatenated) still
    shows waived findings and record counts."""
    known = getattr(issues, "waivers", [])
    issues.waivers = known + [w for w in waivers if w not in known]
    before = getattr(issues, "validated_datasets", None)
    issues.validated_datasets = summary if before is None else pd.concat(
        [before[~before["dataset"].isin(summary["dataset"])], summary], ignore_index=True)
