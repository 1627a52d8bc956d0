"""Run one mapping step on tiny literal frames (shared by tests/test_algo_*.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from pydantic import TypeAdapter

from converter.issues import IssueLog
from converter.mapping.algorithms import REGISTRY, AnyStep
from converter.mapping.study import Study, StudyConfig
from converter.model import SRC_FILE, SRC_ROW

STEP = TypeAdapter(AnyStep)


def study(synonyms: dict | None = None, sponsor: set | None = None, **config) -> Study:
    cfg = {"study_id": "S1", "study_name": "Test", "ct_package": "sdtmct-2015-12-18",
           "created": "2026-01-01T00:00:00", **config}
    return Study(root=Path("/nonexistent/s1"), config=StudyConfig.model_validate(cfg),
                 domains={}, synonyms=synonyms or {}, sponsor_codelists=sponsor or set())


def raw(**cols) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    frame = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in cols.items()})
    frame[SRC_FILE] = "raw.csv"
    frame[SRC_ROW] = [str(i) for i in range(1, n + 1)]
    return frame


def run(step: dict, raw_frame: pd.DataFrame, out: dict | None = None, *, st: Study | None = None,
        frames: dict | None = None, domain: str = "XX", sources: dict | None = None
        ) -> tuple[pd.Series, IssueLog]:
    from converter.mapping.steps import StepContext

    params = STEP.validate_python(step)
    o = pd.DataFrame({k: pd.Series(v, dtype=object if not isinstance(v[0] if v else None,
                                                                       float) else "float64")
                      for k, v in (out or {}).items()}, index=raw_frame.index)
    o[SRC_FILE] = raw_frame[SRC_FILE].to_numpy()
    o[SRC_ROW] = raw_frame[SRC_ROW].to_numpy()
    issues = IssueLog()
    ctx = StepContext(domain=domain, raw=raw_frame, out=o, study=st or study(), issues=issues,
                      frames=frames or {}, sources=sources or {}, target=step.get("target"))
    return REGISTRY[params.algorithm].run(params, ctx), issues


def values(s: pd.Series) -> list:
    return [None if (v is None or (isinstance(v, float) and pd.isna(v))) else v for v in s]
