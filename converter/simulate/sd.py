"""Synthetic CDISC ODM 1.3.2 clinical-data export of MSC-INR-SD (NCT05872659).

A different EDC and layout from MSC-INR-P2 on purpose: one ODM XML file carrying its own study
metadata (events, forms, item groups, items with data types, code lists with decodes,
measurement units) and the clinical data (SubjectData / StudyEventData / FormData /
ItemGroupData / ItemData, repeating groups keyed by ItemGroupRepeatKey). Layout and decisions
are documented in ``examples/msc-inr-sd/README.md``.

The values are drawn as whole columns into one long item table (subject, event, form, group,
repeat key, item, value); the metadata is built with lxml and the clinical data is written from
that table column-wise (open/close tags where the keys change), so size never means a loop.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from lxml import etree

from converter.atomic import atomic_write_bytes
from converter.simulate import common as cm

DEFAULT_SEED = 20230416
DEFAULT_SUBJECTS = 20
ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
STUDY_OID = "ST.MSCT-A-22"
MDV_OID = "MDV.MSCT-A-22.V1"
SITE_OID = "LOC.SDPHCC"
SITE_NAME = "Shandong Public Health Clinical Center"
FILE_OID = "EXP.MSCT-A-22.20251120"
CREATION = "2025-11-20T10:00:00+08:00"
STUDY_START = "2023-04-16"

# event OID, name, type, target day (None = common event), forms
EVENTS = [
    ("SE.SCR", "Screening", "Scheduled", -14, ["F.IC", "F.DM", "F.IE", "F.HX", "F.MH", "F.VS",
                                                "F.LB"]),
    ("SE.D0", "Day 0", "Scheduled", 0, ["F.RAND", "F.EX", "F.VS", "F.LB"]),
    ("SE.D30", "Day 30", "Scheduled", 30, ["F.EX", "F.VS", "F.LB"]),
    ("SE.D60", "Day 60", "Scheduled", 60, ["F.EX", "F.VS", "F.LB"]),
    ("SE.W24", "Week 24", "Scheduled", 168, ["F.VS", "F.LB"]),
    ("SE.W36", "Week 36", "Scheduled", 252, ["F.VS", "F.LB"]),
    ("SE.W48", "Week 48", "Scheduled", 336, ["F.VS", "F.LB"]),
    ("SE.AE", "Adverse events", "Common", None, ["F.AE"]),
    ("SE.EOS", "End of study", "Common", None, ["F.DS"]),
]
WINDOW = {"SE.D30": 3, "SE.D60": 3, "SE.W24": 7, "SE.W36": 7, "SE.W48": 7}

# form OID, name, item group OID, group name, repeating
FORMS = [
    ("F.IC", "Informed consent", "IG.IC", "Informed consent", "No"),
    ("F.DM", "Demographics", "IG.DM", "Demographics", "No"),
    ("F.IE", "Eligibility", "IG.IE", "Criteria not met", "Yes"),
    ("F.HX", "HIV and ART history", "IG.HX", "HIV and ART history", "No"),
    ("F.MH", "Medical history", "IG.MH", "Medical history", "Yes"),
    ("F.RAND", "Randomisation", "IG.RAND", "Randomisation", "No"),
    ("F.EX", "Study infusion", "IG.EX", "Study infusion", "No"),
    ("F.VS", "Vital signs", "IG.VS", "Vital signs", "No"),
    ("F.LB", "Laboratory results", "IG.LB", "Laboratory results", "Yes"),
    ("F.AE", "Adverse events", "IG.AE", "Adverse event", "Yes"),
    ("F.DS", "Study completion", "IG.DS", "Study completion", "No"),
]

# item OID, group, name, data type, length / significant digits, question, code list, unit
ITEMS = [
    ("IT.IC.ICDAT", "IG.IC", "ICDAT", "date", None, "Date informed consent signed", None, None),
    ("IT.IC.ICVER", "IG.IC", "ICVER", "text", 10, "Consent form version", None, None),
    ("IT.DM.BRTHDAT", "IG.DM", "BRTHDAT", "date", None, "Date of birth", None, None),
    ("IT.DM.AGE", "IG.DM", "AGE", "integer", 3, "Age at consent (years)", None, None),
    ("IT.DM.SEX", "IG.DM", "SEX", "text", 1, "Sex", "CL.SEX", None),
    ("IT.DM.ETHGRP", "IG.DM", "ETHGRP", "text", 1, "Ethnic group", "CL.ETHGRP", None),
    ("IT.IE.IECAT", "IG.IE", "IECAT", "text", 1, "Criterion category", "CL.IECAT", None),
    ("IT.IE.IETESTCD", "IG.IE", "IETESTCD", "text", 8, "Criterion number", None, None),
    ("IT.IE.IETEST", "IG.IE", "IETEST", "text", 200, "Criterion text", None, None),
    ("IT.HX.HIVDAT", "IG.HX", "HIVDAT", "partialDate", None, "Date of HIV diagnosis", None, None),
    ("IT.HX.ARTSTDAT", "IG.HX", "ARTSTDAT", "date", None, "Date ART started", None, None),
    ("IT.HX.ARTREG", "IG.HX", "ARTREG", "text", 40, "Current ART regimen", None, None),
    ("IT.MH.MHTERM", "IG.MH", "MHTERM", "text", 100, "Condition", None, None),
    ("IT.MH.MHSTDAT", "IG.MH", "MHSTDAT", "partialDate", None, "Start date", None, None),
    ("IT.MH.MHONGO", "IG.MH", "MHONGO", "text", 1, "Ongoing?", "CL.NY", None),
    ("IT.RAND.RANDDAT", "IG.RAND", "RANDDAT", "date", None, "Date of randomisation", None, None),
    ("IT.RAND.RANDNO", "IG.RAND", "RANDNO", "text", 10, "Randomisation number", None, None),
    ("IT.RAND.ARM", "IG.RAND", "ARM", "text", 1, "Allocated group", "CL.ARM", None),
    ("IT.EX.EXSTDAT", "IG.EX", "EXSTDAT", "date", None, "Infusion date", None, None),
    ("IT.EX.EXSTTIM", "IG.EX", "EXSTTIM", "partialTime", None, "Infusion start time", None, None),
    ("IT.EX.EXENTIM", "IG.EX", "EXENTIM", "partialTime", None, "Infusion end time", None, None),
    ("IT.EX.EXTRT", "IG.EX", "EXTRT", "text", 1, "Product infused", "CL.EXTRT", None),
    ("IT.EX.EXDOSE", "IG.EX", "EXDOSE", "float", 3, "Dose (10^6 cells/kg)", None, None),
    ("IT.EX.EXVOL", "IG.EX", "EXVOL", "integer", 4, "Volume infused", None, "MU.ML"),
    ("IT.VS.VSDAT", "IG.VS", "VSDAT", "date", None, "Assessment date", None, None),
    ("IT.VS.HEIGHT", "IG.VS", "HEIGHT", "integer", 3, "Height", None, "MU.CM"),
    ("IT.VS.WEIGHT", "IG.VS", "WEIGHT", "float", 5, "Weight", None, "MU.KG"),
    ("IT.VS.SYSBP", "IG.VS", "SYSBP", "integer", 3, "Systolic blood pressure", None, "MU.MMHG"),
    ("IT.VS.DIABP", "IG.VS", "DIABP", "integer", 3, "Diastolic blood pressure", None, "MU.MMHG"),
    ("IT.VS.PULSE", "IG.VS", "PULSE", "integer", 3, "Pulse rate", None, "MU.BPM"),
    ("IT.VS.TEMP", "IG.VS", "TEMP", "float", 4, "Axillary temperature", None, "MU.C"),
    ("IT.LB.LBDAT", "IG.LB", "LBDAT", "date", None, "Sample date", None, None),
    ("IT.LB.LBTEST", "IG.LB", "LBTEST", "text", 8, "Test", "CL.LBTEST", None),
    ("IT.LB.LBORRES", "IG.LB", "LBORRES", "text", 20, "Result", None, None),
    ("IT.LB.LBORRESU", "IG.LB", "LBORRESU", "text", 20, "Unit", None, None),
    ("IT.LB.LBORNRLO", "IG.LB", "LBORNRLO", "text", 10, "Normal range lower limit", None, None),
    ("IT.LB.LBORNRHI", "IG.LB", "LBORNRHI", "text", 10, "Normal range upper limit", None, None),
    ("IT.LB.LBND", "IG.LB", "LBND", "text", 1, "Not done", "CL.NY", None),
    ("IT.LB.LBREASND", "IG.LB", "LBREASND", "text", 100, "Reason not done", None, None),
    ("IT.AE.AETERM", "IG.AE", "AETERM", "text", 200, "Adverse event (verbatim)", None, None),
    ("IT.AE.AESTDAT", "IG.AE", "AESTDAT", "partialDate", None, "Start date", None, None),
    ("IT.AE.AEENDAT", "IG.AE", "AEENDAT", "partialDate", None, "End date", None, None),
    ("IT.AE.AEONGO", "IG.AE", "AEONGO", "text", 1, "Ongoing?", "CL.NY", None),
    ("IT.AE.AESEV", "IG.AE", "AESEV", "text", 1, "Severity", "CL.AESEV", None),
    ("IT.AE.AESER", "IG.AE", "AESER", "text", 1, "Serious?", "CL.NY", None),
    ("IT.AE.AEREL", "IG.AE", "AEREL", "text", 1, "Relationship to study infusion", "CL.AEREL",
     None),
    ("IT.AE.AEOUT", "IG.AE", "AEOUT", "text", 1, "Outcome", "CL.AEOUT", None),
    ("IT.AE.AEDECOD", "IG.AE", "AEDECOD", "text", 100, "Coded preferred term", None, None),
    ("IT.AE.AESOC", "IG.AE", "AESOC", "text", 100, "Coded system organ class", None, None),
    ("IT.DS.DSSTDAT", "IG.DS", "DSSTDAT", "date", None, "Date of completion or discontinuation",
     None, None),
    ("IT.DS.DSDECOD", "IG.DS", "DSDECOD", "text", 1, "Status", "CL.DSDECOD", None),
    ("IT.DS.DSTERM", "IG.DS", "DSTERM", "text", 200, "Details", None, None),
]

CODELISTS = {
    "CL.SEX": ("Sex", [("1", "Male"), ("2", "Female")]),
    "CL.ETHGRP": ("Ethnic group", [("1", "Han"), ("2", "Hui"), ("3", "Other")]),
    "CL.IECAT": ("Criterion category", [("I", "Inclusion"), ("E", "Exclusion")]),
    "CL.NY": ("No/Yes", [("N", "No"), ("Y", "Yes")]),
    "CL.ARM": ("Allocated group", [("1", "hUC-MSC 1 x 10^6 cells/kg"),
                                   ("2", "Normal saline (placebo)")]),
    "CL.EXTRT": ("Product infused", [("1", "hUC-MSC suspension"), ("2", "0.9% sodium chloride")]),
    "CL.AESEV": ("Severity", [("1", "Mild"), ("2", "Moderate"), ("3", "Severe")]),
    "CL.AEREL": ("Relationship", [("1", "Not related"), ("2", "Unlikely"), ("3", "Possible"),
                                  ("4", "Probable"), ("5", "Definite")]),
    "CL.AEOUT": ("Outcome", [("1", "Recovered"), ("2", "Recovering"), ("3", "Not recovered"),
                             ("4", "Recovered with sequelae"), ("5", "Fatal"), ("6", "Unknown")]),
    "CL.DSDECOD": ("Study status", [("1", "Completed"), ("2", "Screen failure"),
                                    ("3", "Withdrew consent"), ("4", "Lost to follow-up")]),
}
UNITS = [("MU.ML", "mL"), ("MU.CM", "cm"), ("MU.KG", "kg"), ("MU.MMHG", "mmHg"),
         ("MU.BPM", "beats/min"), ("MU.C", "C")]

# local lab tests: code, decode, unit, decimals, low, high, median, between-subject CV
LAB = [
    ("CD4", "CD4+ T lymphocytes", "cells/uL", 0, "410", "1590", None, None),
    ("CD8", "CD8+ T lymphocytes", "cells/uL", 0, "190", "1140", None, None),
    ("CD4CD8", "CD4/CD8 ratio", "", 2, "0.9", "3.6", None, None),
    ("CD3", "CD3+ T lymphocytes", "cells/uL", 0, "690", "2540", None, None),
    ("HIVRNA", "HIV-1 RNA", "copies/mL", 0, "", "", None, None),
    ("WBC", "White blood cells", "10^9/L", 2, "3.5", "9.5", 5.4, 0.2),
    ("HGB", "Haemoglobin", "g/L", 0, "115", "175", 140.0, 0.08),
    ("PLT", "Platelets", "10^9/L", 0, "125", "350", 210.0, 0.2),
    ("ALT", "ALT", "U/L", 0, "7", "40", 22.0, 0.4),
    ("AST", "AST", "U/L", 0, "13", "35", 23.0, 0.3),
    ("CREA", "Creatinine", "umol/L", 0, "41", "111", 72.0, 0.15),
    ("TBIL", "Total bilirubin", "umol/L", 1, "0", "21", 10.5, 0.35),
]

SCREEN_FAILURES = [("I05", "I", "CD4 < 350 cells/uL with ART >= 2 years"),
                   ("E01", "E", "HBV, HCV, HAV, HDV, HEV or syphilis markers positive")]
AE_TERMS = [  # verbatim, PT, SOC
    ("Fever after infusion", "Pyrexia", "General disorders and administration site conditions"),
    ("Fatigue", "Fatigue", "General disorders and administration site conditions"),
    ("Headache", "Headache", "Nervous system disorders"),
    ("Skin rash", "Rash", "Skin and subcutaneous tissue disorders"),
    ("Upper respiratory tract infection", "Upper respiratory tract infection",
     "Infections and infestations"),
    ("Diarrhoea", "Diarrhoea", "Gastrointestinal disorders"),
]
LOST_AFTER = "SE.W36"  # one placebo subject is lost to follow-up after the week 36 visit


def _arrays(seed: int, subjects: int):
    rng = np.random.default_rng(seed)
    n_rand = subjects
    n_fail = max(1, round(2 * subjects / 20))
    n = n_rand + n_fail
    screen_day = np.sort(rng.integers(0, 540, n))  # 2023-04-16 .. autumn 2024
    key = np.array([f"SD-{i + 1:03d}" for i in range(n)], dtype=object) if n < 1000 else \
        pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(4).radd("SD-").to_numpy()
    fail_pos = np.sort(rng.choice(n, n_fail, replace=False))
    is_fail = np.zeros(n, bool)
    is_fail[fail_pos] = True
    fail_code = np.full(n, None, dtype=object)
    fail_code[fail_pos] = np.arange(n_fail) % len(SCREEN_FAILURES)
    # 1:1 permuted blocks of 4 in order of randomisation
    blocks = rng.permuted(np.tile([0, 0, 1, 1], -(-n_rand // 4)).reshape(-1, 4), axis=1).ravel()
    arm = np.full(n, -1)
    arm[~is_fail] = blocks[:n_rand]
    lost = np.zeros(n, bool)
    placebo = np.flatnonzero(arm == 1)
    if len(placebo):
        lost[placebo[rng.integers(0, len(placebo))]] = True
    return rng, key, screen_day, is_fail, fail_code, arm, lost


def generate(out_dir: Path, *, seed: int = DEFAULT_SEED, subjects: int = DEFAULT_SUBJECTS,
             progress=None) -> list[Path]:
    """Write ``msc-inr-sd_odm.xml`` into ``out_dir``; returns the file list."""
    advance = progress or (lambda n=1, description=None: None)
    rng, key, screen_day, is_fail, fail_code, arm, lost = _arrays(seed, subjects)
    items = _clinical_items(rng, key, screen_day, is_fail, fail_code, arm, lost)
    advance(1, "clinical data")
    root = _odm()
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    clinical = "\n" + _clinical_xml(items, key) + "  "
    data = data.replace(_PLACEHOLDER.encode(), clinical.encode("utf-8"), 1)
    path = Path(out_dir) / "msc-inr-sd_odm.xml"
    atomic_write_bytes(path, data)
    advance(1, "ODM file")
    return [path]


def _rows(subject, event, form, group, repeat, values: dict) -> pd.DataFrame:
    """Long item rows for one item group drawn for many subjects at once."""
    n = len(subject)
    parts = []
    for order, (item, value) in enumerate(values.items()):  # items of one group
        parts.append(pd.DataFrame({
            "subject": subject, "event": np.broadcast_to(np.asarray(event, dtype=object), (n,)),
            "form": form, "group": group, "repeat": np.broadcast_to(np.asarray(repeat), (n,)),
            "item": item, "item_order": order, "value": np.asarray(value, dtype=object)}))
    return pd.concat(parts, ignore_index=True)


def _clinical_items(rng, key, screen_day, is_fail, fail_code, arm, lost) -> pd.DataFrame:
    n = len(key)

    def date(days):
        return cm.fmt_iso_date(cm.to_datetime64(days, STUDY_START))
    rand = np.flatnonzero(~is_fail)
    day0 = screen_day + rng.integers(7, 21, n)
    male = rng.random(n) < 0.78
    age_days = (rng.uniform(24, 62, n) * 365.25).astype(int)
    height = np.rint(np.where(male, rng.normal(171, 6, n), rng.normal(160, 5, n)))
    weight = np.round((rng.normal(22.5, 2.5, n).clip(17, 30)) * (height / 100) ** 2, 1)
    out = []
    all_ = np.arange(n)
    out.append(_rows(key, "SE.SCR", "F.IC", "IG.IC", 1, {
        "IT.IC.ICDAT": date(screen_day), "IT.IC.ICVER": np.full(n, "V1.1")}))
    out.append(_rows(key, "SE.SCR", "F.DM", "IG.DM", 1, {
        "IT.DM.BRTHDAT": date(screen_day - age_days),
        "IT.DM.AGE": (age_days / 365.25).astype(int).astype(str),
        "IT.DM.SEX": np.where(male, "1", "2"),
        "IT.DM.ETHGRP": rng.choice(["1", "1", "1", "1", "1", "1", "2", "3"], n)}))
    f = np.flatnonzero(is_fail)
    crit = np.array(SCREEN_FAILURES, dtype=object)[fail_code[f].astype(int)]
    out.append(_rows(key[f], "SE.SCR", "F.IE", "IG.IE", 1, {
        "IT.IE.IECAT": crit[:, 1], "IT.IE.IETESTCD": crit[:, 0], "IT.IE.IETEST": crit[:, 2]}))
    art_day = screen_day - rng.integers(800, 3000, n)
    hiv_day = art_day - rng.integers(10, 700, n)
    hiv_txt = pd.Series(date(hiv_day)).str[:7].to_numpy()  # month precision (partialDate)
    out.append(_rows(key, "SE.SCR", "F.HX", "IG.HX", 1, {
        "IT.HX.HIVDAT": hiv_txt, "IT.HX.ARTSTDAT": date(art_day),
        "IT.HX.ARTREG": rng.choice(["TDF+3TC+EFV", "TDF+3TC+DTG", "BIC/FTC/TAF", "AZT+3TC+NVP"],
                                   n)}))
    mh_n = rng.choice([0, 1, 1, 2], n)
    mh_s = np.repeat(all_, mh_n)
    mh_rep = pd.Series(mh_s).groupby(mh_s).cumcount().to_numpy() + 1
    mh_terms = np.array(["Hypertension", "Hyperlipidaemia", "Herpes zoster", "Syphilis, treated",
                         "Type 2 diabetes mellitus"], dtype=object)
    mh_t = rng.choice(len(mh_terms), len(mh_s))
    mh_t = np.where(np.r_[False, (mh_s[1:] == mh_s[:-1]) & (mh_t[1:] == mh_t[:-1])],
                    (mh_t + 1) % len(mh_terms), mh_t)
    mh_start = date(screen_day[mh_s] - rng.integers(90, 4000, len(mh_s)))
    mh_year_only = rng.random(len(mh_s)) < 0.3
    out.append(_rows(key[mh_s], "SE.SCR", "F.MH", "IG.MH", mh_rep, {
        "IT.MH.MHTERM": mh_terms[mh_t],
        "IT.MH.MHSTDAT": np.where(mh_year_only, pd.Series(mh_start).str[:4], mh_start),
        "IT.MH.MHONGO": np.where(np.isin(mh_t, [0, 1, 4]), "Y", "N")}))
    # randomisation and infusions
    r = rand
    rand_no = pd.Series(np.arange(1, len(r) + 1)).astype(str).str.zfill(3).radd("R").to_numpy()
    out.append(_rows(key[r], "SE.D0", "F.RAND", "IG.RAND", 1, {
        "IT.RAND.RANDDAT": date(day0[r] - rng.integers(0, 3, len(r))),
        "IT.RAND.RANDNO": rand_no, "IT.RAND.ARM": (arm[r] + 1).astype(str)}))
    # visit calendar of randomised subjects
    sched = [e for e in EVENTS if e[3] is not None and e[3] >= 0]
    vdays = np.c_[[day0[r] + e[3] + (rng.integers(-WINDOW.get(e[0], 0),
                                                  WINDOW.get(e[0], 0) + 1, len(r)))
                   for e in sched]].T
    attended = np.ones_like(vdays, bool)
    lost_r = lost[r]
    attended[lost_r, 5] = False  # week 48 missed by the lost subject
    for k, e in enumerate(sched[:3]):  # three infusion events
        start = rng.integers(9 * 60, 11 * 60, len(r))
        out.append(_rows(key[r], e[0], "F.EX", "IG.EX", 1, {
            "IT.EX.EXSTDAT": date(vdays[:, k]), "IT.EX.EXSTTIM": cm.fmt_time(start),
            "IT.EX.EXENTIM": cm.fmt_time(start + rng.integers(45, 65, len(r))),
            "IT.EX.EXTRT": (arm[r] + 1).astype(str),
            "IT.EX.EXDOSE": np.where(arm[r] == 0, "1", "0"),
            "IT.EX.EXVOL": np.full(len(r), "100")}))
    # vital signs and labs: screening for everyone, then the attended visits
    vis_sub = np.r_[all_, np.repeat(r, len(sched))[attended.ravel()]]
    vis_evt = np.r_[np.full(n, "SE.SCR", dtype=object),
                    np.tile(np.array([e[0] for e in sched], dtype=object),
                            len(r))[attended.ravel()]]
    vis_day = np.r_[screen_day, vdays.ravel()[attended.ravel()]]
    vis_no = np.r_[np.zeros(n, int),
                   np.tile(np.arange(1, len(sched) + 1), len(r))[attended.ravel()]]
    m = len(vis_sub)
    scr = vis_evt == "SE.SCR"
    sbp = np.rint(rng.normal(120, 10, m)).clip(95, 155)
    out.append(_rows(key[vis_sub], vis_evt, "F.VS", "IG.VS", 1, {
        "IT.VS.VSDAT": date(vis_day),
        "IT.VS.HEIGHT": np.where(scr, cm.fmt_fixed(height[vis_sub], 0), None),
        "IT.VS.WEIGHT": cm.fmt_fixed(weight[vis_sub] + rng.normal(0, 0.8, m), 1),
        "IT.VS.SYSBP": cm.fmt_fixed(sbp, 0),
        "IT.VS.DIABP": cm.fmt_fixed(np.rint(sbp * rng.uniform(0.58, 0.7, m)), 0),
        "IT.VS.PULSE": cm.fmt_fixed(np.rint(rng.normal(75, 8, m)).clip(55, 105), 0),
        "IT.VS.TEMP": cm.fmt_fixed(rng.normal(36.5, 0.2, m).clip(36.0, 37.2), 1)}))
    out.append(_labs(rng, key, vis_sub, vis_evt, vis_day, vis_no, arm, is_fail, fail_code, date))
    out.append(_adverse_events(rng, key, r, arm, vdays, attended, date))
    # disposition
    ds_day = np.where(is_fail, screen_day + rng.integers(5, 12, n), 0)
    last_att = np.where(attended[:, -1], vdays[:, -1], vdays[:, 4])
    ds_day[r] = last_att
    status = np.where(is_fail, "2", "1").astype(object)
    status[r[lost_r]] = "4"
    term = np.where(is_fail, "Did not meet eligibility criteria", "Completed week 48").astype(
        object)
    term[r[lost_r]] = "No contact after the week 36 visit"
    out.append(_rows(key, "SE.EOS", "F.DS", "IG.DS", 1, {
        "IT.DS.DSSTDAT": date(ds_day), "IT.DS.DSDECOD": status, "IT.DS.DSTERM": term}))
    items = pd.concat(out, ignore_index=True)
    return items[items["value"].notna()]


def _labs(rng, key, vis_sub, vis_evt, vis_day, vis_no, arm, is_fail, fail_code, date):
    n = len(key)
    m = len(vis_sub)
    t = len(LAB)
    # CD4 course: baseline 150-330; MSC rises ~25 %, saline ~8 % by week 48
    b = rng.uniform(150, 330, n)
    b = np.where(is_fail & (fail_code == 0), rng.uniform(360, 420, n), b)
    gain = np.where(arm == 0, 0.25, 0.08)
    frac = np.clip(vis_no / 7, 0, 1)
    cd4 = np.rint(b[vis_sub] * (1 + gain[vis_sub] * frac) * np.exp(rng.normal(0, 0.07, m)))
    ratio = (rng.uniform(0.22, 0.55, n))[vis_sub] * (1 + 0.8 * gain[vis_sub] * frac)
    cd8 = np.rint(cd4 / ratio)
    vals = {"CD4": cd4, "CD8": cd8, "CD4CD8": np.round(cd4 / cd8, 2),
            "CD3": np.rint(cd4 + cd8 + rng.uniform(30, 120, m))}
    for code, _, _, _, _, _, med, cv in LAB:  # 12 tests
        if med is not None:
            vals[code] = med * np.exp(rng.normal(0, cv, n))[vis_sub] * np.exp(
                rng.normal(0, cv / 3, m))
    res = np.empty((m, t), dtype=object)
    for j, (code, _, _, dec, *_rest) in enumerate(LAB):  # 12 tests
        if code == "HIVRNA":
            blip = rng.random(m) < 0.04
            res[:, j] = np.where(blip, rng.integers(21, 150, m).astype(str), "<20")
        else:
            res[:, j] = cm.fmt_fixed(vals[code], dec)
    nd = rng.random((m, t)) < 0.01
    nd[:, :5] = False  # immunology and viral load always done
    lab = np.array(LAB, dtype=object)
    sub = np.repeat(vis_sub, t)
    return _rows(key[sub], np.repeat(vis_evt, t), "F.LB", "IG.LB", np.tile(np.arange(1, t + 1), m),
                 {"IT.LB.LBDAT": np.repeat(date(vis_day), t),
                  "IT.LB.LBTEST": np.tile(lab[:, 0], m),
                  "IT.LB.LBORRES": np.where(nd.ravel(), None, res.ravel()),
                  "IT.LB.LBORRESU": np.where(np.tile(lab[:, 2], m) == "", None,
                                             np.tile(lab[:, 2], m)),
                  "IT.LB.LBORNRLO": np.where(np.tile(lab[:, 4], m) == "", None,
                                             np.tile(lab[:, 4], m)),
                  "IT.LB.LBORNRHI": np.where(np.tile(lab[:, 5], m) == "", None,
                                             np.tile(lab[:, 5], m)),
                  "IT.LB.LBND": np.where(nd.ravel(), "Y", None),
                  "IT.LB.LBREASND": np.where(nd.ravel(), "Sample haemolysed", None)})


def _adverse_events(rng, key, r, arm, vdays, attended, date):
    nr = len(r)
    has = rng.random(nr) < np.where(arm[r] == 0, 0.45, 0.3)
    n_ev = np.where(has, rng.integers(1, 3, nr), 0)
    s = np.repeat(np.arange(nr), n_ev)
    k = len(s)
    rep = pd.Series(s).groupby(s).cumcount().to_numpy() + 1
    term = np.array(AE_TERMS, dtype=object)[rng.integers(0, len(AE_TERMS), k)]
    inf = vdays[s, rng.integers(0, 3, k)]
    last = np.where(attended[s, -1], vdays[s, -1], vdays[s, 4])
    start = np.where(term[:, 1] == "Pyrexia", inf,
                     vdays[s, 0] + 1 + (rng.random(k) * (last - vdays[s, 0] - 1)).astype(int))
    end = start + rng.integers(0, 10, k)
    st_txt = date(start)
    partial = (rng.random(k) < 0.15) & (term[:, 1] != "Pyrexia")
    return _rows(key[r][s], "SE.AE", "F.AE", "IG.AE", rep, {
        "IT.AE.AETERM": term[:, 0],
        "IT.AE.AESTDAT": np.where(partial, pd.Series(st_txt).str[:7], st_txt),
        "IT.AE.AEENDAT": date(end), "IT.AE.AEONGO": np.full(k, "N"),
        "IT.AE.AESEV": rng.choice(["1", "1", "1", "2"], k), "IT.AE.AESER": np.full(k, "N"),
        "IT.AE.AEREL": np.where(term[:, 1] == "Pyrexia", "3", rng.choice(["1", "2", "3"], k)),
        "IT.AE.AEOUT": np.full(k, "1"), "IT.AE.AEDECOD": term[:, 1], "IT.AE.AESOC": term[:, 2]})


def _el(parent, tag, **attrs):
    return etree.SubElement(parent, f"{{{ODM_NS}}}{tag}", {k: v for k, v in attrs.items()})


def _text(parent, tag, text):
    el = _el(parent, tag)
    tt = _el(el, "TranslatedText")
    tt.set(XML_LANG, "en")
    tt.text = text
    return el


def _odm() -> etree._Element:
    """The ODM root with study metadata, site and an empty ClinicalData (filled as text)."""
    root = etree.Element(f"{{{ODM_NS}}}ODM", nsmap={None: ODM_NS})
    for k, v in {"FileType": "Snapshot", "FileOID": FILE_OID, "CreationDateTime": CREATION,
                 "ODMVersion": "1.3.2", "Granularity": "All",
                 "Originator": "Shandong Public Health Clinical Center data management",
                 "SourceSystem": "SDPHCC-EDC", "SourceSystemVersion": "4.2"}.items():
        root.set(k, v)
    study = _el(root, "Study", OID=STUDY_OID)
    gv = _el(study, "GlobalVariables")
    _el(gv, "StudyName").text = "MSCT-A-22"
    _el(gv, "StudyDescription").text = (
        "Mesenchymal stem cells for immune non-responder patients with HIV infection "
        "(NCT05872659); synthetic data")
    _el(gv, "ProtocolName").text = "MSCT-A-22"
    bd = _el(study, "BasicDefinitions")
    for oid, sym in UNITS:  # six units
        _text(_el(bd, "MeasurementUnit", OID=oid, Name=sym), "Symbol", sym)
    mdv = _el(study, "MetaDataVersion", OID=MDV_OID, Name="MSCT-A-22 eCRF version 1")
    proto = _el(mdv, "Protocol")
    for i, e in enumerate(EVENTS, 1):
        _el(proto, "StudyEventRef", StudyEventOID=e[0], OrderNumber=str(i),
            Mandatory="Yes" if e[2] == "Scheduled" else "No")
    for oid, name, typ, _day, forms in EVENTS:
        se = _el(mdv, "StudyEventDef", OID=oid, Name=name, Repeating="No", Type=typ)
        for i, f in enumerate(forms, 1):
            _el(se, "FormRef", FormOID=f, OrderNumber=str(i), Mandatory="No")
    for foid, fname, igoid, _g, _rep in FORMS:
        fd = _el(mdv, "FormDef", OID=foid, Name=fname, Repeating="No")
        _el(fd, "ItemGroupRef", ItemGroupOID=igoid, Mandatory="Yes")
    for _f, _fn, igoid, gname, rep in FORMS:
        ig = _el(mdv, "ItemGroupDef", OID=igoid, Name=gname, Repeating=rep)
        for i, it in enumerate([x for x in ITEMS if x[1] == igoid], 1):
            _el(ig, "ItemRef", ItemOID=it[0], OrderNumber=str(i), Mandatory="No")
    for oid, _g, name, dtype, length, question, cl, mu in ITEMS:
        attrs = {"OID": oid, "Name": name, "DataType": dtype}
        if length is not None:
            attrs["Length"] = str(length)
        idef = _el(mdv, "ItemDef", **attrs)
        _text(idef, "Question", question)
        if mu:
            _el(idef, "MeasurementUnitRef", MeasurementUnitOID=mu)
        if cl:
            _el(idef, "CodeListRef", CodeListOID=cl)
    lab_cl = {"CL.LBTEST": ("Laboratory test", [(c[0], c[1]) for c in LAB])}
    for oid, (name, terms) in {**CODELISTS, **lab_cl}.items():
        cl = _el(mdv, "CodeList", OID=oid, Name=name, DataType="text")
        for coded, decode in terms:
            _text(_el(cl, "CodeListItem", CodedValue=coded), "Decode", decode)
    admin = _el(root, "AdminData", StudyOID=STUDY_OID)
    loc = _el(admin, "Location", OID=SITE_OID, Name=SITE_NAME, LocationType="Site")
    _el(loc, "MetaDataVersionRef", StudyOID=STUDY_OID, MetaDataVersionOID=MDV_OID,
        EffectiveDate="2023-04-01")

    cd = _el(root, "ClinicalData", StudyOID=STUDY_OID, MetaDataVersionOID=MDV_OID)
    cd.text = _PLACEHOLDER
    return root


_PLACEHOLDER = "@@CLINICAL-DATA@@"


def _attr(values: pd.Series) -> pd.Series:
    """Escape text for a double-quoted XML attribute (whole column at once)."""
    return (values.astype(str).str.replace("&", "&amp;", regex=False)
            .str.replace("<", "&lt;", regex=False).str.replace(">", "&gt;", regex=False)
            .str.replace('"', "&quot;", regex=False))


def _clinical_xml(items: pd.DataFrame, key: np.ndarray) -> str:
    """The ClinicalData content as text, built column-wise (no loop over items).

    Rows are sorted subject > event > form > group/repeat > item; an element opens where its
    key changes from the previous row and closes where it changes on the next row. Indentation
    follows the pretty-printed metadata (two spaces per level).
    """
    event_order = {e[0]: i for i, e in enumerate(EVENTS)}
    form_order = {f[0]: i for i, f in enumerate(FORMS)}
    subj_order = {k: i for i, k in enumerate(key)}
    units = {it[0]: it[7] for it in ITEMS if it[7]}
    d = items.assign(so=items["subject"].map(subj_order), eo=items["event"].map(event_order),
                     fo=items["form"].map(form_order))
    d = d.sort_values(["so", "eo", "fo", "repeat", "item_order"], kind="stable")
    d = d.reset_index(drop=True)
    subj = d["subject"]
    grp = d["group"] + "#" + d["repeat"].astype(str)
    new_s = subj.ne(subj.shift())
    new_e = new_s | d["event"].ne(d["event"].shift())
    new_f = new_e | d["form"].ne(d["form"].shift())
    new_g = new_f | grp.ne(grp.shift())
    end_s, end_e, end_f, end_g = (x.shift(-1, fill_value=True) for x in
                                  (new_s, new_e, new_f, new_g))

    def when(flag: pd.Series, text: pd.Series | str) -> pd.Series:
        return pd.Series(np.where(flag, text, ""), index=d.index, dtype=object)

    unit = d["item"].map(units)
    has_unit = unit.notna()
    item_open = ("            <ItemData ItemOID=\"" + _attr(d["item"]) + "\" Value=\""
                 + _attr(d["value"]) + "\"")
    item_text = item_open + pd.Series(np.where(
        has_unit, ">\n              <MeasurementUnitRef MeasurementUnitOID=\""
        + unit.fillna("").astype(str) + "\"/>\n            </ItemData>\n", "/>\n"),
        index=d.index, dtype=object)
    text = (
        when(new_s, "    <SubjectData SubjectKey=\"" + _attr(subj) + "\">\n"
             f"      <SiteRef LocationOID=\"{SITE_OID}\"/>\n")
        + when(new_e, "      <StudyEventData StudyEventOID=\"" + _attr(d["event"]) + "\">\n")
        + when(new_f, "        <FormData FormOID=\"" + _attr(d["form"]) + "\">\n")
        + when(new_g, "          <ItemGroupData ItemGroupOID=\"" + _attr(d["group"])
               + "\" ItemGroupRepeatKey=\"" + d["repeat"].astype(str) + "\">\n")
        + item_text
        + when(end_g, "          </ItemGroupData>\n")
        + when(end_f, "        </FormData>\n")
        + when(end_e, "      </StudyEventData>\n")
        + when(end_s, "    </SubjectData>\n"))
    return "".join(text.tolist())
