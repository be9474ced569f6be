"""ECG augmentation for training, on signals (B, T, 12) mV at 100 Hz or cached scalograms (B, 12, S, W).

Every function takes a numpy Generator, so an epoch's augmentation is fixed by the training seed.
"""
from __future__ import annotations

import numpy as np

from .record import MODEL_FS


def _stretch(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Circular time stretch by a factor in [0.9, 1.1] per record (heart-rate-like). (B, T, C)."""
    b, t, _ = x.shape
    pos = np.arange(t)[None, :] * rng.uniform(0.9, 1.1, (b, 1))          # (B, T) read positions
    i0 = np.floor(pos).astype(int)
    w = (pos - i0)[..., None]
    rows = np.arange(b)[:, None]
    return x[rows, i0 % t] * (1 - w) + x[rows, (i0 + 1) % t] * w


def augment_signal(x: np.ndarray, rng: np.random.Generator, stretch: bool = True) -> np.ndarray:
    """ECG augmentation on (B, T, 12) mV: time stretch (optional), gain, baseline wander,
    noise, circular time shift."""
    b, t, c = x.shape
    if stretch:
        x = _stretch(x, rng)
    gain = np.exp(rng.normal(0, 0.15, (b, 1, 1))) * np.exp(rng.normal(0, 0.05, (b, 1, c)))
    time = np.arange(t)[None, :, None] / MODEL_FS
    freq = rng.uniform(0.05, 0.5, (b, 1, 1))
    wander = rng.uniform(0, 0.3, (b, 1, 1)) * np.sin(2 * np.pi * freq * time + rng.uniform(0, 6.3, (b, 1, c)))
    noise = rng.standard_normal(x.shape, dtype=np.float32) * rng.uniform(0, 0.03, (b, 1, 1))
    out = x * gain + wander + noise
    shifts = rng.integers(0, t, b)
    return np.stack([np.roll(o, s, axis=0) for o, s in zip(out, shifts)]).astype(np.float32)


def augment_scalogram(v: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Augmentation on cached (B, 12, S, W) scalograms: gain (exact: the CWT is linear),
    circular time shift, one time mask and one frequency mask (SpecAugment style)."""
    b, c, s, w = v.shape
    gain = np.exp(rng.normal(0, 0.15, (b, 1, 1, 1))) * np.exp(rng.normal(0, 0.05, (b, c, 1, 1)))
    out = (v.astype(np.float32) * gain).astype(np.float32)
    for i in range(b):
        out[i] = np.roll(out[i], int(rng.integers(0, w)), axis=-1)
        t0, f0 = int(rng.integers(0, w - 25)), int(rng.integers(0, s - 4))
        out[i, :, :, t0:t0 + int(rng.integers(0, 25))] = 0
        out[i, :, f0:f0 + int(rng.integers(0, 4)), :] = 0
    return out
