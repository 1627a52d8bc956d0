"""The shipped standard metadata (specs/) and the study override mechanism."""

from __future__ import annotations

import pytest

from converter.ct import load_ct
from converter.errors import ConfigError
from converter.metadata import load_spec
from converter.metadata.spec import STANDARDS

SDTM_DOMAINS = {"DM", "AE", "EX", "LB", "DS", "VS", "MH", "CM", "SUPPQUAL", "RELREC", "TS", "TA",
                "TE", "TV", "TI", "SV", "SE"}
CT = ("sdtmct-2015-12-18", "adamct-2026-03-27")


@pytest.mark.parametrize("standard", sorted(STANDARDS))
def test_shipped_metadata_is_well_formed(standard):
    spec = load_spec(standard)
    packages = [load_ct(p) for p in CT]
    assert spec.datasets
    for name, meta in spec.datasets.items():
        assert len(name) <= 8 and name.isupper()
        assert meta.label and len(meta.label.replace("{domain}", "XX")) <= 40, name
        assert meta.klass and meta.structure, name
        assert meta.keys, name
        names = meta.names
        assert len(names) == len(set(names)), name
        for key in meta.keys:
            assert key in names, (name, key)
        for v in meta.variables:
            assert 1 <= len(v.name) <= 8 and v.name.isupper(), (name, v.name)
            assert v.label and len(v.label) <= 40, (name, v.name, v.label)
            assert v.type in ("Char", "Num") and v.core in ("Req", "Exp", "Perm", "Cond")
            assert v.role, (name, v.name)
            if v.codelist:
                assert any(p.has(v.codelist) for p in packages), (name, v.name, v.codelist)
            if v.data_type == "date" and v.type == "Num":
                assert v.format == "DATE9.", (name, v.name)
        seqs = sorted(v.key_sequence for v in meta.variables if v.key_sequence)
        assert seqs == list(range(1, len(meta.keys) + 1)), name


def test_sdtm_domains_and_adam_datasets_present():
    assert SDTM_DOMAINS <= set(load_spec("SDTMIG 3.3").datasets)
    adam = load_spec("ADaMIG 1.1")
    assert {"ADSL", "ADLB", "ADTTE", "ADAE"} <= set(adam.datasets)
    adsl = adam.dataset("ADSL").names
    for var in ("TRT01P", "TRT01PN", "TRTSDT", "TRTEDT", "RANDDT", "SAFFL", "ITTFL", "FASFL",
                "COMPLFL", "EOSSTT", "DCSREAS", "AGEGR1", "BLCD4", "PARTCD4"):
        assert var in adsl
    adlb = adam.dataset("ADLB").names
    for var in ("PARAM", "PARAMCD", "AVAL", "BASE", "CHG", "PCHG", "ABLFL", "ADT", "AVISITN",
                "DTYPE", "ANL01FL", "SRCDOM", "SRCVAR", "SRCSEQ"):
        assert var in adlb
    adtte = adam.dataset("ADTTE")
    assert {"STARTDT", "ADT", "AVAL", "CNSR", "EVNTDESC", "CNSDTDSC"} <= set(adtte.names)
    assert adtte.variable("CNSR").type == "Num"
    assert adam.dataset("ADAE").variable("TRTEMFL").codelist == "NY"


def test_supp_template_and_unknown_dataset():
    spec = load_spec("sdtmig-3.3")
    supp = spec.dataset("SUPPLB")
    assert supp.name == "SUPPLB" and supp.label == "Supplemental Qualifiers for LB"
    assert supp.keys[:2] == ["STUDYID", "RDOMAIN"]
    assert spec.has("SUPPAE") and not spec.has("XX")
    with pytest.raises(ConfigError, match="'XX' is not described"):
        spec.dataset("XX")
    with pytest.raises(ConfigError, match="no metadata"):
        load_spec("SDTMIG 9.9")
    # copies: changing one does not change the spec
    dm = spec.dataset("DM")
    dm.variables[0].label = "changed"
    assert spec.dataset("DM").variables[0].label == "Study Identifier"


def _write(folder, variables: str, datasets: str | None = None):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "variables.csv").write_text(variables, encoding="utf-8")
    if datasets:
        (folder / "datasets.csv").write_text(datasets, encoding="utf-8")
    return folder


HEADER = "dataset,variable,label,type,data_type,role,core,codelist,format,after\n"


def test_study_overrides_patch_add_remove(tmp_path):
    folder = _write(tmp_path / "specs", HEADER
                    + "ADSL,BLCD4,Baseline CD4 (cells/uL),,,,,,6.,\n"
                    + "ADSL,STRATA1,Stratification Factor 1,Char,text,Record Qualifier,Perm,,,"
                    "SEX\n"
                    + "ADSL,PARTCD4,,,,,-,,,\n"
                    + "ADXX,USUBJID,Unique Subject Identifier,Char,text,Identifier,Req,,,\n",
                    "dataset,label,class,structure,keys,repeating,reference_data\n"
                    "ADXX,Study Specific,BASIC DATA STRUCTURE,One record per subject,USUBJID,"
                    "No,No\n")
    spec = load_spec("ADaMIG 1.1", overrides=folder)
    adsl = spec.dataset("ADSL")
    assert adsl.variable("BLCD4").label == "Baseline CD4 (cells/uL)"
    assert adsl.variable("BLCD4").format == "6." and adsl.variable("BLCD4").type == "Num"
    assert adsl.names[adsl.names.index("SEX") + 1] == "STRATA1"
    assert adsl.variable("PARTCD4") is None
    assert spec.dataset("ADXX").keys == ["USUBJID"]
    assert spec.dataset("ADXX").variable("USUBJID").key_sequence == 1
    assert load_spec("ADaMIG 1.1").dataset("ADSL").variable("PARTCD4") is not None


@pytest.mark.parametrize("row,match", [
    ("ADSL,AGE,Age,Number,,,,,,", "type 'Number' is not allowed"),
    ("ADSL,NEWVAR,,Char,text,,Perm,,,", "needs a label"),
    ("ADSL,NEWVAR,New,Char,text,,Perm,,,NOPE", "'after' names unknown variable 'NOPE'"),
    ("ADSL,WAYTOOLONGNAME,Label,Char,text,,Perm,,,", "not a valid name"),
    ("ADSL,AGE," + "L" * 41 + ",,,,,,,", "longer than 40"),
    ("ADZZ,AGE,Age,Num,integer,,Perm,,,", "no row in datasets.csv"),
])
def test_override_errors_are_located(tmp_path, row, match):
    folder = _write(tmp_path / "specs", HEADER + row + "\n")
    with pytest.raises(ConfigError, match=match) as exc:
        load_spec("ADaMIG 1.1", overrides=folder / "variables.csv")
    assert "variables.csv:2" in exc.value.one_line()


def test_override_unknown_column(tmp_path):
    folder = _write(tmp_path / "s", "dataset,variable,label,colour\nADSL,AGE,Age,red\n")
    with pytest.raises(ConfigError, match="colour"):
        load_spec("ADaMIG 1.1", overrides=folder)


def test_one_override_folder_for_both_standards(tmp_path):
    import pandas as pd

    from converter.issues import IssueLog
    from converter.metadata import apply_metadata
    folder = _write(tmp_path / "specs", HEADER
                    + "DM,SEX,Sex of the Subject,,,,,,,\n"
                    + "ADSL,BLCD4,Baseline CD4 (cells/uL),,,,,,,\n")
    assert load_spec("SDTMIG 3.3", overrides=folder).dataset("DM").variable("SEX").label == \
        "Sex of the Subject"
    assert load_spec("ADaMIG 1.1", overrides=folder).dataset("ADSL").variable(
        "BLCD4").label == "Baseline CD4 (cells/uL)"
    ds, _ = apply_metadata(pd.DataFrame({"USUBJID": ["A"], "BLCD4": [250.0]}), "ADSL",
                           load_spec("ADaMIG 1.1"), IssueLog(), overrides=folder)
    assert ds.meta.variable("BLCD4").label == "Baseline CD4 (cells/uL)"
