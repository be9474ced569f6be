"""Saliency carried from a model's view onto every view's axes, or an honest None.

    saliency_on_view(expl, "signal")     -> (12, 1000) or None, reason
    saliency_on_view(expl, "spectrum")   -> (12, 451)  or None, reason
    saliency_on_view(expl, "scalogram")  -> (12, 32, 250) or None, reason

- time-view maps (signal model, fused model): their own time band; onto the spectrum and the
  scalogram as the *content* of the salient segments: the view of the signal with each
  one-second segment scaled by its positive score (max -> 1, non-positive -> flat at the lead
  mean). That shows what the salient parts contain; it is not a frequency attribution.
- spectrum maps: the magnitude spectrum has no time, so there is no map onto the signal or the
  scalogram (None + reason).
- scalogram maps: onto time by summing over frequency (each column covers 4 samples), onto
  the spectrum's frequency axis by summing over time and interpolating from the 32 log-spaced
  scales (0 below 0.5 Hz, where the scalogram has no scale).
"""
from __future__ import annotations

import numpy as np

from ..signal.record import MODEL_FS, MODEL_SAMPLES
from ..signal.views import SCALO_DECIMATE, SPECTRUM_MAX_HZ, compute_view, scalogram_axes
from .segments import segmentation

VIEW_NAMES = ("signal", "spectrum", "scalogram")


def _content_of_salient(expl, view: str) -> tuple[np.ndarray | None, str]:
    seg = segmentation("signal")
    pos = np.clip(np.asarray(expl.segments, np.float64), 0.0, None)
    if pos.max() <= 0:
        return None, "no time segment raises the probability, so there is no salient content to show"
    weight = (pos / pos.max())[seg.labels].T                           # (1000, 12)
    x = np.asarray(expl.signal, np.float64)
    mean = x.mean(axis=0, keepdims=True)
    salient = (mean + weight * (x - mean)).astype(np.float32)
    values = compute_view(view, salient[None]).values[0]
    return values, (f"{view} of the signal with each one-second segment scaled by its positive "
                    f"{expl.method.upper()} score: the content of the salient segments, "
                    "not a frequency attribution")


def _scalogram_to_signal(values: np.ndarray) -> np.ndarray:
    per_column = values.sum(axis=1)                                   # (12, 250)
    out = np.repeat(per_column, SCALO_DECIMATE, axis=-1) / SCALO_DECIMATE
    return out[:, :MODEL_SAMPLES].astype(np.float32)


def _scalogram_to_spectrum(values: np.ndarray) -> np.ndarray:
    _, scalo_f = scalogram_axes(float(MODEL_FS))                      # high -> low
    per_scale = values.sum(axis=2)                                    # (12, 32)
    freqs = np.fft.rfftfreq(MODEL_SAMPLES, d=1.0 / MODEL_FS)
    freqs = freqs[freqs <= SPECTRUM_MAX_HZ]
    out = [np.interp(freqs, scalo_f[::-1], lead[::-1], left=0.0, right=0.0) for lead in per_scale]
    return np.asarray(out, np.float32)


def saliency_on_view(expl, view: str) -> tuple[np.ndarray | None, str]:
    """The explanation's saliency aligned to `view`'s axes for one record, or None + reason."""
    if view not in VIEW_NAMES:
        raise ValueError(f"view must be one of {VIEW_NAMES}, got {view!r}")
    source = expl.view
    if source == view:
        return np.asarray(expl.values), f"{expl.method.upper()} saliency on the model's own view"
    if source == "signal":
        return _content_of_salient(expl, view)
    if source == "spectrum":
        return None, ("the spectrum model reads magnitude spectra, which discard timing: its "
                      f"saliency cannot be placed on the {view}'s time axis")
    if source == "scalogram" and view == "signal":
        return _scalogram_to_signal(np.asarray(expl.values)), \
            "scalogram saliency summed over frequency, at each time column (4 samples)"
    if source == "scalogram" and view == "spectrum":
        return _scalogram_to_spectrum(np.asarray(expl.values)), \
            ("scalogram saliency summed over time, interpolated from 32 log-spaced scales "
             "(0.5-45 Hz) onto the spectrum's frequencies; 0 below 0.5 Hz")
    raise ValueError(f"explanation view {source!r} unknown; expected one of {VIEW_NAMES}")
