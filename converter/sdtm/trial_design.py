"""Trial design domains (TS, TA, TE, TV, TI) from study.yaml, and SE/SV from the mapped data.

Builders are pure functions of the study config and the frames mapped so far. A domain file
``sdtm/ts.yaml`` containing ``domain: TS`` and ``build: ts`` asks for one.

- TS: one record per declared parameter (``trial_design.ts``); TSPARM is decoded from CT when
  not given; SDTIGVER is added from ``sdtmig_version`` when not declared. Missing parameters
  that reviewers expect (SSTDTC first: FDA technical rejection criterion 1734) are MAP.TS issues.
- TA, TE, TV, TI: the declared arms, elements, visits and criteria.
- SE: per subject, the elements of the actual arm (ACTARMCD) in order; an element starts on
  the date named by its ``start`` (a DM variable, or the first/last date of a variable of
  another domain) and ends when the next one starts (the last ends on its ``end`` date). Subjects not in a declared arm (screen failures) get the first element only.
- SV: one record per subject and visit seen in any mapped domain with VISITNUM, VISIT and a
  date: SVSTDTC/SVENDTC the earliest/latest complete date. Its provenance joins every
  contributing record: source files "a.csv; b.csv", source rows "a.csv:3; b.csv:7".
"""

from __future__ import annotations

import pandas as pd

from converter.issues import IssueLog
from converter.mapping.fast import plain_frame
from converter.model import SRC_FILE, SRC_ROW

# TSPARM of parameters younger than some pinned CT packages (e.g. SDTIGVER after 2015-12-18)
KNOWN_TSPARM = {"SDTIGVER": "SDTM IG Version", "SDTMVER": "SDTM Version"}
EXPECTED_TS = ["SSTDTC", "SDTIGVER", "TITLE", "TPHASE", "STYPE", "SPONSOR", "INDIC", "TRT",
               "RANDOM", "TBLIND", "TCNTRL", "PLANSUB", "AGEMIN", "AGEMAX", "SEXPOP", "ADDON",
               "LENGTH", "ACTSUB", "SENDTC"]


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=columns)
    out[SRC_FILE] = "study.yaml"
    out[SRC_ROW] = [f"trial_design[{i}]" for i in range(len(out))]
    return out


def build_ts(study, frames, issues: IssueLog) -> pd.DataFrame:
    cfg = study.config
    params = list(cfg.trial_design.ts)
    codes = {p.parmcd for p in params}
    rows = []
    seq: dict[str, int] = {}
    ct = study.ct
    parm_names = {}
    if ct.has("TSPARMCD") and ct.has("TSPARM"):
        cd, nm = ct.codelist("TSPARMCD").terms, ct.codelist("TSPARM").terms
        by_code = dict(zip(nm["term_code"], nm["term_submission_value"]))
        parm_names = {v: by_code.get(c) for c, v in zip(cd["term_code"],
                                                        cd["term_submission_value"])}
    extra = []
    if "SDTIGVER" not in codes:
        extra.append(("SDTIGVER", cfg.sdtmig_version))
    for p in params:
        seq[p.parmcd] = seq.get(p.parmcd, 0) + 1
        parm = p.parm or parm_names.get(p.parmcd) or KNOWN_TSPARM.get(p.parmcd)
        if parm is None:
            issues.add("MAP.TS", f"TSPARMCD {p.parmcd} is not in {ct.name}; TSPARM unknown",
                       stage="sdtm", dataset="TS", variable="TSPARM", value=p.parmcd,
                       source_file=f"{study.root.name}/study.yaml",
                       expected="a TSPARMCD of the pinned CT package, or give 'parm'")
        rows.append({"STUDYID": cfg.study_id, "DOMAIN": "TS", "TSSEQ": float(seq[p.parmcd]),
                     "TSGRPID": p.grpid, "TSPARMCD": p.parmcd,
                     "TSPARM": parm, "TSVAL": p.value, "TSVALNF": p.valnf,
                     "TSVALCD": p.valcd, "TSVCDREF": p.vcdref, "TSVCDVER": p.vcdver})
    for code, value in extra:
        rows.append({"STUDYID": cfg.study_id, "DOMAIN": "TS", "TSSEQ": 1.0, "TSGRPID": None,
                     "TSPARMCD": code,
                     "TSPARM": parm_names.get(code) or KNOWN_TSPARM.get(code), "TSVAL": value,
                     "TSVALNF": None,
                     "TSVALCD": None, "TSVCDREF": None, "TSVCDVER": None})
    # TSVALNF (null flavour of a parameter without value) only when some parameter has one
    nf = ["TSVALNF"] if any(p.valnf for p in params) else []
    out = _frame(rows, ["STUDYID", "DOMAIN", "TSSEQ", "TSGRPID", "TSPARMCD", "TSPARM", "TSVAL",
                        *nf, "TSVALCD", "TSVCDREF", "TSVCDVER"])
    have = set(out["TSPARMCD"])
    for code in EXPECTED_TS:
        if code not in have:
            issues.add("MAP.TS", f"trial summary parameter {code} is not declared",
                       severity="error" if code == "SSTDTC" else "warning", stage="sdtm",
                       dataset="TS", variable="TSPARMCD", value=code,
                       source_file=f"{study.root.name}/study.yaml",
                       expected="declare it under trial_design.ts")
    return out


def build_ta(study, frames, issues) -> pd.DataFrame:
    td = study.config.trial_design
    te = {e.etcd: e for e in td.elements}
    rows = []
    for arm in td.arms:
        for i, etcd in enumerate(arm.elements, start=1):
            rows.append({"STUDYID": study.config.study_id, "DOMAIN": "TA", "ARMCD": arm.armcd,
                         "ARM": arm.arm, "TAETORD": float(i), "ETCD": etcd,
                         "ELEMENT": te[etcd].element, "TABRANCH": arm.branch if i == 1 else None,
                         "TATRANS": None, "EPOCH": te[etcd].epoch})
    return _frame(rows, ["STUDYID", "DOMAIN", "ARMCD", "ARM", "TAETORD", "ETCD", "ELEMENT",
                         "TABRANCH", "TATRANS", "EPOCH"])


def build_te(study, frames, issues) -> pd.DataFrame:
    rows = [{"STUDYID": study.config.study_id, "DOMAIN": "TE", "ETCD": e.etcd,
             "ELEMENT": e.element, "TESTRL": e.start_rule, "TEENRL": e.end_rule,
             "TEDUR": e.duration} for e in study.config.trial_design.elements]
    return _frame(rows, ["STUDYID", "DOMAIN", "ETCD", "ELEMENT", "TESTRL", "TEENRL", "TEDUR"])


def build_tv(study, frames, issues) -> pd.DataFrame:
    rows = []
    for v in study.config.trial_design.visits:
        start = v.start_rule
        if start is None and v.window is not None:
            start = f"Day {v.window[0]} to Day {v.window[1]}"
        rows.append({"STUDYID": study.config.study_id, "DOMAIN": "TV", "VISITNUM": v.visitnum,
                     "VISIT": v.visit, "VISITDY": None if v.visitdy is None else float(v.visitdy),
                     "ARMCD": v.armcd, "TVSTRL": start, "TVENRL": v.end_rule})
    return _frame(rows, ["STUDYID", "DOMAIN", "VISITNUM", "VISIT", "VISITDY", "ARMCD", "TVSTRL",
                         "TVENRL"])


def build_ti(study, frames, issues) -> pd.DataFrame:
    rows = [{"STUDYID": study.config.study_id, "DOMAIN": "TI", "IETESTCD": c.ietestcd,
             "IETEST": c.ietest, "IECAT": c.iecat, "IESCAT": c.iescat, "TIRL": c.tirl,
             "TIVERS": c.tivers} for c in study.config.trial_design.criteria]
    return _frame(rows, ["STUDYID", "DOMAIN", "IETESTCD", "IETEST", "IECAT", "IESCAT", "TIRL",
                         "TIVERS"])


SE_COLUMNS = ["STUDYID", "DOMAIN", "USUBJID", "SESEQ", "ETCD", "ELEMENT", "TAETORD", "EPOCH",
              "SESTDTC", "SEENDTC"]


def subject_dates(rule, frames: dict[str, pd.DataFrame], study) -> pd.Series:
    """Per-subject date (index USUBJID) named by an element's ``start``/``end``."""
    from converter.mapping.steps import StepContext, evaluate_all

    if rule is None:
        return pd.Series(dtype=object)
    if isinstance(rule, str):
        dm = frames["DM"].drop_duplicates("USUBJID").set_index("USUBJID")
        return dm[rule] if rule in dm else pd.Series(dtype=object)
    frame = frames.get(rule.domain)
    if frame is None or rule.variable not in frame or "USUBJID" not in frame:
        return pd.Series(dtype=object)
    if rule.where:
        ctx = StepContext(domain=rule.domain, raw=frame, out=frame, study=study,
                          issues=IssueLog())
        frame = frame[evaluate_all(rule.where, ctx).to_numpy()]
    vals = plain_frame(frame[["USUBJID", rule.variable]]).dropna()
    vals = vals[vals[rule.variable].astype(str).str.match(r"^\d{4}-\d{2}-\d{2}")]
    got = vals.groupby("USUBJID", observed=True)[rule.variable].agg(
        "min" if rule.pick == "first" else "max")
    return got.str[:10] if getattr(rule, "precision", "datetime") == "date" else got


def build_se(study, frames, issues) -> pd.DataFrame:
    td = study.config.trial_design
    dm = frames.get("DM")
    if dm is None or not td.arms or "USUBJID" not in dm:
        return pd.DataFrame(columns=SE_COLUMNS + [SRC_FILE, SRC_ROW])
    te = {e.etcd: e for e in td.elements}
    plan = pd.DataFrame([{"ACTARMCD": a.armcd, "TAETORD": float(i), "ETCD": e,
                          "ELEMENT": te[e].element, "EPOCH": te[e].epoch}
                         for a in td.arms for i, e in enumerate(a.elements, start=1)])
    first = td.arms[0].elements[0]
    subj = dm[["USUBJID"]].copy()
    subj["ACTARMCD"] = dm.get("ACTARMCD")
    subj[SRC_FILE], subj[SRC_ROW] = dm[SRC_FILE].to_numpy(), dm[SRC_ROW].to_numpy()
    known = subj["ACTARMCD"].isin(set(plan["ACTARMCD"]))
    planned = subj[known].merge(plan, on="ACTARMCD", how="inner")
    other = subj[~known].assign(TAETORD=1.0, ETCD=first, ELEMENT=te[first].element,
                                EPOCH=te[first].epoch)
    se = pd.concat([planned, other], ignore_index=True)
    starts = pd.Series(None, index=se.index, dtype=object)
    ends = pd.Series(None, index=se.index, dtype=object)
    for etcd, element in te.items():  # a few elements; each date rule computed once
        sel = se["ETCD"].eq(etcd)
        if not sel.any():
            continue
        starts[sel] = se.loc[sel, "USUBJID"].map(subject_dates(element.start, frames,
                                                               study)).to_numpy()
        ends[sel] = se.loc[sel, "USUBJID"].map(subject_dates(element.end, frames,
                                                             study)).to_numpy()
    se["SESTDTC"] = starts
    se = se[se["SESTDTC"].notna()].sort_values(["USUBJID", "TAETORD"], kind="mergesort")
    nxt = se.groupby("USUBJID", observed=True)["SESTDTC"].shift(-1)
    end = ends.reindex(se.index)
    se["SEENDTC"] = nxt.where(nxt.notna(), end)
    se["STUDYID"] = study.config.study_id
    se["DOMAIN"] = "SE"
    se["SESEQ"] = (se.groupby("USUBJID", observed=True).cumcount() + 1).astype("float64")
    return se[SE_COLUMNS + [SRC_FILE, SRC_ROW]].reset_index(drop=True)


SV_COLUMNS = ["STUDYID", "DOMAIN", "USUBJID", "VISITNUM", "VISIT", "VISITDY", "SVSTDTC",
              "SVENDTC"]


# domains whose --STDTC is the visit date (treatment given at the visit); the --STDTC of
# events and history (AE, MH, DS, CM: onset, start of a past condition) never dates a visit
SV_STDTC_DOMAINS = ("EX", "EC")


def build_sv(study, frames, issues) -> pd.DataFrame:
    parts = []
    for dom, f in frames.items():
        if dom in ("SV", "SE") or dom.startswith("SUPP") or "VISITNUM" not in f:
            continue
        dtc = f"{dom}DTC" if f"{dom}DTC" in f else (
            f"{dom}STDTC" if dom in SV_STDTC_DOMAINS and f"{dom}STDTC" in f else None)
        if dtc is None or "USUBJID" not in f:
            continue
        part = pd.DataFrame({"USUBJID": f["USUBJID"].to_numpy(),
                             "VISITNUM": pd.to_numeric(f["VISITNUM"], errors="coerce"),
                             "VISIT": f["VISIT"].to_numpy() if "VISIT" in f else None,
                             "dtc": f[dtc].astype(object).to_numpy(),
                             SRC_FILE: f[SRC_FILE].to_numpy(), SRC_ROW: f[SRC_ROW].to_numpy()})
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=SV_COLUMNS + [SRC_FILE, SRC_ROW])
    allv = pd.concat(parts, ignore_index=True)
    allv = allv[allv["USUBJID"].notna() & allv["VISITNUM"].notna()]
    # complete dates only (partial dates date no visit); None, never NaN, in the object column
    full = allv["dtc"].astype(str).str.match(r"^\d{4}-\d{2}-\d{2}").to_numpy()
    allv["date"] = None
    allv.loc[full, "date"] = allv.loc[full, "dtc"].astype(str).str[:10]
    # provenance of a visit = every contributing record, joined in (file, row) order
    row_num = pd.to_numeric(allv[SRC_ROW], errors="coerce")
    allv = allv.assign(_row=row_num).sort_values(["USUBJID", "VISITNUM", SRC_FILE, "_row",
                                                  SRC_ROW], kind="mergesort")
    allv["_ref"] = allv[SRC_FILE].astype(str) + ":" + allv[SRC_ROW].astype(str)
    g = allv.groupby(["USUBJID", "VISITNUM"], sort=True, observed=True)
    sv = g.agg(VISIT=("VISIT", "first"),
               **{SRC_FILE: (SRC_FILE, lambda f: "; ".join(dict.fromkeys(f))),
                  SRC_ROW: ("_ref", "; ".join)}).reset_index()
    dated = allv[full].groupby(["USUBJID", "VISITNUM"], sort=True,
                                  observed=True)["date"].agg(["min", "max"])
    key = pd.MultiIndex.from_frame(sv[["USUBJID", "VISITNUM"]])
    span = dated.reindex(key)
    sv["SVSTDTC"] = span["min"].astype(object).where(span["min"].notna(), None).to_numpy()
    sv["SVENDTC"] = span["max"].astype(object).where(span["max"].notna(), None).to_numpy()
    tv = {v.visitnum: v for v in study.config.trial_design.visits}
    sv["VISITDY"] = sv["VISITNUM"].map(
        {n: float(v.visitdy) for n, v in tv.items() if v.visitdy is not None}).astype("float64")
    sv["STUDYID"] = study.config.study_id
    sv["DOMAIN"] = "SV"
    return sv[SV_COLUMNS + [SRC_FILE, SRC_ROW]]


BUILDERS = {"ts": build_ts, "ta": build_ta, "te": build_te, "tv": build_tv, "ti": build_ti,
            "se": build_se, "sv": build_sv}


def build(name: str, study, frames: dict[str, pd.DataFrame], issues: IssueLog) -> pd.DataFrame:
    """Build one trial design / subject-element / subject-visit domain."""
    out = BUILDERS[name](study, frames, issues)
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].where(out[col].notna(), None)
    return out


def origins(name: str, columns: list[str]) -> dict[str, dict]:
    """Origin entries per variable for define.xml: trial design is Protocol, SE/SV Derived."""
    if name in ("se", "sv"):
        entry = {"origin": "Derived", "source": None,
                 "method": f"{name.upper()} derived from the mapped domains and the trial design",
                 "comment": None, "algorithm": name}
    else:
        entry = {"origin": "Protocol", "source": "study.yaml trial_design", "method": None,
                 "comment": None, "algorithm": name}
    return {c: dict(entry) for c in columns if c not in (SRC_FILE, SRC_ROW)}
