"""Names of the SNOMED CT codes that ECG headers use as diagnoses (`# Dx: 426783006,...`).

Source: the PhysioNet/Computing in Cardiology Challenge 2021 label tables `dx_mapping_scored.csv`
(all 30 scored codes, below first) and `dx_mapping_unscored.csv` (the codes that occur in the
external test records of ../shared/external_ecg, and a few common ones), from the challenge's
evaluation code (github.com/physionetchallenges/evaluation-2021). Names as given there, with
capitals and spelling tidied.
"""
from __future__ import annotations

SNOMED_CT: dict[str, str] = {
    # scored in the 2021 challenge
    "164889003": "atrial fibrillation",
    "164890007": "atrial flutter",
    "6374002": "bundle branch block",
    "426627000": "bradycardia",
    "733534002": "complete left bundle branch block",
    "713427006": "complete right bundle branch block",
    "270492004": "1st degree AV block",
    "713426002": "incomplete right bundle branch block",
    "39732003": "left axis deviation",
    "445118002": "left anterior fascicular block",
    "164909002": "left bundle branch block",
    "251146004": "low QRS voltages",
    "698252002": "nonspecific intraventricular conduction disorder",
    "426783006": "sinus rhythm",
    "284470004": "premature atrial contraction",
    "10370003": "pacing rhythm",
    "365413008": "poor R wave progression",
    "427172004": "premature ventricular contractions",
    "164947007": "prolonged PR interval",
    "111975006": "prolonged QT interval",
    "164917005": "Q wave abnormal",
    "47665007": "right axis deviation",
    "59118001": "right bundle branch block",
    "427393009": "sinus arrhythmia",
    "426177001": "sinus bradycardia",
    "427084000": "sinus tachycardia",
    "63593006": "supraventricular premature beats",
    "164934002": "T wave abnormal",
    "59931005": "T wave inversion",
    "17338001": "ventricular premature beats",
    # unscored: those in the external test records, and common ones
    "251187003": "atrial escape beat",
    "426434006": "anterior ischemia",
    "713422000": "atrial tachycardia",
    "251170000": "blocked premature atrial contraction",
    "253352002": "left atrial abnormality",
    "67741000119109": "left atrial enlargement",
    "164873001": "left ventricular hypertrophy",
    "55827005": "left ventricular high voltage",
    "164865005": "myocardial infarction",
    "428750005": "nonspecific ST-T abnormality",
    "89792004": "right ventricular hypertrophy",
    "55930002": "ST changes",
    "429622005": "ST depression",
    "164931005": "ST elevation",
    "164930006": "ST interval abnormal",
    "164867002": "old myocardial infarction",
    "164861001": "myocardial ischemia",
    "195042002": "2nd degree AV block",
    "27885002": "complete heart block",
    "426761007": "supraventricular tachycardia",
    "164895002": "ventricular tachycardia",
    "74390002": "Wolff-Parkinson-White pattern",
}


def snomed_name(code: str) -> str | None:
    """The name of a SNOMED CT code from SNOMED_CT, or None when it is not in the table."""
    return SNOMED_CT.get(str(code).strip())


def dx_text(dx: list[tuple[str, str | None]]) -> str:
    """'426783006 sinus rhythm, 12345 (name unknown)' for display."""
    return ", ".join(f"{code} {name}" if name else f"{code} (name not in the table)"
                     for code, name in dx)
