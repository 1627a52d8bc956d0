"""Generate define.xml 2.1 from finished datasets: metadata from the Dataset objects, facts from data.

Nothing here is typed by hand. Dataset and variable attributes (label, class, structure, keys,
role, core, codelist, origin, source, method, comment) come from the :class:`~converter.model.Dataset`
metadata that the metadata stage filled from ``specs/`` and the mapping/derivation origins; data
types, lengths, significant digits, value-level metadata and the codelist terms come from the
data; NCI codes, decodes and extensibility come from the CT package. What cannot be described is
an issue (rule ids ``DEF.*``, stage ``define``), never a silent guess.

>>> import pandas as pd
>>> from converter.ct import load_ct
>>> from converter.model import Dataset, DatasetMeta, VariableMeta
>>> dm = Dataset(DatasetMeta("DM", "Demographics", klass="SPECIAL PURPOSE",
...                          structure="One record per subject", keys=["STUDYID", "USUBJID"],
...                          variables=[VariableMeta("STUDYID", "Study Identifier", origin="Protocol"),
...                                     VariableMeta("USUBJID", "Unique Subject Identifier",
...                                                  origin="Assigned"),
...                                     VariableMeta("SEX", "Sex", codelist="SEX",
...                                                  origin="Collected")]),
...              pd.DataFrame({"STUDYID": ["S1", "S1"], "USUBJID": ["S1-1", "S1-2"],
...                            "SEX": ["F", "F"]}))
>>> d = build_define_model({"DM": dm}, standard="SDTMIG 3.3", study_id="S1", study_name="S1",
...                        ct=load_ct("sdtmct-2015-12-18"), created="2024-01-01T00:00:00")
>>> [i.coded_value for i in d.codelist("CL.SEX").items]
['F']
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from converter import __version__
from converter.ct import CTPackage, load_ct
from converter.define.model import (
    ITEM_GROUP_CLASSES,
    CodeList,
    CodeListItem,
    CommentDef,
    Define,
    DocumentRef,
    ExternalCodeList,
    ItemDef,
    ItemGroupDef,
    ItemRef,
    Leaf,
    MetaDataVersion,
    MethodDef,
    Origin,
    PDFPageRef,
    RangeCheck,
    Standard,
    Study,
    ValueListDef,
    WhereClauseDef,
)
from converter.define.serialise import NOT_XML, to_xml
from converter.errors import ConfigError
from converter.issues import IssueLog
from converter.model import PROVENANCE_COLUMNS, Dataset, DatasetMeta, VariableMeta

STAGE = "define"
SAS_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,7}$")
SAS_FORMAT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_.]{0,7}$")
MEDDRA_VARIABLE = re.compile(
    r"^(AE|MH|CE)(DECOD|BODSYS|BDSYCD|LLT|LLTCD|PTCD|HLT|HLTCD|HLGT|HLGTCD|SOC|SOCCD)$")
EXTERNAL_DICTIONARIES = {"MEDDRA": "MedDRA", "WHODD": "WHODD", "WHODRUG": "WHODD",
                         "LOINC": "LOINC", "SNOMED": "SNOMED", "UNII": "UNII"}
DATE_TYPES = ("date", "datetime", "time", "partialDate", "partialTime", "partialDatetime",
              "incompleteDatetime", "durationDatetime", "intervalDatetime")
CHAR_TYPES = ("text",) + DATE_TYPES
# origin words used by specs and mappings -> (def:Origin Type, default Source)
ORIGIN_WORDS = {
    "collected": ("Collected", "Investigator"), "crf": ("Collected", "Investigator"),
    "edt": ("Collected", "Vendor"), "vendor": ("Collected", "Vendor"),
    "derived": ("Derived", "Sponsor"), "assigned": ("Assigned", "Sponsor"),
    "protocol": ("Protocol", "Sponsor"), "predecessor": ("Predecessor", None),
    "not available": ("Not Available", None), "other": ("Other", None),
}
CT_PUBLISHING_SETS = {"sdtmct": "SDTM", "adamct": "ADaM", "define-xmlct": "DEFINE-XML",
                      "sendct": "SEND", "cdashct": "CDASH"}
STANDARD_NAMES = {"SDTMIG": ("SDTMIG", "Tabulation"), "ADAMIG": ("ADaMIG", "Analysis")}


# --------------------------------------------------------------------------------------------
# facts from data (vectorised per column)
# --------------------------------------------------------------------------------------------

@dataclass
class ColumnFacts:
    data_type: str
    length: int | None
    significant_digits: int | None
    n_missing: int
    n: int


def _text_array(series: pd.Series) -> pa.Array:
    """Present (non-null, non-empty) values of a text column as an Arrow string array."""
    values = series.to_numpy(dtype=object)
    try:
        arr = pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):   # non-str objects: their text form
        s = series[series.notna()].astype(str)
        arr = pa.array(s.to_numpy(dtype=object), type=pa.string())
    keep = pc.and_(pc.is_valid(arr), pc.not_equal(pc.binary_length(arr), 0))
    return arr.filter(pc.fill_null(keep, False))


def _present_text(series: pd.Series) -> pd.Series:
    return pd.Series(_text_array(series).to_numpy(zero_copy_only=False), dtype=object)


def _number_strings(values: np.ndarray) -> np.ndarray:
    """Shortest fixed-point text of finite floats (up to 10 decimals), vectorised."""
    text = np.char.mod("%.10f", values)
    text = np.char.rstrip(np.char.rstrip(text, "0"), ".")
    return text


def _decimals(values: np.ndarray, most: int = 10) -> np.ndarray:
    """Decimals each finite value needs (0..most), by rounding: no text formatting."""
    out = np.full(values.shape, most, dtype=np.int64)
    todo = np.ones(values.shape, dtype=bool)
    tolerance = 1e-9 * np.maximum(1.0, np.abs(values))
    for d in range(most + 1):
        done = todo & (np.abs(np.round(values, d) - values) <= tolerance)
        out[done] = d
        todo &= ~done
        if not todo.any():
            break
    return out


def _numeric_facts(values: np.ndarray) -> tuple[str, int | None, int | None]:
    """Data type, length (digits and point, no sign) and decimals of the distinct values."""
    finite = np.unique(values[np.isfinite(values)])
    if finite.size == 0:
        return "integer", None, None
    decimals = _decimals(finite)
    whole = np.abs(finite) + 0.5 * 10.0 ** (-decimals.astype(np.float64))  # as rounded
    int_digits = np.floor(np.log10(np.maximum(whole, 1.0))).astype(np.int64) + 1
    length = int((int_digits + np.where(decimals > 0, decimals + 1, 0)).max())
    most = int(decimals.max())
    if most == 0:
        return "integer", length, None
    return "float", length, most


def column_facts(series: pd.Series, var_type: str, declared: str | None,
                 text: pa.Array | None = None) -> ColumnFacts:
    """Data type, length and significant digits of one column (or a subset of it)."""
    n = len(series)
    if var_type == "Num":
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
        missing = int(np.isnan(values).sum())
        dtype, length, sig = _numeric_facts(values)
        return ColumnFacts(dtype, length, sig, missing, n)
    text = _text_array(series) if text is None else text
    missing = n - len(text)
    length = pc.max(pc.binary_length(text)).as_py() if len(text) else None
    if declared in DATE_TYPES:
        return ColumnFacts(declared, length, None, missing, n)
    return ColumnFacts("text", length, None, missing, n)


def _arrow_text(series: pd.Series) -> pa.Array:
    """A text column as an Arrow string array (nulls kept), for cheap subsets with take()."""
    try:
        return pa.array(series.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array(series.astype(str).where(series.notna(), None).to_numpy(dtype=object),
                        type=pa.string(), from_pandas=True)


def _present(arr: pa.Array) -> pa.Array:
    keep = pc.and_(pc.is_valid(arr), pc.not_equal(pc.binary_length(arr), 0))
    return arr.filter(pc.fill_null(keep, False))


def _text_subset_facts(arr: pa.Array) -> ColumnFacts | None:
    """Facts of a text subset (value level): numeric when every present value is a number."""
    present = _present(arr)
    if not len(present):
        return None
    series = pd.Series(present.to_numpy(zero_copy_only=False), dtype=object)
    return _text_as_number(series, len(arr)) or ColumnFacts(
        "text", pc.max(pc.binary_length(present)).as_py(), None, len(arr) - len(present),
        len(arr))


def _text_as_number(present: pd.Series, n: int) -> ColumnFacts | None:
    """Facts of present text values that are all numbers (value-level results)."""
    text = pd.Series(present.unique(), dtype=object)
    nums = pd.to_numeric(text, errors="coerce")
    if nums.isna().any():
        return None
    stripped = text.str.strip().str.lstrip("+-")
    dot = stripped.str.find(".")
    decimals = np.where(dot >= 0, stripped.str.len() - dot - 1, 0)
    dtype = "float" if int(np.max(decimals)) > 0 else "integer"
    return ColumnFacts(dtype, int(text.str.len().max()),
                       int(np.max(decimals)) if dtype == "float" else None,
                       n - len(present), n)


def _single_values(keys: pd.Series, values: pd.Series) -> dict[str, str]:
    """{key: value} for keys whose present values are one and the same (vectorised)."""
    kcodes, kuniq = pd.factorize(keys.to_numpy(dtype=object))
    text = values.to_numpy(dtype=object)
    vcodes, vuniq = pd.factorize(text)
    usable = (kcodes >= 0) & (vcodes >= 0) & (text != "")
    if not usable.any():
        return {}
    pairs = np.unique(kcodes[usable].astype(np.int64) * (len(vuniq) + 1) + vcodes[usable])
    k, v = pairs // (len(vuniq) + 1), pairs % (len(vuniq) + 1)
    out: dict[str, str] = {}
    counts = np.bincount(k, minlength=len(kuniq))
    for ki, vi in zip(k.tolist(), v.tolist()):   # one entry per distinct (key, value) pair
        key, value = str(kuniq[ki]), str(vuniq[vi])
        if counts[ki] == 1 and key != "" and value != "":
            out[key] = value
    return out


# --------------------------------------------------------------------------------------------
# builder
# --------------------------------------------------------------------------------------------

def _oid_part(value: object) -> str:
    text = re.sub(r"[^A-Za-z0-9_.\-]", "_", str(value))
    return text or "_"


def _parse_standard(standard: str) -> tuple[str, str, str]:
    """'SDTMIG 3.3' -> ('SDTMIG', '3.3', 'Tabulation')."""
    parts = standard.replace("-", " ").split()
    if len(parts) != 2 or parts[0].upper() not in STANDARD_NAMES:
        raise ConfigError(f"standard '{standard}' is not understood", key="standard",
                          hint="write it as 'SDTMIG 3.3' or 'ADaMIG 1.1'")
    name, purpose = STANDARD_NAMES[parts[0].upper()]
    return name, parts[1], purpose


def _iso(created: datetime | str) -> str:
    if isinstance(created, datetime):
        return created.replace(microsecond=0).isoformat()
    try:
        return datetime.fromisoformat(str(created)).replace(microsecond=0).isoformat()
    except ValueError as exc:
        raise ConfigError(f"created '{created}' is not an ISO 8601 date-time", key="created",
                          hint="e.g. 2024-05-01T12:00:00") from exc


@dataclass
class _CodelistUse:
    """A codelist as the study uses it: the CT codelist (or sponsor/external) and used values."""

    oid: str
    name: str
    ct: CTPackage | None = None
    code: str | None = None
    extensible: bool = True
    external: str | None = None
    data_type: str = "text"
    values: dict[str, None] = field(default_factory=dict)    # ordered set
    decodes: dict[str, str] = field(default_factory=dict)    # sponsor decodes from data
    users: list[str] = field(default_factory=list)           # "DS.VAR" using it


class _Builder:
    def __init__(self, datasets: Mapping[str, Dataset], *, standard: str, study_id: str,
                 study_name: str, ct: Sequence[CTPackage], created: str, issues: IssueLog,
                 study_description: str | None, protocol_name: str | None, acrf: str | None,
                 crf_pages: Mapping[str, Mapping[str, str]], supplemental_docs:
                 Sequence[tuple[str, str]], dataset_format: str, dataset_dir: str,
                 dictionaries: Mapping[str, str], stylesheet_href: str | None):
        self.datasets = datasets
        self.ig_name, self.ig_version, self.purpose = _parse_standard(standard)
        self.sdtm = self.ig_name == "SDTMIG"
        self.study_id = study_id
        self.study_name = study_name
        self.ct = list(ct)
        self.created = created
        self.issues = issues
        self.study_description = study_description
        self.protocol_name = protocol_name
        self.acrf = acrf
        self.crf_pages = crf_pages
        self.supplemental_docs = supplemental_docs
        self.dataset_format = dataset_format
        self.dataset_dir = dataset_dir.strip("/")
        self.dictionaries = {k.upper(): v for k, v in dictionaries.items()}
        self.stylesheet_href = stylesheet_href
        self.ig_oid = f"STD.{self.ig_name}.{self.ig_version}"
        self.mdv = MetaDataVersion(
            oid=f"MDV.{_oid_part(study_id)}.{self.ig_name}.{self.ig_version}",
            name=f"{study_name} {self.ig_name} {self.ig_version} data definitions",
            description=f"Data definitions of the {self.ig_name} {self.ig_version} datasets of "
                        f"study {study_name}")
        self.codelists: dict[str, _CodelistUse] = {}
        self.bad_chars: set[tuple[str, str, str]] = set()
        self._groups: dict[tuple[str, str], tuple[pd.Series, dict]] = {}
        self._singles: dict[tuple[str, str, str], dict[str, str]] = {}
        self.ct_used: dict[str, CTPackage] = {}
        self.standard_datasets = self._standard_datasets(standard)

    # ----- helpers -------------------------------------------------------------------------
    def issue(self, rule: str, message: str, severity: str = "warning", **kw: object) -> None:
        self.issues.add(rule, message, severity=severity, stage=STAGE, **kw)

    @staticmethod
    def _standard_datasets(standard: str) -> set[str] | None:
        try:
            from converter.metadata.spec import load_spec
            spec = load_spec(standard)
        except Exception:  # noqa: BLE001 - without a spec every dataset counts as standard
            return None
        return {name for name in spec.datasets if name != "SUPPQUAL"}

    def _is_standard_dataset(self, name: str) -> bool:
        if self.standard_datasets is None:
            return True
        return name in self.standard_datasets or (name.startswith("SUPP") and len(name) <= 8)

    def _ct_codelist(self, ref: str):
        for pkg in self.ct:
            if pkg.has(ref):
                return pkg, pkg.codelist(ref)
        return None, None

    # ----- documents ----------------------------------------------------------------------
    def documents(self) -> None:
        if self.acrf:
            self.mdv.annotated_crf.append(DocumentRef("LF.acrf"))
            self.mdv.leaves.append(Leaf("LF.acrf", self.acrf, "Annotated CRF"))
        for i, (href, title) in enumerate(self.supplemental_docs, start=1):
            self.mdv.supplemental_docs.append(DocumentRef(f"LF.doc{i}"))
            self.mdv.leaves.append(Leaf(f"LF.doc{i}", href, title))

    # ----- datasets -----------------------------------------------------------------------
    def dataset(self, ds: Dataset) -> None:
        meta = ds.meta
        name = meta.name.upper()
        data = ds.data
        columns = [c for c in data.columns if c not in PROVENANCE_COLUMNS]
        described = {v.name: v for v in meta.variables}
        for v in meta.variables:
            if v.name not in data.columns:
                self.issue("DEF.VAR.NODATA", f"{name}.{v.name} is in the dataset metadata but "
                           "not in the data; it is not described in define.xml", "error",
                           dataset=name, variable=v.name)
        variables: list[VariableMeta] = []
        for col in columns:
            vm = described.get(col)
            if vm is None:
                num = (pd.api.types.is_numeric_dtype(data[col].dtype)
                       and not pd.api.types.is_bool_dtype(data[col].dtype))
                vm = VariableMeta(name=col, type="Num" if num else "Char")
                self.issue("DEF.VAR.NOMETA", f"{name}.{col} is in the data but has no metadata; "
                           "described from the data alone (no label, origin)", "error",
                           dataset=name, variable=col)
            variables.append(vm)

        ig_oid = f"IG.{_oid_part(name)}"
        standard = self._is_standard_dataset(name)
        class_name = self._class_name(meta, name)
        structure = meta.structure
        if not structure:
            structure = "Structure not specified"
            self.issue("DEF.STRUCTURE", f"dataset {name} has no structure in its metadata",
                       dataset=name, expected="a structure such as 'One record per subject'")
        if not meta.label:
            self.issue("DEF.LABEL", f"dataset {name} has no label", dataset=name)
        if "USUBJID" in data.columns:
            repeating = bool(data["USUBJID"].duplicated().any())
            reference = False
        else:
            repeating = bool(len(data) > 1)
            reference = True
        if meta.repeating is not None:
            repeating = meta.repeating
        if meta.reference_data is not None:
            reference = meta.reference_data
        comment_oid = None
        if meta.comment:
            comment_oid = f"COM.{_oid_part(name)}"
            self.mdv.comments.append(CommentDef(comment_oid, meta.comment))
        if not SAS_NAME.match(name):
            self.issue("DEF.NAME", f"dataset name {name} is not a SAS name of at most 8 "
                       "characters", "error", dataset=name)
        leaf_id = f"LF.{_oid_part(name)}"
        title = f"{name.lower()}.{self.dataset_format}"
        href = f"{self.dataset_dir}/{title}" if self.dataset_dir else title
        group = ItemGroupDef(
            oid=ig_oid, name=name, repeating=repeating, structure=structure,
            description=meta.label or None, domain=self._domain(name) if self.sdtm else None,
            is_reference_data=reference,
            sas_dataset_name=name if SAS_NAME.match(name) else None, purpose=self.purpose,
            archive_location_id=leaf_id, standard_oid=self.ig_oid if standard else None,
            is_non_standard=not standard, has_no_data=len(data) == 0, comment_oid=comment_oid,
            class_name=class_name, leaf=Leaf(leaf_id, href, title))
        keys = [k for k in meta.keys if k in columns]
        for k in meta.keys:
            if k not in columns:
                self.issue("DEF.KEY", f"key variable {name}.{k} is not in the data",
                           "error", dataset=name, variable=k)
        value_lists = self._value_level_plan(name, data, columns, described)
        for order, vm in enumerate(variables, start=1):
            item_oid = f"IT.{_oid_part(name)}.{_oid_part(vm.name)}"
            parent_vm = vm
            if vm.name in value_lists and value_lists[vm.name][2]:
                # codelists are given per value-level subset (DSDECOD by DSCAT), not on the parent
                parent_vm = copy.copy(vm)
                parent_vm.codelist = None
            item, method_oid, missing = self._item_def(name, parent_vm, data[vm.name],
                                                       item_oid)
            # Req variables, and keys that are never empty (ADaM DTYPE is a key but optional)
            mandatory = (vm.core == "Req") or (vm.name in keys and missing == 0)
            group.item_refs.append(ItemRef(
                item_oid=item_oid, mandatory=mandatory, order_number=order,
                key_sequence=(keys.index(vm.name) + 1) if vm.name in keys else None,
                method_oid=method_oid, role=vm.role if (self.sdtm and vm.role) else None))
            if vm.name in value_lists:
                item.value_list_oid = self._value_list(name, data, vm, item, value_lists[vm.name])
            self.mdv.item_defs.append(item)
        self.mdv.item_groups.append(group)

    @staticmethod
    def _domain(name: str) -> str:
        """Domain of a dataset: SUPPDM belongs to DM (as in CDISC's example define)."""
        return name[4:] if name.startswith("SUPP") and len(name) > 4 else name

    def _class_name(self, meta: DatasetMeta, name: str) -> str | None:
        if not meta.klass:
            self.issue("DEF.CLASS", f"dataset {name} has no class in its metadata", dataset=name)
            return None
        klass = meta.klass.strip().upper().replace("-", " ")
        if klass not in ITEM_GROUP_CLASSES:
            self.issue("DEF.CLASS", f"class '{meta.klass}' of dataset {name} is not a "
                       "Define-XML 2.1 dataset class; def:Class left out", dataset=name,
                       value=meta.klass, expected=", ".join(ITEM_GROUP_CLASSES))
            return None
        return klass

    # ----- variables ----------------------------------------------------------------------
    def _origin(self, ds: str, vm: VariableMeta, var: str | None = None) -> list[Origin]:
        var = var or vm.name
        word = (vm.origin or "").strip()
        if not word:
            self.issue("DEF.ORIGIN.MISSING", f"{ds}.{var} has no origin in its metadata",
                       dataset=ds, variable=var,
                       expected="Collected, Derived, Assigned, Protocol or Predecessor")
            return []
        found = ORIGIN_WORDS.get(word.lower())
        if found is None:
            self.issue("DEF.ORIGIN.UNKNOWN", f"origin '{word}' of {ds}.{var} is not a "
                       "Define-XML origin; no def:Origin written", "error", dataset=ds,
                       variable=var, value=word,
                       expected="Collected, Derived, Assigned, Protocol, Predecessor, CRF, eDT")
            return []
        otype, source = found
        refs: list[DocumentRef] = []
        pages = (self.crf_pages.get(ds) or {}).get(var)
        if otype == "Collected" and pages and self.acrf:
            refs.append(DocumentRef("LF.acrf", [PDFPageRef("PhysicalRef", str(pages))]))
        # a method is a MethodDef only for Derived values; for the other origins the words of
        # the mapping step (e.g. "Set to 'DM'", "SEX recoded with codelist SEX") describe the
        # origin itself
        parts = [vm.source] + ([vm.method] if otype != "Derived" else [])
        description = "; ".join(p for p in parts if p) or None
        if otype == "Predecessor" and not vm.source:
            self.issue("DEF.ORIGIN.PREDECESSOR", f"{ds}.{var} is a predecessor variable but "
                       "its source is not named", dataset=ds, variable=var,
                       expected="e.g. ADSL.TRTSDT")
        return [Origin(otype, source, description, refs)]

    def _item_def(self, ds: str, vm: VariableMeta, series: pd.Series, oid: str
                  ) -> tuple[ItemDef, str | None, int]:
        text = _text_array(series) if vm.type == "Char" else None   # converted once
        facts = column_facts(series, vm.type, vm.data_type, text)
        data_type, length, sig = self._type_length(ds, vm, facts)
        method_oid = None
        origin_type = ORIGIN_WORDS.get((vm.origin or "").strip().lower(), ("Derived",))[0]
        if vm.method and origin_type == "Derived":
            method_oid = f"MT.{_oid_part(ds)}.{_oid_part(vm.name)}"
            self.mdv.methods.append(MethodDef(
                method_oid, f"Algorithm to derive {ds}.{vm.name}",
                "Imputation" if "imput" in vm.method.lower() else "Computation", vm.method))
        elif (vm.origin or "").strip().lower() == "derived":
            self.issue("DEF.METHOD.MISSING", f"{ds}.{vm.name} is derived but no method "
                       "describes the derivation", dataset=ds, variable=vm.name)
        comment_oid = None
        if vm.comment:
            comment_oid = f"COM.{_oid_part(ds)}.{_oid_part(vm.name)}"
            self.mdv.comments.append(CommentDef(comment_oid, vm.comment))
        if not vm.label:
            self.issue("DEF.LABEL", f"{ds}.{vm.name} has no label", dataset=ds,
                       variable=vm.name)
        if not SAS_NAME.match(vm.name):
            self.issue("DEF.NAME", f"{ds}.{vm.name} is not a SAS name of at most 8 characters",
                       "error", dataset=ds, variable=vm.name)
        display = vm.display_format or vm.format
        if display and not display.strip():
            display = None
        mandatory_missing = facts.n_missing if vm.core == "Req" else 0
        if mandatory_missing:
            self.issue("DEF.MANDATORY", f"{ds}.{vm.name} is required but missing in "
                       f"{mandatory_missing} record(s)", "error", dataset=ds, variable=vm.name,
                       value=mandatory_missing)
        item = ItemDef(
            oid=oid, name=vm.name, data_type=data_type, length=length,
            significant_digits=sig, sas_field_name=vm.name if SAS_NAME.match(vm.name) else None,
            display_format=display, comment_oid=comment_oid, description=vm.label or None,
            codelist_oid=self._codelist_for(ds, vm, series, data_type, text),
            origins=self._origin(ds, vm))
        return item, method_oid, facts.n_missing

    def _type_length(self, ds: str, vm: VariableMeta, facts: ColumnFacts
                     ) -> tuple[str, int | None, int | None]:
        declared = vm.data_type
        if vm.type == "Num":
            data_type = facts.data_type
            if declared == "integer" and data_type == "float":
                self.issue("DEF.DATATYPE", f"{ds}.{vm.name} is declared integer but holds "
                           "non-integer values; described as float", dataset=ds,
                           variable=vm.name, expected="integer")
            length = facts.length if facts.length is not None else 8
            return data_type, length, facts.significant_digits
        data_type = declared if declared in CHAR_TYPES else "text"
        if declared is None and vm.name.endswith("DTC") and facts.length:
            data_type = "datetime"
        if data_type != "text":
            return data_type, None, None
        length = vm.length if vm.length else facts.length
        if facts.length and vm.length and facts.length > vm.length:
            self.issue("DEF.LENGTH", f"{ds}.{vm.name} holds values of {facts.length} bytes, "
                       f"longer than its declared length {vm.length}", "error", dataset=ds,
                       variable=vm.name, value=facts.length, expected=f"<= {vm.length}")
            length = facts.length
        return data_type, max(1, length or 1), None

    # ----- codelists ----------------------------------------------------------------------
    def _codelist_for(self, ds: str, vm: VariableMeta, series: pd.Series, data_type: str,
                      text: pa.Array | None) -> str | None:
        ref = (vm.codelist or "").strip()
        if not ref and MEDDRA_VARIABLE.match(vm.name):
            ref = "MedDRA"
        if not ref:
            return None
        if vm.type == "Char":
            values = sorted(pc.unique(text if text is not None else _text_array(series))
                            .to_pylist())
            self._check_xml_chars(ds, vm.name, values)
        else:
            numbers = pd.to_numeric(series, errors="coerce").dropna().unique()
            values = sorted(set(_number_strings(np.asarray(numbers, dtype=np.float64)).tolist()))
        external = EXTERNAL_DICTIONARIES.get(ref.upper())
        if external:
            # codes (AEPTCD...) are integers, terms text: one codelist per data type
            suffix = "" if data_type == "text" else f".{data_type}"
            use = self.codelists.setdefault(f"EXT.{external}{suffix}", _CodelistUse(
                oid=f"CL.{_oid_part(external)}{suffix}", name=f"{external} dictionary"
                + (f" ({data_type} codes)" if suffix else ""),
                external=external, data_type=data_type))
            use.users.append(f"{ds}.{vm.name}")
            return use.oid
        pkg, cl = self._ct_codelist(ref)
        if cl is None:
            key = f"SPONSOR.{ref.upper()}"
            if key not in self.codelists:
                self.issue("DEF.CT.UNKNOWN", f"codelist '{ref}' of {ds}.{vm.name} is not in the "
                           f"CT package(s) {[p.name for p in self.ct]}; written as a sponsor "
                           "codelist with the values in the data", dataset=ds, variable=vm.name,
                           value=ref)
                self.codelists[key] = _CodelistUse(oid=f"CL.{_oid_part(ref)}", name=ref,
                                                   data_type=data_type)
            use = self.codelists[key]
        else:
            key = f"CT.{cl.code}"
            use = self.codelists.setdefault(key, _CodelistUse(
                oid=f"CL.{_oid_part(cl.submission_value)}", name=cl.name, ct=pkg, code=cl.code,
                extensible=cl.extensible, data_type=data_type))
            known = set(cl.values)
            outside = [v for v in values if v not in known]
            for v in outside:
                if cl.extensible:
                    self.issue("DEF.CT.EXTENDED", f"{ds}.{vm.name} value '{v}' extends the "
                               f"extensible codelist {cl.submission_value} ({cl.code})",
                               "notice", dataset=ds, variable=vm.name, value=v)
                else:
                    self.issue("DEF.CT.NOTINCL", f"{ds}.{vm.name} value '{v}' is not a term of "
                               f"the non-extensible codelist {cl.submission_value} ({cl.code})",
                               "error", dataset=ds, variable=vm.name, value=v,
                               expected=", ".join(cl.values[:20]))
        if use.data_type != data_type:
            use.data_type = "text"
        use.users.append(f"{ds}.{vm.name}")
        for v in values:
            use.values[v] = None
        return use.oid

    def _check_xml_chars(self, ds: str, var: str, values: list[str]) -> None:
        for value in values:
            if NOT_XML.search(value) and (ds, var, value) not in self.bad_chars:
                self.bad_chars.add((ds, var, value))
                self.issue("DEF.XML.CHAR", f"{ds}.{var} value {value!r} holds a character XML "
                           "cannot carry; written with U+FFFD in its place", "error",
                           dataset=ds, variable=var, value=repr(value))

    def codelist_objects(self) -> list[CodeList]:
        out: list[CodeList] = []
        for use in self.codelists.values():
            if use.external:
                version = self.dictionaries.get(use.external.upper())
                if not version:
                    self.issue("DEF.DICT.VERSION", f"the {use.external} version is not configured "
                               f"(used by {', '.join(use.users)}); ExternalCodeList has no Version",
                               expected="a dictionary version in the study configuration")
                out.append(CodeList(use.oid, use.name, data_type=use.data_type,
                                    external=ExternalCodeList(use.external, version or None)))
                continue
            if not use.values:
                # no value of any user variable is present: nothing to describe, no reference
                for item in self.mdv.item_defs:
                    if item.codelist_oid == use.oid:
                        item.codelist_oid = None
                continue
            if use.ct is None:
                items = [CodeListItem(v, decode=use.decodes.get(v)) for v in use.values]
                enumerated = not use.decodes
                out.append(CodeList(use.oid, use.name, data_type=use.data_type, items=items,
                                    enumerated=enumerated))
                continue
            cl = use.ct.codelist(use.code)
            terms = cl.terms.set_index("term_submission_value")
            in_ct = [v for v in cl.values if v in use.values]
            extra = [v for v in use.values if v not in terms.index]
            items = [CodeListItem(v, decode=str(terms.at[v, "term_preferred_term"]) or v,
                                  nci_code=str(terms.at[v, "term_code"]) or None)
                     for v in in_ct]
            items += [CodeListItem(v, decode=v, extended_value=True) for v in extra]
            std_oid = self._ct_standard_oid(use.ct)
            out.append(CodeList(use.oid, use.name, data_type=use.data_type,
                                standard_oid=std_oid, items=items, nci_code=use.code))
        out.sort(key=lambda c: c.oid)
        return out

    def _ct_standard_oid(self, pkg: CTPackage) -> str:
        self.ct_used[pkg.name] = pkg
        return f"STD.CT.{_oid_part(pkg.name)}"

    def standards(self) -> list[Standard]:
        stds = []
        if any(g.standard_oid == self.ig_oid for g in self.mdv.item_groups):
            stds.append(Standard(self.ig_oid, self.ig_name, "IG", self.ig_version))
        for name, _pkg in sorted(self.ct_used.items()):
            prefix, _, version = name.partition("-20")
            stds.append(Standard(f"STD.CT.{_oid_part(name)}", "CDISC/NCI", "CT",
                                 "20" + version if version else name,
                                 publishing_set=CT_PUBLISHING_SETS.get(prefix)))
        return stds

    # ----- value-level metadata -----------------------------------------------------------
    def _value_level_plan(self, name: str, data: pd.DataFrame, columns: list[str],
                          described: Mapping[str, VariableMeta]
                          ) -> dict[str, tuple[str, str | None, dict[str, str] | None]]:
        """{variable: (by variable, label variable, {by value: codelist})} for this dataset."""
        plan: dict[str, tuple[str, str | None, dict[str, str] | None]] = {}
        if name.startswith("SUPP") and {"QNAM", "QVAL"} <= set(columns):
            plan["QVAL"] = ("QNAM", "QLABEL" if "QLABEL" in columns else None, None)
        if "PARAMCD" in columns:
            for res in ("AVAL", "AVALC"):
                if res in columns:
                    plan[res] = ("PARAMCD", "PARAM" if "PARAM" in columns else None, None)
        for col in columns if self.sdtm else ():
            if col.endswith("TESTCD") and len(col) == 8:
                prefix = col[:2]
                label = f"{prefix}TEST" if f"{prefix}TEST" in columns else None
                for res in ("ORRES", "STRESC", "STRESN"):
                    if prefix + res in columns:
                        plan[prefix + res] = (col, label, None)
        decod = described.get("DSDECOD")
        if self.sdtm and {"DSDECOD", "DSCAT"} <= set(columns) and decod and decod.codelist:
            # SDTMIG DS: the DSDECOD codelist depends on DSCAT
            plan["DSDECOD"] = ("DSCAT", None, {"DISPOSITION EVENT": decod.codelist,
                                               "PROTOCOL MILESTONE": "PROTMLST"})
        return plan

    def _single(self, ds: str, by: str, key_text: pd.Series, data: pd.DataFrame, col: str
                ) -> dict[str, str]:
        if (ds, by, col) not in self._singles:
            self._singles[(ds, by, col)] = _single_values(key_text, data[col])
        return self._singles[(ds, by, col)]

    def _value_list(self, ds: str, data: pd.DataFrame, vm: VariableMeta, parent: ItemDef,
                    plan: tuple[str, str | None, dict[str, str] | None]) -> str | None:
        by, label_col, codelists = plan
        if (ds, by) not in self._groups:       # shared by every result variable of a dataset
            keys = data[by]
            key_text = keys.astype(str).where(keys.notna(), "")
            positions = {k: v for k, v in key_text.groupby(key_text, sort=True, observed=True).indices.items()
                         if k != ""}
            self._groups[(ds, by)] = (key_text, positions)
        key_text, positions = self._groups[(ds, by)]
        values = sorted(positions)
        self._check_xml_chars(ds, by, values)
        vl_oid = f"VL.{_oid_part(ds)}.{_oid_part(vm.name)}"
        by_oid = f"IT.{_oid_part(ds)}.{_oid_part(by)}"
        vl = ValueListDef(vl_oid)
        used_oids: set[str] = set()
        qorig = (self._single(ds, by, key_text, data, "QORIG")
                 if (ds.startswith("SUPP") and "QORIG" in data.columns) else {})
        labels = (self._single(ds, by, key_text, data, label_col)
                  if label_col is not None else {})
        text = _arrow_text(data[vm.name]) if vm.type == "Char" else None
        for value in values:
            mask = positions[value]
            if text is not None:
                facts = _text_subset_facts(text.take(pa.array(mask)))
                if facts is None:
                    continue
            else:
                sub = data[vm.name].iloc[mask]
                facts = column_facts(sub, "Num", None)
                if facts.n_missing == facts.n:
                    continue
            base = f"{vl_oid[3:]}.{_oid_part(value)}"
            item_oid, n = f"IT.{base}", 1
            while item_oid in used_oids:
                n += 1
                item_oid = f"IT.{base}.{n}"
            used_oids.add(item_oid)
            wc_oid = "WC." + item_oid[3:]
            description = labels.get(value)
            origins = [Origin(o.type, o.source, o.description, list(o.document_refs))
                       for o in parent.origins]
            if qorig.get(value):
                sub_vm = VariableMeta(name=vm.name, origin=qorig[value])
                origins = self._origin(ds, sub_vm, var=f"QVAL where QNAM={value}")
            length = facts.length if facts.data_type in ("text", "integer", "float") else None
            codelist_oid = None
            if codelists and codelists.get(value):
                sub_vm = copy.copy(vm)
                sub_vm.codelist = codelists[value]
                codelist_oid = self._codelist_for(ds, sub_vm, data[vm.name].iloc[mask],
                                                  facts.data_type, None)
            self.mdv.item_defs.append(ItemDef(
                oid=item_oid, name=vm.name, data_type=facts.data_type,
                length=max(1, length) if length is not None else None,
                significant_digits=facts.significant_digits,
                sas_field_name=vm.name if SAS_NAME.match(vm.name) else None,
                display_format=None, description=description or vm.label or None,
                codelist_oid=codelist_oid, origins=origins))
            self.mdv.where_clauses.append(WhereClauseDef(wc_oid, [
                RangeCheck("EQ", by_oid, [value])]))
            vl.item_refs.append(ItemRef(item_oid, mandatory=facts.n_missing == 0,
                                        order_number=len(vl.item_refs) + 1,
                                        where_clause_oids=[wc_oid]))
        if not vl.item_refs:
            return None
        self.mdv.value_lists.append(vl)
        return vl_oid

    # ----- sponsor decodes ----------------------------------------------------------------
    def paramcd_codelists(self) -> None:
        """ADaM PARAMCD without a CT codelist: a sponsor codelist decoded by PARAM (from data)."""
        for group in self.mdv.item_groups:
            ds = self.datasets_by_name[group.name]
            if not {"PARAMCD", "PARAM"} <= set(ds.data.columns):
                continue
            item = next(i for i in self.mdv.item_defs if i.oid == f"IT.{group.oid[3:]}.PARAMCD")
            if item.codelist_oid is not None:
                continue
            pairs = ds.data[["PARAMCD", "PARAM"]].dropna().drop_duplicates()
            if pairs.empty or pairs["PARAMCD"].duplicated().any():
                continue
            oid = f"CL.{group.oid[3:]}.PARAMCD"
            use = _CodelistUse(oid=oid, name=f"Parameter codes of {group.name}")
            for code, decode in sorted(zip(pairs["PARAMCD"].astype(str),
                                           pairs["PARAM"].astype(str))):
                use.values[code] = None
                use.decodes[code] = decode
            use.users.append(f"{group.name}.PARAMCD")
            self.codelists[f"SPONSOR.{oid}"] = use
            item.codelist_oid = oid

    # ----- whole document -----------------------------------------------------------------
    def build(self) -> Define:
        self.documents()
        names = sorted(self.datasets, key=lambda n: (self._sort_key(n), n))
        self.datasets_by_name = {self.datasets[n].meta.name.upper(): self.datasets[n]
                                 for n in names}
        for n in names:
            self.dataset(self.datasets[n])
        if not self.sdtm:
            self.paramcd_codelists()
        self.mdv.codelists = self.codelist_objects()
        self.mdv.standards = self.standards()
        self.mdv.methods.sort(key=lambda m: m.oid)
        self.mdv.comments.sort(key=lambda c: c.oid)
        study_oid = f"STDY.{_oid_part(self.study_id)}"
        return Define(
            file_oid=f"{_oid_part(self.study_id)}.{self.ig_name}.{self.ig_version}.define",
            creation_datetime=self.created,
            study=Study(study_oid, self.study_name,
                        self.study_description or self.study_name,
                        self.protocol_name or self.study_id, self.mdv),
            originator="cdisc-converter", source_system="cdisc-converter",
            source_system_version=__version__, stylesheet_href=self.stylesheet_href)

    def _sort_key(self, name: str) -> int:
        """Dataset order: SDTM by class (special purpose, trial design...), ADSL first."""
        n = name.upper()
        if not self.sdtm:
            return 0 if n == "ADSL" else 1
        meta = self.datasets[name].meta
        order = ["TRIAL DESIGN", "SPECIAL PURPOSE", "INTERVENTIONS", "EVENTS", "FINDINGS",
                 "FINDINGS ABOUT", "RELATIONSHIP"]
        klass = (meta.klass or "").upper().replace("-", " ")
        return order.index(klass) if klass in order else len(order)


def _ct_list(ct: CTPackage | str | Iterable[CTPackage | str] | None) -> list[CTPackage]:
    if ct is None:
        return []
    if isinstance(ct, (CTPackage, str)):
        ct = [ct]
    return [load_ct(c) if isinstance(c, str) else c for c in ct]


def build_define_model(datasets: Mapping[str, Dataset], *, standard: str, study_id: str,
                       study_name: str, ct: CTPackage | str | Iterable[CTPackage | str] | None,
                       created: datetime | str, issues: IssueLog | None = None,
                       study_description: str | None = None, protocol_name: str | None = None,
                       acrf: str | None = None,
                       crf_pages: Mapping[str, Mapping[str, str]] | None = None,
                       supplemental_docs: Sequence[tuple[str, str]] = (),
                       dataset_format: str = "xpt", dataset_dir: str = "",
                       dictionaries: Mapping[str, str] | None = None,
                       stylesheet_href: str | None = None) -> Define:
    """The :class:`Define` model describing ``datasets`` (see :func:`build_define`)."""
    builder = _Builder(
        datasets, standard=standard, study_id=study_id, study_name=study_name,
        ct=_ct_list(ct), created=_iso(created),
        issues=issues if issues is not None else IssueLog(),
        study_description=study_description, protocol_name=protocol_name, acrf=acrf,
        crf_pages=crf_pages or {}, supplemental_docs=supplemental_docs,
        dataset_format=dataset_format, dataset_dir=dataset_dir,
        dictionaries=dictionaries or {},
        stylesheet_href=stylesheet_href)
    return builder.build()


def build_define(datasets: Mapping[str, Dataset], *, standard: str, study_id: str,
                 study_name: str, ct: CTPackage | str | Iterable[CTPackage | str] | None,
                 created: datetime | str, issues: IssueLog | None = None, **options: object
                 ) -> bytes:
    """define.xml 2.1 bytes describing exactly the variables and terms in ``datasets``.

    ``standard`` is "SDTMIG 3.3" or "ADaMIG 1.1"; ``ct`` one or more CT packages (objects or
    names); ``created`` the study's fixed timestamp. Options: ``acrf`` (href of the annotated
    CRF), ``crf_pages`` ({dataset: {variable: "page refs"}}), ``supplemental_docs``
    ([(href, title)]), ``dataset_format`` ("xpt"), ``dataset_dir`` (folder of the datasets
    relative to the define, for the def:leaf links), ``dictionaries`` ({"MedDRA": "26.0"}),
    ``study_description``, ``protocol_name``, ``stylesheet_href``.
    """
    return to_xml(build_define_model(datasets, standard=standard, study_id=study_id,
                                     study_name=study_name, ct=ct, created=created,
                                     issues=issues, **options))


def _study_value(study: object, key: str, default: object = None) -> object:
    """A study config value from a mapping, a StudyConfig, or a Study (its ``.config``)."""
    if isinstance(study, Mapping):
        return study.get(key, default)
    config = getattr(study, "config", None)
    if config is not None and hasattr(config, key):
        return getattr(config, key)
    return getattr(study, key, default)


def write_define(datasets: Mapping[str, Dataset], out_dir: str | os.PathLike, *, standard: str,
                 study: object, ct: CTPackage | str | Iterable[CTPackage | str] | None = None,
                 created: datetime | str | None = None, issues: IssueLog | None = None,
                 stylesheet: str | os.PathLike | None = None, **options: object) -> list[Path]:
    """Write ``<out_dir>/<sdtm|adam>-define.xml`` and its HTML rendering; return both paths.

    ``standard`` is "sdtm"/"adam" (version from the study config) or a full "SDTMIG 3.3".
    ``study`` is the study config (object or mapping with study_id, study_name, created,
    sdtmig_version, adamig_version, ct_package, adam_ct_package, and optionally
    ``define: {acrf, crf_pages, dictionaries, supplemental_docs}``). With ``stylesheet`` (e.g.
    CDISC's define2-1.xsl) a third file ``<key>-define.cdisc.html`` is rendered with it.
    """
    from converter.atomic import atomic_write_bytes, atomic_write_text
    from converter.define.render import render_html

    key = standard.strip().lower()
    if key in ("sdtm", "adam"):
        version = _study_value(study, f"{key}ig_version") or ("3.3" if key == "sdtm" else "1.1")
        full = f"{'SDTMIG' if key == 'sdtm' else 'ADaMIG'} {version}"
    else:
        full = standard
        key = "sdtm" if full.upper().startswith("SDTM") else "adam"
    if ct is None:
        names = [_study_value(study, "ct_package")]
        if key == "adam":
            names.insert(0, _study_value(study, "adam_ct_package"))
        ct = [n for n in names if n]
    ct = _ct_list(ct)
    sdtm_ct = _study_value(study, "ct_package")
    if key == "adam" and sdtm_ct and sdtm_ct not in [p.name for p in ct]:
        ct.append(load_ct(str(sdtm_ct)))   # ADaM variables such as SEX and NY use SDTM CT
    created = created if created is not None else _study_value(study, "created")
    if created is None:
        raise ConfigError("the study configuration has no 'created' timestamp", key="created",
                          hint="set created: 2024-01-01T00:00:00 in study.yaml")
    define_cfg = _study_value(study, "define") or {}
    if not isinstance(define_cfg, Mapping):
        define_cfg = vars(define_cfg) if hasattr(define_cfg, "__dict__") else {}
    opts = {k: define_cfg[k] for k in ("acrf", "crf_pages", "dictionaries",
                                       "supplemental_docs", "dataset_format") if
            define_cfg.get(k) is not None}
    if key == "adam":
        opts.pop("acrf", None)
        opts.pop("crf_pages", None)
    output = _study_value(study, "output")
    formats = list(_study_value(output, "formats") or []) if output is not None else []
    if "dataset_format" not in opts and formats:
        opts["dataset_format"] = "xpt" if "xpt" in formats else str(formats[0])
    opts.setdefault("dataset_dir", f"../{key}")    # run layout: OUT/define beside OUT/<key>
    opts.update(options)
    study_id = str(_study_value(study, "study_id"))
    model = build_define_model(
        datasets, standard=full, study_id=study_id,
        study_name=str(_study_value(study, "study_name") or study_id), ct=ct, created=created,
        issues=issues, **opts)
    out = Path(out_dir)
    xml_path = out / f"{key}-define.xml"
    html_path = out / f"{key}-define.html"
    atomic_write_bytes(xml_path, to_xml(model))
    atomic_write_text(html_path, render_html(model))
    paths = [xml_path, html_path]
    if stylesheet is not None:
        from converter.define.render import apply_stylesheet

        cdisc_path = out / f"{key}-define.cdisc.html"
        atomic_write_text(cdisc_path, apply_stylesheet(xml_path, stylesheet))
        paths.append(cdisc_path)
    return paths
