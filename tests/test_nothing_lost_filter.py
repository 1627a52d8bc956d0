"""A record excluded by a domain ``filter`` is in the issue log (MAP.FILTERED notice with its
source file, row, USUBJID and the filter as reason), not only a count in the reconciliation."""
from test_nothing_lost import AE, DM, STUDY, check_nothing_lost, write_csv  # tests/ on path

from converter.issues import IssueLog

AE_FILTERED = AE.replace("sources: [ae]\n",
                         "sources: [ae]\nfilter: {column: AETERM, missing: false}\n")


def _study(tmp_path):
    from converter.mapping.study import load_study
    root = tmp_path / "lost"
    (root / "sdtm").mkdir(parents=True)
    (root / "study.yaml").write_text(STUDY)
    (root / "sdtm" / "dm.yaml").write_text(DM)
    (root / "sdtm" / "ae.yaml").write_text(AE_FILTERED)
    raw = tmp_path / "raw"
    raw.mkdir()
    write_csv(raw / "dm.csv", ["SUBJ", "SEX", "AGE", "BRTHDAT"], [])
    write_csv(raw / "ae.csv", ["SUBJ", "AETERM", "AESEV", "AESTDAT", "AESTTIM"],
              [{"SUBJ": "001", "AETERM": "", "AESEV": "MILD", "AESTDAT": "05 FEB 2014",
                "AESTTIM": "08:30"},
               {"SUBJ": "002", "AETERM": "HEADACHE", "AESEV": "MILD", "AESTDAT": "",
                "AESTTIM": ""}])
    return load_study(root), raw


def test_filtered_record_is_logged(tmp_path):
    study, raw = _study(tmp_path)
    check_nothing_lost(study, raw)


def test_filtered_record_notice_carries_provenance(tmp_path):
    from converter.mapping.engine import run_sdtm
    study, raw = _study(tmp_path)
    log = IssueLog()
    result = run_sdtm(study, raw, log)
    hits = log.filter(["MAP.FILTERED"])
    assert len(hits) == 1
    row = hits.iloc[0]
    assert (row["severity"], row["dataset"], row["source_file"], row["source_row"],
            row["usubjid"]) == ("notice", "AE", "ae.csv", "1", "LOST-001")
    assert "ae.yaml" in row["message"] and "AETERM" in row["message"]
    recon = result.reconciliation.set_index("source").loc["ae"]
    assert (recon["raw_records"], recon["mapped"], recon["rejected"]) == (2, 1, 1)
