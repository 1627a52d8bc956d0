"""Results a reviewer looks at first: Kaplan–Meier tables, log-rank tests, plots over time.

Plots are PNG through matplotlib's Agg backend with no timestamp or software tag in the file,
so the same data gives the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from converter.atomic import atomic_write_bytes

_PNG_METADATA = {"Software": None}


def _groups(frame: pd.DataFrame, group: str, order: Sequence[str]) -> list[str]:
    present = [g for g in frame[group].dropna().unique()]
    first = [g for g in order if g in present]
    return first + sorted(g for g in present if g not in first)


def km_table(adtte: pd.DataFrame, paramcd: str, *, group: str = "TRT01P",
             group_order: Sequence[str] = (), timepoints: Sequence[tuple[str, float]] = ()
             ) -> pd.DataFrame:
    """Per group: subjects, events, censored, median time and cumulative event probability
    (1 − KM survival, with 95 % CI) at each timepoint (in AVAL units)."""
    from lifelines import KaplanMeierFitter

    data = adtte.loc[adtte["PARAMCD"] == paramcd]
    rows = []
    for g in _groups(data, group, group_order):
        sub = data.loc[data[group] == g]
        kmf = KaplanMeierFitter()
        kmf.fit(sub["AVAL"].astype(float), event_observed=(sub["CNSR"] == 0).astype(int))
        ci = kmf.confidence_interval_survival_function_
        row = {"PARAMCD": paramcd, "group": g, "n": len(sub),
               "events": int((sub["CNSR"] == 0).sum()), "censored": int((sub["CNSR"] != 0).sum()),
               "median": float(kmf.median_survival_time_)}
        for label, t in timepoints:
            surv = float(kmf.survival_function_at_times(t).iloc[0])
            idx = ci.index.searchsorted(t, side="right") - 1
            lo_s, hi_s = ((float(ci.iloc[idx, 0]), float(ci.iloc[idx, 1])) if idx >= 0
                          else (1.0, 1.0))
            row[f"cum_prob_{label}"] = round(100 * (1 - surv), 1)
            row[f"cum_prob_{label}_lcl"] = round(100 * (1 - hi_s), 1)
            row[f"cum_prob_{label}_ucl"] = round(100 * (1 - lo_s), 1)
        rows.append(row)
    return pd.DataFrame(rows)


def logrank_table(adtte: pd.DataFrame, paramcd: str, *, group: str = "TRT01P",
                  group_order: Sequence[str] = ()) -> pd.DataFrame:
    """Log-rank tests: all groups together, then every pair."""
    from lifelines.statistics import multivariate_logrank_test, pairwise_logrank_test

    data = adtte.loc[(adtte["PARAMCD"] == paramcd) & adtte[group].notna()]
    groups = _groups(data, group, group_order)
    t = data["AVAL"].astype(float)
    e = (data["CNSR"] == 0).astype(int)
    rows = []
    if len(groups) >= 2:
        res = multivariate_logrank_test(t, data[group], e)
        rows.append({"PARAMCD": paramcd, "comparison": " vs ".join(groups),
                     "df": len(groups) - 1, "chisq": float(res.test_statistic),
                     "p_value": float(res.p_value)})
    if len(groups) >= 3:
        pw = pairwise_logrank_test(t, data[group], e).summary
        for (a, b), r in pw.iterrows():
            pair = sorted([a, b], key=groups.index)
            rows.append({"PARAMCD": paramcd, "comparison": f"{pair[0]} vs {pair[1]}", "df": 1,
                         "chisq": float(r["test_statistic"]), "p_value": float(r["p"])})
    return pd.DataFrame(rows, columns=["PARAMCD", "comparison", "df", "chisq", "p_value"])


def _save(fig, path: Path) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata=_PNG_METADATA)
    atomic_write_bytes(path, buf.getvalue())
    return path


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def km_plot(adtte: pd.DataFrame, paramcds: Sequence[str], path: Path, *, group: str = "TRT01P",
            group_order: Sequence[str] = (), unit: str = "days", x_unit: str = "weeks",
            logrank: pd.DataFrame | None = None, title: str | None = None) -> Path:
    """Cumulative probability of the event (1 − KM) by group, one panel per parameter."""
    from lifelines import KaplanMeierFitter

    plt = _plt()
    fig, axes = plt.subplots(1, len(paramcds), figsize=(5.2 * len(paramcds), 4.2), squeeze=False)
    scale = (7.0 if unit == "days" and x_unit == "weeks" else 1.0)
    for ax, paramcd in zip(axes[0], paramcds, strict=True):
        data = adtte.loc[adtte["PARAMCD"] == paramcd]
        for g in _groups(data, group, group_order):
            sub = data.loc[data[group] == g]
            kmf = KaplanMeierFitter()
            kmf.fit(sub["AVAL"].astype(float) / scale, event_observed=(sub["CNSR"] == 0))
            sf = kmf.survival_function_
            ax.step(sf.index, 100 * (1 - sf.iloc[:, 0]), where="post",
                    label=f"{g} (n={len(sub)})")
        p = ""
        if logrank is not None and len(logrank):
            lr = logrank.loc[logrank["PARAMCD"] == paramcd]
            if len(lr):
                pv = float(lr.iloc[0]["p_value"])
                p = "\nlog-rank P " + ("< 0.001" if pv < 0.001 else f"= {pv:.3f}")
        param = data["PARAM"].iloc[0] if len(data) and "PARAM" in data else paramcd
        ax.set_title(f"{paramcd}: {param}{p}", fontsize=9)
        ax.set_xlabel(f"time since start ({x_unit if scale != 1 else unit})")
        ax.set_ylabel("cumulative probability (%)")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    out = _save(fig, path)
    plt.close(fig)
    return out


def lab_over_time_table(bds: pd.DataFrame, paramcd: str, *, group: str = "TRT01P",
                        x: str = "AVISITN", x_label: str = "AVISIT",
                        mask: pd.Series | None = None) -> pd.DataFrame:
    """n, median, Q1, Q3 of AVAL by group and visit."""
    data = bds.loc[(bds["PARAMCD"] == paramcd) & bds["AVAL"].notna() & bds[x].notna()]
    if mask is not None:
        data = data.loc[mask.reindex(data.index).fillna(False).astype(bool)]
    g = data.groupby([group, x, x_label], sort=True, observed=True)["AVAL"]
    out = pd.DataFrame({"n": g.size(), "median": g.median(), "q1": g.quantile(0.25),
                        "q3": g.quantile(0.75)}).reset_index()
    out.insert(0, "PARAMCD", paramcd)
    return out


def lab_over_time_plot(table: pd.DataFrame, path: Path, *, group: str = "TRT01P",
                       x: str = "AVISITN", x_label: str = "AVISIT", group_order=(),
                       title: str | None = None, y_label: str = "") -> Path:
    """Median with IQR band per group over analysis visits."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    groups = _groups(table, group, group_order)
    offsets = np.linspace(-0.6, 0.6, max(len(groups), 1))
    for off, g in zip(offsets, groups, strict=True):
        sub = table.loc[table[group] == g].sort_values(x)
        xs = sub[x].to_numpy(dtype=float) + off
        ax.errorbar(xs, sub["median"], yerr=[sub["median"] - sub["q1"], sub["q3"] - sub["median"]],
                    marker="o", capsize=3, label=str(g))
    ticks = table[[x, x_label]].drop_duplicates().sort_values(x)
    ax.set_xticks(ticks[x].to_numpy(dtype=float))
    ax.set_xticklabels(ticks[x_label], rotation=45, ha="right", fontsize=8)
    ax.set_ylabel(y_label or "median (IQR)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    out = _save(fig, path)
    plt.close(fig)
    return out
