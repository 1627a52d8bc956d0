"""Compare a define.xml with the datasets it should describe (for validation of delivered data).

Every difference is an issue (stage ``define``): a dataset or variable on one side only
(``DEF.DATA.DATASET``, ``DEF.DATA.VARIABLE``), variables in another order (``DEF.DATA.ORDER``),
a text value longer than the define's Length (``DEF.DATA.LENGTH``), or a value of a variable
with an enumerated codelist that the codelist does not list (``DEF.DATA.TERM``).

>>> from converter.define.model import Define, MetaDataVersion, Study
>>> empty = Define("F", "2024-01-01T00:00:00", Study("S", "S", "S", "S", MetaDataVersion("M", "M")))
>>> compare_define_to_data(empty, {}, IssueLog())
0
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import pyarrow.compute as pc

from converter.define.generate import _text_array
from converter.define.model import Define
from converter.define.reader import read_define
from converter.issues import IssueLog
from converter.model import PROVENANCE_COLUMNS, Dataset

STAGE = "define"


def compare_define_to_data(define: Define | str | os.PathLike, datasets: Mapping[str, Dataset],
                           issues: IssueLog) -> int:
    """Add one issue per difference between ``define`` and ``datasets``; return the count."""
    if not isinstance(define, Define):
        define = read_define(define)
    before = len(issues)
    items = {i.oid: i for i in define.mdv.item_defs}
    codelists = {c.oid: c for c in define.mdv.codelists}
    groups = {g.name.upper(): g for g in define.mdv.item_groups}
    data = {name.upper(): ds for name, ds in datasets.items()}
    for name in sorted(set(groups) - set(data)):
        issues.add("DEF.DATA.DATASET", f"define.xml describes dataset {name}, which is not "
                   "delivered", severity="error", stage=STAGE, dataset=name)
    for name in sorted(set(data) - set(groups)):
        issues.add("DEF.DATA.DATASET", f"dataset {name} is not described in define.xml",
                   severity="error", stage=STAGE, dataset=name)
    for name in sorted(set(groups) & set(data)):
        frame = data[name].data
        columns = [c for c in frame.columns if c not in PROVENANCE_COLUMNS]
        described = [items[r.item_oid] for r in groups[name].item_refs if r.item_oid in items]
        names = [i.name for i in described]
        for var in names:
            if var not in columns:
                issues.add("DEF.DATA.VARIABLE", f"define.xml describes {name}.{var}, which is "
                           "not in the data", severity="error", stage=STAGE, dataset=name,
                           variable=var)
        for var in columns:
            if var not in names:
                issues.add("DEF.DATA.VARIABLE", f"{name}.{var} is not described in define.xml",
                           severity="error", stage=STAGE, dataset=name, variable=var)
        common = [v for v in names if v in columns]
        if common != [c for c in columns if c in names]:
            issues.add("DEF.DATA.ORDER", f"variables of {name} are not in the define.xml order",
                       severity="warning", stage=STAGE, dataset=name,
                       expected=", ".join(common))
        for item in described:
            if item.name not in columns or frame[item.name].dtype.kind in "fiub":
                continue
            text = _text_array(frame[item.name])
            if item.data_type == "text" and item.length and len(text):
                longest = pc.max(pc.binary_length(text)).as_py()
                if longest > item.length:
                    issues.add("DEF.DATA.LENGTH", f"{name}.{item.name} holds a value of "
                               f"{longest} bytes; define.xml Length is {item.length}",
                               severity="error", stage=STAGE, dataset=name,
                               variable=item.name, value=longest,
                               expected=f"<= {item.length}")
            cl = codelists.get(item.codelist_oid or "")
            if cl is None or cl.external is not None or not len(text):
                continue
            listed = {i.coded_value for i in cl.items}
            for value in sorted(set(pc.unique(text).to_pylist()) - listed):
                issues.add("DEF.DATA.TERM", f"{name}.{item.name} value '{value}' is not in "
                           f"codelist {cl.oid} of define.xml", severity="error", stage=STAGE,
                           dataset=name, variable=item.name, value=value)
    return len(issues) - before
