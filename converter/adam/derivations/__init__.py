"""The ADaM derivation library: pure functions of data frames in the admiral vocabulary.

Every function takes the dataset first, then ``by_vars``, ``order``, ``new_var(s)`` and
``filter``; returns a new frame; does no I/O and sets no metadata. Names say what they add:
``derive_var_*`` one variable, ``derive_vars_*`` several, ``derive_param_*`` new parameter
records, ``derive_*_records`` new records, ``compute_*`` a vector.
"""

from converter.adam.derivations._common import DerivationError, Mask, evaluate_mask
from converter.adam.derivations.baseline import derive_var_base, derive_var_chg, derive_var_pchg
from converter.adam.derivations.dates import (
    compute_dtc_parts,
    compute_dy,
    derive_vars_dt,
    derive_vars_dtm,
    derive_vars_dtm_to_dt,
    derive_vars_duration,
    derive_vars_dy,
)
from converter.adam.derivations.flags import (
    derive_extreme_records,
    derive_var_extreme_flag,
    derive_var_obs_number,
)
from converter.adam.derivations.locf import derive_locf_records, expected_visits
from converter.adam.derivations.merge import derive_var_merged_exist_flag, derive_vars_merged
from converter.adam.derivations.ranges import derive_var_anrind, derive_var_shift
from converter.adam.derivations.treatment import derive_var_ontrtfl, derive_var_trtemfl
from converter.adam.derivations.tte import CensorSource, EventSource, derive_param_tte
from converter.adam.derivations.visits import derive_vars_visit_map, derive_vars_visit_window

__all__ = [
    "CensorSource", "DerivationError", "EventSource", "Mask", "compute_dtc_parts", "compute_dy",
    "derive_extreme_records", "derive_locf_records", "derive_param_tte", "derive_var_anrind",
    "derive_var_base", "derive_var_chg", "derive_var_extreme_flag", "derive_var_merged_exist_flag",
    "derive_var_obs_number", "derive_var_ontrtfl", "derive_var_pchg", "derive_var_shift",
    "derive_var_trtemfl", "derive_vars_dt", "derive_vars_dtm", "derive_vars_dtm_to_dt",
    "derive_vars_duration", "derive_vars_dy", "derive_vars_merged", "derive_vars_visit_map",
    "derive_vars_visit_window", "evaluate_mask", "expected_visits",
]
