"""``convert``: every format pair keeps names, labels, types, lengths and formats."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from converter.io.datasets import read_dataset, read_dataset_folder
from converter.metadata import missing_codes

FORMATS = [".xpt", ".json", ".ndjson", ".dsjc", ".csv", ".csv.gz", ".parquet"]


class _Result:
    def __init__(self, returncode: int, stderr: str):
        self.returncode, self.stderr = returncode, stderr


@pytest.fixture
def run(capsys):
    """Run the CLI in-process (as ``python -m converter``) and return exit code and stderr."""
    from converter.cli import main

    def _run(*args: str) -> _Result:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        return _Result(code, capsys.readouterr().err)
    return _run


def _assert_same(a, b, *, lengths=True):
    assert b.meta.name == a.meta.name and b.meta.label == a.meta.label
    assert [v.name for v in b.meta.variables] == [v.name for v in a.meta.variables]
    for va, vb in zip(a.meta.variables, b.meta.variables):
        assert (vb.label, vb.type) == (va.label, va.type), va.name
        assert (vb.format or None) == (va.format or None), va.name
        if lengths and va.type == "Char":
            assert vb.length == va.length, va.name
    for v in a.meta.variables:
        x, y = a.data[v.name], b.data[v.name]
        if v.type == "Num":
            np.testing.assert_array_equal(x.to_numpy(dtype=float), y.to_numpy(dtype=float),
                                          err_msg=v.name)
            assert missing_codes(x).tolist() == missing_codes(y).tolist()
        else:
            assert x.fillna("").tolist() == y.fillna("").tolist(), v.name


@pytest.mark.parametrize("ext", FORMATS)
def test_xpt_to_format_and_back(shared, tmp_path, ext, run):
    src = shared / "reference" / "cdisc-pilot" / "adam" / "adsl.xpt"
    original = read_dataset(src)
    mid = tmp_path / f"adsl{ext}"
    r = run("convert", str(src), str(mid), "--created", "2024-01-01T00:00:00")
    assert r.returncode == 0, r.stderr
    again = tmp_path / "back.xpt"
    r = run("convert", str(mid), str(again), "--created", "2024-01-01T00:00:00")
    assert r.returncode == 0, r.stderr
    _assert_same(original, read_dataset(mid))
    _assert_same(original, read_dataset(again))
    # XPT -> X -> XPT gives the same bytes as XPT -> XPT
    direct = tmp_path / "direct.xpt"
    assert run("convert", str(src), str(direct), "--created", "2024-01-01T00:00:00"
                ).returncode == 0
    assert direct.read_bytes() == again.read_bytes()


def test_csv_sidecar_and_special_missing(tmp_path):
    from datetime import datetime

    from converter.io.convert import convert
    from converter.io.xpt import write_xpt
    from converter.metadata import special_missing
    from converter.model import Dataset, DatasetMeta, VariableMeta
    ds = Dataset(DatasetMeta(name="T", label="T data", variables=[
        VariableMeta(name="SUBJID", label="Subject", type="Char", length=4),
        VariableMeta(name="X", label="X value", type="Num", format="8.3")]),
        pd.DataFrame({"SUBJID": ["0001", "0002", "0003"],
                      "X": [0.1, special_missing("Z"), np.nan]}))
    write_xpt(ds, tmp_path / "t.xpt", created=datetime(2024, 1, 1))
    convert(tmp_path / "t.xpt", tmp_path / "t.csv", created=datetime(2024, 1, 1))
    text = (tmp_path / "t.csv").read_text(encoding="utf-8")
    assert text == "SUBJID,X\n0001,0.1\n0002,.Z\n0003,\n"
    side = pd.read_csv(tmp_path / "t.columns.csv", dtype=str)
    assert side["variable"].tolist() == ["SUBJID", "X"] and side["format"].tolist()[1] == "8.3"
    back = read_dataset(tmp_path / "t.csv")
    assert back.data["SUBJID"].tolist() == ["0001", "0002", "0003"]   # leading zeros kept
    assert missing_codes(back.data["X"]).tolist() == [None, "Z", "."]
    folder = read_dataset_folder(tmp_path)
    assert list(folder) == ["T"] and folder["T"].meta.label == "T data"


def test_errors_exit_2(tmp_path, shared, run):
    src = shared / "reference" / "cdisc-pilot" / "sdtm" / "dm.xpt"
    r = run("convert", str(tmp_path / "missing.xpt"), str(tmp_path / "o.json"))
    assert r.returncode == 2 and "missing.xpt" in r.stderr
    r = run("convert", str(src), str(tmp_path / "o.txt"))
    assert r.returncode == 2 and "unknown output format" in r.stderr
    r = run("convert", str(src), str(tmp_path / "o.xpt"), "--created", "yesterday")
    assert r.returncode == 2 and "--created" in r.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("AGE\n12\nold\n", encoding="utf-8")
    (tmp_path / "bad.columns.csv").write_text("variable,label,type\nAGE,Age,Num\n",
                                              encoding="utf-8")
    r = run("convert", str(bad), str(tmp_path / "bad.xpt"))
    assert r.returncode == 2 and "row 2" in r.stderr and "old" in r.stderr
    long = tmp_path / "long.csv"
    long.write_text("ABCDEFGHIJ\n1\n", encoding="utf-8")
    r = run("convert", str(long), str(tmp_path / "long.xpt"))
    assert r.returncode == 2 and "ABCDEFGHIJ" in r.stderr


def test_foreign_parquet_without_metadata(tmp_path, run):
    import pyarrow as pa
    import pyarrow.parquet as pq
    table = pa.table({"USUBJID": ["A", None, "C"], "AGE": pa.array([30, None, 41], pa.int64()),
                      "WT": [70.5, 80.25, None]})
    pq.write_table(table, tmp_path / "dm.parquet")
    r = run("convert", str(tmp_path / "dm.parquet"), str(tmp_path / "dm.xpt"))
    assert r.returncode == 0, r.stderr
    back = read_dataset(tmp_path / "dm.xpt")
    assert back.meta.name == "DM"
    assert [v.type for v in back.meta.variables] == ["Char", "Num", "Num"]
    assert back.data["USUBJID"].tolist() == ["A", "", "C"]
    assert back.data["AGE"].tolist()[::2] == [30.0, 41.0] and np.isnan(back.data["AGE"][1])
    assert back.data["WT"].tolist()[:2] == [70.5, 80.25]


@pytest.mark.parametrize("ext", [".parquet", ".csv", ".csv.gz"])
def test_categorical_columns_written_like_object_columns(tmp_path, ext):
    from converter.io.convert import write_csv, write_parquet
    from converter.model import Dataset, DatasetMeta, VariableMeta

    values = ["b", None, "grüße", "", "a,b", 'q"', "b"] * 30
    meta = DatasetMeta(name="T", label="t", variables=[
        VariableMeta(name="C", type="Char", length=6), VariableMeta(name="N", type="Num")])
    num = np.arange(len(values), dtype=float)
    obj = Dataset(meta=meta, data=pd.DataFrame({"C": pd.Series(values, dtype=object),
                                                "N": num}))
    cat = Dataset(meta=meta, data=pd.DataFrame({
        "C": pd.Categorical(values, categories=["unused", "grüße", "b", "", "a,b", 'q"']),
        "N": num}))
    writer = write_parquet if ext == ".parquet" else write_csv
    a = writer(obj, tmp_path / f"obj{ext}")[0]
    b = writer(cat, tmp_path / f"cat{ext}")[0]
    assert a.read_bytes() == b.read_bytes()
    back = read_dataset(b)
    assert back.data["C"].tolist()[:3] == ["b", None, "grüße"]
