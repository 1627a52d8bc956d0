"""The metadata stage: the one place where a frame gets order, types, lengths and labels.

``apply_metadata`` turns a mapped or derived frame into a finished :class:`Dataset` following the
spec, and reports what the spec expects but the data lacks. Rule ids written to the issue log:

==============  ========  ============================================================
MD.NODSPEC      error     dataset not described in the spec (metadata inferred)
MD.NONSTD       warning   column not in the spec (kept after the spec columns; SUPP--?)
MD.REQMISS      error     required variable missing from the dataset
MD.REQNULL      error     required variable null in a record (one issue per record)
MD.EXPMISS      warning   expected variable missing from the dataset
MD.EXPEMPTY     notice    expected variable present but null in every record
MD.NUMTYPE      error     value of a Num variable is not a number (set to missing)
MD.CHARTYPE     notice    numbers given for a Char variable (written as text)
MD.LEN200       error     character value longer than 200 bytes (XPT v5 limit)
==============  ========  ============================================================
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from converter.issues import IssueLog
from converter.metadata.missing import from_codes
from converter.metadata.spec import Spec, load_spec
from converter.model import (
    PROVENANCE_COLUMNS,
    SRC_FILE,
    SRC_ROW,
    Dataset,
    DatasetMeta,
    VariableMeta,
)

STAGE = "metadata"
SAS_EPOCH = np.datetime64("1960-01-01", "D")
ORIGIN_FIELDS = ("origin", "source", "method", "comment")
LINEAGE_COLUMNS = ["dataset", "row", "usubjid", "seq", "source_file", "source_row"]


def byte_lengths(values: pd.Series) -> np.ndarray:
    """UTF-8 byte length of each value (0 for missing), vectorised through Arrow."""
    arr = pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    return pc.fill_null(pc.binary_length(arr), 0).to_numpy(zero_copy_only=False)


def char_length(values: pd.Series) -> int:
    """Longest value in bytes, at least 1."""
    if len(values) == 0:
        return 1
    return max(1, int(byte_lengths(values).max()))


def _seq_column(name: str, columns) -> str | None:
    for cand in (f"{name}SEQ", f"{name[2:]}SEQ" if name.startswith("AD") else None, "ASEQ"):
        if cand and cand in columns:
            return cand
    return None


def _context(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Provenance columns (usubjid, seq, source_file, source_row) for per-row issues."""
    ctx = pd.DataFrame(index=frame.index)
    ctx["usubjid"] = frame.get("USUBJID", None)
    seq = _seq_column(name, frame.columns)
    ctx["seq"] = pd.to_numeric(frame[seq], errors="coerce") if seq else None
    ctx["source_file"] = frame.get(SRC_FILE, None)
    ctx["source_row"] = frame.get(SRC_ROW, None)
    return ctx


def _format_numbers(values: pd.Series) -> pd.Series:
    """Numbers written as text: integers without '.0', others with repr (shortest exact)."""
    num = values.to_numpy(dtype=np.float64)
    out = np.full(len(num), None, dtype=object)
    ok = ~np.isnan(num)
    integral = ok & (np.mod(num, 1) == 0) & (np.abs(num) < 2**53)
    out[integral] = num[integral].astype(np.int64).astype(str)
    rest = ok & ~integral
    out[rest] = [repr(float(x)) for x in num[rest]]  # rare: non-integral numbers in Char
    return pd.Series(out, index=values.index, dtype=object)


def _to_char(values: pd.Series) -> tuple[pd.Series, bool]:
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
        return _format_numbers(values), True
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        s = values.dt.strftime("%Y-%m-%dT%H:%M:%S").str.replace("T00:00:00", "", regex=False)
        return s.astype(object).where(values.notna(), None), False
    s = values.astype(object)
    mask = s.notna()
    nonstr = mask & ~s.map(type).isin([str])
    if nonstr.any():
        s = s.copy()
        s[nonstr] = s[nonstr].astype(str)
    return s.where(mask, None), bool(nonstr.any())


def _to_num(values: pd.Series, var: VariableMeta) -> tuple[np.ndarray, pd.Series]:
    """float64 values and a boolean Series marking values that are not numbers."""
    dtype = values.dtype
    bad = pd.Series(False, index=values.index)
    if pd.api.types.is_bool_dtype(dtype):
        return values.to_numpy(dtype=np.float64), bad
    if pd.api.types.is_numeric_dtype(dtype):
        return values.to_numpy(dtype=np.float64, na_value=np.nan), bad
    if pd.api.types.is_datetime64_any_dtype(dtype):
        v = values.dt.tz_localize(None) if getattr(values.dt, "tz", None) else values
        if var.data_type in ("date",):
            out = (v.to_numpy("datetime64[D]") - SAS_EPOCH).astype(np.float64)
        else:
            out = (v.to_numpy("datetime64[ns]") - SAS_EPOCH.astype("datetime64[ns]")
                   ).astype(np.float64) / 1e9
        out[values.isna().to_numpy()] = np.nan
        return out, bad
    if pd.api.types.is_timedelta64_dtype(dtype):
        out = values.dt.total_seconds().to_numpy(dtype=np.float64)
        return out, bad
    s = values.astype(object).where(values.notna(), None)
    text = s.astype("string").str.strip()
    present = text.notna() & (text != "")
    out = pd.to_numeric(text.where(present), errors="coerce").to_numpy(dtype=np.float64)
    failed = present.to_numpy() & np.isnan(out)
    if failed.any():
        # SAS missing notation ('.', '.A'-'.Z', '._') and ISO 8601 dates for date variables
        sub = text[failed].str.upper()
        codes = np.zeros(len(out), dtype=np.uint8)
        miss = sub.str.fullmatch(r"\.[A-Z_]?")
        idx = np.flatnonzero(failed)
        letters = sub[miss.to_numpy()].str[1:].str.pad(1, fillchar=".")
        codes[idx[miss.to_numpy()]] = letters.map(ord).to_numpy(dtype=np.uint8)
        out = from_codes(out, codes)
        failed[idx[miss.to_numpy()]] = False
        if var.data_type in ("date", "datetime", "time") and failed.any():
            idx = np.flatnonzero(failed)
            raw = text.iloc[idx]
            if var.data_type == "time":
                parsed = pd.to_timedelta(raw, errors="coerce").dt.total_seconds()
                vals = parsed.to_numpy(dtype=np.float64)
            else:
                fmt = "%Y-%m-%d" if var.data_type == "date" else "ISO8601"
                parsed = pd.to_datetime(raw, format=fmt, errors="coerce")
                delta = parsed.to_numpy("datetime64[ns]") - SAS_EPOCH.astype("datetime64[ns]")
                vals = delta.astype(np.float64) / 1e9
                if var.data_type == "date":
                    vals = vals / 86400.0
                vals[parsed.isna().to_numpy()] = np.nan
            ok = ~np.isnan(vals)
            out[idx[ok]] = vals[ok]
            failed[idx[ok]] = False
    bad = pd.Series(failed, index=values.index)
    return out, bad


def _infer_meta(frame: pd.DataFrame, name: str, standard: str | None) -> DatasetMeta:
    variables = []
    for col in frame.columns:
        if col in PROVENANCE_COLUMNS:
            continue
        num = pd.api.types.is_numeric_dtype(frame[col].dtype)
        variables.append(VariableMeta(name=col, type="Num" if num else "Char",
                                      data_type="float" if num else "text"))
    return DatasetMeta(name=name, variables=variables, standard=standard)


def apply_metadata(frame: pd.DataFrame, name: str, spec: Spec | str, issues: IssueLog | None,
                   *, overrides: Mapping[str, Mapping] | str | None = None,
                   origins: Mapping[str, Mapping] | None = None) -> tuple[Dataset, pd.DataFrame]:
    """Finish ``frame`` as dataset ``name`` per ``spec``; return the Dataset and its lineage.

    ``overrides``: ``{variable: {field: value}}`` applied to this dataset's variable metadata (e.g.
    ``{"AVAL": {"format": "8.1"}}``), or a study override folder for ``load_spec``.
    ``origins``: ``{variable: {origin, source, method, comment}}`` for define.xml.
    """
    issues = issues if issues is not None else IssueLog()
    name = name.upper()
    if isinstance(spec, str) or (isinstance(overrides, str) and overrides):
        spec = load_spec(spec if isinstance(spec, str) else spec.standard,
                         overrides if isinstance(overrides, str) else None)
    if spec.has(name):
        meta = spec.dataset(name)
    else:
        meta = _infer_meta(frame, name, spec.standard)
        issues.add("MD.NODSPEC", f"dataset {name} is not described in the {spec.standard} "
                   "metadata; types were inferred and labels are empty", severity="error",
                   stage=STAGE, dataset=name,
                   expected="a datasets.csv/variables.csv entry in the study spec overrides")
    if isinstance(overrides, Mapping):
        for var, fields in overrides.items():
            vm = meta.variable(var)
            if vm is None:
                continue
            for k, v in fields.items():
                setattr(vm, k, v)

    ctx_all = _context(frame, name)
    spec_names = [v.name for v in meta.variables]
    present = [n for n in spec_names if n in frame.columns]
    extra = [c for c in frame.columns if c not in spec_names and c not in PROVENANCE_COLUMNS]
    for col in extra:
        issues.add("MD.NONSTD", f"{name}.{col} is not a {spec.standard} variable of {name}; "
                   "kept after the standard variables", severity="warning", stage=STAGE,
                   dataset=name, variable=col,
                   expected=f"a standard variable, or move it to SUPP{name}" if not
                   name.startswith("AD") else "a variable described in the study spec")
    for v in meta.variables:
        if v.name in frame.columns:
            continue
        if v.core == "Req":
            issues.add("MD.REQMISS", f"required variable {v.name} is missing from {name}",
                       severity="error", stage=STAGE, dataset=name, variable=v.name)
        elif v.core == "Exp":
            issues.add("MD.EXPMISS", f"expected variable {v.name} is missing from {name}",
                       severity="warning", stage=STAGE, dataset=name, variable=v.name)

    columns: dict[str, pd.Series | np.ndarray] = {}
    out_vars: list[VariableMeta] = []
    for col in present + extra:
        vm = copy.copy(meta.variable(col)) if col in spec_names else None
        if vm is None:
            num = (pd.api.types.is_numeric_dtype(frame[col].dtype)
                   and not pd.api.types.is_bool_dtype(frame[col].dtype))
            vm = VariableMeta(name=col, type="Num" if num else "Char",
                              data_type="float" if num else "text")
        values = frame[col]
        if vm.type == "Num":
            num, bad = _to_num(values, vm)
            if bad.any():
                sub = ctx_all[bad.to_numpy()].copy()
                sub["value"] = values[bad.to_numpy()].astype(str).to_numpy()
                issues.add_frame(sub, rule_id="MD.NUMTYPE", severity="error", stage=STAGE,
                                 message=f"{name}.{col} is numeric; value is not a number and "
                                         "was written as missing", dataset=name, variable=col,
                                 expected="a number")
            columns[col] = num
        else:
            text, converted = _to_char(values)
            if converted:
                issues.add("MD.CHARTYPE", f"{name}.{col} is character; non-text values were "
                           "written as text", severity="notice", stage=STAGE, dataset=name,
                           variable=col)
            columns[col] = text
        out_vars.append(vm)

    data = pd.DataFrame(columns, index=frame.index)
    for prov in PROVENANCE_COLUMNS:
        data[prov] = frame[prov] if prov in frame.columns else None
    keys = [k for k in meta.keys if k in data.columns]
    if keys and len(data):
        data = data.sort_values(keys, kind="mergesort", na_position="last")
    data = data.reset_index(drop=True)
    ctx = _context(data, name)

    for vm in out_vars:
        col = data[vm.name]
        null = col.isna().to_numpy()
        if vm.type == "Char":
            null |= (col == "").to_numpy()
        if vm.core == "Req" and null.any():
            sub = ctx[null]
            issues.add_frame(sub, rule_id="MD.REQNULL", severity="error", stage=STAGE,
                             message=f"required variable {vm.name} is null", dataset=name,
                             variable=vm.name, expected="a value in every record")
        if vm.core == "Exp" and len(col) and null.all():
            issues.add("MD.EXPEMPTY", f"expected variable {vm.name} is null in every record",
                       severity="notice", stage=STAGE, dataset=name, variable=vm.name)
        if vm.type == "Char":
            lengths = byte_lengths(col)
            vm.length = max(1, int(lengths.max())) if len(lengths) else 1
            over = lengths > 200
            if over.any():
                sub = ctx[over].copy()
                sub["value"] = col[over].to_numpy()
                issues.add_frame(sub, rule_id="MD.LEN200", severity="error", stage=STAGE,
                                 message=f"{name}.{vm.name} value is longer than 200 bytes",
                                 dataset=name, variable=vm.name, expected="at most 200 bytes")
        else:
            vm.length = 8
        origin = (origins or {}).get(vm.name)
        if origin:
            for key in ORIGIN_FIELDS:
                value = origin.get(key) if isinstance(origin, Mapping) else getattr(origin, key,
                                                                                    None)
                if value is not None:
                    setattr(vm, key, value)

    lineage = pd.DataFrame({
        "dataset": name,
        "row": np.arange(1, len(data) + 1),
        "usubjid": ctx["usubjid"].to_numpy() if "USUBJID" in data else None,
        "seq": ctx["seq"].to_numpy(),
        "source_file": ctx["source_file"].to_numpy(),
        "source_row": ctx["source_row"].to_numpy(),
    }, columns=LINEAGE_COLUMNS)
    data = data.drop(columns=list(PROVENANCE_COLUMNS))
    for i, vm in enumerate(out_vars):
        vm.key_sequence = (keys.index(vm.name) + 1) if vm.name in keys else None
    meta.variables = out_vars
    meta.keys = keys if keys else meta.keys
    return Dataset(meta=meta, data=data), lineage
