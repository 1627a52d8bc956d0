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
import os
from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from converter.columns import decoded
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
    ctx["usubjid"] = decoded(frame["USUBJID"]) if "USUBJID" in frame else None
    seq = _seq_column(name, frame.columns)
    ctx["seq"] = pd.to_numeric(frame[seq], errors="coerce") if seq else None
    for col, src in (("source_file", SRC_FILE), ("source_row", SRC_ROW)):
        ctx[col] = decoded(frame[src]) if src in frame else None
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


def _arrow_text(values: pd.Series) -> pa.Array | None:
    """Arrow string array of an object/string column, or None if it holds non-text values."""
    try:
        data = values.to_numpy(dtype=object) if values.dtype == object else values
        return pa.array(data, type=pa.string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return None


def _is_text(values) -> bool:
    """All non-missing values are str (or there are none)."""
    return pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")


def _as_text(values: pd.Series) -> tuple[pd.Series, bool]:
    """A non-text column as text (object; missing = None) and whether values were converted
    (numbers and other non-str values are; dates are written as ISO 8601 text)."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
        return _format_numbers(values), True
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        s = values.dt.strftime("%Y-%m-%dT%H:%M:%S").str.replace("T00:00:00", "", regex=False)
        return s.astype(object).where(values.notna(), None), False
    s = values.astype(object)
    mask = s.notna()
    return s.where(~mask, s.astype(str)).where(mask, None), True


def _factorized(values) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes, np.asarray(uniques, dtype=object)


def _to_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray, bool]:
    """A Char column as (codes, categories, converted).

    ``categories`` are the distinct values present (object array of str, sorted as Arrow sorts
    UTF-8 text, i.e. by code point), ``codes`` index them per row (-1 = missing) and
    ``converted`` tells whether non-text values were written as text. Categorical input is
    handled on its categories only; any other column is factorised once.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        cats = values.cat.categories
        codes = values.cat.codes.to_numpy()
        if _is_text(cats):
            text, converted = np.asarray(cats, dtype=object), False
        else:
            as_text, converted = _as_text(pd.Series(cats))
            text = as_text.to_numpy(dtype=object)
        lookup = None      # old code -> new code (last entry: -1 -> -1)
        used = np.zeros(len(text) + 1, dtype=bool)
        used[codes] = True                  # code -1 marks the extra last slot
        keep = used[:-1] & pd.notna(text)
        if not keep.all() or len(pd.unique(text[keep])) < int(keep.sum()):
            # unused categories go; categories that became equal as text are merged
            uniq_codes, uniq = _factorized(np.where(keep, text, None))
            lookup, text = np.append(uniq_codes, -1), uniq
    else:
        lookup = None
        if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
            codes, text = _factorized(values)
            converted = False
            if not _is_text(text):
                as_text, converted = _as_text(values)
                codes, text = _factorized(as_text)
        else:
            as_text, converted = _as_text(values)
            codes, text = _factorized(as_text)
    k = len(text)
    if k > 1:
        order = pc.sort_indices(pa.array(text, type=pa.string())).to_numpy()
        if (order[1:] < order[:-1]).any():
            rank = np.empty(k + 1, dtype=np.int64)
            rank[order] = np.arange(k)
            rank[k] = -1
            text = text[order]
            lookup = rank if lookup is None else rank[lookup]
    dtype = np.int8 if k < 2**7 - 1 else np.int16 if k < 2**15 - 1 else np.int32
    if lookup is not None:
        return lookup.astype(dtype)[codes], text, converted
    return codes.astype(dtype, copy=False), text, converted


def _categorical(codes: np.ndarray, cats: np.ndarray) -> pd.Categorical:
    dtype = pd.CategoricalDtype(pd.Index(cats, dtype=object))
    return pd.Categorical.from_codes(codes, dtype=dtype, validate=False)


def _num_ranks(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Sort rank of each number (equal numbers equal rank; NaN last) and the rank count."""
    nan = np.isnan(values)
    uniq = np.sort(pd.unique(values[~nan]) if nan.any() else pd.unique(values))
    ranks = np.searchsorted(uniq, values)
    if nan.any():
        ranks[nan] = len(uniq)
    return ranks, len(uniq) + 1


def _sort_order(ranks: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """Stable order of rows by integer sort ranks (first key first)."""
    total = 1
    for _, card in ranks:
        total *= max(card, 1)
    if total < 2**62:
        key = np.zeros(len(ranks[0][0]), dtype=np.int64)
        for r, card in ranks:
            key *= card
            key += r
        return np.argsort(key, kind="stable")
    return np.lexsort([r for r, _ in reversed(ranks)])


def _to_num(values: pd.Series, var: VariableMeta) -> tuple[np.ndarray, pd.Series]:
    """float64 values and a boolean Series marking values that are not numbers."""
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        # each value converts on its own: convert the categories, then spread by the codes
        codes = values.cat.codes.to_numpy()
        cat_num, cat_bad = _to_num(pd.Series(values.cat.categories), var)
        num = np.append(cat_num, np.nan)[codes]
        bad = np.append(cat_bad.to_numpy(), False)[codes]
        return num, pd.Series(bad, index=values.index)
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
    arr = _arrow_text(values)
    if arr is None:
        s = values.astype(object)
        arr = pa.array(s.where(s.isna(), s.astype(str)).to_numpy(dtype=object),
                       type=pa.string(), from_pandas=True)
    trimmed = pc.utf8_trim_whitespace(arr)
    present_arr = pc.fill_null(pc.not_equal(trimmed, ""), False)
    present_np = present_arr.to_numpy(zero_copy_only=False)
    blank_as_null = pc.if_else(present_arr, trimmed, pa.scalar(None, pa.string()))
    try:
        out = pc.cast(blank_as_null, pa.float64()).to_numpy(zero_copy_only=False)
        out = np.array(out, dtype=np.float64)
        failed = np.zeros(len(out), dtype=bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        text_obj = pd.Series(blank_as_null.to_numpy(zero_copy_only=False), dtype=object)
        out = pd.to_numeric(text_obj, errors="coerce").to_numpy(dtype=np.float64)
        failed = present_np & np.isnan(out)
    text = pd.Series(trimmed.to_numpy(zero_copy_only=False), index=values.index, dtype=object) \
        if failed.any() else None
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


def _predecessor_index(predecessors: Spec | None, names: list[str]) -> dict[str, VariableMeta]:
    """Metadata of ``names`` in the predecessor (SDTM) spec, first dataset that has each."""
    if predecessors is None or not names:
        return {}
    wanted, found = set(names), {}
    for ds_name in sorted(predecessors.datasets):
        for var in predecessors.datasets[ds_name].variables:
            if var.name in wanted and var.name not in found:
                carried = copy.copy(var)
                carried.origin, carried.source = "Predecessor", f"{ds_name}.{var.name}"
                carried.method = None
                found[var.name] = carried
    return found


def apply_metadata(frame: pd.DataFrame, name: str, spec: Spec | str, issues: IssueLog | None,
                   *, overrides: Mapping[str, Mapping] | str | None = None,
                   origins: Mapping[str, Mapping] | None = None,
                   predecessors: Spec | None = None) -> tuple[Dataset, pd.DataFrame]:
    """Finish ``frame`` as dataset ``name`` per ``spec``; return the Dataset and its lineage.

    ``predecessors``: for ADaM, the SDTM spec; a column the ADaM spec does not describe but an
    SDTM dataset does (e.g. LBTESTCD carried into ADLB) keeps its SDTM label, type and codelist
    and is not reported as non-standard (ADaMIG lets SDTM variables be copied unchanged).

    ``overrides``: ``{variable: {field: value}}`` applied to this dataset's variable metadata (e.g.
    ``{"AVAL": {"format": "8.1"}}``), or a study override folder (str or Path) for
    ``load_spec``; None for none.
    ``origins``: ``{variable: {origin, source, method, comment}}`` for define.xml.
    """
    issues = issues if issues is not None else IssueLog()
    name = name.upper()
    override_path = overrides if isinstance(overrides, (str, os.PathLike)) and overrides \
        else None
    if isinstance(spec, str) or override_path:
        spec = load_spec(spec if isinstance(spec, str) else spec.standard, override_path)
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

    ctx_cache: list[pd.DataFrame] = []

    def ctx_rows(mask: np.ndarray) -> pd.DataFrame:
        """Provenance of the masked input rows (built once, only when an issue needs it)."""
        if not ctx_cache:
            ctx_cache.append(_context(frame, name))
        return ctx_cache[0][mask]

    spec_names = [v.name for v in meta.variables]
    present = [n for n in spec_names if n in frame.columns]
    extra = [c for c in frame.columns if c not in spec_names and c not in PROVENANCE_COLUMNS]
    carried = _predecessor_index(predecessors, extra)
    for col in extra:
        if col in carried:
            continue
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

    columns: dict[str, np.ndarray | tuple[np.ndarray, np.ndarray]] = {}
    out_vars: list[VariableMeta] = []
    ranks: dict[str, tuple[np.ndarray, int]] = {}
    for col in present + extra:
        vm = copy.copy(meta.variable(col)) if col in spec_names else None
        if vm is None and col in carried:
            vm = copy.copy(carried[col])
            vm.core, vm.key_sequence = None, None
        if vm is None:
            num = (pd.api.types.is_numeric_dtype(frame[col].dtype)
                   and not pd.api.types.is_bool_dtype(frame[col].dtype))
            vm = VariableMeta(name=col, type="Num" if num else "Char",
                              data_type="float" if num else "text")
        values = frame[col]
        if vm.type == "Num":
            num, bad = _to_num(values, vm)
            if bad.any():
                sub = ctx_rows(bad.to_numpy()).copy()
                sub["value"] = values[bad.to_numpy()].astype(str).to_numpy()
                issues.add_frame(sub, rule_id="MD.NUMTYPE", severity="error", stage=STAGE,
                                 message=f"{name}.{col} is numeric; value is not a number and "
                                         "was written as missing", dataset=name, variable=col,
                                 expected="a number")
            columns[col] = num
            null = np.isnan(num)
            vm.length = 8
        else:
            codes, cats, converted = _to_codes(values)
            if converted:
                issues.add("MD.CHARTYPE", f"{name}.{col} is character; non-text values were "
                           "written as text", severity="notice", stage=STAGE, dataset=name,
                           variable=col)
            columns[col] = (codes, cats)
            lengths = pc.binary_length(pa.array(cats, type=pa.string())).to_numpy(
                zero_copy_only=False)
            if col in meta.keys:
                ranks[col] = (np.where(codes < 0, len(cats), codes), len(cats) + 1)
            blank = lengths == 0
            if blank.any() or (vm.core in ("Req", "Exp") and (codes < 0).any()):
                null = np.append(blank, True)[codes]        # missing or blank
            else:
                null = np.zeros(0 if not len(codes) else 1, dtype=bool)   # none null
            longest = int(lengths.max()) if len(lengths) else 0
            vm.length = max(1, longest)
            if longest > 200:
                over = np.append(lengths > 200, False)[codes]
                sub = ctx_rows(over).copy()
                sub["value"] = cats[codes[over]]
                issues.add_frame(sub, rule_id="MD.LEN200", severity="error", stage=STAGE,
                                 message=f"{name}.{vm.name} value is longer than 200 bytes",
                                 dataset=name, variable=vm.name, expected="at most 200 bytes")
        if vm.core == "Req" and null.any():
            issues.add_frame(ctx_rows(null), rule_id="MD.REQNULL", severity="error",
                             stage=STAGE, message=f"required variable {vm.name} is null",
                             dataset=name, variable=vm.name, expected="a value in every record")
        if vm.core == "Exp" and len(null) and null.all():
            issues.add("MD.EXPEMPTY", f"expected variable {vm.name} is null in every record",
                       severity="notice", stage=STAGE, dataset=name, variable=vm.name)
        origin = (origins or {}).get(vm.name)
        if origin:
            for key in ORIGIN_FIELDS:
                value = origin.get(key) if isinstance(origin, Mapping) else getattr(origin, key,
                                                                                    None)
                if value is not None:
                    setattr(vm, key, value)
        out_vars.append(vm)

    keys = [k for k in meta.keys if k in columns]
    order = None
    if keys and len(frame) > 1:
        # stable, missing (NaN / null) last: the order Arrow's sort_indices gives
        order = _sort_order([ranks[k] if k in ranks else _num_ranks(columns[k]) for k in keys])
        if (order[1:] > order[:-1]).all():
            order = None

    def arranged(values):
        if isinstance(values, pd.Series):
            values = values.to_numpy()
        return values if order is None else values.take(order)

    def finished(values):
        if isinstance(values, tuple):
            codes, cats = values
            return _categorical(arranged(codes), cats)
        return arranged(values)

    n = len(frame)
    # one frame construction, no block consolidation (copy=False): cheap for millions of rows
    index = pd.RangeIndex(n)
    data = pd.DataFrame({col: finished(v) for col, v in columns.items()},
                        index=index, columns=list(columns), copy=False)
    seq_col = _seq_column(name, data.columns)
    lineage = pd.DataFrame({
        "dataset": name,
        "row": np.arange(1, n + 1),
        "usubjid": decoded(data["USUBJID"]) if "USUBJID" in data else None,
        "seq": data[seq_col].to_numpy() if seq_col else None,
        "source_file": arranged(decoded(frame[SRC_FILE]))
        if SRC_FILE in frame.columns else None,
        "source_row": arranged(decoded(frame[SRC_ROW]))
        if SRC_ROW in frame.columns else None,
    }, columns=LINEAGE_COLUMNS, copy=False)
    for i, vm in enumerate(out_vars):
        vm.key_sequence = (keys.index(vm.name) + 1) if vm.name in keys else None
    meta.variables = out_vars
    meta.keys = keys if keys else meta.keys
    return Dataset(meta=meta, data=data), lineage
