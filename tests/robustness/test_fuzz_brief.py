"""A brief run of every fuzz target (fuzz/targets.py) so CI exercises them on each change.

Longer runs by hand: ``python -m fuzz --minutes 10`` (see docs/robustness.md).
"""

from __future__ import annotations

import sys

import pytest
from hypothesis import HealthCheck, given, settings

from converter.paths import REPO_ROOT

if str(REPO_ROOT) not in sys.path:      # fuzz/ sits beside the package, not inside it
    sys.path.insert(0, str(REPO_ROOT))

from fuzz.targets import TARGETS

EXAMPLES = {"csv-bytes": 300, "csv-roundtrip": 150, "xlsx-roundtrip": 60, "odm-roundtrip": 100,
            "odm-bytes": 200, "loader": 100}


def test_every_target_has_a_brief_run():
    assert set(EXAMPLES) == set(TARGETS)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_fuzz_target_briefly(name):
    strategy, check = TARGETS[name]

    @settings(max_examples=EXAMPLES[name], deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def prop(value):
        check(value)

    prop()
