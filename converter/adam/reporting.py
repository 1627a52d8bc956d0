"""Assemble the reviewer results declared in the configuration (KM, log-rank, lab plots)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from converter.adam.config import BdsConfig, TteConfig
from converter.adam.filters import evaluate_filter
from converter.adam.results import (
    km_plot,
    km_table,
    lab_over_time_plot,
    lab_over_time_table,
    logrank_table,
)
from converter.atomic import atomic_write_text


def _write_csv(table: pd.DataFrame, path: Path) -> None:
    atomic_write_text(path, table.to_csv(index=False, lineterminator="\n", float_format="%.6g"))


def build_results(configs: dict, result, out_dir: Path | None) -> None:
    for name, (cfg, _path) in sorted(configs.items()):
        frame = result.frames.get(name)
        if frame is None or frame.empty:
            continue
        if isinstance(cfg, TteConfig) and cfg.km is not None:
            km = cfg.km
            points = [(tp.label, tp.day if cfg.unit == "days" else tp.day / 7.0)
                      for tp in km.timepoints]
            tables, tests = [], []
            for p in cfg.parameters:
                tables.append(km_table(frame, p.paramcd, group=km.group,
                                       group_order=km.group_order, timepoints=points))
                tests.append(logrank_table(frame, p.paramcd, group=km.group,
                                           group_order=km.group_order))
            km_t = pd.concat(tables, ignore_index=True)
            lr_t = pd.concat(tests, ignore_index=True)
            result.tables[f"{name.lower()}_km"] = km_t
            result.tables[f"{name.lower()}_logrank"] = lr_t
            if out_dir is not None:
                out_dir.mkdir(parents=True, exist_ok=True)
                _write_csv(km_t, out_dir / f"{name.lower()}_km.csv")
                _write_csv(lr_t, out_dir / f"{name.lower()}_logrank.csv")
                result.figures.append(km_plot(
                    frame, [p.paramcd for p in cfg.parameters], out_dir / f"{name.lower()}_km.png",
                    group=km.group, group_order=km.group_order, unit=cfg.unit,
                    x_unit=km.x_unit, logrank=lr_t, title=km.title))
        if isinstance(cfg, BdsConfig):
            for plot in cfg.plots:
                mask = evaluate_filter(plot.filter, frame) if plot.filter is not None else None
                table = lab_over_time_table(frame, plot.parameter, group=plot.group, x=plot.x,
                                            x_label=plot.x_label, mask=mask)
                key = f"{name.lower()}_{plot.parameter.lower()}_by_visit"
                result.tables[key] = table
                if out_dir is not None and len(table):
                    out_dir.mkdir(parents=True, exist_ok=True)
                    _write_csv(table, out_dir / f"{key}.csv")
                    param = frame.loc[frame["PARAMCD"] == plot.parameter, "PARAM"]
                    result.figures.append(lab_over_time_plot(
                        table, out_dir / f"{key}.png", group=plot.group, x=plot.x,
                        x_label=plot.x_label, title=plot.title,
                        y_label=str(param.iloc[0]) if len(param) else plot.parameter))
