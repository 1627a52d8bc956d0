"""apply_metadata gives the same dataset, lineage and issues for object, Categorical and
Arrow-backed text input, and hands back Char columns as Categoricals of the values present."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from converter.issues import IssueLog
from converter.metadata import apply_metadata, load_spec
from converter.model import SRC_FILE, SRC_ROW

SDTM = load_spec("SDTMIG 3.3")
KINDS = ("object", "categorical", "arrow")


def _lb_frame(n: int = 600, seed: int = 7) -> pd.DataFrame:
    """LB-like object frame: unsorted keys, missing and blank values, a >200-byte value,
    non-ASCII text and numbers given as text for a Num variable."""
    rng = np.random.default_rng(seed)
    subj = rng.choice(["S-03", "S-01", "S-10", "S-2", None, ""], n)
    test = rng.choice(["ALT", "AST", "CD4", "Ä-TEST", None], n)
    spec = rng.choice(["BLOOD", "SERUM", None], n)
    orres = rng.choice(["1.5", "<50", "", None, "x" * 210, "grün"], n)
    stresn = rng.choice(["1.5", "abc", ".", ".A", "", None, "2"], n)
    frame = pd.DataFrame({
        "STUDYID": "ST1", "DOMAIN": "LB", "USUBJID": subj,
        "LBSEQ": np.arange(n, dtype=float)[::-1],
        "LBTESTCD": test, "LBTEST": test, "LBSPEC": spec, "LBORRES": orres,
        "LBSTRESN": stresn,
        "VISITNUM": rng.choice([1.0, 2.0, np.nan, -0.0, 0.0], n),
        "LBCAT": None,
        SRC_FILE: "lab.csv", SRC_ROW: (np.arange(n) + 1).astype(str).astype(object),
    })
    for col in frame.columns:
        if frame[col].dtype == object:
            frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    return frame


def _as(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype != object or col == SRC_ROW:
            continue
        if kind == "categorical":
            # categories in no particular order, with one that no row uses
            cats = list(pd.unique(out[col].dropna()))[::-1] + ["UNUSED" * 50]
            out[col] = pd.Categorical(out[col], categories=cats)
        elif kind == "arrow":
            out[col] = out[col].astype("string[pyarrow]")
    return out


def _plain(data: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({c: data[c].astype(object).where(data[c].notna(), None)
                         if not pd.api.types.is_float_dtype(data[c].dtype) else data[c]
                         for c in data.columns})


def _issues(log: IssueLog) -> pd.DataFrame:
    return log.to_frame().astype(object).where(log.to_frame().notna(), None)


def _run(frame: pd.DataFrame, kind: str):
    log = IssueLog()
    ds, lineage = apply_metadata(_as(frame, kind), "LB", SDTM, log)
    return ds, lineage, log


@pytest.mark.parametrize("kind", KINDS[1:])
def test_same_result_as_object_input(kind):
    frame = _lb_frame()
    ref, ref_lin, ref_log = _run(frame, "object")
    ds, lin, log = _run(frame, kind)
    pd.testing.assert_frame_equal(_plain(ds.data), _plain(ref.data))
    assert [(v.name, v.type, v.length, v.key_sequence) for v in ds.meta.variables] == \
        [(v.name, v.type, v.length, v.key_sequence) for v in ref.meta.variables]
    pd.testing.assert_frame_equal(lin.astype(object), ref_lin.astype(object))
    pd.testing.assert_frame_equal(_issues(log), _issues(ref_log))
    rules = set(ref_log.to_frame()["rule_id"])
    assert {"MD.LEN200", "MD.NUMTYPE", "MD.REQNULL", "MD.EXPEMPTY"} <= rules


@pytest.mark.parametrize("kind", KINDS)
def test_char_columns_are_categoricals_of_present_values(kind):
    ds, _, _ = _run(_lb_frame(), kind)
    for v in ds.meta.variables:
        col = ds.data[v.name]
        if v.type == "Num":
            assert col.dtype == np.float64
            continue
        assert isinstance(col.dtype, pd.CategoricalDtype), v.name
        cats = list(col.cat.categories)
        assert all(isinstance(c, str) for c in cats)
        # only values present, each once, in code point order
        assert sorted(cats) == cats and len(set(cats)) == len(cats)
        assert set(cats) == set(col.dropna().unique())
    # the unused 300-byte category counts for nothing: LBSTUDYID length is 3
    assert ds.meta.variable("STUDYID").length == 3
    assert ds.meta.variable("LBORRES").length == 210
    # blank stays a value (written as blanks), only missing is NaN
    orres = ds.data["LBORRES"]
    assert "" in set(orres.dropna()) and orres.isna().any()


def test_sort_order_is_arrow_stable_sort_with_missing_last():
    frame = _lb_frame(n=2000, seed=11)
    ds, lineage, _ = _run(frame, "categorical")
    keys = [k for k in SDTM.dataset("LB").keys if k in frame.columns]
    table = pa.table({k: pa.array(frame[k].to_numpy(), from_pandas=k != "VISITNUM")
                      for k in keys})
    expected = pc.sort_indices(table, sort_keys=[(k, "ascending", "at_end")
                                                 for k in keys]).to_numpy()
    assert lineage["source_row"].tolist() == [str(i + 1) for i in expected]
    assert ds.meta.keys == keys


def test_number_categories_of_char_variable_are_written_as_text():
    frame = pd.DataFrame({"STUDYID": "S", "DOMAIN": "DM", "USUBJID": ["A", "B", "C"],
                          "SUBJID": pd.Categorical([3.0, 1.5, None])})
    log = IssueLog()
    ds, _ = apply_metadata(frame, "DM", SDTM, log)
    assert ds.data["SUBJID"].astype(object).tolist()[:2] == ["3", "1.5"]
    assert "MD.CHARTYPE" in set(log.to_frame()["rule_id"])


def test_categorical_num_variable_converts_each_category_once():
    frame = pd.DataFrame({"STUDYID": "S", "DOMAIN": "VS", "USUBJID": ["A", "A", "A", "A"],
                          "VSSEQ": [1.0, 2.0, 3.0, 4.0],
                          "VSSTRESN": pd.Categorical(["1.5", "x", None, "1.5"])})
    log = IssueLog()
    ds, _ = apply_metadata(frame, "VS", SDTM, log)
    assert ds.data["VSSTRESN"].tolist()[0] == 1.5 and ds.data["VSSTRESN"].isna().sum() == 2
    bad = log.filter(["MD.NUMTYPE"])
    assert bad["value"].tolist() == ["x"]
