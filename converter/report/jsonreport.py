"""report.json: the whole issue log, the rule table and the counts, for machines."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from converter.atomic import atomic_write_bytes
from converter.report.common import ReportData


def _records(frame: pd.DataFrame) -> list[dict]:
    clean = frame.astype(object).where(frame.notna(), None)
    out = clean.to_dict("records")
    for row in out:
        for k, v in row.items():
            if isinstance(v, (np.integer,)):
                row[k] = int(v)
            elif isinstance(v, (np.floating, float)):
                row[k] = int(v) if float(v).is_integer() else float(v)
    return out


def write_json(data: ReportData, path: Path) -> Path:
    counts = data.counts()
    doc = {
        "title": data.title,
        "created": data.created,
        "fail_on": data.fail_on,
        "counts": {sev: {k: int(counts.loc[sev, k]) for k in counts.columns}
                   for sev in counts.index},
        "failing": len(data.failing()),
        "rules": _records(data.rules),
        "datasets": _records(data.by_dataset()),
        "issues": _records(data.issues),
    }
    text = json.dumps(doc, indent=1, ensure_ascii=False, sort_keys=False, allow_nan=False)
    atomic_write_bytes(path, (text + "\n").encode("utf-8"))
    return path
