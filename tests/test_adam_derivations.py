"""ADaM derivation library: tiny literal frames, one numbered case per behaviour."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from converter.adam.derivations import (
    CensorSource,
    DerivationError,
    EventSource,
    compute_dtc_parts,
    derive_locf_records,
    derive_param_tte,
    derive_var_anrind,
    derive_var_base,
    derive_var_chg,
    derive_var_extreme_flag,
    derive_var_merged_exist_flag,
    derive_var_obs_number,
    derive_var_ontrtfl,
    derive_var_pchg,
    derive_var_shift,
    derive_var_trtemfl,
    derive_vars_dt,
    derive_vars_dtm,
    derive_vars_duration,
    derive_vars_dy,
    derive_vars_merged,
    derive_vars_visit_map,
    derive_vars_visit_window,
)

D = pd.to_datetime


def _dates(series: pd.Series) -> list:
    return [None if pd.isna(v) else v.strftime("%Y-%m-%d") for v in series]


# ---------------------------------------------------------------- dates
def test_01_dt_no_imputation_keeps_partial_dates_missing():
    df = pd.DataFrame({"XXDTC": ["2014-03-12T10:00", "2014-03", "2014", None]})
    out = derive_vars_dt(df, "A", "XXDTC")
    assert _dates(out["ADT"]) == ["2014-03-12", None, None, None]
    assert "ADTF" not in out.columns  # no imputation allowed → no flag variable


@pytest.mark.parametrize("level, expected, flags", [
    ("D", ["2014-03-12", "2014-03-01", None], [None, "D", None]),
    ("M", ["2014-03-12", "2014-03-01", "2014-01-01"], [None, "D", "M"]),
    ("Y", ["2014-03-12", "2014-03-01", "2014-01-01"], [None, "D", "M"]),
])
def test_02_dt_highest_imputation_level(level, expected, flags):
    df = pd.DataFrame({"XXDTC": ["2014-03-12", "2014-03", "2014"]})
    out = derive_vars_dt(df, "AST", "XXDTC", highest_imputation=level)
    assert _dates(out["ASTDT"]) == expected
    assert out["ASTDTF"].tolist() == flags


def test_03_dt_last_and_mid_imputation():
    df = pd.DataFrame({"XXDTC": ["2016-02", "2015", "2015-06"]})
    last = derive_vars_dt(df, "AEN", "XXDTC", highest_imputation="M", date_imputation="last")
    assert _dates(last["AENDT"]) == ["2016-02-29", "2015-12-31", "2015-06-30"]
    mid = derive_vars_dt(df, "AEN", "XXDTC", highest_imputation="M", date_imputation="mid")
    assert _dates(mid["AENDT"]) == ["2016-02-15", "2015-06-30", "2015-06-15"]


def test_04_dt_imputed_date_capped_by_max_dates():
    df = pd.DataFrame({"XXDTC": ["2015-06", "2015-06-20"], "DTHDT": D(["2015-06-10"] * 2)})
    out = derive_vars_dt(df, "AEN", "XXDTC", highest_imputation="M", date_imputation="last",
                         max_dates=["DTHDT"])
    # only the imputed date is capped; a collected date is never changed
    assert _dates(out["AENDT"]) == ["2015-06-10", "2015-06-20"]


def test_05_invalid_dtc_flagged_not_guessed():
    parts = compute_dtc_parts(pd.Series(["2014-02-30", "12 MAR 2014", "2014-13", "", None,
                                         "2014-03-12T25:00", "2014---15"]))
    assert parts["valid"].tolist() == [False, False, False, True, True, False, True]
    out = derive_vars_dt(pd.DataFrame({"X": ["2014-02-30"]}), "A", "X", highest_imputation="M")
    assert out["ADT"].isna().all()


def test_06_dtm_time_imputation_and_flags():
    df = pd.DataFrame({"X": ["2014-01-02T08:30:15", "2014-01-02T08:30", "2014-01-02T08",
                             "2014-01-02", "2014-01"]})
    out = derive_vars_dtm(df, "AST", "X", highest_imputation="M", time_imputation="last")
    assert out["ASTDTM"].astype(str).tolist() == [
        "2014-01-02 08:30:15", "2014-01-02 08:30:59", "2014-01-02 08:59:59",
        "2014-01-02 23:59:59", "2014-01-01 23:59:59"]
    assert out["ASTTMF"].tolist() == [None, "S", "M", "H", "H"]
    assert out["ASTDTF"].tolist() == [None, None, None, None, "D"]


def test_07_dtm_refuses_time_imputation_above_level():
    df = pd.DataFrame({"X": ["2014-01-02T08:30", "2014-01-02"]})
    out = derive_vars_dtm(df, "AST", "X", highest_imputation="m")
    assert out["ASTDTM"].isna().tolist() == [False, True]


def test_08_study_day_has_no_day_zero():
    df = pd.DataFrame({"TRTSDT": D(["2014-01-10"] * 4),
                       "ADT": D(["2014-01-08", "2014-01-09", "2014-01-10", "2014-01-11"])})
    assert derive_vars_dy(df, "TRTSDT", ["ADT"])["ADY"].tolist() == [-2, -1, 1, 2]


def test_09_duration_days_and_weeks():
    df = pd.DataFrame({"S": D(["2014-01-01"]), "E": D(["2014-01-14"])})
    assert derive_vars_duration(df, "AVAL", "S", "E")["AVAL"].tolist() == [14.0]
    out = derive_vars_duration(df, "AVAL", "S", "E", out_unit="weeks", new_var_unit="AVALU")
    assert out["AVAL"].tolist() == [2.0] and out["AVALU"].tolist() == ["WEEKS"]


# ---------------------------------------------------------------- merges and flags
def test_10_merged_first_record_with_filter_and_missing_values():
    dm = pd.DataFrame({"USUBJID": ["1", "2", "3"]})
    ex = pd.DataFrame({"USUBJID": ["1", "1", "2"], "EXDOSE": [0, 5, 5],
                       "EXSTDTC": ["2014-01-01", "2014-01-03", "2014-02-01"]})
    out = derive_vars_merged(dm, ex, ["USUBJID"], new_vars={"FDOSEDTC": "EXSTDTC"},
                             filter_add=lambda d: d["EXDOSE"] > 0, order=["EXSTDTC"],
                             mode="first", missing_values={"FDOSEDTC": "NONE"})
    assert out["FDOSEDTC"].tolist() == ["2014-01-03", "2014-02-01", "NONE"]


def test_11_merged_refuses_duplicates_without_mode_and_overwrites():
    dm = pd.DataFrame({"USUBJID": ["1"], "AGE": [40]})
    add = pd.DataFrame({"USUBJID": ["1", "1"], "X": [1, 2], "AGE": [1, 1]})
    with pytest.raises(DerivationError, match="more than one record"):
        derive_vars_merged(dm, add, ["USUBJID"], new_vars=["X"])
    with pytest.raises(DerivationError, match="never overwrites"):
        derive_vars_merged(dm, add, ["USUBJID"], new_vars=["AGE"], order=["X"], mode="last")


def test_12_exist_flag():
    dm = pd.DataFrame({"USUBJID": ["1", "2", "3"]})
    ae = pd.DataFrame({"USUBJID": ["1", "2"], "AESER": ["Y", "N"]})
    out = derive_var_merged_exist_flag(dm, ae, ["USUBJID"], "SERFL",
                                       condition=lambda d: d["AESER"] == "Y")
    assert out["SERFL"].tolist() == ["Y", "N", None]


def test_13_extreme_flag_first_last_descending_and_missing_last():
    df = pd.DataFrame({"USUBJID": ["1", "1", "1", "2"], "AVAL": [3.0, np.nan, 5.0, 1.0],
                       "ADT": [1, 2, 3, 1]})
    last = derive_var_extreme_flag(df, ["USUBJID"], ["ADT"], "LFL", mode="last",
                                   filter=lambda d: d["AVAL"].notna())
    assert last["LFL"].tolist() == [None, None, "Y", "Y"]
    high = derive_var_extreme_flag(df, ["USUBJID"], ["-AVAL"], "HFL", mode="first")
    assert high["HFL"].tolist() == [None, None, "Y", "Y"]


def test_14_obs_number_and_uniqueness_check():
    df = pd.DataFrame({"USUBJID": ["1", "1", "2"], "ADT": [2, 1, 1]})
    assert derive_var_obs_number(df, ["USUBJID"], ["ADT"])["ASEQ"].tolist() == [2, 1, 1]
    with pytest.raises(DerivationError):
        derive_var_obs_number(pd.concat([df, df]).reset_index(drop=True), ["USUBJID"], ["ADT"])


# ---------------------------------------------------------------- baseline and change
def _bds() -> pd.DataFrame:
    return pd.DataFrame({
        "USUBJID": ["1"] * 4 + ["2"] * 2, "PARAMCD": ["CD4"] * 6,
        "AVISITN": [0, 0, 4, 12, 0, 4], "ADT": [-10, -1, 29, 85, -3, 30],
        "AVAL": [150.0, 160.0, 200.0, 240.0, 0.0, 50.0]})


def test_15_baseline_last_before_dose_then_chg_pchg():
    df = derive_var_extreme_flag(_bds(), ["USUBJID", "PARAMCD"], ["ADT"], "ABLFL",
                                 filter=lambda d: d["ADT"] <= 1)
    assert df["ABLFL"].tolist() == [None, "Y", None, None, "Y", None]
    df = derive_var_base(df, ["USUBJID", "PARAMCD"])
    post = lambda d: d["AVISITN"] > 0
    df = derive_var_pchg(derive_var_chg(df, filter=post), filter=post)
    assert df["BASE"].tolist() == [160.0, 160.0, 160.0, 160.0, 0.0, 0.0]
    assert df["CHG"].fillna(-1).tolist() == [-1, -1, 40.0, 80.0, -1, 50.0]
    assert df["PCHG"].fillna(-1).tolist() == [-1, -1, 25.0, 50.0, -1, -1]  # base 0 → missing


def test_16_two_baselines_is_an_error():
    df = _bds().assign(ABLFL="Y")
    with pytest.raises(DerivationError, match="more than one baseline"):
        derive_var_base(df, ["USUBJID", "PARAMCD"])


# ---------------------------------------------------------------- visits and LOCF
WINDOWS = pd.DataFrame({"AVISIT": ["Baseline", "Week 4", "Week 12"], "AVISITN": [0, 4, 12],
                        "AWLO": [-30, 2, 58], "AWHI": [1, 57, 127], "AWTARGET": [1, 29, 85]})


def test_17_visit_windows_bounds_inclusive_and_outside():
    df = pd.DataFrame({"ADY": [-31, -30, 1, 2, 57, 58, 127, 128, np.nan]})
    out = derive_vars_visit_window(df, WINDOWS)
    assert out["AVISIT"].tolist() == [None, "Baseline", "Baseline", "Week 4", "Week 4",
                                      "Week 12", "Week 12", None, None]
    assert out["AWTDIFF"].fillna(-1).tolist() == [-1, 31, 0, 27, 28, 27, 42, -1, -1]


def test_18_overlapping_windows_refused():
    bad = WINDOWS.assign(AWHI=[1, 60, 127])
    with pytest.raises(DerivationError, match="overlap"):
        derive_vars_visit_window(pd.DataFrame({"ADY": [1]}), bad)


def test_19_visit_map_rules_then_title_case():
    df = pd.DataFrame({"VISIT": ["SCREENING 1", "WEEK 2", "UNSCHEDULED 1.1"],
                       "VISITNUM": [1, 4, 1.1]})
    out = derive_vars_visit_map(df, [{"match": "SCREEN", "avisit": "Baseline", "avisitn": 0}])
    assert out["AVISIT"].tolist() == ["Baseline", "Week 2", "Unscheduled 1.1"]
    assert out["AVISITN"].tolist() == [0, 4, 1.1]


def test_20_locf_after_last_observation_only():
    obs = pd.DataFrame({"USUBJID": ["1", "1", "2", "2", "2", "3", "3", "3"],
                        "AVISITN": [0, 4, 0, 4, 12, 0, 12, 24],
                        "AVISIT": ["B", "W4", "B", "W4", "W12", "B", "W12", "W24"],
                        "AVAL": [10.0, 11.0, 20.0, 21.0, 22.0, 30.0, 32.0, 33.0],
                        "BASE": [10.0, 10.0, 20.0, 20.0, 20.0, 30.0, 30.0, 30.0]})
    visits = pd.DataFrame({"AVISITN": [4, 12, 24], "AVISIT": ["W4", "W12", "W24"]})
    ref = obs[["USUBJID"]].drop_duplicates().merge(visits, how="cross")
    out = derive_locf_records(obs, ref, ["USUBJID"], keep_vars=["BASE"])
    new = out.loc[out["DTYPE"] == "LOCF"]
    # subject 1 lost after week 4: weeks 12 and 24 carried from week 4; subject 2 lost after
    # week 12; subject 3 missed week 4 only (intermittent) → nothing created
    assert new[["USUBJID", "AVISIT", "AVAL", "BASE"]].values.tolist() == [
        ["1", "W12", 11.0, 10.0], ["1", "W24", 11.0, 10.0], ["2", "W24", 22.0, 20.0]]
    assert len(out) == len(obs) + 3
    gaps = derive_locf_records(obs, ref, ["USUBJID"], after_last_only=False)
    assert (gaps["DTYPE"] == "LOCF").sum() == 4  # now subject 3's week 4 gap too (from baseline)


def test_21_locf_none_when_complete():
    obs = pd.DataFrame({"USUBJID": ["1", "1"], "AVISITN": [0, 4], "AVAL": [1.0, 2.0]})
    ref = pd.DataFrame({"USUBJID": ["1"], "AVISITN": [4]})
    out = derive_locf_records(obs, ref, ["USUBJID"])
    assert len(out) == 2


# ---------------------------------------------------------------- ranges, shifts
def test_22_anrind_and_shift():
    df = pd.DataFrame({"AVAL": [1.0, 2.0, 8.0, 9.0, 5.0, 5.0, np.nan],
                       "ANRLO": [2.0, 2.0, 2.0, 2.0, np.nan, np.nan, 2.0],
                       "ANRHI": [8.0, 8.0, 8.0, 8.0, 4.0, np.nan, 8.0]})
    out = derive_var_anrind(df)
    assert out["ANRIND"].tolist() == ["LOW", "NORMAL", "NORMAL", "HIGH", "HIGH", None, None]
    out["BNRIND"] = ["NORMAL", None, "LOW", "LOW", None, None, None]
    sh = derive_var_shift(out, "SHIFT1", "BNRIND", "ANRIND")
    assert sh["SHIFT1"].tolist()[:2] == ["NORMAL to LOW", "NULL to NORMAL"]
    assert sh["SHIFT1"].tolist()[-1] == "NULL to NULL"


def test_23_anrind_ignores_float_noise():
    df = pd.DataFrame({"AVAL": [0.1 + 0.2], "ANRLO": [0.0], "ANRHI": [0.3]})
    assert derive_var_anrind(df)["ANRIND"].tolist() == ["NORMAL"]


# ---------------------------------------------------------------- treatment flags
def test_24_ontrtfl_window_and_pre_timepoint():
    df = pd.DataFrame({"ADT": D(["2014-01-01", "2014-01-02", "2014-01-02", "2014-02-03",
                                 "2014-02-05"]),
                       "AVISIT": ["Screening", "Baseline", "Week 1", "Week 4", "Week 5"],
                       "TRTSDT": D(["2014-01-02"] * 5), "TRTEDT": D(["2014-02-01"] * 5)})
    out = derive_var_ontrtfl(df, start_date="ADT", ref_start_date="TRTSDT", ref_end_date="TRTEDT",
                             ref_end_window=2,
                             filter_pre_timepoint=lambda d: d["AVISIT"] == "Baseline")
    assert out["ONTRTFL"].tolist() == [None, None, "Y", "Y", None]


def test_25_trtemfl_missing_start_and_untreated():
    df = pd.DataFrame({"ASTDT": D(["2014-01-01", "2014-01-05", None, None, "2014-01-05"]),
                       "AENDT": D(["2014-01-03", None, "2014-01-09", "2013-12-01", None]),
                       "TRTSDT": D(["2014-01-02"] * 4 + [None])})
    out = derive_var_trtemfl(df)
    assert out["TRTEMFL"].tolist() == [None, "Y", "Y", None, None]


# ---------------------------------------------------------------- time to event
def _tte_data():
    adsl = pd.DataFrame({"STUDYID": "S", "USUBJID": ["1", "2", "3", "4"],
                         "TRTSDT": D(["2014-01-01"] * 3 + [None]), "ITTFL": "Y"})
    adlb = pd.DataFrame({
        "STUDYID": "S", "USUBJID": ["1", "1", "1", "2", "2"],
        "ADT": D(["2014-02-01", "2014-03-01", "2014-04-01", "2014-02-01", "2014-05-01"]),
        "PCHG": [10.0, 40.0, 50.0, 5.0, 20.0], "ASEQ": [1, 2, 3, 1, 2]})
    return adsl, adlb


def test_26_tte_event_earliest_censor_latest_and_fallback():
    adsl, adlb = _tte_data()
    ev = EventSource("ADLB", "ADT", filter=lambda d: d["PCHG"] > 30, seq_var="ASEQ",
                     set_values_to={"EVNTDESC": "RESPONSE"})
    cn = CensorSource("ADLB", "ADT", seq_var="ASEQ", set_values_to={"CNSDTDSC": "LAST CD4"})
    cn0 = CensorSource("ADSL", "TRTSDT", set_values_to={"CNSDTDSC": "FIRST DOSE"})
    out = derive_param_tte(adsl, {"ADLB": adlb, "ADSL": adsl}, start_date="TRTSDT",
                           event_conditions=[ev], censor_conditions=[cn, cn0],
                           set_values_to={"PARAMCD": "TTR30"})
    got = out[["USUBJID", "CNSR", "SRCDOM", "SRCSEQ", "EVNTDESC", "CNSDTDSC"]]
    got = got.astype(object).where(got.notna(), None).values.tolist()
    assert got == [["1", 0.0, "ADLB", 2.0, "RESPONSE", None],
                   ["2", 1.0, "ADLB", 2.0, None, "LAST CD4"],
                   ["3", 1.0, "ADSL", None, None, "FIRST DOSE"]]
    assert _dates(out["ADT"]) == ["2014-03-01", "2014-05-01", "2014-01-01"]
    assert (out["PARAMCD"] == "TTR30").all() and (out["SRCVAR"].iloc[0] == "ADT")
    aval = derive_vars_duration(out, "AVAL", "STARTDT", "ADT")["AVAL"].tolist()
    assert aval == [60.0, 121.0, 1.0]


def test_27_tte_event_beats_censor_on_same_day_and_population_filter():
    adsl, adlb = _tte_data()
    ev = EventSource("ADLB", "ADT", filter=lambda d: d["USUBJID"] == "2")
    cn = CensorSource("ADLB", "ADT")
    out = derive_param_tte(adsl, {"ADLB": adlb}, start_date="TRTSDT", event_conditions=[ev],
                           censor_conditions=[cn], set_values_to={"PARAMCD": "X"},
                           filter_adsl=lambda d: d["USUBJID"] != "1")
    assert out["USUBJID"].tolist() == ["2"]
    assert out["CNSR"].tolist() == [0.0]
    assert _dates(out["ADT"]) == ["2014-02-01"]


def test_28_tte_unknown_source_dataset():
    adsl, adlb = _tte_data()
    with pytest.raises(DerivationError, match="ADRS"):
        derive_param_tte(adsl, {"ADLB": adlb}, start_date="TRTSDT",
                         event_conditions=[EventSource("ADRS", "ADT")], censor_conditions=[],
                         set_values_to={})
