"""A synthetic 12-lead beat train with known PR, QRS, QT, rate and frontal axis (tests only).

Every wave has compact support, so its onset and end are exact: P is a half sine (a visible
start and end), the QRS three half-sine deflections (q, R, S: sharp onset and end), T a raised
cosine (a smooth return to baseline, as real T waves end). Truth: PR = P onset -> QRS onset, QRS = onset -> end,
QT = QRS onset -> T end. The frontal leads come from one heart vector at `axis_deg` through
Einthoven's relations, so the axis is known too.
"""
from __future__ import annotations

import numpy as np


def _sine(t: np.ndarray, start: float, stop: float, amp: float) -> np.ndarray:
    out = np.zeros_like(t)
    m = (t >= start) & (t <= stop)
    out[m] = amp * np.sin(np.pi * (t[m] - start) / (stop - start))
    return out


def _hann(t: np.ndarray, start: float, stop: float, amp: float) -> np.ndarray:
    out = np.zeros_like(t)
    m = (t >= start) & (t <= stop)
    out[m] = amp * 0.5 * (1 - np.cos(2 * np.pi * (t[m] - start) / (stop - start)))
    return out


def synthetic_ecg(fs: float, hr: float = 75.0, pr: float = 0.16, qrs: float = 0.10, qt: float = 0.40,
                  seconds: float = 10.0, axis_deg: float = 50.0, p_amp: float = 0.15,
                  p_dur: float = 0.10, t_dur: float = 0.20, t_amp: float = 0.35,
                  noise_mv: float = 0.005, seed: int = 0) -> np.ndarray:
    """(T, 12) float32 mV in LEADS order; times in s. QRS onsets at 0.5 s + k * 60 / hr.
    noise_mv: white noise SD (a lead perpendicular to the heart vector is then not a dead line)."""
    t = np.arange(int(round(seconds * fs))) / fs
    rr = 60.0 / hr
    ex, ez = np.zeros_like(t), np.zeros_like(t)
    for q in np.arange(0.5, seconds - 0.7, rr):
        p = _sine(t, q - pr, q - pr + p_dur, p_amp)
        wave = (_sine(t, q, q + 0.25 * qrs, -0.15) + _sine(t, q + 0.15 * qrs, q + 0.7 * qrs, 1.2)
                + _sine(t, q + 0.6 * qrs, q + qrs, -0.35))
        tw = _hann(t, q + qt - t_dur, q + qt, t_amp)
        ex += p + wave + tw
        ez += 0.5 * p - 0.8 * _sine(t, q + 0.1 * qrs, q + 0.8 * qrs, 1.0) + 0.6 * tw
    a = np.radians(axis_deg)
    lead_i = ex * np.cos(a)
    lead_ii = 0.5 * ex * np.cos(a) + np.sqrt(3) / 2 * ex * np.sin(a)
    lead_iii = lead_ii - lead_i
    limb = [lead_i, lead_ii, lead_iii, -(lead_i + lead_ii) / 2, lead_i - lead_ii / 2, lead_ii - lead_i / 2]
    chest = [-0.4 * ex + ez, -0.1 * ex + ez, 0.3 * ex + 0.6 * ez, 0.6 * ex + 0.3 * ez, 0.9 * ex, ex - 0.2 * ez]
    x = np.stack(limb + chest, axis=1)
    x += noise_mv * np.random.default_rng(seed).standard_normal(x.shape)
    return x.astype(np.float32)
