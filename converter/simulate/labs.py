"""The central-laboratory panel used by the simulators (the lab's own codes, names and units).

Each test row: lab code, lab test name, panel, specimen, unit, decimals, reference range
(male/female where they differ), the SDTM LBTESTCD it maps to (documented in the examples'
README; the lab file itself carries only the lab's own codes), and the generating distribution
(median and coefficient of variation between subjects, visit-to-visit CV) for tests that are
not derived from others.
"""

from __future__ import annotations

import pandas as pd

# code, name, panel, specimen, unit, decimals, lo_m, hi_m, lo_f, hi_f, lbtestcd, median, cv, vcv
_ROWS = [
    ("CD3ABS", "CD3+ T cells, absolute", "LYMPHOCYTE SUBSETS", "WHOLE BLOOD (EDTA)", "cells/uL", 0,
     770, 2860, 770, 2860, "CD3", None, None, None),
    ("CD3PCT", "CD3+ T cells, % of lymphocytes", "LYMPHOCYTE SUBSETS", "WHOLE BLOOD (EDTA)", "%",
     1, 55, 84, 55, 84, "CD3LY", None, None, None),
    ("CD4ABS", "CD4+ T cells, absolute", "LYMPHOCYTE SUBSETS", "WHOLE BLOOD (EDTA)", "cells/uL", 0,
     414, 1123, 414, 1123, "CD4", None, None, None),
    ("CD4PCT", "CD4+ T cells, % of lymphocytes", "LYMPHOCYTE SUBSETS", "WHOLE BLOOD (EDTA)", "%",
     1, 27, 51, 27, 51, "CD4LY", None, None, None),
    ("CD8ABS", "CD8+ T cells, absolute", "LYMPHOCYTE SUBSETS", "WHOLE BLOOD (EDTA)", "cells/uL", 0,
     238, 874, 238, 874, "CD8", None, None, None),
    ("CD8PCT", "CD8+ T cells, % of lymphocytes", "LYMPHOCYTE SUBSETS", "WHOLE BLOOD (EDTA)", "%",
     1, 15, 44, 15, 44, "CD8LY", None, None, None),
    ("CD4CD8", "CD4/CD8 ratio", "LYMPHOCYTE SUBSETS", "WHOLE BLOOD (EDTA)", "ratio", 2,
     0.71, 2.78, 0.71, 2.78, "CD4CD8", None, None, None),
    ("HIV1VL", "HIV-1 RNA, quantitative (RT-PCR)", "VIROLOGY", "PLASMA (EDTA)", "copies/mL", 0,
     None, None, None, None, "HIVVLD", None, None, None),
    ("WBC", "White blood cell count", "HAEMATOLOGY", "WHOLE BLOOD (EDTA)", "10^9/L", 2,
     3.5, 9.5, 3.5, 9.5, "WBC", None, None, None),
    ("RBC", "Red blood cell count", "HAEMATOLOGY", "WHOLE BLOOD (EDTA)", "10^12/L", 2,
     4.3, 5.8, 3.8, 5.1, "RBC", 4.6, 0.08, 0.03),
    ("HGB", "Haemoglobin", "HAEMATOLOGY", "WHOLE BLOOD (EDTA)", "g/L", 0,
     130, 175, 115, 150, "HGB", None, None, None),
    ("HCT", "Haematocrit", "HAEMATOLOGY", "WHOLE BLOOD (EDTA)", "%", 1,
     40, 50, 35, 45, "HCT", None, None, None),
    ("MCV", "Mean corpuscular volume", "HAEMATOLOGY", "WHOLE BLOOD (EDTA)", "fL", 1,
     82, 100, 82, 100, "MCV", 92.0, 0.05, 0.015),
    ("MCH", "Mean corpuscular haemoglobin", "HAEMATOLOGY", "WHOLE BLOOD (EDTA)", "pg", 1,
     27, 34, 27, 34, "MCH", None, None, None),
    ("MCHC", "Mean corpuscular haemoglobin concentration", "HAEMATOLOGY", "WHOLE BLOOD (EDTA)",
     "g/L", 0, 316, 354, 316, 354, "MCHC", 335.0, 0.022, 0.01),
    ("PLT", "Platelet count", "HAEMATOLOGY", "WHOLE BLOOD (EDTA)", "10^9/L", 0,
     125, 350, 125, 350, "PLAT", 205.0, 0.22, 0.08),
    ("NEUT#", "Neutrophils, absolute", "HAEMATOLOGY", "WHOLE BLOOD (EDTA)", "10^9/L", 2,
     1.8, 6.3, 1.8, 6.3, "NEUT", 2.9, 0.25, 0.15),
    ("NEUT%", "Neutrophils, %", "HAEMATOLOGY", "WHOLE BLOOD (EDTA)", "%", 1,
     40, 75, 40, 75, "NEUTLE", None, None, None),
    ("LYMPH#", "Lymphocytes, absolute", "HAEMATOLOGY", "WHOLE BLOOD (EDTA)", "10^9/L", 2,
     1.1, 3.2, 1.1, 3.2, "LYM", None, None, None),
    ("LYMPH%", "Lymphocytes, %", "HAEMATOLOGY", "WHOLE BLOOD (EDTA)", "%", 1,
     20, 50, 20, 50, "LYMLE", None, None, None),
    ("MONO#", "Monocytes, absolute", "HAEMATOLOGY", "WHOLE BLOOD (EDTA)", "10^9/L", 2,
     0.1, 0.6, 0.1, 0.6, "MONO", 0.38, 0.25, 0.15),
    ("EOS#", "Eosinophils, absolute", "HAEMATOLOGY", "WHOLE BLOOD (EDTA)", "10^9/L", 2,
     0.02, 0.52, 0.02, 0.52, "EOS", 0.12, 0.5, 0.25),
    ("BASO#", "Basophils, absolute", "HAEMATOLOGY", "WHOLE BLOOD (EDTA)", "10^9/L", 2,
     0.0, 0.06, 0.0, 0.06, "BASO", 0.025, 0.4, 0.25),
    ("ALT", "Alanine aminotransferase", "BIOCHEMISTRY", "SERUM", "U/L", 0,
     9, 50, 7, 40, "ALT", 24.0, 0.4, 0.18),
    ("AST", "Aspartate aminotransferase", "BIOCHEMISTRY", "SERUM", "U/L", 0,
     15, 40, 13, 35, "AST", 24.0, 0.3, 0.15),
    ("ALP", "Alkaline phosphatase", "BIOCHEMISTRY", "SERUM", "U/L", 0,
     45, 125, 35, 100, "ALP", 75.0, 0.25, 0.08),
    ("GGT", "Gamma-glutamyl transferase", "BIOCHEMISTRY", "SERUM", "U/L", 0,
     10, 60, 7, 45, "GGT", 30.0, 0.5, 0.15),
    ("TBIL", "Total bilirubin", "BIOCHEMISTRY", "SERUM", "umol/L", 1,
     0, 21, 0, 21, "BILI", 11.0, 0.35, 0.2),
    ("DBIL", "Direct bilirubin", "BIOCHEMISTRY", "SERUM", "umol/L", 1,
     0, 6.8, 0, 6.8, "BILDIR", None, None, None),
    ("TP", "Total protein", "BIOCHEMISTRY", "SERUM", "g/L", 1,
     65, 85, 65, 85, "PROT", 74.0, 0.06, 0.03),
    ("ALB", "Albumin", "BIOCHEMISTRY", "SERUM", "g/L", 1,
     40, 55, 40, 55, "ALB", 44.5, 0.06, 0.03),
    ("CREA", "Creatinine (enzymatic)", "BIOCHEMISTRY", "SERUM", "umol/L", 0,
     57, 111, 41, 81, "CREAT", None, None, None),
    ("UREA", "Urea", "BIOCHEMISTRY", "SERUM", "mmol/L", 2,
     2.8, 7.2, 2.8, 7.2, "UREA", 4.8, 0.22, 0.12),
    ("UA", "Uric acid", "BIOCHEMISTRY", "SERUM", "umol/L", 0,
     208, 428, 155, 357, "URATE", 330.0, 0.2, 0.08),
    ("GLU", "Glucose, fasting", "BIOCHEMISTRY", "SERUM", "mmol/L", 2,
     3.9, 6.1, 3.9, 6.1, "GLUC", 5.1, 0.1, 0.07),
    ("NA", "Sodium", "BIOCHEMISTRY", "SERUM", "mmol/L", 0,
     137, 147, 137, 147, "SODIUM", 141.0, 0.012, 0.01),
    ("K", "Potassium", "BIOCHEMISTRY", "SERUM", "mmol/L", 2,
     3.5, 5.3, 3.5, 5.3, "K", 4.1, 0.06, 0.05),
    ("CL", "Chloride", "BIOCHEMISTRY", "SERUM", "mmol/L", 0,
     99, 110, 99, 110, "CL", 104.0, 0.015, 0.012),
    ("CK", "Creatine kinase", "BIOCHEMISTRY", "SERUM", "U/L", 0,
     50, 310, 40, 200, "CK", 110.0, 0.45, 0.25),
    ("LDH", "Lactate dehydrogenase", "BIOCHEMISTRY", "SERUM", "U/L", 0,
     120, 250, 120, 250, "LDH", 175.0, 0.15, 0.08),
    ("PT", "Prothrombin time", "COAGULATION", "PLASMA (CITRATE)", "s", 1,
     9.4, 12.5, 9.4, 12.5, "PT", 11.2, 0.06, 0.04),
    ("INR", "International normalised ratio", "COAGULATION", "PLASMA (CITRATE)", "ratio", 2,
     0.8, 1.2, 0.8, 1.2, "INR", None, None, None),
    ("APTT", "Activated partial thromboplastin time", "COAGULATION", "PLASMA (CITRATE)", "s", 1,
     25.1, 36.5, 25.1, 36.5, "APTT", 30.5, 0.08, 0.05),
    ("FIB", "Fibrinogen (Clauss)", "COAGULATION", "PLASMA (CITRATE)", "g/L", 2,
     2.0, 4.0, 2.0, 4.0, "FIBRINO", 2.9, 0.18, 0.08),
    ("TT", "Thrombin time", "COAGULATION", "PLASMA (CITRATE)", "s", 1,
     10.3, 16.6, 10.3, 16.6, "TT", 14.2, 0.06, 0.04),
]

COLUMNS = ["code", "name", "panel", "specimen", "unit", "decimals", "lo_m", "hi_m", "lo_f", "hi_f",
           "lbtestcd", "median", "cv", "vcv"]


def panel() -> pd.DataFrame:
    """The lab panel as a frame, one row per test, in report order."""
    return pd.DataFrame(_ROWS, columns=COLUMNS)


IMMUNO = ["CD3ABS", "CD3PCT", "CD4ABS", "CD4PCT", "CD8ABS", "CD8PCT", "CD4CD8"]
