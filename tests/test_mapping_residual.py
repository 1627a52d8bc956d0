"""Residual mapping defects found by the robustness review, fixed and held here."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from algo_helpers import raw, run, values


def test_seq_missing_usubjid_no_overflow_and_own_groups():
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # an int64 overflow warning would fail here
        got, _ = run({"target": "XSEQ", "algorithm": "seq", "by": ["USUBJID", "X"]},
                     raw(A=[1, 2, 3, 4, 5]),
                     {"USUBJID": [None, None, "S1", None, "S1"],
                      "X": ["a", "b", "a", "a", "a"]})
    # (missing, a): rows 1, 4; (missing, b): row 2; (S1, a): rows 3, 5
    assert values(got) == [1.0, 1.0, 1.0, 2.0, 2.0]


def test_seq_many_keys_exact_groups_match_reference():
    # by + order keys whose combined range exceeds int64: the lexsort path must stay exact
    rng = np.random.default_rng(7)
    n = 40_000
    a = rng.integers(0, 3, n).astype(str).astype(object)
    a[rng.random(n) < 0.05] = None
    cols = {"A": a}
    for name in "BCDE":
        cols[name] = rng.permutation(n).astype(str).astype(object)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got, _ = run({"target": "XSEQ", "algorithm": "seq", "by": ["A"],
                      "order": ["B", "C", "D", "E"]}, raw(R=list(range(n))),
                     {k: list(v) for k, v in cols.items()})
    ref = pd.DataFrame({k: pd.to_numeric(pd.Series(v)) for k, v in cols.items()})
    ref["row"] = np.arange(n)
    ref = ref.sort_values(["A", "B", "C", "D", "E", "row"], na_position="last", kind="stable")
    ref["seq"] = ref.groupby("A", dropna=False, sort=False).cumcount() + 1
    assert values(got) == ref.sort_values("row")["seq"].astype(float).tolist()


# ---- define: settings in study.yaml ---------------------------------------------------------

STUDY_DEFINE = """\
study_id: S1
study_name: Study One
ct_package: sdtmct-2015-12-18
created: "2024-03-01T09:30:00"
define:
  meddra_version: 26.1
  acrf: docs/acrf.pdf
  crf_pages: {DM.SEX: 3, dm.age: "3 4", AE.AETERM: [7, 8]}
"""


def _define_study(tmp_path, text=STUDY_DEFINE, acrf=True):
    root = tmp_path / "s1"
    (root / "docs").mkdir(parents=True)
    (root / "study.yaml").write_text(text)
    if acrf:
        (root / "docs" / "acrf.pdf").write_bytes(b"%PDF-1.4\n")
    return root


def test_define_settings_loaded_normalised_and_used_by_write_define(tmp_path):
    from test_define import sdtm_datasets

    from converter.define.generate import write_define
    from converter.define.reader import read_define
    from converter.mapping.study import load_study
    study = load_study(_define_study(tmp_path))
    d = study.config.define
    assert d.meddra_version == "26.1" and d.dictionaries == {"MedDRA": "26.1"}
    assert d.crf_pages == {"DM": {"SEX": "3", "AGE": "3 4"}, "AE": {"AETERM": "7 8"}}
    assert study.acrf_path == (tmp_path / "s1" / "docs" / "acrf.pdf").resolve()
    paths = write_define(sdtm_datasets(), tmp_path / "out", standard="sdtm", study=study.config,
                         acrf="acrf.pdf")
    model = read_define(paths[0])
    sex = model.item_def("IT.DM.SEX").origins[0]
    assert sex.document_refs[0].leaf_id == "LF.acrf"
    assert sex.document_refs[0].pages[0].page_refs == "3"
    assert "MedDRA 26.1" in paths[1].read_text(encoding="utf-8")


@pytest.mark.parametrize("bad, words", [
    ("  acrf: ../outside.pdf\n", "leaves the study folder"),
    ("  acrf: missing.pdf\n", "not found"),
    ("  acrf: docs/acrf.pdf\n  crf_pages: {SEX: 3}\n", "DATASET.VARIABLE"),
    ("  acrf: docs/acrf.pdf\n  crf_pages: {DM.SEX: three}\n", "page numbers"),
    ("  crf_pages: {DM.SEX: 3}\n", "set acrf"),
    ("  meddra: 26.1\n", "meddra_version"),
])
def test_define_settings_mistakes_are_located(tmp_path, bad, words):
    from converter.errors import ConfigError
    from converter.mapping.study import load_study
    text = STUDY_DEFINE.split("define:\n")[0] + "define:\n" + bad
    with pytest.raises(ConfigError) as info:
        load_study(_define_study(tmp_path, text))
    line = info.value.one_line()
    assert "study.yaml:" in line and words in line, line
