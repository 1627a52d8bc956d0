"""Hostile study folders (issue 6 items 1-2): YAML surprises and paths escaping the study.

The loader belongs to the mapping area (converter.mapping); these tests hold it to the
robustness contract: ConfigError with file and line, nothing read outside the study folder.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from converter.errors import ConfigError, UnsafePathError
from converter.issues import IssueLog

STUDY = """\
study_id: MINI
study_name: Mini study
ct_package: sdtmct-2015-12-18
created: "2026-01-01T00:00:00"
sources:
  dm:
    file: {file}
"""

DM = """\
domain: DM
sources: [dm]
steps:
  - {target: STUDYID, algorithm: hardcode, value: MINI}
  - {target: DOMAIN, algorithm: hardcode, value: DM}
  - target: USUBJID
    algorithm: concat
    parts: [{value: "MINI"}, {column: SUBJ}]
    separator: "-"
  - {target: SUBJID, algorithm: assign, source: SUBJ}
"""


def make_study(root: Path, *, study: str | None = None, dm: str | None = None,
               file: str = "dm.csv") -> Path:
    folder = root / "mini"
    (folder / "sdtm").mkdir(parents=True)
    (folder / "raw").mkdir()
    (folder / "study.yaml").write_text(study if study is not None else STUDY.format(file=file))
    (folder / "sdtm" / "dm.yaml").write_text(dm if dm is not None else DM)
    (folder / "raw" / "dm.csv").write_text("SUBJ\n001\n")
    return folder


def load(folder: Path):
    from converter.mapping.study import load_study
    return load_study(folder)


def test_minimal_study_loads(tmp_path):
    assert load(make_study(tmp_path)).config.study_id == "MINI"


@pytest.mark.parametrize("where, text, pattern", [
    ("study", STUDY.format(file="dm.csv") + "study_id: OTHER\n",
     r"study.yaml:\d+.*duplicate"),
    ("study", STUDY.format(file="dm.csv").replace("  dm:\n    file", "  dm:\n\t  file"),
     r"study.yaml:7.*tab"),
    ("study", STUDY.format(file="dm.csv") + "x: &a {k: v}\ny: *a\n",
     r"study.yaml:\d+.*(anchor|alias)"),
    ("study", STUDY.format(file="dm.csv") + "studyid: typo\n",
     r"study.yaml:\d+.*studyid"),
    ("dm", DM + "  - {target: SUBJID, algorithm: assign, source: SUBJ}\n" + "unique: [A]\n"
     + "unique: [B]\n", r"dm.yaml:\d+.*duplicate"),
    ("dm", DM.replace("algorithm: assign,", "algorithm: asign,"), r"dm.yaml:10.*asign"),
], ids=["duplicate-key", "tab-indent", "anchor-alias", "unknown-key",
        "duplicate-key-mapping", "unknown-algorithm"])
def test_bad_yaml_is_located_config_error(tmp_path, where, text, pattern):
    folder = make_study(tmp_path, **({"study": text} if where == "study" else {"dm": text}))
    with pytest.raises(ConfigError) as info:
        load(folder)
    line = info.value.one_line()
    assert "\n" not in line
    assert re.search(pattern, line, re.IGNORECASE), line


def test_python_tags_never_executed(tmp_path):
    marker = tmp_path / "PWNED"
    text = STUDY.format(file="dm.csv").replace(
        "study_name: Mini study", f"study_name: !!python/object/apply:os.system [touch {marker}]")
    with pytest.raises(ConfigError, match=r"study.yaml:2, key 'study_name'"):
        load(make_study(tmp_path, study=text))
    assert not marker.exists()


@pytest.mark.parametrize("file", ["../../etc/passwd", "../secret.csv", "/etc/passwd",
                                  "raw/../../secret.csv"])
def test_source_paths_confined_to_raw_folder(tmp_path, file):
    secret = tmp_path / "secret.csv"
    secret.write_text("SUBJ\nSECRET\n")
    folder = make_study(tmp_path, file=file)
    with pytest.raises(ConfigError) as info:
        load(folder)
    line = info.value.one_line()
    assert re.search(r"study.yaml:6, key 'sources.dm': source path .* (leaves the study folder|"
                     r"is absolute)", line), line
    assert "SECRET" not in line


def test_symlink_out_of_study_refused(tmp_path):
    from converter.mapping.engine import run_sdtm
    secret = tmp_path / "outside.csv"
    secret.write_text("SUBJ\nSECRET\n")
    folder = make_study(tmp_path, file="link.csv")
    (folder / "raw" / "link.csv").symlink_to(secret)
    with pytest.raises(UnsafePathError):
        run_sdtm(load(folder), folder / "raw", IssueLog())


def test_ct_synonyms_path_confined(tmp_path):
    outside = tmp_path / "syn.csv"
    outside.write_text("codelist,collected,submission\nSEX,Male,M\n")
    text = STUDY.format(file="dm.csv") + "ct_synonyms: ../syn.csv\n"
    with pytest.raises(UnsafePathError):
        load(make_study(tmp_path, study=textwrap.dedent(text)))


def test_misspelt_algorithm_key_named(tmp_path):
    folder = make_study(tmp_path, dm=DM.replace("algorithm: hardcode, value: MINI",
                                                "algoritm: hardcode, value: MINI"))
    with pytest.raises(ConfigError) as info:
        load(folder)
    line = info.value.one_line()
    assert re.search(r"dm.yaml:4.*algoritm", line), line
    assert "did you mean 'algorithm'?" in line and "iso_datetime" in line, line


def test_step_without_algorithm_key_named(tmp_path):
    folder = make_study(tmp_path, dm=DM.replace("algorithm: hardcode, value: MINI",
                                                "value: MINI"))
    with pytest.raises(ConfigError) as info:
        load(folder)
    line = info.value.one_line()
    assert re.search(r"dm.yaml:4.*no 'algorithm' key", line) and "hardcode" in line, line
