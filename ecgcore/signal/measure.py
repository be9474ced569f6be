"""Measurements of a 12-lead ECG, as an ECG machine prints them, each a number or a reason.

    m = measure_record(signal, fs)              # (T, 12) mV, LEADS order, 100 or 500 Hz
    m.values["qrs_ms"].value  -> 96.0   or None with m.values["qrs_ms"].reason -> "no QRS found"
    m.as_row()  -> {"hr_bpm": 72.1, "pr_ms": None, ..., "measure_note": "pr_ms: no P waves ..."}

Intervals come from the median beat (ecgcore.signal.median_beat) and its global (multi-lead)
fiducials: PR = QRS onset - P onset, QRS = offset - onset, QT = T end - QRS onset;
QTc Bazett = QT / sqrt(RR s), Fridericia = QT / RR^(1/3). Heart rate = 60000 / median RR (ms).
Frontal axis, angle = atan2(2/sqrt(3) * aVF, I) in degrees (Einthoven: aVF = sqrt(3)/2 * Ey), from
the median beat in I and aVF relative to the PR-segment level: for P and T the net area over the wave;
for the QRS the net deflection (tallest positive plus deepest negative), the bedside method, which
agreed with PTB-XL's `heart_axis` more often than the net area on folds 1-9 (docs/measurements.md).
ST level per lead: median beat at J + 60 ms minus the PR-segment level, mV.
Timing: delineation + median beat + measurements for 10 s x 12 leads: see `bench_measure`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .delineate import Delineation, _check, band_pass, delineate_record
from .median_beat import MedianBeats, median_beats
from .quality import assess_quality
from .record import LEADS

MIN_BEATS = 3                      # R peaks needed for a rate and a median beat
MIN_P_SHARE = 0.5                  # beats with a P wave needed for a PR
AXIS_MIN = {"p": 0.5, "qrs": 0.05, "t": 2.0}   # |vector| in I and aVF: area mV*ms (P, T), net deflection mV (QRS)
PACE_SLOPE = 12.0                  # mV/ms of a pacing spike, seen only at >= 250 Hz
NAMES = ("hr_bpm", "rr_ms", "pr_ms", "qrs_ms", "qt_ms", "qtc_bazett_ms", "qtc_fridericia_ms",
         "p_axis_deg", "qrs_axis_deg", "t_axis_deg")


@dataclass(frozen=True)
class Value:
    """A measurement: value (None = not measurable) with its unit, or the reason it is absent."""
    value: float | None
    unit: str
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.value is not None

    def __str__(self) -> str:
        return f"{self.value:.0f} {self.unit}" if self.ok else f"not measurable ({self.reason})"


def _na(unit: str, reason: str) -> Value:
    return Value(None, unit, reason)


@dataclass(frozen=True)
class Measurements:
    """values: NAMES -> Value; st_mv: lead -> Value (ST at J+60 ms); the median beat and the
    per-beat delineation they came from; notes: record-level remarks."""
    values: dict
    st_mv: dict
    median: MedianBeats | None
    delineation: Delineation | None
    notes: tuple = field(default_factory=tuple)

    def as_row(self) -> dict:
        """Flat dict: NAMES -> float or None, st_<lead>_mv, and measure_note (reasons)."""
        row = {n: (None if not v.ok else round(float(v.value), 1)) for n, v in self.values.items()}
        row.update({f"st_{lead}_mv": (None if not v.ok else round(float(v.value), 3))
                    for lead, v in self.st_mv.items()})
        reasons = [f"{n}: {v.reason}" for n, v in self.values.items() if not v.ok]
        row["measure_note"] = "; ".join(list(self.notes) + reasons)
        return row


def frontal_axis(lead_i: float, lead_avf: float) -> float:
    """Frontal-plane angle in degrees (-180, 180] from the net area (or amplitude) in I and aVF."""
    return float(np.degrees(np.arctan2(2.0 / np.sqrt(3.0) * lead_avf, lead_i)))


def paced_spikes(signal: np.ndarray, fs: float) -> int:
    """Number of pacing-spike-like slopes (> PACE_SLOPE mV/ms over one sample) in 3+ leads at
    once; 0 below 250 Hz, where spikes are smoothed away and cannot be told from a QRS."""
    if fs < 250:
        return 0
    slope = np.abs(np.diff(signal, axis=0)) * fs / 1000.0
    hits = (slope > PACE_SLOPE).sum(axis=1) >= 3
    return int(np.count_nonzero(np.diff(hits.astype(np.int8)) == 1))


def _all_na(reason: str, d: Delineation | None = None, mb: MedianBeats | None = None,
            keep: dict | None = None, notes: tuple = ()) -> Measurements:
    units = {"hr_bpm": "bpm", "rr_ms": "ms"}
    values = {n: _na(units.get(n, "deg" if n.endswith("deg") else "ms"), reason) for n in NAMES}
    values.update(keep or {})
    return Measurements(values, {lead: _na("mV", reason) for lead in LEADS}, mb, d, notes)


def _area(seg: np.ndarray, base: np.ndarray, fs: float) -> np.ndarray:
    return (seg - base).sum(axis=0) * 1000.0 / fs


def _net_deflection(seg: np.ndarray, base: np.ndarray) -> np.ndarray:
    """(T, k) wave minus (k,) baseline -> (k,) tallest positive plus deepest negative deflection, mV."""
    dev = seg - base
    return dev.max(axis=0) + dev.min(axis=0)


def measure_record(signal: np.ndarray, fs: float) -> Measurements:
    """All measurements of one (T, 12) mV record at fs Hz (see module docstring)."""
    raw = _check(signal, fs)
    quality = assess_quality(raw, fs)
    if not quality.assessable:
        return _all_na("signal not assessable: " + "; ".join(quality.reasons[:3]))
    bad = {q.lead: ", ".join(q.details or q.problems) for q in quality.leads if not q.ok}
    x_bp = band_pass(raw, fs)
    d = delineate_record(raw, fs, filtered=x_bp)
    if d.n_beats < MIN_BEATS:
        return _all_na(f"too few beats ({d.n_beats} found, {MIN_BEATS} needed)", d)
    rr = np.diff(d.r_peaks) * 1000.0 / fs
    rr_ms = float(np.median(rr))
    keep = {"hr_bpm": Value(60000.0 / rr_ms, "bpm"), "rr_ms": Value(rr_ms, "ms")}
    n_spikes = paced_spikes(raw, fs)
    if n_spikes >= MIN_BEATS:
        return _all_na(f"paced ({n_spikes} pacing spikes)", d, keep=keep)
    mb = median_beats(raw, fs, delineation=d, filtered=x_bp)
    if mb is None:
        return _all_na("no beat fits a median beat", d, keep=keep)
    f, x = mb.fiducials, mb.signal.astype(np.float64)
    ms = 1000.0 / fs
    on, off, t_off = f["g_qrs_on"], f["g_qrs_off"], f["g_t_off"]
    values = dict(keep)
    if not (np.isfinite(on) and np.isfinite(off)):
        return _all_na("QRS onset/offset not found in the median beat", d, mb, keep)
    values["qrs_ms"] = Value((off - on) * ms, "ms")
    base = x[max(0, int(on) - max(1, int(0.02 * fs))):int(on)].mean(axis=0)
    # PR: P in the median beat and in enough beats
    p_beats = int(np.isfinite(d.per_lead["p_on"][:, 0]).sum())
    p_on, p_off = f["p_on"][0], f["p_off"][0]
    if not np.isfinite(p_on):
        values["pr_ms"] = _na("ms", "no P waves (none in the median beat)")
    elif p_beats < MIN_P_SHARE * d.n_beats:
        values["pr_ms"] = _na("ms", f"no regular P waves (P in {p_beats} of {d.n_beats} beats)")
    else:
        values["pr_ms"] = Value((on - p_on) * ms, "ms")
    # QT and QTc
    rr_s = rr_ms / 1000.0
    if np.isfinite(t_off):
        qt = (t_off - on) * ms
        values["qt_ms"] = Value(qt, "ms")
        values["qtc_bazett_ms"] = Value(qt / np.sqrt(rr_s), "ms")
        values["qtc_fridericia_ms"] = Value(qt / rr_s ** (1 / 3), "ms")
    else:
        for n in ("qt_ms", "qtc_bazett_ms", "qtc_fridericia_ms"):
            values[n] = _na("ms", "T end not found (flat or absent T wave)")
    # Axes from I (0) and aVF (5)
    spans = {"p": (p_on, p_off) if values["pr_ms"].ok else None, "qrs": (on, off),
             "t": (off, t_off) if np.isfinite(t_off) else None}
    limb_bad = [lead for lead in ("I", "aVF") if lead in bad]
    for wave, span in spans.items():
        name = f"{wave}_axis_deg"
        if limb_bad:
            values[name] = _na("deg", f"lead {', '.join(limb_bad)} unusable ({bad[limb_bad[0]]})")
        elif span is None:
            values[name] = _na("deg", "no P waves" if wave == "p" else "T end not found")
        else:
            seg = x[int(span[0]):int(span[1]) + 1][:, [0, 5]]
            vec = _net_deflection(seg, base[[0, 5]]) if wave == "qrs" else _area(seg, base[[0, 5]], fs)
            if np.hypot(vec[0], vec[1]) < AXIS_MIN[wave]:
                values[name] = _na("deg", f"{wave.upper()} too small in I and aVF to give a direction")
            else:
                values[name] = Value(frontal_axis(vec[0], vec[1]), "deg")
    # ST at J + 60 ms
    st = {}
    j60 = int(round(off + 0.06 * fs))
    for li, lead in enumerate(LEADS):
        if lead in bad:
            st[lead] = _na("mV", f"lead unusable ({bad[lead]})")
        elif j60 >= x.shape[0]:
            st[lead] = _na("mV", "J+60 ms beyond the median beat")
        else:
            st[lead] = Value(float(x[j60, li] - base[li]), "mV")
    notes = (f"median of {mb.n_beats} of {mb.n_total} beats",)
    if fs < 250:
        notes += ("pacing spikes cannot be seen below 250 Hz",)
    return Measurements(values, st, mb, d, notes)


def bench_measure(signals: list[np.ndarray], fs: float, repeat: int = 3) -> float:
    """Median ms per record of `measure_record` over (T, 12) signals at fs."""
    times = []
    for _ in range(repeat):
        for s in signals:
            t0 = time.perf_counter()
            measure_record(s, fs)
            times.append((time.perf_counter() - t0) * 1000.0)
    return float(np.median(times))


# Frontal QRS axis classes (degrees; lower bound inclusive) used to read PTB-XL's `heart_axis`:
# ALAD -90..-30, LAD -30..0, MID 0..+90, RAD +90..+120, ARAD +120..+270 (i.e. >= +120 or < -90).
# AXL / AXR / SAG (no stated range) are reported, not scored. The -30 / +90 / +120 bounds are the
# textbook ones; LAD/MID at 0 deg (not +30) was chosen on PTB-XL folds 1-9 (docs/measurements.md).
AXIS_CLASSES = (("ALAD", -90.0, -30.0), ("LAD", -30.0, 0.0), ("MID", 0.0, 90.0),
                ("RAD", 90.0, 120.0), ("ARAD", 120.0, 270.0))
AXIS_NAMES = {"ALAD": "abnormal left axis deviation, -90 to -30°", "LAD": "left axis deviation, -30 to 0°",
              "MID": "normal axis, 0 to +90°", "RAD": "right axis deviation, +90 to +120°",
              "ARAD": "abnormal right axis deviation, beyond +120°", "AXL": "leftward axis, no stated range",
              "AXR": "rightward axis, no stated range", "SAG": "sagittal type, no stated range"}


def axis_class(deg: float | None) -> str | None:
    """PTB-XL-style axis class of a frontal QRS axis in degrees (None if not measurable)."""
    if deg is None or not np.isfinite(deg):
        return None
    d = deg if deg >= -90 else deg + 360
    for name, lo, hi in AXIS_CLASSES:
        if lo <= d < hi:
            return name
    return None
