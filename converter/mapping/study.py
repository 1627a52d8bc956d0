"""The study configuration (``mappings/<study>/study.yaml``) and :func:`load_study`.

``load_study(study_dir)`` reads study.yaml, the study CT synonym table and every
``sdtm/<domain>.yaml``, and validates all of it before any data is read: unknown keys, unknown
algorithms, codelists not in the pinned CT package, synonym terms not in their codelist,
undeclared sources, duplicated targets, variables read but never mapped, paths leaving the study
folder. Every problem found is reported (``ConfigProblems``), each as ``file:line``.

>>> from converter.paths import REPO_ROOT
>>> study = load_study(REPO_ROOT / "mappings" / "cdiscpilot01")
>>> study.config.study_id, sorted(study.domains)[:3]
('CDISCPILOT01', ['AE', 'DM', 'DS'])
"""

# pydantic copies mutable defaults per instance, so list/dict defaults are safe here.
# ruff: noqa: RUF012
from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import ValidationError, field_validator, model_validator

from converter.ct import CTPackage, available_packages, load_ct
from converter.errors import ConfigError
from converter.issues import SEVERITIES
from converter.mapping.base import Strict, problems_from_validation, raise_problems, suggest
from converter.mapping.helpers import check_helper
from converter.mapping.joins import check_joins
from converter.mapping.models import DomainMapping
from converter.mapping.reconcile import check_declared_sources
from converter.mapping.stacking import check_stack
from converter.mapping.steps import Condition, StepBase
from converter.mapping.yamlsafe import load_yaml
from converter.paths import confined

RAW_FORMATS = ("csv", "tsv", "txt", "xlsx", "sas7bdat", "xpt", "odm")


class Source(Strict):
    """A named raw source: a file relative to the raw folder, and how to read it."""

    file: str
    format: Literal[RAW_FORMATS] | None = None  # type: ignore[valid-type]
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    item_group: str | None = None
    # the whole source is rejected with this reason (counted so in the reconciliation)
    reject: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Source:
        fmt = self.format or Path(self.file).suffix.lower().lstrip(".")
        if fmt == "xml":
            fmt = "odm"
        if fmt == "odm" and not self.item_group:
            raise ValueError("an ODM source needs 'item_group' (the ItemGroupOID to map)")
        if self.item_group and fmt != "odm":
            raise ValueError("'item_group' applies to ODM XML sources only")
        try:
            confined("/__raw__", self.file, what="source")
        except ConfigError as exc:
            raise ValueError(exc.message) from None
        return self


class Output(Strict):
    formats: list[Literal["xpt", "json", "ndjson", "dsjc", "csv", "parquet"]] = ["xpt", "json"]


class Arm(Strict):
    armcd: str
    arm: str
    elements: list[str]
    branch: str | None = None


class ElementDate(Strict):
    """A per-subject date from a mapped domain: the first/last complete ``variable``.

    ``precision: date`` keeps only the date (an element that starts at a visit day rather than
    at the moment of one of its records: a sample drawn before the vital signs of that visit
    still belongs to it)."""

    domain: str
    variable: str
    pick: Literal["first", "last"] = "first"
    precision: Literal["datetime", "date"] = "datetime"
    where: list[Condition] = []

    @field_validator("where", mode="before")
    @classmethod
    def _listify(cls, v: object) -> object:
        return [v] if isinstance(v, dict) else v


class Element(Strict):
    etcd: str
    element: str
    epoch: str
    start_rule: str
    end_rule: str | None = None
    duration: str | None = None
    # when the element starts (ends, if it is a subject's last) in SE: a DM variable such as
    # RFXSTDTC, or a date taken from another domain ({domain: EX, variable: EXENDTC, pick: last})
    start: str | ElementDate | None = None
    end: str | ElementDate | None = None


class TrialVisit(Strict):
    visitnum: float
    visit: str
    visitdy: int | None = None
    window: tuple[int, int] | None = None
    armcd: str | None = None
    start_rule: str | None = None
    end_rule: str | None = None
    aliases: list[str] = []


class Criterion(Strict):
    ietestcd: str
    ietest: str
    iecat: Literal["INCLUSION", "EXCLUSION"]
    iescat: str | None = None
    tirl: str | None = None
    tivers: str | None = None


# ISO 21090 null flavours allowed in TSVALNF (SDTMIG 3.3 TS)
TS_NULL_FLAVORS = ("NI", "INV", "DER", "OTH", "PINF", "NINF", "UNC", "MSK", "NA", "UNK",
                   "ASKU", "NAV", "NASK", "QS", "TRC", "NP")


class TSParam(Strict):
    """A trial summary parameter: ``value`` (TSVAL), or ``valnf`` (TSVALNF, a null flavour such
    as PINF or NA) for a parameter without a value."""

    parmcd: str
    value: str | None = None
    valnf: str | None = None
    parm: str | None = None
    valcd: str | None = None
    vcdref: str | None = None
    vcdver: str | None = None
    grpid: str | None = None

    @model_validator(mode="after")
    def _value_or_null(self) -> TSParam:
        if (self.value is None) == (self.valnf is None):
            raise ValueError(f"TS parameter {self.parmcd} needs exactly one of 'value' or "
                             "'valnf' (a null flavour such as PINF, NA)")
        if self.valnf is not None and self.valnf not in TS_NULL_FLAVORS:
            hint = suggest(self.valnf, TS_NULL_FLAVORS)
            raise ValueError(f"valnf '{self.valnf}' is not an ISO 21090 null flavour; expected "
                             f"one of {', '.join(TS_NULL_FLAVORS)}" + (f" ({hint})" if hint
                                                                        else ""))
        return self


class TrialDesign(Strict):
    arms: list[Arm] = []
    elements: list[Element] = []
    visits: list[TrialVisit] = []
    criteria: list[Criterion] = []
    ts: list[TSParam] = []

    @model_validator(mode="after")
    def _refs(self) -> TrialDesign:
        etcds = {e.etcd for e in self.elements}
        for arm in self.arms:
            for e in arm.elements:
                if e not in etcds:
                    hint = suggest(e, etcds)
                    raise ValueError(f"arm {arm.armcd} names element '{e}' not declared in "
                                     f"trial_design.elements" + (f" ({hint})" if hint else ""))
        nums = [v.visitnum for v in self.visits]
        if len(nums) != len(set(nums)):
            raise ValueError("trial visits repeat a visitnum")
        return self


_PAGES = re.compile(r"^[1-9][0-9]*( [1-9][0-9]*)*$")


class DefineSettings(Strict):
    """``define:`` in study.yaml: document settings for define.xml (converter.define).

    ``crf_pages`` is normalised to ``{dataset: {variable: "12 13"}}`` (what ``write_define``
    reads); ``meddra_version`` is also put into ``dictionaries["MedDRA"]``."""

    meddra_version: str | None = None
    dictionaries: dict[str, str] = {}
    acrf: str | None = None
    crf_pages: dict[str, dict[str, str]] = {}

    @field_validator("acrf")
    @classmethod
    def _acrf_inside(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            confined("/__study__", v, what="acrf")
        except ConfigError as exc:
            raise ValueError(exc.message) from None
        return v

    @field_validator("crf_pages", mode="before")
    @classmethod
    def _pages(cls, v: object) -> object:
        if not isinstance(v, dict):
            return v
        out: dict[str, dict[str, str]] = {}
        for key, pages in v.items():
            ds, dot, var = str(key).partition(".")
            if not dot or not ds or not var:
                raise ValueError(f"crf_pages key '{key}' is not DATASET.VARIABLE "
                                 "(e.g. DM.SEX: 12 13)")
            if isinstance(pages, (list, tuple)):
                text = " ".join(str(p) for p in pages)
            else:
                text = " ".join(str(pages).replace(",", " ").split())
            if isinstance(pages, bool) or not _PAGES.match(text):
                raise ValueError(f"crf_pages {key}: '{pages}' is not a list of page numbers "
                                 "(e.g. 12 13)")
            out.setdefault(ds.upper(), {})[var.upper()] = text
        return out

    @field_validator("meddra_version", mode="before")
    @classmethod
    def _version(cls, v: object) -> object:
        # YAML reads 26.1 as a float; the version is text
        return str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v

    @model_validator(mode="after")
    def _consistent(self) -> DefineSettings:
        if self.crf_pages and not self.acrf:
            raise ValueError("crf_pages refer to the annotated CRF: set acrf (its file name)")
        if self.meddra_version:
            given = {k.upper(): v for k, v in self.dictionaries.items()}.get("MEDDRA")
            if given is not None and given != self.meddra_version:
                raise ValueError(f"meddra_version {self.meddra_version} and dictionaries "
                                 f"MedDRA {given} disagree")
            if given is None:
                self.dictionaries = {**self.dictionaries, "MedDRA": self.meddra_version}
        return self


class StudyConfig(Strict):
    """study.yaml. ``created`` is the timestamp written into every output file."""

    study_id: str
    study_name: str
    sdtmig_version: str = "3.3"
    adamig_version: str = "1.1"
    ct_package: str
    adam_ct_package: str | None = None
    raw_dir: str = "raw"
    spec_overrides: str | None = None
    created: datetime
    output: Output = Output()
    severity_overrides: dict[str, str] = {}
    sources: dict[str, Source] = {}
    ct_synonyms: list[str] = []
    trial_design: TrialDesign = TrialDesign()
    define: DefineSettings = DefineSettings()

    @field_validator("ct_synonyms", mode="before")
    @classmethod
    def _listify(cls, v: object) -> object:
        return [v] if isinstance(v, str) else v

    @field_validator("ct_package", "adam_ct_package")
    @classmethod
    def _package(cls, v: str | None) -> str | None:
        if v is not None and v not in available_packages():
            hint = suggest(v, available_packages())
            raise ValueError(f"CT package '{v}' is not shipped; expected one of "
                             f"{', '.join(available_packages())}" + (f" ({hint})" if hint else ""))
        return v

    @field_validator("severity_overrides")
    @classmethod
    def _severities(cls, v: dict[str, str]) -> dict[str, str]:
        for rule, sev in v.items():
            if sev not in SEVERITIES:
                raise ValueError(f"severity '{sev}' for rule '{rule}' is not one of "
                                 f"{', '.join(SEVERITIES)}")
        return v

    # raw_dir is the user's data location (like --raw): it may lie outside the study folder;
    # source files stay confined to it (Source._check, engine._read_sources)
    @field_validator("spec_overrides")
    @classmethod
    def _inside(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            confined("/__study__", v, what="path")
        except ConfigError as exc:
            raise ValueError(exc.message) from None
        return v


@dataclass
class Study:
    """A validated study: config, domain mappings (with their file and line numbers), CT."""

    root: Path
    config: StudyConfig
    domains: dict[str, DomainMapping]
    files: dict[str, str] = field(default_factory=dict)          # domain -> display path
    lines: dict[str, dict] = field(default_factory=dict)         # domain -> yaml line map
    synonyms: dict[str, dict[str, str]] = field(default_factory=dict)  # codelist -> key -> value
    sponsor_codelists: set[str] = field(default_factory=set)

    @property
    def ct(self) -> CTPackage:
        return load_ct(self.config.ct_package)

    @property
    def raw_dir(self) -> Path:
        """The default raw folder: ``raw_dir`` resolved against the study folder (it may lie
        outside it, e.g. ``../../examples/p2/raw``); ``--raw`` overrides it."""
        return (self.root / self.config.raw_dir).resolve()

    default_raw_dir = raw_dir

    @property
    def spec_overrides(self) -> Path | None:
        """Study metadata overrides for the metadata stage: ``spec_overrides`` or ``specs/``."""
        if self.config.spec_overrides:
            return confined(self.root, self.config.spec_overrides, what="spec_overrides",
                            source=str(self.root / "study.yaml"))
        folder = self.root / "specs"
        return folder if folder.is_dir() else None

    @property
    def acrf_path(self) -> Path | None:
        """The annotated CRF (``define.acrf``) inside the study folder, or None."""
        if not self.config.define.acrf:
            return None
        return confined(self.root, self.config.define.acrf, what="define.acrf",
                        source=str(self.root / "study.yaml"))

    @property
    def waivers_path(self) -> Path | None:
        """``waivers.yaml`` of the study folder, when present (validation waivers)."""
        path = self.root / "waivers.yaml"
        return path if path.is_file() else None

    def codelist_code(self, codelist: str) -> str:
        if codelist in self.sponsor_codelists:
            return codelist
        return self.ct.codelist(codelist).code

    def codelist_label(self, codelist: str) -> str:
        if codelist in self.sponsor_codelists:
            return f"{codelist} (sponsor)"
        cl = self.ct.codelist(codelist)
        return f"{cl.submission_value} ({cl.code})"

    def recode(self, codelist: str, values: pd.Series) -> pd.Series:
        """Collected → submission value: study synonyms first, then the CT codelist."""
        code = self.codelist_code(codelist)
        s = pd.Series(values, dtype=object)
        codes, uniques = pd.factorize(s)
        uniq = pd.Series(uniques, dtype=object)
        key = uniq.astype(str).str.strip().str.upper()
        out = key.map(self.synonyms.get(code, {}))
        if code not in self.sponsor_codelists:
            ct_hit = self.ct.codelist(code).lookup(uniq)
            out = out.where(out.notna(), ct_hit)
        arr = out.astype(object).where(out.notna(), None).to_numpy()
        res = pd.Series([None] * len(s), index=s.index, dtype=object)
        has = codes >= 0
        res[has] = arr[codes[has]]
        return res

    @functools.cache  # noqa: B019 - a Study is immutable after loading
    def visit_table(self) -> pd.DataFrame:
        rows = []
        for v in self.config.trial_design.visits:
            for name in [v.visit, *v.aliases]:
                rows.append({"key": " ".join(name.upper().split()), "visitnum": v.visitnum,
                             "visit": v.visit})
        return pd.DataFrame(rows, columns=["key", "visitnum", "visit"]).drop_duplicates("key")

    def __hash__(self) -> int:
        return id(self)


def _load_synonyms(study_root: Path, rel: str, ct: CTPackage, cfg_file: str
                   ) -> tuple[dict[str, dict[str, str]], set[str], list[ConfigError]]:
    """Read a synonym CSV: codelist, collected_value, submission_value (one term per line)."""
    path = confined(study_root, rel, what="ct_synonyms", source=cfg_file)
    display = f"{study_root.name}/{rel}"
    problems: list[ConfigError] = []
    table: dict[str, dict[str, str]] = {}
    sponsor: set[str] = set()
    if not path.is_file():
        return table, sponsor, [ConfigError(f"synonym table '{rel}' not found", file=cfg_file,
                                            key="ct_synonyms")]
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        need = ["codelist", "collected_value", "submission_value"]
        if reader.fieldnames is None or any(c not in reader.fieldnames for c in need):
            return table, sponsor, [ConfigError(
                f"synonym table header must be {', '.join(need)}", file=display, line=1,
                key=",".join(reader.fieldnames or []))]
        for lineno, row in enumerate(reader, start=2):
            cl, collected, value = (row[c].strip() for c in need)
            if ct.has(cl):
                codelist = ct.codelist(cl)
                code = codelist.code
                if value not in codelist.values and not codelist.extensible:
                    hint = suggest(value, codelist.values)
                    problems.append(ConfigError(
                        f"'{value}' is not a term of non-extensible codelist "
                        f"{codelist.submission_value} ({code}) in {ct.name}", file=display,
                        line=lineno, key="submission_value", hint=hint))
                    continue
            else:
                code = cl
                sponsor.add(cl)
            key = collected.upper()
            prev = table.setdefault(code, {}).get(key)
            if prev is not None and prev != value:
                problems.append(ConfigError(
                    f"collected value '{collected}' maps to both '{prev}' and '{value}'",
                    file=display, line=lineno, key="collected_value"))
            table[code][key] = value
    return table, sponsor, problems


def _walk(steps: list[StepBase]) -> list[StepBase]:
    out = []
    for s in steps:
        out.append(s)
        nested = getattr(s, "nested", None)
        if nested:
            out.extend(_walk(nested()))
    return out


def _step_codelists(step: StepBase) -> list[str]:
    return [c for c in (getattr(step, "codelist", None), getattr(step, "to_codelist", None)) if c]


def load_study(study_dir: str | Path) -> Study:
    """Read and validate a study folder; raise ConfigError/ConfigProblems listing every problem."""
    root = Path(study_dir).resolve()
    cfg_path = root / "study.yaml"
    cfg_file = f"{root.name}/study.yaml"
    if not cfg_path.is_file():
        raise ConfigError("study.yaml not found", file=str(root),
                          hint="a study folder holds study.yaml and sdtm/<domain>.yaml files")
    data, lines = load_yaml(cfg_path, cfg_file)
    if not isinstance(data, dict):
        raise ConfigError("study.yaml must be a mapping of keys", file=cfg_file, line=1)
    try:
        config = StudyConfig.model_validate(data)
    except ValidationError as exc:
        raise_problems(problems_from_validation(exc, data, lines, cfg_file))
        raise  # pragma: no cover
    problems: list[ConfigError] = []
    if config.define.acrf:
        acrf = confined(root, config.define.acrf, what="define.acrf", source=cfg_file)
        if not acrf.is_file():
            problems.append(ConfigError(
                f"annotated CRF '{config.define.acrf}' not found in the study folder",
                file=cfg_file, line=lines.get(("define", "acrf")), key="define.acrf",
                hint="give the file name relative to the study folder"))
    ct = load_ct(config.ct_package)
    synonyms: dict[str, dict[str, str]] = {}
    sponsor: set[str] = set()
    for i, rel in enumerate(config.ct_synonyms):
        try:
            t, s, p = _load_synonyms(root, rel, ct, cfg_file)
        except ConfigError as exc:
            exc.location.line = lines.get(("ct_synonyms", i), lines.get(("ct_synonyms",)))
            problems.append(exc)
            continue
        for k, v in t.items():
            synonyms.setdefault(k, {}).update(v)
        sponsor |= s
        problems.extend(p)

    study = Study(root=root, config=config, domains={}, synonyms=synonyms,
                  sponsor_codelists=sponsor)
    sdtm_dir = root / "sdtm"
    for path in sorted(sdtm_dir.glob("*.yaml")) if sdtm_dir.is_dir() else []:
        display = f"{root.name}/sdtm/{path.name}"
        try:
            mdata, mlines = load_yaml(path, display)
        except ConfigError as exc:
            problems.append(exc)
            continue
        try:
            mapping = DomainMapping.model_validate(mdata)
        except ValidationError as exc:
            problems.extend(problems_from_validation(exc, mdata, mlines, display))
            continue
        if mapping.domain.lower() != path.stem.lower():
            problems.append(ConfigError(
                f"domain '{mapping.domain}' does not match the file name '{path.name}'",
                file=display, line=mlines.get(("domain",)), key="domain",
                hint=f"name the file {mapping.domain.lower()}.yaml"))
            continue
        study.domains[mapping.domain] = mapping
        study.files[mapping.domain] = display
        study.lines[mapping.domain] = mlines
        problems.extend(_check_mapping(study, mapping, display, mlines))
    domain_problems = bool(problems)
    problems.extend(_check_cross(study))
    if not domain_problems:  # a domain that failed to load would make its sources look unread
        problems.extend(check_declared_sources(study, lines, cfg_file))
    raise_problems(problems)
    return study


def _check_mapping(study: Study, m: DomainMapping, file: str, lines: dict) -> list[ConfigError]:
    problems: list[ConfigError] = []
    declared = set(study.config.sources)
    for i, name in enumerate(m.sources):
        if name not in declared:
            hint = suggest(name, declared)
            problems.append(ConfigError(
                f"source '{name}' is not declared in study.yaml sources", file=file,
                line=lines.get(("sources", i)), key="sources",
                hint=hint or f"declared sources: {', '.join(sorted(declared)) or 'none'}"))
    seen: dict[str, int] = {}
    for i, step in enumerate(m.steps):
        line = lines.get(("steps", i))
        if not step.target:
            problems.append(ConfigError("step has no 'target' variable", file=file, line=line,
                                        key=f"steps.{i}"))
            continue
        if step.target in seen:
            problems.append(ConfigError(
                f"target '{step.target}' is already written by the step at line "
                f"{seen[step.target]}", file=file, line=line, key="target",
                hint="a variable is set by one step; use 'conditional' for alternatives"))
        seen[step.target] = line
        for j, nested in enumerate(_walk([step])[1:]):
            if nested.target:
                problems.append(ConfigError(
                    "a step inside 'conditional' takes the outer target; remove 'target'",
                    file=file, line=line, key="target"))
        for s in _walk([step]):
            for cl in _step_codelists(s):
                if s.algorithm == "decode_ct" and cl in study.sponsor_codelists:
                    problems.append(ConfigError(
                        f"decode_ct needs CDISC codelists (paired by NCI term code); '{cl}' is "
                        "a sponsor codelist", file=file, line=line, key="codelist",
                        hint="use assign_ct with a sponsor table instead"))
                elif cl not in study.sponsor_codelists and not study.ct.has(cl):
                    hint = suggest(cl.upper(), [study.ct.codelist(c).submission_value
                                                for c in study.ct.codelists])
                    problems.append(ConfigError(
                        f"codelist '{cl}' is not in CT package {study.ct.name} nor in the "
                        "study synonym table", file=file, line=line, key="codelist",
                        hint=hint or "use an NCI code (C66731) or submission value (SEX)"))
            lookup_src = getattr(s, "from_source", None)
            if lookup_src and lookup_src not in m.sources:
                problems.append(ConfigError(
                    f"lookup source '{lookup_src}' is not among this domain's sources "
                    f"({', '.join(m.sources)})", file=file, line=line, key="from_source",
                    hint="add it to 'sources'"))
        problems.extend(check_helper(step, m, file, line))
        if step.algorithm == "supp" and not step.target.startswith("SUPP"):
            problems.append(ConfigError("the target of a supp step is the SUPP-- dataset "
                                        f"name, e.g. SUPP{m.domain}", file=file, line=line,
                                        key="target"))
    problems.extend(check_stack(study, m, file, lines))
    problems.extend(check_joins(study, m, file, lines))
    produced = set(seen)
    for i, step in enumerate(m.steps):
        for s in _walk([step]):
            for var in s.variables():
                if var not in produced:
                    problems.append(ConfigError(
                        f"variable '{var}' is read but no step of {m.domain} writes it",
                        file=file, line=lines.get(("steps", i)), key=var,
                        hint=suggest(var, produced) or "map it first, or use 'column' for a "
                        "raw column"))
    for j, var in enumerate(m.unique):
        if var not in produced:
            problems.append(ConfigError(f"unique variable '{var}' is not mapped", file=file,
                                        line=lines.get(("unique", j)), key="unique"))
    return problems


def _check_cross(study: Study) -> list[ConfigError]:
    problems = []
    for dom, m in study.domains.items():
        for i, step in enumerate(m.steps):
            for s in _walk([step]):
                for other in s.domains():
                    if other in ("SE",) and "SE" not in study.domains:
                        problems.append(ConfigError(
                            "epoch needs the SE domain: add sdtm/se.yaml with 'build: se'",
                            file=study.files[dom], line=study.lines[dom].get(("steps", i)),
                            key="algorithm"))
                    elif other != "SE" and other not in study.domains:
                        problems.append(ConfigError(
                            f"step reads domain {other}, which has no mapping file",
                            file=study.files[dom], line=study.lines[dom].get(("steps", i)),
                            key=other, hint=suggest(other, study.domains)))
    return problems
