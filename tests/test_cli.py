import subprocess
import sys

from converter.cli import COMMANDS, main


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "converter", *args], capture_output=True,
                          check=False, text=True)


def test_help_lists_every_command():
    proc = run_cli("--help")
    assert proc.returncode == 0
    for name in COMMANDS:
        assert name in proc.stdout


def test_unknown_command_exits_2():
    proc = run_cli("no-such-command")
    assert proc.returncode == 2
    assert "no-such-command" in proc.stderr


def test_every_command_resolves():
    import click

    from converter.cli import cli
    ctx = click.Context(cli)
    for name in COMMANDS:
        assert isinstance(cli.get_command(ctx, name), click.Command), name


def test_main_maps_config_error_to_exit_2(monkeypatch, capsys):
    import pytest

    with pytest.raises(SystemExit) as exc:
        main(["--bad-option"])
    assert exc.value.code == 2


def test_atomic_write_gives_ordinary_permissions(tmp_path):
    import os

    from converter.atomic import atomic_write_text
    target = tmp_path / "x.txt"
    atomic_write_text(target, "x")
    umask = os.umask(0)
    os.umask(umask)
    assert (target.stat().st_mode & 0o777) == (0o666 & ~umask)


def test_atomic_write_leaves_previous_file_on_failure(tmp_path):
    import pytest

    from converter.atomic import atomic_write, atomic_write_text
    target = tmp_path / "x.txt"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_write(target, "w", encoding="utf-8") as fh:
        fh.write("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_adam_dataset_without_its_sdtm_input_is_skipped_with_a_warning_in_run_mode():
    """`run` on a study whose raw export has no labs (cdiscpilot01) still derives ADSL; ADLB
    is reported as not derived instead of stopping the run; `derive` keeps stopping."""
    import pandas as pd
    import pytest

    from converter.adam import derive_adam
    from converter.errors import ConverterError
    from converter.issues import IssueLog
    from converter.paths import REPO_ROOT, shared_dir

    sdtm_dir = shared_dir() / "reference" / "pharmaverse" / "sdtm"
    sdtm = {name: pd.read_csv(sdtm_dir / f"{name.lower()}.csv", dtype=str,
                              keep_default_na=False).replace("", None)
            for name in ("DM", "DS", "EX")}
    issues = IssueLog()
    result = derive_adam(REPO_ROOT / "mappings" / "cdiscpilot01", sdtm, issues,
                         missing_sdtm="skip")
    assert "ADSL" in result.frames and "ADLB" not in result.frames
    skipped = issues.filter(["ADAM.NOSDTM"])
    assert skipped["dataset"].tolist() == ["ADLB"]
    assert (skipped["severity"] == "warning").all()
    with pytest.raises(ConverterError, match="LB"):
        derive_adam(REPO_ROOT / "mappings" / "cdiscpilot01", sdtm, IssueLog())
