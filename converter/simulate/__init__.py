"""Synthetic raw exports of the seed studies (``python -m converter simulate``).

``simulate(study, out_dir, seed=None, subjects=None)`` writes the export and returns the files.
Studies: ``msc-inr-p2`` (EDC CSV forms, central-lab CSV, XLSX randomisation list) and
``msc-inr-sd`` (CDISC ODM 1.3.2 XML).
"""

from __future__ import annotations

from pathlib import Path

from converter.errors import ConfigError

STUDIES = ("msc-inr-p2", "msc-inr-sd")


def simulate(study: str, out_dir: str | Path, *, seed: int | None = None,
             subjects: int | None = None, progress=None) -> list[Path]:
    """Generate the raw export of ``study`` into ``out_dir``; deterministic for a given seed.

    >>> import tempfile
    >>> files = simulate("msc-inr-sd", tempfile.mkdtemp())
    >>> [f.name for f in files]
    ['msc-inr-sd_odm.xml']
    """
    if study not in STUDIES:
        raise ConfigError(f"unknown study '{study}'", key="study",
                          hint=f"expected one of: {', '.join(STUDIES)}")
    if subjects is not None and subjects < 1:
        raise ConfigError(f"--subjects must be at least 1, got {subjects}", key="--subjects",
                          hint="give the number of randomised subjects, e.g. --subjects 200")
    if seed is not None and seed < 0:
        raise ConfigError(f"--seed must be a non-negative integer, got {seed}", key="--seed",
                          hint="leave --seed out to reproduce the committed example")
    out = Path(out_dir)
    if study == "msc-inr-p2":
        from converter.simulate import p2
        return p2.generate(out, seed=p2.DEFAULT_SEED if seed is None else seed,
                           subjects=p2.DEFAULT_SUBJECTS if subjects is None else subjects,
                           progress=progress)
    from converter.simulate import sd
    return sd.generate(out, seed=sd.DEFAULT_SEED if seed is None else seed,
                       subjects=sd.DEFAULT_SUBJECTS if subjects is None else subjects,
                       progress=progress)
