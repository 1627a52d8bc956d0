"""A small MedDRA-like dictionary for the simulated adverse events.

Texts are MedDRA terms; the 8-digit codes are synthetic stand-ins shaped like MedDRA codes (the
real dictionary is licensed) — fine for exercising a mapping, never for real coding.
Columns: group, verbatim variants ("|"-separated), LLT, PT, HLT, HLGT, SOC; codes are derived
deterministically from the term texts in :func:`dictionary`.
"""

from __future__ import annotations

import zlib

import pandas as pd

# group: FFI = fever/fatigue/insomnia (the report's "most common" reactions), OTHER = the other
# categories the report lists (cardiac, GI, skin, ENT, respiratory, haematological).
_TERMS = [
    ("FEVER", "Fever|fever after infusion|low grade fever post infusion|Pyrexia 37.8C|FEVER",
     "Fever", "Pyrexia", "Febrile disorders", "Body temperature conditions",
     "General disorders and administration site conditions"),
    ("FATIGUE", "Fatigue|tiredness|feeling tired after infusion|FATIGUE",
     "Tiredness", "Fatigue", "Asthenic conditions", "General system disorders NEC",
     "General disorders and administration site conditions"),
    ("INSOMNIA", "Insomnia|difficulty sleeping|poor sleep|INSOMNIA",
     "Sleeplessness", "Insomnia", "Disturbances in initiating and maintaining sleep",
     "Sleep disorders and disturbances", "Psychiatric disorders"),
    ("OTHER", "Palpitations|palpitation|heart racing",
     "Palpitations", "Palpitations", "Cardiac signs and symptoms NEC",
     "Cardiac disorder signs and symptoms",
     "Cardiac disorders"),
    ("OTHER", "Sinus tachycardia|tachycardia on ECG",
     "Sinus tachycardia", "Sinus tachycardia", "Rate and rhythm disorders NEC",
     "Cardiac arrhythmias", "Cardiac disorders"),
    ("OTHER", "Nausea|nausea|feeling sick",
     "Nausea", "Nausea", "Nausea and vomiting symptoms", "Gastrointestinal signs and symptoms",
     "Gastrointestinal disorders"),
    ("OTHER", "Diarrhoea|loose stools|diarrhea",
     "Diarrhea", "Diarrhoea", "Diarrhoea (excl infective)",
     "Gastrointestinal motility and defaecation conditions", "Gastrointestinal disorders"),
    ("OTHER", "Abdominal distension|bloating",
     "Abdominal bloating", "Abdominal distension", "Gastrointestinal signs and symptoms NEC",
     "Gastrointestinal signs and symptoms", "Gastrointestinal disorders"),
    ("OTHER", "Rash|skin rash|maculopapular rash on arms",
     "Skin rash", "Rash", "Rashes, eruptions and exanthems NEC",
     "Epidermal and dermal conditions", "Skin and subcutaneous tissue disorders"),
    ("OTHER", "Pruritus|itching|itchy skin",
     "Itching", "Pruritus", "Pruritus NEC", "Epidermal and dermal conditions",
     "Skin and subcutaneous tissue disorders"),
    ("OTHER", "Tinnitus|ringing in ears",
     "Tinnitus", "Tinnitus", "Inner ear signs and symptoms",
     "Inner ear and VIIIth cranial nerve disorders",
     "Ear and labyrinth disorders"),
    ("OTHER", "Sore throat|pharyngeal pain|throat pain",
     "Sore throat", "Oropharyngeal pain", "Upper respiratory tract signs and symptoms",
     "Respiratory disorders NEC", "Respiratory, thoracic and mediastinal disorders"),
    ("OTHER", "Cough|dry cough|COUGH",
     "Cough", "Cough", "Coughing and associated symptoms", "Respiratory disorders NEC",
     "Respiratory, thoracic and mediastinal disorders"),
    ("OTHER", "Leukopenia|low white cell count|WBC decreased",
     "Leukopenia", "Leukopenia", "Leukopenias NEC", "White blood cell disorders",
     "Blood and lymphatic system disorders"),
    ("OTHER", "Anaemia|mild anemia",
     "Anemia", "Anaemia", "Anaemias NEC", "Anaemias nonhaemolytic and marrow depression",
     "Blood and lymphatic system disorders"),
]


def _code(text: str, level: int) -> str:
    """Deterministic synthetic 8-digit code, ``1`` + level digit + 6 digits from the text.

    An LLT spelled like its PT shares the PT code, as in MedDRA.
    """
    return f"1{level}{zlib.crc32(text.encode()) % 1_000_000:06d}"


def dictionary() -> pd.DataFrame:
    """One row per coded term: group, verbatims list, LLT/PT/HLT/HLGT/SOC texts and codes."""
    rows = []
    for group, verb, llt, pt, hlt, hlgt, soc in _TERMS:
        rows.append({"group": group, "verbatims": verb.split("|"),
                     "LLT": llt, "LLT_CODE": _code(pt, 1) if llt == pt else _code(llt, 0),
                     "PT": pt, "PT_CODE": _code(pt, 1),
                     "HLT": hlt, "HLT_CODE": _code(hlt, 2), "HLGT": hlgt,
                     "HLGT_CODE": _code(hlgt, 3), "SOC": soc, "SOC_CODE": _code(soc, 4)})
    return pd.DataFrame(rows)


MEDDRA_VERSION = "17.0"
