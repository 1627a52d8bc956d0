"""Dataset-JSON 1.1: CDISC examples, schema validity of everything written, exact numbers."""

from __future__ import annotations

import json
import zlib
from datetime import datetime

import jsonschema
import numpy as np
import pandas as pd
import pytest

from converter.errors import ConfigError, InputError
from converter.io.datasetjson import load_dataset_json, read_dataset_json, write_dataset_json
from converter.io.datasets import read_dataset
from converter.metadata import special_missing
from converter.model import Dataset, DatasetMeta, VariableMeta

CREATED = datetime(2024, 3, 5, 14, 7, 9)


@pytest.fixture(scope="module")
def schema(shared):
    return json.loads((shared / "schemas" / "dataset-json-1.1" / "dataset.schema.json")
                      .read_text(encoding="utf-8"))


def _same(a, b) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return float(a) == float(b)
    return a == b


@pytest.mark.parametrize("name", ["dm", "adsl"])
def test_cdisc_examples_xpt_to_json_same_records(shared, schema, tmp_path, name):
    folder = shared / "schemas" / "dataset-json-1.1" / "examples"
    ref = load_dataset_json(folder / f"{name}.json")
    ds = read_dataset(folder / f"{name}.xpt")
    for fmt in ("json", "ndjson", "dsjc"):
        out = write_dataset_json(ds, tmp_path / f"{name}.{fmt}", created=CREATED,
                                 study_oid=ref.get("studyOID"),
                                 metadata_version_oid=ref.get("metaDataVersionOID"), fmt=fmt)
        ours = load_dataset_json(out)
        jsonschema.validate(ours, schema)
        assert ours["records"] == ref["records"] == len(ours["rows"])
        assert [c["name"] for c in ours["columns"]] == [c["name"] for c in ref["columns"]]
        assert [c["label"] for c in ours["columns"]] == [c["label"] for c in ref["columns"]]
        for r_ref, r_ours in zip(ref["rows"], ours["rows"]):
            assert all(_same(a, b) for a, b in zip(r_ref, r_ours)), (r_ref, r_ours)
        assert ours["datasetJSONCreationDateTime"] == "2024-03-05T14:07:09"
        assert ours["itemGroupOID"] == f"IG.{name.upper()}"
    # dates held as SAS numbers travel as ISO strings with targetDataType integer
    cols = {c["name"]: c for c in load_dataset_json(tmp_path / f"{name}.json")["columns"]}
    if name == "adsl":
        assert cols["TRTSDT"]["dataType"] == "date"
        assert cols["TRTSDT"]["targetDataType"] == "integer"
        assert cols["TRTSDT"]["displayFormat"] == "DATE9."
        back = read_dataset_json(tmp_path / "adsl.dsjc")
        pd.testing.assert_series_equal(back.data["TRTSDT"], ds.data["TRTSDT"])


def _ds() -> Dataset:
    values = [0.1, 1 / 3, 1e-300, 123456789.123456789, -2.5e17, np.nan, special_missing("B")]
    n = len(values)
    variables = [
        VariableMeta(name="USUBJID", label="Unique Subject Identifier", type="Char", length=5,
                     key_sequence=1),
        VariableMeta(name="X", label="A float", type="Num", data_type="float"),
        VariableMeta(name="N", label="An integer", type="Num", data_type="integer"),
        VariableMeta(name="D", label="A decimal", type="Num", data_type="decimal"),
        VariableMeta(name="ADT", label="A date", type="Num", data_type="date", format="DATE9."),
        VariableMeta(name="ADTM", label="A datetime", type="Num", data_type="datetime",
                     format="DATETIME20."),
        VariableMeta(name="ATM", label="A time", type="Num", data_type="time", format="TIME8."),
        VariableMeta(name="C", label="Text", type="Char", data_type="text"),
    ]
    data = pd.DataFrame({
        "USUBJID": [f"S-{i}" for i in range(n)], "X": values,
        "N": [1, 2, 3, -4, 2**40, np.nan, 7],
        "D": [0.1, 2.25, np.nan, 10.0, -1.5, 3.0, 1e-7],
        "ADT": [0, 19725, -1, np.nan, 1, 2, 3],
        "ADTM": [0, 86399, 1704067200.0 - 3653 * 86400 + 86400 * 0, np.nan, 1, 2, 3],
        "ATM": [0, 3661, 86399, np.nan, 1, 2, 3],
        "C": ["a", "", None, "ü\"\\", "x", "y", "z"]})
    return Dataset(meta=DatasetMeta(name="TEST", label="Test", variables=variables), data=data)


def test_types_exact_numbers_and_round_trip(schema, tmp_path):
    ds = _ds()
    out = write_dataset_json(ds, tmp_path / "t.json", created=CREATED, study_oid="ST",
                             metadata_version_oid="MDV.1")
    obj = json.loads(out.read_text(encoding="utf-8"))
    jsonschema.validate(obj, schema)
    cols = {c["name"]: c for c in obj["columns"]}
    assert cols["USUBJID"]["itemOID"] == "IT.TEST.USUBJID" and cols["USUBJID"]["keySequence"] == 1
    assert cols["X"]["dataType"] == "double" and cols["N"]["dataType"] == "integer"
    assert (cols["D"]["dataType"], cols["D"]["targetDataType"]) == ("decimal", "decimal")
    assert (cols["ADT"]["dataType"], cols["ADT"]["targetDataType"]) == ("date", "integer")
    assert cols["ADTM"]["dataType"] == "datetime" and cols["ATM"]["dataType"] == "time"
    rows = obj["rows"]
    assert [r[1] for r in rows] == [0.1, 1 / 3, 1e-300, 123456789.123456789, -2.5e17, None,
                                    None]
    assert [r[2] for r in rows] == [1, 2, 3, -4, 2**40, None, 7]
    assert all(isinstance(r[2], int) for r in rows if r[2] is not None)
    assert [r[3] for r in rows] == ["0.1", "2.25", None, "10.0", "-1.5", "3.0", "1e-07"]
    assert [r[4] for r in rows][:4] == ["1960-01-01", "2014-01-02", "1959-12-31", None]
    assert rows[1][5] == "1960-01-01T23:59:59" and rows[0][5] == "1960-01-01T00:00:00"
    assert [r[6] for r in rows][:3] == ["00:00:00", "01:01:01", "23:59:59"]
    assert [r[7] for r in rows][:4] == ["a", "", None, "ü\"\\"]
    back = read_dataset_json(out)
    for col in ("X", "N", "ADT", "ADTM", "ATM"):
        np.testing.assert_array_equal(back.data[col].to_numpy(dtype=float),
                                      ds.data[col].to_numpy(dtype=float), err_msg=col)
    assert back.data["C"].tolist() == ds.data["C"].tolist()
    assert back.meta.keys == ["USUBJID"]


def test_ndjson_dsjc_layout_and_determinism(schema, tmp_path):
    ds = _ds()
    nd = write_dataset_json(ds, tmp_path / "t.ndjson", created=CREATED, fmt="ndjson")
    lines = nd.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 + len(ds.data)
    head = json.loads(lines[0])
    assert "rows" not in head and head["records"] == len(ds.data)
    jsonschema.validate({**head, "rows": [json.loads(x) for x in lines[1:]]}, schema)
    dsjc = write_dataset_json(ds, tmp_path / "t.dsjc", created=CREATED, fmt="dsjc")
    assert zlib.decompress(dsjc.read_bytes()) == nd.read_bytes()
    again = write_dataset_json(ds, tmp_path / "u.dsjc", created=CREATED, fmt="dsjc")
    assert again.read_bytes() == dsjc.read_bytes()
    a = write_dataset_json(ds, tmp_path / "a.json", created=CREATED).read_bytes()
    b = write_dataset_json(ds, tmp_path / "b.json", created=CREATED).read_bytes()
    assert a == b
    with pytest.raises(ConfigError, match="format 'xml'"):
        write_dataset_json(ds, tmp_path / "x.xml", created=CREATED, fmt="xml")


def test_every_pilot_dataset_writes_schema_valid_json(shared, schema, tmp_path):
    files = sorted((shared / "reference" / "cdisc-pilot" / "sdtm").glob("*.xpt"))
    for src in [f for f in files if f.stat().st_size < 300_000]:
        ds = read_dataset(src)
        out = write_dataset_json(ds, tmp_path / f"{src.stem}.json", created=CREATED)
        jsonschema.validate(load_dataset_json(out), schema)


def test_unreadable_json_is_input_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="bad.json"):
        read_dataset_json(bad)
    (tmp_path / "x.dsjc").write_bytes(b"not zlib")
    with pytest.raises(InputError):
        read_dataset_json(tmp_path / "x.dsjc")


_TRICKY = ["plain", 'quote " in', "back\\slash", "tab\there", "line\nbreak", "ctl\x01\x1f",
           "grüße ☃", "", "del\x7f", "/slash", "a" * 300]


def _char_dataset(values, categorical: bool) -> Dataset:
    col = pd.Series(values, dtype=object)
    if categorical:
        col = pd.Series(pd.Categorical(col, categories=list(pd.unique(col.dropna()))[::-1]
                                       + ["unused"]))
    meta = DatasetMeta(name="T", label="t", variables=[
        VariableMeta(name="C", type="Char", length=300), VariableMeta(name="N", type="Num")])
    return Dataset(meta=meta, data=pd.DataFrame({"C": col, "N": np.arange(len(values),
                                                                          dtype=float)}))


@pytest.mark.parametrize("fmt", ["json", "ndjson"])
def test_categorical_text_same_bytes_as_object_and_json_dumps(tmp_path, fmt):
    rng = np.random.default_rng(3)
    values = [None if i is None else _TRICKY[i] for i in
              rng.choice(list(range(len(_TRICKY))) + [None], 500)]
    paths = []
    for categorical in (False, True):
        path = tmp_path / f"{categorical}.{fmt}"
        write_dataset_json(_char_dataset(values, categorical), path, created=CREATED, fmt=fmt)
        paths.append(path)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    rows = load_dataset_json(paths[1])["rows"]
    assert [r[0] for r in rows] == values
    # every value written exactly as json.dumps writes it (non-ASCII kept)
    text = paths[1].read_text(encoding="utf-8")
    for v in set(values) - {None}:
        assert json.dumps(v, ensure_ascii=False) in text
