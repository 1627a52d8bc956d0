"""The closed catalogue of mapping algorithms: one module each, registered by name.

``REGISTRY`` maps a step's ``algorithm`` name to its :class:`AlgorithmSpec`; ``AnyStep`` is the
pydantic union of every step model (discriminated by ``algorithm``). ``SHAPERS`` are
domain-level reshapes applied before the steps (``transpose``); ``BUILDERS`` build whole
domains (trial design, SV, SE). ``docs/mapping.md`` documents every name; a test keeps the
three lists identical.
"""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import Field

from converter.mapping.algorithms import (
    assign,
    assign_ct,
    assign_numeric,
    baseline_flag,
    concat,
    conditional,
    convert_unit,
    decode_ct,
    epoch,
    extract,
    hardcode,
    iso_datetime,
    lookup,
    range_indicator,
    ref_date,
    seq,
    study_day,
    supp,
    to_text,
    visit,
)
from converter.mapping.steps import AlgorithmSpec

_MODULES = [assign, assign_ct, assign_numeric, hardcode, extract, iso_datetime, concat, lookup,
            conditional, decode_ct, convert_unit, range_indicator, to_text, seq, study_day,
            ref_date, visit, epoch, baseline_flag, supp]

REGISTRY: dict[str, AlgorithmSpec] = {m.ALGORITHM.name: m.ALGORITHM for m in _MODULES}
SHAPERS = ("transpose",)
BUILDERS = ("ts", "ta", "te", "tv", "ti", "se", "sv")

AnyStep = Annotated[Union[tuple(spec.params for spec in REGISTRY.values())],  # noqa: UP007
                    Field(discriminator="algorithm")]

conditional.Rule.model_fields["then"].annotation = AnyStep
conditional.Conditional.model_fields["else_"].annotation = AnyStep | None
conditional.Rule.model_rebuild(force=True)
conditional.Conditional.model_rebuild(force=True)


def all_names() -> list[str]:
    """Every name a mapping file may use for a step, a shaper or a builder."""
    return sorted([*REGISTRY, *SHAPERS, *BUILDERS])
