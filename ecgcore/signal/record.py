"""The Record type and the few operations every source shares.

A Record is a 12-lead ECG in canonical lead order, in mV, with its sampling rate.
PTB-XL records and uploads both end up here; models take `model_input(record)`.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

import numpy as np
from scipy.signal import resample_poly

LEADS: tuple[str, ...] = ("I", "II", "III", "aVR", "aVL", "aVF",
                          "V1", "V2", "V3", "V4", "V5", "V6")
CLASSES: tuple[str, ...] = ("NORM", "MI", "STTC", "CD", "HYP")
CLASS_NAMES: dict[str, str] = {
    "NORM": "Normal ECG",
    "MI": "Myocardial infarction",
    "STTC": "ST/T change",
    "CD": "Conduction disturbance",
    "HYP": "Hypertrophy",
}
MODEL_FS = 100          # Hz: every model reads 100 Hz
MODEL_SECONDS = 10.0    # s: every model reads 10 s
MODEL_SAMPLES = int(MODEL_FS * MODEL_SECONDS)

_LEAD_ALIASES = {name.upper(): name for name in LEADS}
_LEAD_ALIASES.update({"D1": "I", "D2": "II", "D3": "III", "LEAD I": "I", "LEAD II": "II",
                      "LEAD III": "III", "MLII": "II"})


_UNIT = r"mv|uv|\u00b5v|\u03bcv|v|millivolts?|microvolts?"
# 'Lead V1', 'ECG_II', 'V1 (mV)', 'I [uV]', 'v1_mV', 'aVR mV': an optional prefix, the lead, an optional unit.
_LABEL = re.compile(rf"^(?:(?:lead|ecg|ekg)[\s_:.\-]*)?(?P<lead>.*?)(?:[\s_\-]*[(\[](?P<u1>{_UNIT})[)\]]"
                    rf"|[\s_\-]+(?P<u2>{_UNIT}))?$", re.IGNORECASE)


def split_lead_label(name: str) -> tuple[str, str | None]:
    """('V1', 'mV') from 'Lead V1 (mV)': the label without prefix and unit, and the unit if named."""
    text = str(name).strip().strip("\"'").strip()
    m = _LABEL.match(text)
    if not m or not m.group("lead"):
        return text, None
    return m.group("lead").strip(), m.group("u1") or m.group("u2")


def normalize_lead_name(name: str) -> str | None:
    """Canonical name for a lead label ('AVR', 'avr', ' aVR ', 'Lead aVR', 'aVR (mV)' -> 'aVR');
    None if unknown."""
    plain = str(name).strip().upper().replace("-", "").replace("_", " ")
    if plain in _LEAD_ALIASES:
        return _LEAD_ALIASES[plain]
    key = split_lead_label(name)[0].upper().replace("-", "").replace("_", " ")
    return _LEAD_ALIASES.get(key)


@dataclass(frozen=True)
class Record:
    """One 12-lead ECG.

    signal: (T, 12) float32 in mV, leads in `LEADS` order.
    labels: (5,) bool over `CLASSES`, or None when unknown (uploads).
    notes: what was done to the input on the way in (resampling, cropping, padding).
    warnings: what a reader should doubt about the input (e.g. a heart rate implying another rate).
    """
    signal: np.ndarray
    fs: float
    ecg_id: int | None = None
    labels: np.ndarray | None = None
    meta: dict = field(default_factory=dict)
    source: str = "ptbxl"
    notes: tuple[str, ...] = ()
    leads: tuple[str, ...] = LEADS
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.signal.ndim != 2 or self.signal.shape[1] != len(LEADS):
            raise ValueError(f"signal must be (T, 12), got {self.signal.shape}")
        if not self.fs or self.fs <= 0:
            raise ValueError(f"fs must be positive, got {self.fs!r}")

    @property
    def seconds(self) -> float:
        return self.signal.shape[0] / self.fs

    @property
    def label_names(self) -> list[str]:
        if self.labels is None:
            return []
        return [c for c, on in zip(CLASSES, self.labels) if on]

    @property
    def title(self) -> str:
        if self.ecg_id is not None:
            return f"PTB-XL #{self.ecg_id}"
        return f"Upload: {self.meta.get('filename', 'ECG')}"

    def replace(self, **changes) -> "Record":
        return dataclasses.replace(self, **changes)


def resample(signal: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    """Polyphase resampling along time. signal (T, C) -> (T * fs_out / fs_in, C) float32."""
    if fs_in == fs_out:
        return signal.astype(np.float32, copy=False)
    from fractions import Fraction
    ratio = Fraction(fs_out / fs_in).limit_denominator(1000)
    out = resample_poly(signal.astype(np.float64), ratio.numerator, ratio.denominator, axis=0)
    return out.astype(np.float32)


def fit_length(signal: np.ndarray, n: int) -> tuple[np.ndarray, str | None]:
    """Crop to the first n samples, or pad at the end with 0 mV (baseline). Returns (signal, note)."""
    t = signal.shape[0]
    if t == n:
        return signal, None
    if t > n:
        return signal[:n], f"cropped to the first {n} samples (dropped the last {t - n})"
    pad = np.zeros((n - t, signal.shape[1]), dtype=signal.dtype)
    return np.concatenate([signal, pad]), f"padded with {n - t} samples of 0 mV at the end"


def model_input(record: Record) -> np.ndarray:
    """The exact signal every model reads: (1000, 12) float32 mV at 100 Hz, 10 s."""
    x = resample(record.signal, record.fs, MODEL_FS)
    x, _ = fit_length(x, MODEL_SAMPLES)
    return np.ascontiguousarray(x, dtype=np.float32)


def model_input_notes(record: Record) -> list[str]:
    """Words for what `model_input` does to this record (empty if nothing)."""
    notes = list(record.notes)
    if record.fs != MODEL_FS:
        notes.append(f"resampled from {record.fs:g} Hz to {MODEL_FS} Hz for the models "
                     "(the original rate is kept for display)")
    n = int(round(record.seconds * MODEL_FS))
    _, note = fit_length(np.zeros((n, 1), np.float32), MODEL_SAMPLES)
    if note:
        notes.append(f"model input {note}")
    return notes
