"""``simulate`` command: write the synthetic raw export of a seed study."""

from __future__ import annotations

import time

import click

from converter import console
from converter.simulate import simulate


@click.command("simulate")
@click.argument("study", metavar="STUDY")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder to write the raw export into (created if missing).")
@click.option("--seed", type=int, default=None,
              help="Random seed (default: the seed of the committed example).")
@click.option("--subjects", type=int, default=None,
              help="Number of randomised subjects (default: the published design).")
def simulate_cmd(study: str, out_dir: str, seed: int | None, subjects: int | None) -> None:
    """Generate the synthetic raw export of STUDY (msc-inr-p2 or msc-inr-sd).

    The default seed reproduces examples/<study>/raw/ byte for byte.
    """
    started = time.perf_counter()
    with console.progress(f"simulating {study}", total=4) as advance:
        files = simulate(study, out_dir, seed=seed, subjects=subjects, progress=advance)
    for path in files:
        console.debug(f"wrote {path}")
    console.info(f"{study}: wrote {len(files)} files to {out_dir} "
                 f"in {time.perf_counter() - started:.1f} s")
