"""A run killed while the staged output is being swapped in: run-status says it did not
finish, and the next start restores the previous complete output before doing anything."""

from __future__ import annotations

import json
import multiprocessing
import os

from test_atomic import visible_output
from test_determinism import build_mini_study


def _crash_mid_swap(study, raw, out):
    from converter import pipeline
    real_replace, real_swap = os.replace, pipeline._swap_into_place
    calls = {"n": 0, "swapping": False}

    def dying_replace(src, dst):
        if calls["swapping"]:
            calls["n"] += 1
            if calls["n"] == 11:  # manifest, 6 old parts, run-report moved; 2 new parts in
                os._exit(9)
        return real_replace(src, dst)

    def swap(*args, **kwargs):
        calls["swapping"] = True
        return real_swap(*args, **kwargs)

    os.replace = dying_replace
    pipeline._swap_into_place = swap
    pipeline.run_study(study, out, raw_dir=raw)


def test_crash_during_swap_is_undone_at_next_start(tmp_path):
    from converter.pipeline import _recover_interrupted_swap, run_study
    study, raw = build_mini_study(tmp_path)
    out = tmp_path / "out"
    run_study(study, out, raw_dir=raw)
    before = visible_output(out)
    assert before
    ctx = multiprocessing.get_context("fork")
    p = ctx.Process(target=_crash_mid_swap, args=(study, raw, out))
    p.start()
    p.join()
    assert p.exitcode == 9
    status = json.loads((out / "run-status.json").read_text())
    assert status["finished"] is False
    assert (out / ".previous" / "manifest.json").is_file()
    _recover_interrupted_swap(out)          # what the next run does first
    assert visible_output(out) == before
    assert not (out / ".previous").exists()
