"""`derive` command and ADaM configuration errors: exit codes, located messages, outputs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from converter.adam.config import load_adam_configs, load_dataset_config
from converter.cli import cli
from converter.errors import ConfigError


def _subset_sdtm(shared: Path, dest: Path, n_subjects: int = 12) -> Path:
    src = shared / "reference" / "pharmaverse" / "sdtm"
    dest.mkdir(parents=True)
    dm = pd.read_csv(src / "dm.csv", dtype=str, keep_default_na=False)
    keep = set(dm["USUBJID"].iloc[:n_subjects])
    for name in ("dm.csv", "ex.csv", "ds.csv", "lb.csv.gz"):
        frame = pd.read_csv(src / name, dtype=str, keep_default_na=False)
        frame.loc[frame["USUBJID"].isin(keep)].to_csv(dest / name, index=False)
    return dest


def _run(args: list[str]):
    return CliRunner().invoke(cli, args, catch_exceptions=False, standalone_mode=False)


def test_01_derive_writes_xpt_json_and_issue_log(shared, repo_root, tmp_path):
    sdtm = _subset_sdtm(shared, tmp_path / "sdtm")
    out = tmp_path / "out"
    from converter.adam.cli import derive_study

    _result, _issues, written = derive_study(repo_root / "mappings" / "cdiscpilot01", sdtm, out)
    names = sorted(p.name for p in written)
    assert names == ["adlb.json", "adlb.xpt", "adsl.json", "adsl.xpt"]
    import pyreadstat

    adsl, meta = pyreadstat.read_xport(str(out / "adam" / "adsl.xpt"))
    assert len(adsl) == 12 and meta.table_name == "ADSL"
    assert {"TRT01P", "TRTSDT", "SAFFL", "AGEGR1", "EOSSTT"} <= set(adsl.columns)
    assert meta.column_names_to_labels["TRTSDT"]  # labels come from the metadata stage
    assert (out / "adam" / "issues.csv").is_file()
    # same inputs → same bytes
    out2 = tmp_path / "out2"
    derive_study(repo_root / "mappings" / "cdiscpilot01", sdtm, out2)
    for name in names:
        assert (out / "adam" / name).read_bytes() == (out2 / "adam" / name).read_bytes(), name


def test_02_bad_adam_config_exits_2_with_file_and_line(repo_root, tmp_path, shared):
    study = tmp_path / "study"
    shutil.copytree(repo_root / "mappings" / "cdiscpilot01", study)
    text = (study / "adam" / "adlb.yaml").read_text()
    (study / "adam" / "adlb.yaml").write_text(text.replace("change_filter:", "chnage_filter:"))
    sdtm = _subset_sdtm(shared, tmp_path / "sdtm", 3)
    from converter.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["derive", str(study), "--sdtm", str(sdtm), "--out", str(tmp_path / "o")])
    assert exc.value.code == 2


def test_03_unknown_key_located(tmp_path):
    path = tmp_path / "adlb.yaml"
    path.write_text("kind: bds\nvisits:\n  method: windows\n  windows:\n"
                    "    - {avisit: W1, avisitn: 1, lo: 0, hi: 9, target: 5, colour: red}\n"
                    "baseline: {order: [ADT]}\n")
    with pytest.raises(ConfigError) as exc:
        load_dataset_config(path)
    err = exc.value
    assert err.location.file == str(path)
    assert err.location.line == 5
    assert "colour" in err.location.key
    assert "Extra inputs" in err.message


def test_04_bad_filter_operator_named(tmp_path):
    path = tmp_path / "adtte.yaml"
    path.write_text("kind: tte\nparameters:\n  - paramcd: TTR30\n    param: x\n    events:\n"
                    "      - dataset: ADLB\n        date: ADT\n"
                    "        filter: {PCHG: {greater: 30}}\n")
    with pytest.raises(ConfigError) as exc:
        load_dataset_config(path)
    assert exc.value.location.line == 8
    assert "greater" in exc.value.message and "gt" in exc.value.message


def test_05_unknown_kind_and_missing_adsl(tmp_path):
    (tmp_path / "adam").mkdir()
    bad = tmp_path / "adam" / "adxx.yaml"
    bad.write_text("kind: bdss\n")
    with pytest.raises(ConfigError, match="'kind' is 'bdss'"):
        load_adam_configs(tmp_path)
    bad.write_text("kind: tte\nparameters:\n  - {paramcd: T, param: t, events: "
                   "[{dataset: ADLB, date: ADT}]}\n")
    with pytest.raises(ConfigError, match="exactly one dataset of kind 'adsl'"):
        load_adam_configs(tmp_path)


def test_06_filter_on_missing_variable_is_config_error(repo_root, tmp_path, shared):
    study = tmp_path / "study"
    shutil.copytree(repo_root / "mappings" / "cdiscpilot01", study)
    text = (study / "adam" / "adsl.yaml").read_text()
    (study / "adam" / "adsl.yaml").write_text(text.replace("{EOSSTT: COMPLETED}",
                                                           "{EOSSTAT: COMPLETED}"))
    sdtm = _subset_sdtm(shared, tmp_path / "sdtm", 3)
    from converter.adam.cli import derive_study

    with pytest.raises(ConfigError) as exc:
        derive_study(study, sdtm, tmp_path / "o")
    assert "EOSSTAT" in exc.value.message and exc.value.location.file.endswith("adsl.yaml")


def test_07_every_shipped_adam_config_loads(repo_root):
    for study in ("cdiscpilot01", "msc-inr-p2", "msc-inr-sd"):
        configs = load_adam_configs(repo_root / "mappings" / study)
        assert "ADSL" in configs


def test_08_data_problem_goes_to_issue_log_and_exit_1(shared, repo_root, tmp_path):
    sdtm = _subset_sdtm(shared, tmp_path / "sdtm", 4)
    lb = pd.read_csv(sdtm / "lb.csv.gz", dtype=str, keep_default_na=False)
    bad_subject = lb.loc[5, "USUBJID"]
    lb.loc[5, "LBDTC"] = "31 FEB 2014"
    lb.to_csv(sdtm / "lb.csv.gz", index=False)
    from converter.cli import main

    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exc:
        main(["-q", "derive", str(repo_root / "mappings" / "cdiscpilot01"), "--sdtm", str(sdtm),
              "--out", str(out)])
    assert exc.value.code == 1
    issues = pd.read_csv(out / "adam" / "issues.csv", dtype=str)
    hit = issues.loc[issues["rule_id"] == "ADAM.DATE"]
    assert hit[["usubjid", "value", "dataset"]].values.tolist() == [
        [bad_subject, "31 FEB 2014", "LB"]]
    assert (out / "adam" / "adlb.xpt").is_file()     # the run still finished
    with pytest.raises(SystemExit) as exc:
        main(["-q", "derive", str(repo_root / "mappings" / "cdiscpilot01"), "--sdtm", str(sdtm),
              "--out", str(tmp_path / "out2"), "--fail-on", "never"])
    assert exc.value.code == 0
