"""ADaM specifications as configuration: ``mappings/<study>/adam/<dataset>.yaml``.

Each file declares one dataset by ``kind`` (adsl, bds, occds, tte): which parameters, windows,
baseline definition, LOCF, flags and which event/censoring sources make an endpoint. Unknown
keys are refused; every error names the file, line and key (ConfigError, exit 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from converter.adam.filters import Filter
from converter.errors import ConfigError

Name = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{0,7}$")]
Imputation = Literal["n", "s", "m", "h", "D", "M", "Y"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- shared pieces
class DateSpec(_Model):
    """An analysis date from a --DTC variable (first non-missing of a list)."""

    dtc: str | list[str]
    highest_imputation: Imputation = "n"
    date_imputation: Literal["first", "mid", "last"] = "first"
    time_imputation: Literal["first", "last"] = "first"

    @property
    def dtc_list(self) -> list[str]:
        return [self.dtc] if isinstance(self.dtc, str) else list(self.dtc)


class MergedVars(_Model):
    """Variables taken from one record per subject of another dataset."""

    dataset: str
    new_vars: dict[Name, str]
    filter: Filter | None = None
    order: list[str] = []
    mode: Literal["first", "last"] | None = None
    by_vars: list[str] = ["STUDYID", "USUBJID"]
    numeric: list[Name] = []   # new variables to store as numbers (e.g. from SUPP-- QVAL)
    optional: bool = False     # dataset may be absent (variables then left empty, notice logged)


class MergedDate(_Model):
    """A date variable (e.g. RANDDT, EOSDT) from the first/last matching record."""

    new_var: Name
    dataset: str
    filter: Filter | None = None
    dtc: str
    mode: Literal["first", "last"] = "first"
    highest_imputation: Imputation = "n"
    date_imputation: Literal["first", "mid", "last"] = "first"


class CategoryLevel(_Model):
    value: str | int | float
    where: Filter


class ExtremeFlag(_Model):
    by_vars: list[str]
    order: list[str]
    mode: Literal["first", "last"] = "last"
    filter: Filter | None = None


class SeqSpec(_Model):
    new_var: Name = "ASEQ"
    by_vars: list[str] = ["STUDYID", "USUBJID"]
    order: list[str]


# ---------------------------------------------------------------- ADSL
class TreatmentSpec(_Model):
    planned: str = "ARM"
    actual: str = "ACTARM"
    numeric: dict[str, int] = {}
    numeric_keys: list[str] | None = None  # e.g. [ARMCD, ACTARMCD]; default: planned, actual
    not_treated: list[str] = ["Screen Failure", "Not Assigned", "Not Treated"]


class ExposureSpec(_Model):
    dataset: str = "EX"
    filter: Filter | None = None
    start: DateSpec = DateSpec(dtc="EXSTDTC")
    end: DateSpec = DateSpec(dtc=["EXENDTC", "EXSTDTC"], time_imputation="last")


class DispositionSpec(_Model):
    dataset: str = "DS"
    filter: Filter | None = None
    status_var: Name = "EOSSTT"
    reason_var: Name | None = "DCSREAS"
    date_var: Name | None = "EOSDT"
    completed: list[str] = ["COMPLETED"]
    not_applicable: list[str] = ["SCREEN FAILURE"]
    ongoing_when_missing: bool = True
    order: list[str] = ["DSSTDTC", "DSSEQ"]


class AdslConfig(_Model):
    kind: Literal["adsl"]
    dataset: Name = "ADSL"
    source: str = "DM"
    population: Filter | None = None   # which DM subjects ADSL holds (default: all)
    keep: list[str] = []
    treatment: TreatmentSpec = TreatmentSpec()
    exposure: ExposureSpec = ExposureSpec()
    dates: list[MergedDate] = []
    disposition: DispositionSpec | None = DispositionSpec()
    merged: list[MergedVars] = []
    categories: dict[Name, list[CategoryLevel]] = {}
    flags: dict[Name, Filter] = {}


# ---------------------------------------------------------------- BDS (ADLB)
class ParameterSpec(_Model):
    by: str = "LBTESTCD"
    rename: dict[str, Name] = {}
    param: str = "{LBTEST} ({LBSTRESU})"
    param_no_unit: str = "{LBTEST}"
    unit_var: str | None = "LBSTRESU"
    include: list[str] | None = None
    paramn: dict[str, int] = {}
    labels: dict[str, str] = {}


class Window(_Model):
    avisit: str
    avisitn: float
    lo: float
    hi: float
    target: float


class VisitRule(_Model):
    match: str
    avisit: str
    avisitn: float | None = None


class VisitSpec(_Model):
    method: Literal["windows", "visit_map"]
    day_var: str = "ADY"
    windows: list[Window] = []
    rules: list[VisitRule] = []
    visit_var: str = "VISIT"
    visitnum_var: str = "VISITNUM"

    @model_validator(mode="after")
    def _need(self) -> VisitSpec:
        if self.method == "windows" and not self.windows:
            raise ValueError("method 'windows' needs a non-empty 'windows' list")
        return self


class BaselineSpec(_Model):
    basetype: str = "LAST"
    filter: Filter | None = None
    order: list[str]
    mode: Literal["first", "last"] = "last"
    by_vars: list[str] = ["STUDYID", "USUBJID", "BASETYPE", "PARAMCD"]


class LocfSpec(_Model):
    parameters: list[str] | None = None
    visits: list[float] | Literal["windows"] = "windows"
    after_last_only: bool = True
    from_visitn: float = 0.0
    filter: Filter | None = None
    set_values_to: dict[Name, str | float] = {}


class OnTreatmentSpec(_Model):
    ref_start: str = "TRTSDT"
    ref_end: str | None = "TRTEDT"
    end_window: int = 0
    pre_timepoint: Filter | None = None


class PlotSpec(_Model):
    parameter: str
    group: str = "TRT01P"
    filter: Filter | None = None
    x: str = "AVISITN"
    x_label: str = "AVISIT"
    title: str | None = None


class BdsConfig(_Model):
    kind: Literal["bds"]
    dataset: Name = "ADLB"
    source: str = "LB"
    seq_var: str = "LBSEQ"
    adsl_vars: list[str] = ["TRT01P", "TRT01A", "TRTSDT", "TRTEDT"]
    parameters: ParameterSpec = ParameterSpec()
    values: dict[Name, str] = {"AVAL": "LBSTRESN", "AVALC": "LBSTRESC",
                               "ANRLO": "LBSTNRLO", "ANRHI": "LBSTNRHI"}
    date: DateSpec = DateSpec(dtc="LBDTC")
    reference_date: str = "TRTSDT"
    visits: VisitSpec
    on_treatment: OnTreatmentSpec | None = OnTreatmentSpec()
    baseline: BaselineSpec
    change_filter: Filter | None = None
    anrind: bool = True
    shifts: dict[Name, list[str]] = {}
    flags: dict[Name, ExtremeFlag] = {}
    locf: LocfSpec | None = None
    seq: SeqSpec | None = None
    plots: list[PlotSpec] = []

    @field_validator("shifts")
    @classmethod
    def _pairs(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, pair in v.items():
            if len(pair) != 2:
                raise ValueError(f"shift {name} needs [from_var, to_var]")
        return v


# ---------------------------------------------------------------- OCCDS (ADAE)
class OccdsConfig(_Model):
    kind: Literal["occds"]
    dataset: Name = "ADAE"
    source: str = "AE"
    adsl_vars: list[str] = ["TRT01P", "TRT01A", "TRTSDT", "TRTEDT", "SAFFL"]
    treatment_vars: dict[Name, str] = {"TRTP": "TRT01P", "TRTA": "TRT01A"}
    start: DateSpec = DateSpec(dtc="AESTDTC", highest_imputation="M")
    end: DateSpec | None = DateSpec(dtc="AEENDTC", highest_imputation="M", date_imputation="last")
    start_prefix: str = "AST"
    end_prefix: str = "AEN"
    reference_date: str = "TRTSDT"
    trtemfl: OnTreatmentSpec | None = OnTreatmentSpec(end_window=30)
    flags: dict[Name, ExtremeFlag] = {}
    seq: SeqSpec | None = None


# ---------------------------------------------------------------- TTE (ADTTE)
class SourceSpec(_Model):
    dataset: str
    date: str
    filter: Filter | None = None
    seq_var: str | None = None
    set_values_to: dict[Name, str | int | float] = {}
    censor: int | None = None


class TteParameter(_Model):
    paramcd: Name
    param: str = Field(max_length=200)
    paramn: int | None = None
    events: list[SourceSpec] = Field(min_length=1)
    censors: list[SourceSpec] = []


class Timepoint(_Model):
    label: str
    day: float


class KmSpec(_Model):
    group: str = "TRT01P"
    group_order: list[str] = []
    timepoints: list[Timepoint] = []
    x_unit: Literal["days", "weeks"] = "weeks"
    title: str | None = None


class TteConfig(_Model):
    kind: Literal["tte"]
    dataset: Name = "ADTTE"
    start_date: str = "TRTSDT"
    population: Filter | None = None
    unit: Literal["days", "weeks"] = "days"
    adsl_vars: list[str] = ["TRT01P", "TRT01PN", "TRT01A", "TRT01AN"]
    parameters: list[TteParameter] = Field(min_length=1)
    km: KmSpec | None = None


DatasetConfig = AdslConfig | BdsConfig | OccdsConfig | TteConfig
_KINDS: dict[str, type[_Model]] = {"adsl": AdslConfig, "bds": BdsConfig, "occds": OccdsConfig,
                                   "tte": TteConfig}


# ---------------------------------------------------------------- loading with line numbers
def _line_index(node: yaml.Node, path: tuple = (), out: dict | None = None) -> dict[tuple, int]:
    out = {} if out is None else out
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            k = key.value
            out[path + (k,)] = key.start_mark.line + 1
            _line_index(value, path + (k,), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_index(item, path + (i,), out)
    return out


def read_yaml(path: Path) -> tuple[Any, dict[tuple, int]]:
    """``yaml.safe_load`` plus a map from key paths to line numbers."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path.name}: {exc.strerror}", file=str(path)) from None
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=str(path),
                          line=None if mark is None else mark.line + 1,
                          hint="check indentation and quoting") from None
    return data, ({} if node is None else _line_index(node))


def raise_located(exc: ValidationError, path: Path, lines: dict[tuple, int],
                  prefix: tuple = ()) -> None:
    err = exc.errors()[0]
    loc = prefix + tuple(p for p in err["loc"] if not (isinstance(p, str) and p in _KINDS))
    line, probe = None, loc
    while probe is not None:
        if probe in lines:
            line = lines[probe]
            break
        probe = probe[:-1] if probe else None
    key = ".".join(str(p) for p in loc) or None
    value = err.get("input")
    shown = repr(value) if not isinstance(value, dict) else "a mapping"
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    raise ConfigError(f"{err['msg']}; got {shown[:120]}{more}", file=str(path), line=line, key=key,
                      hint="see docs/adam.md for the keys of each dataset kind") from None


def load_dataset_config(path: Path) -> DatasetConfig:
    """Read and validate one ADaM dataset YAML."""
    data, lines = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError("an ADaM dataset file must be a mapping", file=str(path), line=1)
    kind = data.get("kind")
    if kind not in _KINDS:
        raise ConfigError(f"'kind' is {kind!r}; expected one of {sorted(_KINDS)}", file=str(path),
                          line=lines.get(("kind",), 1), key="kind",
                          hint="adsl, bds (e.g. ADLB), occds (e.g. ADAE) or tte (e.g. ADTTE)")
    try:
        return _KINDS[kind].model_validate(data)
    except ValidationError as exc:
        raise_located(exc, path, lines)
    raise AssertionError("unreachable")


def load_adam_configs(study_dir: Path) -> dict[str, tuple[DatasetConfig, Path]]:
    """All ``adam/*.yaml`` of a study: dataset name → (config, file)."""
    folder = Path(study_dir) / "adam"
    if not folder.is_dir():
        raise ConfigError(f"no adam/ folder in {study_dir}", file=str(study_dir),
                          hint="create adam/adsl.yaml etc. (see docs/adam.md)")
    out: dict[str, tuple[DatasetConfig, Path]] = {}
    for path in sorted(folder.glob("*.yaml")):
        cfg = load_dataset_config(path)
        if cfg.dataset in out:
            raise ConfigError(f"dataset {cfg.dataset} is declared twice "
                              f"(also in {out[cfg.dataset][1].name})", file=str(path),
                              key="dataset")
        out[cfg.dataset] = (cfg, path)
    if not out:
        raise ConfigError(f"adam/ in {study_dir} holds no .yaml files", file=str(folder))
    kinds = [c.kind for c, _ in out.values()]
    if kinds.count("adsl") != 1:
        raise ConfigError(f"exactly one dataset of kind 'adsl' is needed; found {kinds.count('adsl')}",
                          file=str(folder), hint="every other ADaM dataset merges from ADSL")
    return out
