"""The MSC-INR-P2 synthetic export: reproducible byte for byte and calibrated to the report.

Every figure is recomputed from the generated raw files (the CSV forms, the lab transfer and the
randomisation workbook), the way a data manager would, not from the generator's internals.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test, multivariate_logrank_test

from converter.errors import ConfigError
from converter.simulate import simulate

ARMS = ["HIGH", "LOW", "PLACEBO"]
TREATMENT_TO_ARM = {"hUC-MSC 1.5 x 10^6 cells/kg": "HIGH", "hUC-MSC 0.5 x 10^6 cells/kg": "LOW",
                    "Placebo (0.9% sodium chloride)": "PLACEBO"}


def _read(raw, name):
    return pd.read_csv(raw / name, dtype=str, keep_default_na=False, na_values=[""])


def _edc_date(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, format="%d %b %Y")


def arms_of(raw) -> pd.DataFrame:
    """Subject -> arm, through the blinded EDC randomisation number and the unblinded list."""
    rand = _read(raw, "rand.csv")
    rlist = pd.read_excel(raw / "randomisation_list.xlsx", sheet_name="Randomisation", dtype=str)
    merged = rand.merge(rlist, left_on="RANDNO", right_on="RAND_NO", how="left",
                        validate="one_to_one")
    assert merged["TREATMENT"].notna().all(), "every randomisation number is on the list"
    merged["ARM"] = merged["TREATMENT"].map(TREATMENT_TO_ARM)
    return merged[["Subject", "SiteNumber", "ARM"]]


_LAB_CACHE: dict = {}


def read_lab(raw) -> pd.DataFrame:
    """The lab transfer file as text (read once per folder)."""
    key = str(raw)
    if key not in _LAB_CACHE:
        _LAB_CACHE[key] = pd.read_csv(raw / "lab_central.csv", dtype=str, keep_default_na=False,
                                      na_values=[""])
    return _LAB_CACHE[key]


def response_times(raw) -> pd.DataFrame:
    """Per randomised subject: days from first infusion to the first visit meeting each
    response definition (CD4 > 30 % or > 100 cells/uL over the baseline value), else censored
    at the last CD4 assessment."""
    arms = arms_of(raw)
    ex = _read(raw, "ex.csv")
    first = ex.assign(d=_edc_date(ex["EXSTDAT"])).groupby("Subject")["d"].min()
    lab = read_lab(raw)
    cd4 = lab[lab["TEST_CODE"] == "CD4ABS"].copy()
    cd4["value"] = cd4["RESULT"].astype(float)
    cd4["date"] = pd.to_datetime(cd4["COLL_DATE"])
    base = cd4[cd4["VISIT"] == "BASELINE"].set_index("SUBJID")["value"]
    post = cd4[~cd4["VISIT"].isin(["SCREEN", "BASELINE"])].copy()
    post["base"] = post["SUBJID"].map(base)
    post["day"] = (post["date"] - post["SUBJID"].map(first)).dt.days
    out = arms.set_index("Subject")
    out["baseline"] = base
    out["last_day"] = post.groupby("SUBJID")["day"].max()
    for name, hit in {"pct30": post["value"] > 1.3 * post["base"],
                      "abs100": post["value"] - post["base"] > 100}.items():
        first_hit = post[hit].groupby("SUBJID")["day"].min()
        out[f"{name}_event"] = out.index.isin(first_hit.index)
        out[f"{name}_time"] = first_hit.reindex(out.index).fillna(out["last_day"])
    return out


def km_and_logrank(times: pd.DataFrame, name: str) -> dict:
    res = {}
    for arm in ARMS:
        d = times[times["ARM"] == arm]
        km = KaplanMeierFitter().fit(d[f"{name}_time"], d[f"{name}_event"])
        res[arm] = 1 - float(km.survival_function_.iloc[-1, 0])
    t, e, g = times[f"{name}_time"], times[f"{name}_event"], times["ARM"]
    res["p3"] = multivariate_logrank_test(t, g, e).p_value

    def pair(a, b):
        x, y = times[g == a], times[g == b]
        return logrank_test(x[f"{name}_time"], y[f"{name}_time"], x[f"{name}_event"],
                            y[f"{name}_event"]).p_value
    res["LOW_vs_PLACEBO"] = pair("LOW", "PLACEBO")
    res["LOW_vs_HIGH"] = pair("LOW", "HIGH")
    res["HIGH_vs_PLACEBO"] = pair("HIGH", "PLACEBO")
    return res


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    out = tmp_path_factory.mktemp("p2")
    simulate("msc-inr-p2", out)
    return out


def test_reproduces_committed_example_byte_for_byte(raw, repo_root):
    committed = repo_root / "examples" / "msc-inr-p2" / "raw"
    names = sorted(p.name for p in committed.iterdir())
    assert names == sorted(p.name for p in raw.iterdir())
    for name in names:
        a = hashlib.sha256((committed / name).read_bytes()).hexdigest()
        b = hashlib.sha256((raw / name).read_bytes()).hexdigest()
        assert a == b, f"{name} differs from the committed example"


def test_screening_and_randomisation_counts(raw):
    ds = _read(raw, "ds.csv")
    assert len(ds) == 100 and ds["Subject"].is_unique
    assert (ds["DSREAS"] == "Screen failure").sum() == 26
    assert (ds["DSREAS"] == "Withdrawal by subject").sum() == 2
    ie = _read(raw, "ie.csv")
    failed = ie[ie["IEYN"] == "No"]
    assert failed["Subject"].nunique() == 26 and (failed["IECAT"] == "Inclusion").all()
    arms = arms_of(raw)
    assert len(arms) == 72
    assert arms["ARM"].value_counts().to_dict() == {"HIGH": 24, "LOW": 24, "PLACEBO": 24}
    per_site = arms.groupby("SiteNumber")["ARM"].value_counts().unstack()
    assert list(per_site.index) == ["01", "02", "03", "04"]
    # blocks of 6 within site: every site is balanced across the three arms
    assert (per_site.nunique(axis=1) == 1).all()
    assert per_site.sum(axis=1).to_dict() == {"01": 24, "02": 18, "03": 12, "04": 18}


def test_infusions_and_disposition(raw):
    arms = arms_of(raw).set_index("Subject")["ARM"]
    ex = _read(raw, "ex.csv")
    assert (ex.groupby("Subject").size() == 6).all() and ex["Subject"].nunique() == 72
    dose = ex.assign(ARM=ex["Subject"].map(arms)).groupby("ARM")["EXDOSE"].unique()
    assert {k: list(v) for k, v in dose.items()} == {"HIGH": ["1.5"], "LOW": ["0.5"],
                                                     "PLACEBO": ["0"]}
    ds = _read(raw, "ds.csv")
    ds = ds[ds["Subject"].isin(arms.index)].assign(ARM=lambda d: d["Subject"].map(arms))
    lost = ds[ds["DSREAS"] == "Lost to follow-up"]
    assert lost["ARM"].value_counts().to_dict() == {"LOW": 5, "PLACEBO": 4}
    assert (lost["LASTVIS"] == "Week 60").all()
    done = ds[ds["DSREAS"] != "Lost to follow-up"]
    assert (done["DSREAS"] == "Completed").all() and (done["LASTVIS"] == "Week 96").all()
    # lab visits agree: the lost have nothing after week 60, everyone else has week 96
    lab = read_lab(raw)[["SUBJID", "VISIT"]]
    visits = lab.drop_duplicates().groupby("SUBJID")["VISIT"].apply(set)
    assert all("WEEK 72" not in visits[s] for s in lost["Subject"])
    assert all("WEEK 96" in visits[s] for s in done["Subject"])


def test_adverse_events_calibration(raw):
    arms = arms_of(raw).set_index("Subject")["ARM"]
    ae = _read(raw, "ae.csv").assign(ARM=lambda d: d["Subject"].map(arms))
    assert ae["ARM"].notna().all()
    per_arm = ae.groupby("ARM")["Subject"].nunique().to_dict()
    assert per_arm == {"HIGH": 12, "LOW": 8, "PLACEBO": 11}
    ffi = ae[ae["AETERM_PT"].isin(["Pyrexia", "Fatigue", "Insomnia"])]
    assert ffi.groupby("ARM")["Subject"].nunique().to_dict() == {"HIGH": 6, "LOW": 3,
                                                                  "PLACEBO": 5}
    assert set(ae["AETOXGR"]) <= {"Grade 1", "Grade 2"}
    assert set(ae["AESER"]) == {"No"}
    # partial dates appear, in the documented form only
    assert ae["AESTDAT"].str.startswith("UN ").any()
    assert ae["AESTDAT"].str.fullmatch(r"(\d\d|UN) [A-Z]{3} \d{4}").all()


def test_cd4_response_calibration(raw):
    times = response_times(raw)
    events = times.groupby("ARM")["pct30_event"].sum().to_dict()
    assert events == {"HIGH": 20, "LOW": 23, "PLACEBO": 17}
    km = km_and_logrank(times, "pct30")
    assert km["HIGH"] == pytest.approx(20 / 24) and km["LOW"] == pytest.approx(23 / 24)
    assert km["PLACEBO"] == pytest.approx(17 / 24)
    assert km["LOW_vs_PLACEBO"] < 0.01
    assert 0.005 < km["p3"] < 0.05
    assert km["LOW_vs_HIGH"] > 0.05 and km["HIGH_vs_PLACEBO"] > 0.05
    assert km_and_logrank(times, "abs100")["p3"] > 0.05


def test_cd4_margins_and_medians(raw):
    """Responders clear 35 % at their first response; non-responders never pass 25 %."""
    times = response_times(raw)
    lab = read_lab(raw)
    cd4 = lab[lab["TEST_CODE"] == "CD4ABS"].assign(value=lambda d: d["RESULT"].astype(float))
    post = cd4[~cd4["VISIT"].isin(["SCREEN", "BASELINE"])]
    rel = post["value"] / post["SUBJID"].map(times["baseline"])
    best = rel.groupby(post["SUBJID"]).max()
    responders = times.index[times["pct30_event"]]
    non = times.index[~times["pct30_event"]]
    assert (best[non] <= 1.25).all()
    first_hit = rel[rel > 1.3].groupby(post["SUBJID"][rel > 1.3]).first()
    assert (first_hit[responders] >= 1.35).all()
    # every subject lost after week 60 responded before being lost (so KM = proportion)
    ds = _read(raw, "ds.csv").set_index("Subject")
    lost = times.index[ds.loc[times.index, "DSREAS"] == "Lost to follow-up"]
    assert len(lost) == 9 and times.loc[lost, "pct30_event"].all()
    assert (times.loc[lost, "pct30_time"] <= 60 * 7 + 7).all()
    assert (times.loc[non, "last_day"] >= 96 * 7 - 7).all()
    med = times.groupby("ARM")["baseline"].median()
    assert med["HIGH"] == pytest.approx(179, abs=6)
    assert med["LOW"] == pytest.approx(181, abs=6)
    assert med["PLACEBO"] == pytest.approx(179, abs=6)
    lab_ratio = lab[(lab["TEST_CODE"] == "CD4CD8") & (lab["VISIT"] == "BASELINE")]
    ratio = lab_ratio.assign(ARM=lab_ratio["SUBJID"].map(times["ARM"]),
                             v=lab_ratio["RESULT"].astype(float)).groupby("ARM")["v"].median()
    assert ratio["HIGH"] == pytest.approx(0.285, abs=0.02)
    assert ratio["LOW"] == pytest.approx(0.306, abs=0.02)
    assert ratio["PLACEBO"] == pytest.approx(0.294, abs=0.02)


def test_lab_file_shape(raw):
    lab = read_lab(raw)
    per_sample = lab.groupby(["SUBJID", "VISIT"]).size()
    assert per_sample.nunique() == 1  # every sample has the full panel
    assert lab.loc[lab["TEST_CODE"] == "HIV1VL", "RESULT"].eq("<50").mean() > 0.9
    nd = lab[lab["STATUS"] == "NOT DONE"]
    assert len(nd) > 0 and nd["RESULT"].isna().all() and nd["COMMENT"].notna().all()
    assert not nd["TEST_CODE"].isin(["CD4ABS", "CD8ABS", "CD4CD8", "HIV1VL"]).any()


def test_seed_changes_values_but_not_calibration(tmp_path, raw):
    simulate("msc-inr-p2", tmp_path, seed=7)
    assert (tmp_path / "lab_central.csv").read_bytes() != (raw / "lab_central.csv").read_bytes()
    times = response_times(tmp_path)
    assert times.groupby("ARM")["pct30_event"].sum().to_dict() == {"HIGH": 20, "LOW": 23,
                                                                   "PLACEBO": 17}


def test_scaled_run_structure(tmp_path):
    files = simulate("msc-inr-p2", tmp_path, subjects=200)
    assert {f.name for f in files} >= {"dm.csv", "lab_central.csv", "randomisation_list.xlsx"}
    arms = arms_of(tmp_path)
    assert len(arms) == 200
    counts = arms["ARM"].value_counts()
    assert counts.max() - counts.min() <= 6
    lab = read_lab(tmp_path)
    per_rand = lab[lab["SUBJID"].isin(arms["Subject"])].groupby("SUBJID").size()
    assert per_rand.max() == 11 * 45
    times = response_times(tmp_path)
    share = times.groupby("ARM")["pct30_event"].mean()
    assert share["LOW"] > share["HIGH"] > share["PLACEBO"]


@pytest.mark.parametrize("study, subjects, seed", [("no-such-study", None, None),
                                                  ("msc-inr-p2", 0, None),
                                                  ("msc-inr-sd", -3, None),
                                                  ("msc-inr-p2", None, -1)])
def test_bad_arguments_are_config_errors(tmp_path, study, subjects, seed):
    with pytest.raises(ConfigError):
        simulate(study, tmp_path, subjects=subjects, seed=seed)
    assert not any(tmp_path.iterdir())


def test_cli_exit_code_2_on_bad_subjects(tmp_path):
    from converter.cli import main
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "msc-inr-p2", "--out", str(tmp_path), "--subjects", "0"])
    assert exc.value.code == 2


def test_workbook_carries_no_wall_clock(raw):
    """Zip entries and document properties carry fixed dates, so the bytes never drift."""
    import zipfile
    with zipfile.ZipFile(raw / "randomisation_list.xlsx") as zf:
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = zf.read("docProps/core.xml").decode()
    import re
    stamps = re.findall(r"\d{4}-\d\d-\d\dT[\d:]+Z", core)
    assert stamps == ["2013-04-22T09:00:00Z", "2013-04-22T09:00:00Z"]  # created, modified


def test_lab_panel_maps_to_lbtestcd_terms(shared):
    """Every lab test the simulator emits has its documented LBTESTCD in SDTM CT 2015-12-18."""
    from converter.simulate import labs
    ct = pd.read_csv(shared / "ct" / "sdtmct-2015-12-18.csv", dtype=str)
    terms = set(ct.loc[ct["codelist_submission_value"] == "LBTESTCD", "term_submission_value"])
    panel = labs.panel()
    assert len(panel) == 45 and panel["code"].is_unique
    assert set(panel["lbtestcd"]) <= terms, set(panel["lbtestcd"]) - terms
