"""Read a folder of datasets for validation.

Uses ``converter.io.datasets.read_dataset_folder`` (all formats) when available; otherwise
reads the XPT files of the folder itself with pyreadstat (UTF-8, then Windows-1252).
"""

from __future__ import annotations

from pathlib import Path

from converter.errors import InputError
from converter.model import Dataset, DatasetMeta, VariableMeta


def _read_xpt(path: Path) -> Dataset:
    import pyreadstat

    try:
        frame, meta = pyreadstat.read_xport(str(path))
    except UnicodeDecodeError:
        frame, meta = pyreadstat.read_xport(str(path), encoding="cp1252")
    except pyreadstat.ReadstatError as exc:
        raise InputError(f"cannot read XPT file: {exc}", file=str(path)) from None
    variables = [
        VariableMeta(name=col, label=label or "",
                     type="Num" if meta.readstat_variable_types.get(col) == "double" else "Char",
                     length=meta.variable_storage_width.get(col))
        for col, label in zip(meta.column_names, meta.column_labels)
    ]
    name = (meta.table_name or path.stem).upper()
    return Dataset(DatasetMeta(name=name, label=meta.file_label or "", variables=variables),
                   frame)


def read_folder(folder: str | Path) -> dict[str, Dataset]:
    """{NAME: Dataset} for the datasets in ``folder``; InputError when it cannot be read."""
    path = Path(folder)
    if not path.is_dir():
        raise InputError("not a folder of datasets", file=str(path),
                         hint="pass the folder holding the .xpt/.json datasets")
    try:
        from converter.io.datasets import read_dataset_folder
    except ImportError:
        read_dataset_folder = None
    if read_dataset_folder is not None:
        datasets = read_dataset_folder(path)
    else:
        datasets = {}
        for f in sorted(path.glob("*.xpt")):
            ds = _read_xpt(f)
            datasets[f.stem.upper()] = ds
    if not datasets:
        raise InputError("no datasets found", file=str(path),
                         hint="the folder should hold .xpt, .json, .ndjson or .parquet datasets")
    return {name.upper(): ds for name, ds in datasets.items()}
