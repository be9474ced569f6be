"""Segments of a view: the units LIME switches off and SHAP is summed over.

    signal     12 leads x 10 one-second windows                 = 120 segments
    spectrum   12 leads x 10 frequency bands (0-45 Hz)           = 120 segments
    scalogram  12 leads x 5 two-second windows x 2 bands         = 120 segments

A switched-off segment takes its "off" value (`off_values`), a stated choice per view:
signal -> the lead's own mean over the record (a flat line at its baseline); spectrum and
scalogram -> 0 mV (the band / tile is removed, as by an ideal notch filter).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..signal.record import LEADS, MODEL_FS, MODEL_SAMPLES
from ..signal.views import SCALO_DECIMATE, SPECTRUM_MAX_HZ, scalogram_axes

SIGNAL_WINDOW_S = 1.0
SPECTRUM_BANDS_HZ = (0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 17.0, 25.0, SPECTRUM_MAX_HZ)
SCALOGRAM_WINDOW_S = 2.0
SCALOGRAM_SPLIT_HZ = 4.75       # tiles: high band 45-5.1 Hz (QRS), low band 4.4-0.5 Hz (P/T, rhythm)
DEFAULT_OFF = {"signal": "mean", "spectrum": "zero", "scalogram": "zero"}
OFF_CHOICES = ("zero", "mean", "blur")


class SegmentError(ValueError):
    """An unknown view or switched-off value, or values of the wrong shape."""


@dataclass(frozen=True)
class Segmentation:
    """labels: (12, ...) int, the segment id of every element of one record's view values.

    names: one description per segment ("II 3-4 s"); grid: segment-grid shape (prod = n),
    segment id = np.ravel_multi_index over the grid (lead first).
    """
    view: str
    labels: np.ndarray
    names: tuple[str, ...]
    grid: tuple[int, ...]

    @property
    def n(self) -> int:
        return len(self.names)

    @property
    def sizes(self) -> np.ndarray:
        """(n,) number of view elements per segment."""
        return np.bincount(self.labels.ravel(), minlength=self.n)


def _signal_segments() -> Segmentation:
    win = int(SIGNAL_WINDOW_S * MODEL_FS)
    n_win = MODEL_SAMPLES // win
    col = np.arange(MODEL_SAMPLES) // win
    labels = np.arange(len(LEADS))[:, None] * n_win + col[None, :]
    names = tuple(f"{lead} {w * SIGNAL_WINDOW_S:g}-{(w + 1) * SIGNAL_WINDOW_S:g} s"
                  for lead in LEADS for w in range(n_win))
    return Segmentation("signal", labels, names, (len(LEADS), n_win))


def _spectrum_segments() -> Segmentation:
    freqs = np.fft.rfftfreq(MODEL_SAMPLES, d=1.0 / MODEL_FS)
    freqs = freqs[freqs <= SPECTRUM_MAX_HZ]
    edges = np.asarray(SPECTRUM_BANDS_HZ)
    band = np.clip(np.searchsorted(edges, freqs, side="right") - 1, 0, len(edges) - 2)
    n_band = len(edges) - 1
    labels = np.arange(len(LEADS))[:, None] * n_band + band[None, :]
    names = tuple(f"{lead} {edges[b]:g}-{edges[b + 1]:g} Hz" for lead in LEADS for b in range(n_band))
    return Segmentation("spectrum", labels, names, (len(LEADS), n_band))


def _scalogram_segments() -> Segmentation:
    _, freqs = scalogram_axes(float(MODEL_FS))
    n_cols = MODEL_SAMPLES // SCALO_DECIMATE
    step = MODEL_SAMPLES / MODEL_FS / n_cols                          # 0.04 s per column
    n_win = int(round(MODEL_SAMPLES / MODEL_FS / SCALOGRAM_WINDOW_S))
    win = np.minimum((np.arange(n_cols) * step // SCALOGRAM_WINDOW_S).astype(int), n_win - 1)
    band = (freqs < SCALOGRAM_SPLIT_HZ).astype(int)                   # 0 = high, 1 = low
    bands = [(freqs[band == b].min(), freqs[band == b].max()) for b in (0, 1)]
    lead = np.arange(len(LEADS))[:, None, None]
    labels = (lead * n_win + win[None, None, :]) * 2 + band[None, :, None]
    names = tuple(f"{ld} {w * SCALOGRAM_WINDOW_S:g}-{(w + 1) * SCALOGRAM_WINDOW_S:g} s "
                  f"{bands[b][0]:.1f}-{bands[b][1]:.1f} Hz"
                  for ld in LEADS for w in range(n_win) for b in (0, 1))
    return Segmentation("scalogram", labels, names, (len(LEADS), n_win, 2))


_BUILDERS = {"signal": _signal_segments, "spectrum": _spectrum_segments,
             "scalogram": _scalogram_segments}


@functools.lru_cache(maxsize=None)
def segmentation(view: str) -> Segmentation:
    """The fixed segmentation of a view ('signal', 'spectrum', 'scalogram')."""
    if view not in _BUILDERS:
        raise SegmentError(f"no segmentation for view {view!r}; choose one of {sorted(_BUILDERS)}")
    seg = _BUILDERS[view]()
    seg.labels.setflags(write=False)
    return seg


def off_values(values: np.ndarray, how: str) -> np.ndarray:
    """The switched-off value of every element of one record's view values (12, ...).

    'zero': 0 mV; 'mean': each lead's mean over all its elements; 'blur': a Gaussian blur
    along the last axis (sigma = 1/20 of its length), which keeps the slow trend only.
    """
    if how == "zero":
        return np.zeros_like(values)
    if how == "mean":
        axes = tuple(range(1, values.ndim))
        return np.broadcast_to(values.mean(axis=axes, keepdims=True), values.shape).copy()
    if how == "blur":
        sigma = values.shape[-1] / 20.0
        return gaussian_filter1d(values, sigma, axis=-1, mode="nearest").astype(values.dtype)
    raise SegmentError(f"off value {how!r} unknown; choose one of {OFF_CHOICES}")


def masks_apply(values: np.ndarray, off: np.ndarray, seg: Segmentation,
                masks: np.ndarray) -> np.ndarray:
    """Perturbed copies: masks (B, n) of 0/1 (1 = segment kept) -> (B, 12, ...) float32."""
    if values.shape != seg.labels.shape:
        raise SegmentError(f"values of shape {values.shape} do not match the {seg.view} "
                           f"segmentation {seg.labels.shape}")
    keep = np.asarray(masks, bool)[:, seg.labels]                     # (B, 12, ...)
    return np.where(keep, values[None], off[None]).astype(np.float32)


def segment_sum(attr: np.ndarray, seg: Segmentation) -> np.ndarray:
    """(n,) sum of element attributions (12, ...) over each segment."""
    return np.bincount(seg.labels.ravel(), weights=np.asarray(attr, np.float64).ravel(),
                       minlength=seg.n)


def segment_paint(scores: np.ndarray, seg: Segmentation) -> np.ndarray:
    """(12, ...) float32: each element gets its segment's score / segment size (sums back)."""
    density = np.asarray(scores, np.float64) / seg.sizes
    return density[seg.labels].astype(np.float32)
