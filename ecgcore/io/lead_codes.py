"""Lead names as clinical formats code them (DICOM, HL7 aECG, EDF), mapped to the canonical 12.

SCP-ECG and ISO/IEEE 11073 (MDC) number the leads alike: 1 I, 2 II, 3-8 V1-V6, 61 III, 62 aVR,
63 aVL, 64 aVF. DICOM codes them as 'SCPECG 5.6.3-9-N' or 'MDC 2:N' with a code meaning such as
'Lead I (Einthoven)'; HL7 aECG as 'MDC_ECG_LEAD_I'. Formats that store only the 8 independent
leads (I, II, V1-V6) get III, aVR, aVL, aVF derived (Einthoven and Goldberger), said in a note.
"""
from __future__ import annotations

import re

import numpy as np

from ..signal.record import normalize_lead_name

CODE_NUMBERS = {1: "I", 2: "II", 3: "V1", 4: "V2", 5: "V3", 6: "V4", 7: "V5", 8: "V6",
                61: "III", 62: "aVR", 63: "aVL", 64: "aVF"}
_RX_CODE = re.compile(r"^(?:5\.6\.3-9-|2:|MDC_ECG_LEAD_)(\w{1,8})$", re.IGNORECASE)
_RX_PAREN = re.compile(r"\s*\((?:einthoven|goldberger|wilson|unipolar|bipolar)\)\s*$", re.IGNORECASE)
INDEPENDENT = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
DERIVED = ("III", "aVR", "aVL", "aVF")


def lead_from_code(code: str | None, meaning: str | None = None) -> str | None:
    """Canonical lead name from a coded lead ('5.6.3-9-61', '2:1', 'MDC_ECG_LEAD_AVR') or its
    meaning ('Lead I (Einthoven)'); None when neither names one of the 12."""
    m = _RX_CODE.match(str(code or "").strip())
    if m:
        tail = m.group(1)
        if tail.isdigit():
            if int(tail) in CODE_NUMBERS:
                return CODE_NUMBERS[int(tail)]
        else:
            lead = normalize_lead_name(tail)
            if lead:
                return lead
    if meaning:
        return normalize_lead_name(_RX_PAREN.sub("", str(meaning)))
    return None


def label(code: str | None, meaning: str | None = None) -> str:
    """The name to give a channel: its canonical lead, else its meaning or code as written."""
    lead = lead_from_code(code, meaning)
    return lead or str(meaning or code or "?").strip()[:40]


def derive_missing(names: list[str], columns: list[np.ndarray]) -> tuple[list[str], list[np.ndarray],
                                                                        list[str]]:
    """When I, II and V1-V6 are present but all of III, aVR, aVL, aVF are absent, append those four
    computed from I and II (III = II - I, aVR = -(I + II)/2, aVL = I - II/2, aVF = II - I/2);
    otherwise returns the input unchanged. Returns (names, columns, notes)."""
    canon = [normalize_lead_name(n) for n in names]
    if not all(lead in canon for lead in INDEPENDENT) or any(lead in canon for lead in DERIVED):
        return names, columns, []
    i = np.asarray(columns[canon.index("I")], np.float64)
    ii = np.asarray(columns[canon.index("II")], np.float64)
    extra = [ii - i, -(i + ii) / 2, i - ii / 2, ii - i / 2]
    note = ("the file holds the 8 independent leads I, II, V1-V6: III, aVR, aVL and aVF were "
            "derived from I and II (III = II - I, aVR = -(I + II)/2, aVL = I - II/2, aVF = II - I/2)")
    return list(names) + list(DERIVED), list(columns) + extra, [note]
