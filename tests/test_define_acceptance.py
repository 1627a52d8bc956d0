"""Issue 8 acceptance: the SDTM and ADaM defines of both seed studies and of cdiscpilot01, built
from the real mapping and derivation outputs, validate against CDISC's define2-1-0.xsd and pass
define-check, and describe exactly the variables of the produced datasets."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
from lxml import etree

from converter.define import build_define, check_define
from converter.issues import IssueLog

STUDIES = {
    "msc-inr-p2": lambda root, shared: root / "examples/msc-inr-p2/raw",
    "msc-inr-sd": lambda root, shared: root / "examples/msc-inr-sd/raw",
    "cdiscpilot01": lambda root, shared: shared / "reference/pharmaverse/raw",
}


@pytest.fixture(scope="module")
def xsd(shared: Path) -> etree.XMLSchema:
    path = shared / "schemas/define-2.1/schema/cdisc-define-2.1/define2-1-0.xsd"
    return etree.XMLSchema(etree.parse(str(path)))


def _finish(frames: dict[str, pd.DataFrame], origins: dict, standard: str, issues: IssueLog,
            study) -> dict:
    from converter.metadata.spec import load_spec
    from converter.metadata.stage import apply_metadata

    spec = load_spec(standard, getattr(study, "spec_overrides", None))
    out = {}
    for name, frame in frames.items():
        out[name], _ = apply_metadata(frame, name, spec, issues, origins=origins.get(name))
    return out


def _assert_valid(xml: bytes, datasets: dict, xsd: etree.XMLSchema, tmp_path: Path,
                  name: str) -> None:
    doc = etree.ElementTree(etree.fromstring(xml, etree.XMLParser(resolve_entities=False,
                                                                  no_network=True)))
    assert xsd.validate(doc), [str(e) for e in xsd.error_log][:10]
    path = tmp_path / name
    path.write_bytes(xml)
    assert check_define(path) == []
    from converter.define import read_define
    model = read_define(xml)
    assert {g.name for g in model.mdv.item_groups} == set(datasets)
    for group in model.mdv.item_groups:
        names = [model.item_def(r.item_oid).name for r in group.item_refs]
        assert names == list(datasets[group.name].data.columns), group.name


def _pilot_sdtm_reference(shared: Path, subjects: int = 40) -> dict[str, pd.DataFrame]:
    """pharmaversesdtm (includes LB, which the pilot's raw exports do not have), cut to the
    first ``subjects`` subjects of DM to keep the test quick."""
    frames = {}
    for path in sorted((shared / "reference/pharmaverse/sdtm").glob("*.csv*")):
        if path.name.endswith(".columns.csv") or path.name.startswith("study_ct"):
            continue
        frames[path.name.split(".")[0].upper()] = pd.read_csv(
            path, dtype=str, keep_default_na=False).replace({"": None})
    keep = set(frames["DM"]["USUBJID"].iloc[:subjects])
    return {name: (f[f["USUBJID"].isin(keep)].reset_index(drop=True) if "USUBJID" in f else f)
            for name, f in frames.items()}


@pytest.mark.slow
@pytest.mark.parametrize("study_name", sorted(STUDIES))
def test_study_defines_validate(study_name, repo_root, shared, xsd, tmp_path):
    from converter.adam import derive_adam
    from converter.mapping.engine import run_sdtm
    from converter.mapping.study import load_study

    warnings.simplefilter("ignore", FutureWarning)
    study = load_study(repo_root / "mappings" / study_name)
    cfg = study.config
    issues = IssueLog()
    sdtm = run_sdtm(study, STUDIES[study_name](repo_root, shared), issues)
    sdtm_sets = _finish(sdtm.frames, sdtm.origins, f"SDTMIG {cfg.sdtmig_version}", issues, study)
    xml = build_define(sdtm_sets, standard=f"SDTMIG {cfg.sdtmig_version}",
                       study_id=cfg.study_id, study_name=cfg.study_name, ct=cfg.ct_package,
                       created=cfg.created, issues=issues)
    _assert_valid(xml, sdtm_sets, xsd, tmp_path, "sdtm-define.xml")

    source = ({k: v.data for k, v in sdtm_sets.items()} if study_name != "cdiscpilot01"
              else _pilot_sdtm_reference(shared))
    adam = derive_adam(study, source, issues)
    adam_sets = _finish(adam.frames, adam.origins, f"ADaMIG {cfg.adamig_version}", issues,
                        study)
    ct = [p for p in (cfg.adam_ct_package, cfg.ct_package) if p]
    xml = build_define(adam_sets, standard=f"ADaMIG {cfg.adamig_version}",
                       study_id=cfg.study_id, study_name=cfg.study_name, ct=ct,
                       created=cfg.created, issues=issues)
    _assert_valid(xml, adam_sets, xsd, tmp_path, "adam-define.xml")
    assert "ADSL" in adam_sets
    # value-level metadata for the BDS results
    if "ADLB" in adam_sets:
        assert b'<def:ValueListDef OID="VL.ADLB.AVAL">' in xml
