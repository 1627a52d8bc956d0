"""XPT v5 writer: round trips of the CDISC pilot files, byte-level encodings, limits."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from converter.errors import ConfigError
from converter.io.datasets import read_dataset
from converter.io.xpt import RECORD, ieee_to_ibm, parse_format, sas_datetime_text, write_xpt
from converter.issues import IssueLog
from converter.metadata.missing import LETTERS, missing_codes, special_missing
from converter.model import Dataset, DatasetMeta, VariableMeta

CREATED = datetime(2024, 3, 5, 14, 7, 9)


def _pilot_files(shared: Path) -> list[Path]:
    root = shared / "reference" / "cdisc-pilot"
    return sorted((root / "sdtm").glob("*.xpt")) + sorted((root / "adam").glob("*.xpt"))


def _enc(path: Path) -> tuple[str, dict]:
    # ts.xpt is Windows-1252 encoded (see shared/README.md)
    if path.name == "ts.xpt":
        return "cp1252", {"encoding": "WINDOWS-1252"}
    return "ascii", {}


def test_round_trip_every_pilot_xpt(shared, tmp_path):
    files = _pilot_files(shared)
    assert len(files) >= 20
    for src in files:
        encoding, kw = _enc(src)
        ds = read_dataset(src)
        log = IssueLog()
        [out] = write_xpt(ds, tmp_path / src.name, created=CREATED, issues=log, encoding=encoding)
        assert len(log) == 0, (src.name, log.to_frame())
        a, ma = pyreadstat.read_xport(str(src), disable_datetime_conversion=True, **kw)
        b, mb = pyreadstat.read_xport(str(out), disable_datetime_conversion=True, **kw)
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=src.name)
        assert ma.column_names == mb.column_names
        assert ma.column_labels == mb.column_labels
        assert ma.variable_storage_width == mb.variable_storage_width, src.name
        assert ma.original_variable_types == mb.original_variable_types, src.name
        assert ma.variable_display_width == mb.variable_display_width, src.name
        assert (ma.table_name, ma.file_label) == (mb.table_name, mb.file_label)
        # second, independent reader: pandas' own XPORT parser must see the same values in
        # our file as in the original (it reads 0 as 16**-65 in both: a pandas quirk)
        enc = "cp1252" if kw else "ascii"
        c = pd.read_sas(out, format="xport", encoding=enc)
        d = pd.read_sas(src, format="xport", encoding=enc)
        pd.testing.assert_frame_equal(c, d, check_exact=True, obj=f"pandas {src.name}")
        assert list(c.columns) == list(a.columns)
        for col in a.columns:
            if a[col].dtype == object:
                assert a[col].tolist() == c[col].fillna("").tolist(), (src.name, col)
            else:
                zero = a[col].to_numpy() == 0
                np.testing.assert_array_equal(a[col].to_numpy()[~zero],
                                              c[col].to_numpy()[~zero],
                                              err_msg=f"{src.name}.{col}")


# Known IBM System/370 double encodings worked out by hand from the format definition:
# value = (-1)**sign * 0.F(hex) * 16**(E - 64), first byte = sign bit + 7-bit E.
IBM_TABLE = [
    (1.0, "4110000000000000"),           # 0.1(hex) * 16**1
    (-1.0, "C110000000000000"),
    (0.5, "4080000000000000"),           # 0.8(hex) * 16**0
    (100.0, "4264000000000000"),         # 0x64 = 0.64(hex) * 16**2
    (-118.625, "C276A00000000000"),      # 0x76.A = 0.76A(hex) * 16**2
    (0.1, "401999999999999A"),           # IEEE 0x3FB999999999999A: 53 bits fit exactly
    (2.0 ** 52 + 1, "4E10000000000001"),  # integer needing all 53 bits
    (16.0 ** 62, "7F10000000000000"),    # largest power of 16 IBM can hold
    (16.0 ** -65, "0010000000000000"),   # smallest normalised IBM value
    (0.0, "0000000000000000"),
    (-0.0, "0000000000000000"),
]


@pytest.mark.parametrize("value,hexbytes", IBM_TABLE)
def test_ibm_known_encodings(value, hexbytes):
    ibm, over, under = ieee_to_ibm(np.array([value]))
    assert ibm.tobytes().hex().upper() == hexbytes
    assert not over.any() and not under.any()


def test_ibm_out_of_range_is_reported(tmp_path):
    values = [16.0 ** 63, -1e300, 16.0 ** -66, 1e-300, 3.0]
    ibm, over, under = ieee_to_ibm(np.array(values))
    assert over.tolist() == [True, True, False, False, False]
    assert under.tolist() == [False, False, True, True, False]
    assert ibm[2:3].tobytes().hex() == "0000000000000000"   # below IBM's range: 0
    ds = _dataset({"X": values}, num=("X",))
    log = IssueLog()
    [out] = write_xpt(ds, tmp_path / "x.xpt", created=CREATED, issues=log)
    issues = log.to_frame()
    assert sorted(issues["rule_id"]) == ["XPT.NUMOVER", "XPT.NUMOVER", "XPT.NUMUNDER",
                                         "XPT.NUMUNDER"]
    assert set(issues["source_row"]) == {"1", "2", "3", "4"}
    back, _ = pyreadstat.read_xport(str(out))
    assert np.isnan(back["X"][0]) and np.isnan(back["X"][1])
    assert back["X"][2] == 0.0 and back["X"][3] == 0.0 and back["X"][4] == 3.0


def test_random_floats_round_trip_exactly(tmp_path):
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.normal(0, 1e6, 2000), rng.uniform(-1, 1, 2000) * 1e-30,
                             rng.integers(-2**53, 2**53, 2000).astype(float),
                             [np.finfo(float).eps, 1 / 3, -2 / 3, 1e75, -1e-75]])
    ds = _dataset({"X": values}, num=("X",))
    [out] = write_xpt(ds, tmp_path / "f.xpt", created=CREATED)
    back, _ = pyreadstat.read_xport(str(out))
    np.testing.assert_array_equal(back["X"].to_numpy(), values)


def _dataset(columns: dict, num=(), labels=None, name="TEST", label="Test data") -> Dataset:
    variables = [VariableMeta(name=c, label=(labels or {}).get(c, f"Label of {c}"),
                              type="Num" if c in num else "Char") for c in columns]
    data = pd.DataFrame({c: (np.asarray(v, dtype=float) if c in num else pd.Series(v,
                                                                                    dtype=object))
                         for c, v in columns.items()})
    return Dataset(meta=DatasetMeta(name=name, label=label, variables=variables), data=data)


def test_special_missing_values_round_trip(tmp_path):
    values = [special_missing(x) for x in LETTERS] + [np.nan, 1.5]
    ds = _dataset({"X": values, "C": ["a"] * len(values)}, num=("X",))
    [out] = write_xpt(ds, tmp_path / "m.xpt", created=CREATED)
    raw = out.read_bytes()
    # observations start after 9 header records and 2 NAMESTRs padded to 4 records
    obs = raw[13 * RECORD:]
    row = 9  # 8 bytes for X + 1 byte for C
    firsts = [obs[i * row:i * row + 8] for i in range(len(values))]
    assert [f[:1] for f in firsts[:27]] == [x.encode() for x in LETTERS]
    assert all(f[1:] == b"\x00" * 7 for f in firsts[:28])
    assert firsts[26][:1] == b"_" and firsts[27][:1] == b"."
    back = read_dataset(out)
    assert missing_codes(back.data["X"]).tolist() == list(LETTERS) + [".", None]
    assert back.data["X"].iloc[-1] == 1.5
    pr, _ = pyreadstat.read_xport(str(out))
    assert pr["X"].isna().sum() == 28


def test_non_ascii_reported_and_lengths_in_bytes(tmp_path):
    ds = _dataset({"USUBJID": ["S-1", "S-2", "S-3"], "T": ["abc", "Grüße", "é"]})
    log = IssueLog()
    [out] = write_xpt(ds, tmp_path / "n.xpt", created=CREATED, issues=log)
    issues = log.to_frame()
    assert issues["rule_id"].tolist() == ["XPT.NONASCII", "XPT.NONASCII"]
    assert issues["usubjid"].tolist() == ["S-2", "S-3"]
    assert issues["source_row"].tolist() == ["2", "3"]
    assert issues["value"].tolist() == ["Grüße", "é"]
    assert set(issues["dataset"]) == {"TEST"} and set(issues["variable"]) == {"T"}
    back, meta = pyreadstat.read_xport(str(out))
    assert meta.variable_storage_width["T"] == len("Grüße".encode())  # 7 bytes, 5 characters
    assert back["T"].tolist() == ["abc", "Grüße", "é"]
    with pytest.raises(ConfigError, match=r"TEST.T row 2 .*Grüße"):
        write_xpt(ds, tmp_path / "f.xpt", created=CREATED, on_non_ascii="fail")
    log = IssueLog()
    [out] = write_xpt(ds, tmp_path / "r.xpt", created=CREATED, issues=log,
                      on_non_ascii="replace")
    back, _ = pyreadstat.read_xport(str(out))
    assert back["T"].tolist() == ["abc", "Gr??e", "?"]


def test_exactly_200_bytes_and_longer(tmp_path):
    v200 = "x" * 198 + "é"            # 199 characters, 200 bytes
    v201 = "y" * 201
    ds = _dataset({"T": [v200, "short"]})
    log = IssueLog()
    [out] = write_xpt(ds, tmp_path / "a.xpt", created=CREATED, issues=log, encoding="utf-8")
    assert len(log) == 0
    back, meta = pyreadstat.read_xport(str(out))
    assert meta.variable_storage_width["T"] == 200 and back["T"][0] == v200
    log = IssueLog()
    [out] = write_xpt(_dataset({"T": [v201]}), tmp_path / "b.xpt", created=CREATED, issues=log)
    frame = log.to_frame()
    assert frame["rule_id"].tolist() == ["XPT.LEN200"] and frame["value"][0] == v201
    back, meta = pyreadstat.read_xport(str(out))
    assert meta.variable_storage_width["T"] == 200 and back["T"][0] == v201[:200]


def test_labels_40_ok_41_located_error(tmp_path):
    ok = _dataset({"A": ["1"]}, labels={"A": "L" * 40}, label="D" * 40)
    [out] = write_xpt(ok, tmp_path / "ok.xpt", created=CREATED)
    _, meta = pyreadstat.read_xport(str(out))
    assert meta.column_labels == ["L" * 40] and meta.file_label == "D" * 40
    bad = _dataset({"A": ["1"]}, labels={"A": "L" * 41})
    with pytest.raises(ConfigError) as exc:
        write_xpt(bad, tmp_path / "bad.xpt", created=CREATED)
    assert "TEST.A.label" in exc.value.one_line() and "41 characters" in exc.value.one_line()
    assert "bad.xpt" in exc.value.one_line()
    with pytest.raises(ConfigError, match="dataset label"):
        write_xpt(_dataset({"A": ["1"]}, label="D" * 41), tmp_path / "b2.xpt", created=CREATED)
    with pytest.raises(ConfigError, match="NINECHARS"):
        write_xpt(_dataset({"NINECHARS": ["1"]}), tmp_path / "b3.xpt", created=CREATED)
    assert not (tmp_path / "bad.xpt").exists()


def test_headers_formats_and_determinism(tmp_path):
    ds = _dataset({"D": [0.0, 23000.0], "V": [1.25, np.nan], "C": ["x", None]}, num=("D", "V"))
    ds.meta.variables[0].format = "DATE9."
    ds.meta.variables[1].format = "8.2"
    ds.meta.variables[1].informat = "BEST12."
    a = write_xpt(ds, tmp_path / "a.xpt", created=CREATED)[0].read_bytes()
    b = write_xpt(ds, tmp_path / "b.xpt", created=CREATED)[0].read_bytes()
    assert a == b
    assert a.count(sas_datetime_text(CREATED).encode()) == 4
    assert sas_datetime_text(CREATED) == "05MAR24:14:07:09"
    assert len(a) % RECORD == 0
    assert a[5 * RECORD + 8:5 * RECORD + 16] == b"TEST    "
    _, meta = pyreadstat.read_xport(str(tmp_path / "a.xpt"))
    assert meta.original_variable_types["D"] == "DATE9"
    assert meta.original_variable_types["V"] == "8.2"
    assert meta.table_name == "TEST" and meta.file_label == "Test data"
    c = write_xpt(ds, tmp_path / "c.xpt", created=datetime(2025, 1, 1))[0].read_bytes()
    assert c != a and len(c) == len(a)
    back = read_dataset(tmp_path / "a.xpt")
    assert (back.meta.variables[1].format, back.meta.variables[1].informat) == ("8.2", "BEST12.")
    assert back.meta.variables[0].format == "DATE9."
    assert parse_format("E8601DA.") == ("E8601DA", 0, 0)
    assert parse_format("$CHAR20.") == ("$CHAR", 20, 0)


def test_split_above_max_bytes(tmp_path):
    n = 1000
    ds = _dataset({"USUBJID": [f"S-{i:04d}" for i in range(n)], "X": np.arange(n, dtype=float)},
                  num=("X",))
    single = write_xpt(ds, tmp_path / "one.xpt", created=CREATED)
    size = single[0].stat().st_size
    parts = write_xpt(ds, tmp_path / "lb.xpt", created=CREATED, max_bytes=size // 3)
    assert [p.name for p in parts] == ["lb1.xpt", "lb2.xpt", "lb3.xpt", "lb4.xpt"]
    assert all(p.stat().st_size <= size // 3 for p in parts)
    frames = [pyreadstat.read_xport(str(p))[0] for p in parts]
    whole = pd.concat(frames, ignore_index=True)
    assert whole["USUBJID"].tolist() == ds.data["USUBJID"].tolist()
    assert whole["X"].tolist() == ds.data["X"].tolist()
    assert {pyreadstat.read_xport(str(p), metadataonly=True)[1].table_name for p in parts} == \
        {"TEST"}


def test_split_parts_read_back_as_one_dataset(tmp_path):
    from converter.io.datasets import read_dataset_folder
    n = 500
    ds = _dataset({"USUBJID": [f"S-{i:04d}" for i in range(n)], "X": np.arange(n, dtype=float)},
                  num=("X",), name="LB")
    size = write_xpt(ds, tmp_path / "one" / "lb.xpt", created=CREATED)[0].stat().st_size
    parts = write_xpt(ds, tmp_path / "split" / "lb.xpt", created=CREATED, max_bytes=size // 2)
    assert len(parts) == 3
    folder = read_dataset_folder(tmp_path / "split")
    assert list(folder) == ["LB"]
    assert folder["LB"].data["USUBJID"].tolist() == ds.data["USUBJID"].tolist()
    assert folder["LB"].data["X"].tolist() == ds.data["X"].tolist()


def test_lengths_from_metadata_kept_or_grown(tmp_path):
    ds = _dataset({"A": ["ab", "abcdef"], "B": ["x", "y"]})
    ds.meta.variables[0].length = 2      # stale metadata: a value is longer
    ds.meta.variables[1].length = 20     # wider than needed: kept (as in the source)
    log = IssueLog()
    [out] = write_xpt(ds, tmp_path / "g.xpt", created=CREATED, issues=log, chunk_rows=1)
    back, meta = pyreadstat.read_xport(str(out))
    assert meta.variable_storage_width == {"A": 6, "B": 20}
    assert back["A"].tolist() == ["ab", "abcdef"] and len(log) == 0


def test_categorical_and_nullable_columns(tmp_path):
    ds = _dataset({"C": ["a", "b"], "N": [1.0, 2.0]}, num=("N",))
    ds.data["C"] = pd.Categorical(["b", None], categories=["a", "b"])
    ds.data["N"] = pd.array([1, None], dtype="Int64")
    [out] = write_xpt(ds, tmp_path / "c.xpt", created=CREATED)
    back, _ = pyreadstat.read_xport(str(out))
    assert back["C"].tolist() == ["b", ""] and back["N"][0] == 1 and np.isnan(back["N"][1])


def _layout(raw: bytes) -> tuple[list[bytes], bytes]:
    """NAMESTR records (first 88 bytes: every field up to npos) and the observation block."""
    pos = 7 * RECORD
    nvars = int(raw[pos + 54:pos + 58])
    pos += RECORD
    names = [raw[pos + i * 140:pos + i * 140 + 88] for i in range(nvars)]
    pos += nvars * 140 + (-nvars * 140) % RECORD + RECORD
    return names, raw[pos:]


def test_pilot_namestr_and_observations_byte_identical_to_sas(shared, tmp_path):
    # the pilot files were written by SAS: our NAMESTRs (types, lengths, names, labels,
    # formats, positions) and every observation byte (IBM floats, padding) must match
    for src in _pilot_files(shared):
        encoding, _ = _enc(src)
        [out] = write_xpt(read_dataset(src), tmp_path / src.name, created=CREATED,
                          encoding=encoding)
        names_sas, obs_sas = _layout(src.read_bytes())
        names_ours, obs_ours = _layout(out.read_bytes())
        assert names_ours == names_sas, src.name
        assert obs_ours == obs_sas, src.name


def test_codec_errors_are_located(tmp_path):
    ds = _dataset({"T": ["ok", "日本"]})
    with pytest.raises(ConfigError, match="'日本' cannot be written in cp1252"):
        write_xpt(ds, tmp_path / "e.xpt", created=CREATED, encoding="cp1252")
    with pytest.raises(ConfigError, match="unknown text encoding"):
        write_xpt(ds, tmp_path / "e.xpt", created=CREATED, encoding="no-such-codec")
    assert not (tmp_path / "e.xpt").exists()


def _categorical_copy(ds: Dataset) -> Dataset:
    data = ds.data.copy()
    for v in ds.meta.variables:
        if v.type == "Char":
            s = data[v.name]
            # categories in reverse order of appearance, plus one no row uses
            cats = list(pd.unique(s.dropna()))[::-1] + ["never used"]
            data[v.name] = pd.Categorical(s, categories=cats)
    meta = DatasetMeta(name=ds.meta.name, label=ds.meta.label,
                       variables=[VariableMeta(**vars(v)) for v in ds.meta.variables])
    return Dataset(meta=meta, data=data)


@pytest.mark.parametrize("length", [None, 3])
def test_categorical_columns_byte_identical_to_object_across_chunks(tmp_path, length):
    rng = np.random.default_rng(5)
    n = 1000
    ds = _dataset({"USUBJID": rng.choice(["S-1", "S-22", "S-333"], n),
                   "REF": np.char.add("L", rng.integers(0, 400, n).astype(str)),
                   "T": rng.choice(["abc", "Grüße", "", None, "x" * 230], n),
                   "N": rng.normal(size=n)}, num=("N",))
    for v in ds.meta.variables:
        if v.type == "Char":
            v.length = length          # None: measured; 3: stale, grown when a value is longer
    cat = _categorical_copy(ds)
    logs = []
    for name, d in (("obj", ds), ("cat", cat)):
        log = IssueLog()
        # small chunks: each column's encoded dictionary is reused across 8 chunks
        write_xpt(d, tmp_path / f"{name}.xpt", created=CREATED, issues=log, chunk_rows=128)
        logs.append(log.to_frame())
    assert (tmp_path / "obj.xpt").read_bytes() == (tmp_path / "cat.xpt").read_bytes()
    pd.testing.assert_frame_equal(logs[0], logs[1])
    assert {"XPT.NONASCII", "XPT.LEN200"} <= set(logs[0]["rule_id"])
    back, _ = pyreadstat.read_xport(str(tmp_path / "cat.xpt"))
    assert back["REF"].tolist() == ds.data["REF"].tolist()


def test_parquet_dictionaries_changing_between_row_groups(tmp_path):
    import pyarrow.parquet as pq

    from converter.io.convert import write_parquet
    from converter.io.xpt import write_xpt_parquet
    ds = _dataset({"A": ["p", "q", None, "r", "s", "q"] * 50, "B": ["x"] * 300})
    ds.meta.variables[0].length = ds.meta.variables[1].length = 1
    [pq_path] = write_parquet(ds, tmp_path / "a.parquet")
    table = pq.read_table(pq_path)
    pq.write_table(table, tmp_path / "b.parquet", row_group_size=70)   # a dictionary per group
    assert pq.ParquetFile(tmp_path / "b.parquet").metadata.num_row_groups > 1
    write_xpt(ds, tmp_path / "frame.xpt", created=CREATED)
    write_xpt_parquet(tmp_path / "b.parquet", tmp_path / "pq.xpt", created=CREATED,
                      meta=ds.meta, chunk_rows=64)
    assert (tmp_path / "frame.xpt").read_bytes() == (tmp_path / "pq.xpt").read_bytes()
