"""ADaM: derive a study's analysis datasets from SDTM, as declared in ``mappings/<study>/adam/``.

>>> # derive_adam(Path("mappings/msc-inr-p2"), sdtm_frames, IssueLog(), out_dir=Path("out/results"))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from converter.adam.config import (
    AdslConfig,
    BdsConfig,
    OccdsConfig,
    TteConfig,
    load_adam_configs,
)
from converter.adam.derivations import DerivationError
from converter.errors import ConfigError
from converter.issues import IssueLog


@dataclass
class AdamResult:
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    origins: dict[str, dict[str, dict]] = field(default_factory=dict)
    figures: list[Path] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


def study_folder(study: Any) -> Path:
    """The study folder of a ``Study`` object (or a path given directly)."""
    if isinstance(study, (str, Path)):
        return Path(study)
    for attr in ("study_dir", "folder", "path", "root", "directory", "base_dir"):
        value = getattr(study, attr, None)
        if isinstance(value, (str, Path)) and Path(value).is_dir():
            return Path(value)
    raise ConfigError("cannot tell the study folder of the study object given to derive_adam",
                      hint="pass the study folder path")


def derive_adam(study: Any, sdtm: dict[str, pd.DataFrame], issues: IssueLog,
                out_dir: Path | None = None, *, missing_sdtm: str = "error") -> AdamResult:
    """Derive every dataset declared in ``<study>/adam/*.yaml`` from the SDTM frames.

    ADSL first, then BDS and OCCDS datasets, then time-to-event datasets (which may use any of
    them as sources). With ``out_dir``, KM tables (CSV) and plots (PNG) are written there.
    Configuration mistakes raise ConfigError; data problems go to ``issues``.
    ``missing_sdtm="skip"`` (used by ``run``, whose SDTM is whatever the raw export holds)
    skips a dataset whose input domain is absent, with an ``ADAM.NOSDTM`` warning, instead of
    stopping; ``"error"`` (``derive`` on a given SDTM folder) stops with a located error.
    """
    configs = load_adam_configs(study_folder(study))
    # Copy-on-write, scoped to this call: derivations return new frames, and with CoW their
    # shallow copies and column selections share memory until written (halves the peak
    # memory on a 5 M-row LB). Nothing here writes into a frame it did not create.
    with pd.option_context("mode.copy_on_write", True):
        result = _derive(configs, sdtm, issues, out_dir, missing_sdtm)
        # hand back frames that share no memory with the caller's SDTM: outside this block
        # pandas writes in place again
        result.frames = {k: v.copy(deep=True) for k, v in result.frames.items()}
    return result


def _missing_inputs(cfg: Any, available: set[str]) -> list[str]:
    """Input datasets a BDS/OCCDS/TTE configuration reads that are not available."""
    if isinstance(cfg, (BdsConfig, OccdsConfig)):
        needed = {cfg.source}
    elif isinstance(cfg, TteConfig):
        needed = {src.dataset for p in cfg.parameters for src in (*p.events, *p.censors)}
    else:
        return []
    return sorted(n for n in needed if n.upper() not in available)


def _derive(configs: dict, sdtm: dict[str, pd.DataFrame], issues: IssueLog,
            out_dir: Path | None, missing_sdtm: str = "error") -> AdamResult:
    from converter.adam.datasets._common import prepare_sdtm
    from converter.adam.datasets.adsl import derive_adsl
    from converter.adam.datasets.bds import derive_bds
    from converter.adam.datasets.occds import derive_occds
    from converter.adam.datasets.tte import derive_tte
    from converter.adam.reporting import build_results

    frames = prepare_sdtm(sdtm, issues)
    result = AdamResult()
    rank = {"adsl": 0, "bds": 1, "occds": 1, "tte": 2}
    adsl = None
    for name, (cfg, path) in sorted(configs.items(), key=lambda kv: (rank[kv[1][0].kind], kv[0])):
        missing = _missing_inputs(cfg, {k.upper() for k in (*frames, *result.frames)})
        if missing and missing_sdtm == "skip":
            issues.add("ADAM.NOSDTM", f"{name} was not derived: its input dataset(s) "
                       f"{', '.join(missing)} are not in this study's SDTM",
                       severity="warning", stage="adam", dataset=name,
                       source_file=str(path.name), expected=", ".join(missing))
            continue
        try:
            if isinstance(cfg, AdslConfig):
                frame, orig = derive_adsl(cfg, frames, issues)
                adsl = frame
            elif isinstance(cfg, BdsConfig):
                frame, orig = derive_bds(cfg, frames, adsl, issues)
            elif isinstance(cfg, OccdsConfig):
                frame, orig = derive_occds(cfg, frames, adsl, issues)
            elif isinstance(cfg, TteConfig):
                sources = {**frames, **result.frames}
                frame, orig = derive_tte(cfg, sources, adsl, issues, file=str(path))
            else:  # pragma: no cover - the config union is closed
                raise TypeError(cfg)
        except DerivationError as exc:
            raise ConfigError(f"{name}: {exc}", file=str(path),
                              hint="a variable named in this file is not in the data") from None
        result.frames[name] = frame.reset_index(drop=True)
        result.origins[name] = orig
    build_results(configs, result, out_dir)
    return result


__all__ = ["AdamResult", "derive_adam", "study_folder"]
