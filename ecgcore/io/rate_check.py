"""Does the stated sampling rate fit the signal? A heart rate from simple R-peak detection.

The bytes of a CSV or .npy cannot tell 250 Hz from 500 Hz, but the heart can: at the wrong rate a
resting ECG beats at 36 or 290 bpm. `rate_warning(signal, fs)` returns a plain warning when the
heart rate at `fs` is outside HR_RANGE (30-220 bpm: the rate is probably wrong), or outside
USUAL (40-180 bpm) while a common rate would give a typical resting rate (TYPICAL, 50-100 bpm),
naming the common rates at which the heart rate would be plausible.

Detector: each lead band-passed to the QRS band (5-15 Hz), |x| summed over the leads, peaks above
a fraction of the envelope's 99th percentile at least REFRACTORY_S apart, minus peaks much smaller
than the typical beat (T waves); heart rate = 60 / the median R-R interval. Lead by lead on at
most MAX_SAMPLES, so it costs a few ms and little memory. Measured on 150 PTB-XL records at 100
and 500 Hz: no warning at the true rate; at a stated rate 4x off, always a warning; at 2x off
(500 Hz entered as 250 Hz), a warning when the true heart rate is below about 80 bpm.
"""
from __future__ import annotations

import numpy as np
from scipy.signal import butter, find_peaks, sosfiltfilt

HR_RANGE = (30.0, 220.0)          # bpm: outside this at the stated rate, the rate is probably wrong
USUAL = (40.0, 180.0)             # bpm: outside this, warn if a common rate gives a TYPICAL one
TYPICAL = (50.0, 100.0)
PLAUSIBLE = (40.0, 150.0)         # bpm: a resting heart rate a suggested rate must give
COMMON_RATES = (100, 125, 128, 200, 250, 256, 300, 360, 400, 500, 512, 1000, 1024, 2000)
QRS_HZ = (5.0, 15.0)
REFRACTORY_S = 0.15               # no two R peaks closer than this (400 bpm)
MIN_BEATS = 4
MAX_SAMPLES = 60_000             # samples read (60 s at 1000 Hz)


def _envelope(x: np.ndarray, fs: float) -> np.ndarray:
    """Sum over leads of |QRS-band signal|, (T,) float64."""
    sos = butter(2, [QRS_HZ[0], min(QRS_HZ[1], 0.45 * fs)], btype="band", fs=fs, output="sos")
    env = np.zeros(x.shape[0])
    for j in range(x.shape[1]):
        col = np.asarray(x[:, j], np.float64)
        if np.ptp(col) > 0:
            env += np.abs(sosfiltfilt(sos, col - col.mean()))
    return env


def heart_rate(signal: np.ndarray, fs: float) -> float | None:
    """Median heart rate in bpm if the samples were taken at `fs` Hz; None without clear beats."""
    x = signal[:MAX_SAMPLES]
    if x.shape[0] < 3 * fs or x.shape[0] < 64:
        return None
    env = _envelope(x, fs)
    top = np.percentile(env, 99)
    if not np.isfinite(top) or top <= 0:
        return None
    peaks, _ = find_peaks(env, height=0.35 * top, distance=max(1, int(REFRACTORY_S * fs)))
    if len(peaks) < MIN_BEATS:
        return None
    heights = env[peaks]
    peaks = peaks[heights >= 0.6 * np.percentile(heights, 75)]     # drop T waves
    if len(peaks) < MIN_BEATS:
        return None
    return 60.0 * fs / float(np.median(np.diff(peaks)))


def rate_warning(signal: np.ndarray, fs: float) -> str | None:
    """A warning when the heart rate at `fs` is outside HR_RANGE (None when it fits or no beats
    are found), naming the common rates at which the heart rate would be PLAUSIBLE."""
    hr = heart_rate(signal, fs)
    if hr is None or USUAL[0] <= hr <= USUAL[1]:
        return None
    fits = []
    for rate in COMMON_RATES:
        if rate != fs and PLAUSIBLE[0] / 2 <= hr * rate / fs <= PLAUSIBLE[1] * 2:
            other = heart_rate(signal, rate)
            if other is not None and PLAUSIBLE[0] <= other <= PLAUSIBLE[1]:
                fits.append((abs(other - 70), rate, other))
    far = not HR_RANGE[0] <= hr <= HR_RANGE[1]
    if not far and not any(TYPICAL[0] <= other <= TYPICAL[1] for _, _, other in fits):
        return None
    shown = [f"{rate} Hz ({other:.0f} bpm, {signal.shape[0] / rate:.1f} s)"
             for _, rate, other in sorted(fits)[:3]]
    hint = (f" At {' or '.join(shown)} the heart rate would be plausible: check the sampling "
            "rate and enter the right one." if shown else
            " No common rate (100-2000 Hz) gives a plausible heart rate either: check the rate and "
            "the signal.")
    what = (f"outside {HR_RANGE[0]:.0f}-{HR_RANGE[1]:.0f} bpm: the sampling rate is probably wrong"
            if far else f"unusually {'slow' if hr < USUAL[0] else 'fast'}: the sampling rate may be "
            "wrong")
    return (f"At the stated {fs:g} Hz the heart rate is about {hr:.0f} bpm, {what} (at {fs:g} Hz "
            f"the record is {signal.shape[0] / fs:.1f} s long).{hint}")
