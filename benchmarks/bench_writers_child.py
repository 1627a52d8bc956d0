"""One writer run of ``bench_writers.py``, as a whole separate process.

Usage: python bench_writers_child.py WRITER PARQUET OUT.xpt
WRITER: ours (streaming Parquet -> XPT), ours-frame (Parquet -> pandas -> write_xpt),
ours-cat (Parquet -> pandas with Categorical text columns -> write_xpt),
pyreadstat (Parquet -> pandas -> pyreadstat.write_xport), nbase (nbase_converter 0.0.6).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime

CREATED = datetime(2024, 1, 1)


def main(writer: str, parquet: str, out: str) -> None:
    if writer == "ours":
        from converter.io.xpt import write_xpt_parquet
        write_xpt_parquet(parquet, out, created=CREATED)
    elif writer == "ours-frame":
        from converter.io.datasets import read_dataset
        from converter.io.xpt import write_xpt
        write_xpt(read_dataset(parquet), out, created=CREATED)
    elif writer == "ours-cat":
        # the pipeline's path since apply_metadata hands over Categorical text columns:
        # Parquet dictionary columns -> pandas Categoricals -> write_xpt
        import pyarrow.parquet as pq

        from converter.io.datasets import parquet_meta
        from converter.io.xpt import write_xpt
        from converter.model import Dataset
        meta = parquet_meta(pq.read_schema(parquet), parquet)
        chars = [v.name for v in meta.variables if v.type == "Char"]
        data = pq.read_table(parquet, read_dictionary=chars).to_pandas()
        write_xpt(Dataset(meta=meta, data=data), out, created=CREATED)
    elif writer == "pyreadstat":
        import pyarrow.parquet as pq
        import pyreadstat
        table = pq.read_table(parquet)
        info = json.loads(table.schema.metadata[b"cdisc:dataset"])
        df = table.to_pandas()
        labels = [v["label"] for v in info["variables"]]
        pyreadstat.write_xport(df, out, file_label=info["label"], column_labels=labels,
                               table_name=info["name"], file_format_version=5)
    elif writer == "nbase":
        import nbase_converter
        nbase_converter.convert_dataset(parquet, out, target_format="xpt5", overwrite=True)
    else:
        raise SystemExit(f"unknown writer {writer}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
