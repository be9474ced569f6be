"""The three views of an ECG: time signal, FFT spectrum, wavelet scalogram.

Pure, deterministic functions of a batch of model inputs (N, T, 12) float32 mV. Training,
inference, explanation and plotting all call these, so what is shown is what the models see.
Each returns a `View`: values plus the axes that label them.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pywt
import scipy.fft as sfft

from .record import MODEL_FS

SPECTRUM_MAX_HZ = 45.0          # bins above this are dropped (mains / noise, no diagnostic content)
SCALO_WAVELET = "cmor1.5-1.0"   # complex Morlet: |cwt| is a smooth energy envelope
SCALO_FMIN, SCALO_FMAX, SCALO_SCALES = 0.5, 45.0, 32
SCALO_DECIMATE = 4              # keep every 4th time column: 1000 -> 250 at 100 Hz
SCALO_CHUNK = 2                 # records per FFT block: ~25 MB of complex spectra at a time
SCALO_GROUPS = 4                # scale groups by filter length, each with its own FFT size


@dataclass(frozen=True)
class View:
    """values: (N, 12, ...) float32; axes: name -> 1-D array per trailing dimension; units per axis."""
    name: str
    values: np.ndarray
    axes: dict[str, np.ndarray]
    units: dict[str, str]


def _batch(signals: np.ndarray) -> np.ndarray:
    x = np.asarray(signals, dtype=np.float32)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[2] != 12:
        raise ValueError(f"signals must be (N, T, 12) or (T, 12) mV, got shape {np.shape(signals)}")
    return x


def signal_view(signals: np.ndarray, fs: float = MODEL_FS) -> View:
    """Time signal, leads first: values (N, 12, T) mV; axis time (T,) s."""
    x = _batch(signals)
    t = np.arange(x.shape[1], dtype=np.float64) / fs
    return View("signal", np.ascontiguousarray(x.transpose(0, 2, 1)), {"time": t},
                {"time": "s", "value": "mV"})


def spectrum_view(signals: np.ndarray, fs: float = MODEL_FS, max_hz: float = SPECTRUM_MAX_HZ) -> View:
    """FFT magnitude per lead: values (N, 12, F) mV, axis frequency (F,) Hz from 0 to max_hz.

    Each lead has its mean removed and a Hann window applied; magnitudes are scaled so a
    sine of amplitude A mV reads about A at its frequency.
    """
    x = _batch(signals).astype(np.float64).transpose(0, 2, 1)
    n = x.shape[-1]
    window = np.hanning(n)
    x = (x - x.mean(axis=-1, keepdims=True)) * window
    mag = np.abs(np.fft.rfft(x, axis=-1)) * (2.0 / window.sum())
    freqs = np.fft.rfftfreq(n, d=1.0 / fs)
    keep = freqs <= max_hz
    return View("spectrum", mag[..., keep].astype(np.float32), {"frequency": freqs[keep]},
                {"frequency": "Hz", "value": "mV"})


@functools.lru_cache(maxsize=8)
def scalogram_axes(fs: float = MODEL_FS, n_scales: int = SCALO_SCALES,
                   fmin: float = SCALO_FMIN, fmax: float = SCALO_FMAX) -> tuple[np.ndarray, np.ndarray]:
    """(scales, frequencies Hz), frequencies log-spaced from fmax down to fmin."""
    freqs = np.geomspace(fmax, fmin, n_scales)
    scales = pywt.frequency2scale(SCALO_WAVELET, freqs / fs)
    return scales, freqs


def _scalogram_kernels(fs: float, n_scales: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """pywt.cwt's per-scale filters (its integrated wavelet sampled exactly as pywt samples it
    for float32 input), shortest first: (scales (S,), filters list of S complex64 arrays)."""
    scales, _ = scalogram_axes(fs, n_scales)
    int_psi, grid = pywt.integrate_wavelet(pywt.ContinuousWavelet(SCALO_WAVELET), precision=12)
    int_psi = np.conj(int_psi).astype(np.complex64)      # as pywt.cwt does for complex wavelets
    grid = grid.astype(np.float32)                       # pywt rounds its grid to the data dtype
    step = grid[1] - grid[0]
    filters = []
    for s in scales:
        j = (np.arange(s * (grid[-1] - grid[0]) + 1) / (s * step)).astype(int)
        filters.append(int_psi[j[j < int_psi.size]][::-1])
    return scales, filters


def _fft_size(n: int, length: int, decimate: int) -> int:
    """Shortest fast FFT size P (a multiple of `decimate`) at which the circular convolution of n
    samples with a filter of `length` equals the linear one on the samples pywt keeps: linear
    output indices offset .. offset + n (offset = (length - 2) // 2) must not wrap."""
    offset = (length - 2) // 2
    need = max(n + length - 1 - offset, offset + n + 1)
    return sfft.next_fast_len(-(-need // decimate)) * decimate


@functools.lru_cache(maxsize=8)
def scalogram_filters(n: int, fs: float = MODEL_FS, n_scales: int = SCALO_SCALES,
                      decimate: int = SCALO_DECIMATE) -> list[tuple[slice, int, np.ndarray]]:
    """Frequency responses of the CWT for signals of n samples, in groups of scales:
    [(rows of the scale axis, FFT size P, G (rows, P) complex64), ...].

    Each row is pywt.cwt's filter for that scale (wrapped modulo P when longer), times pywt's
    first difference and -sqrt(scale), times the phase shift that aligns output sample 0 with
    pywt's trimmed output. Scales are grouped by filter length (SCALO_GROUPS groups) so that the
    short high-frequency filters use a short FFT: ~2x less work than one FFT size for all.
    """
    scales, filters = _scalogram_kernels(fs, n_scales)
    groups = []
    for rows in np.array_split(np.arange(len(scales)), min(SCALO_GROUPS, len(scales))):
        size = max(_fft_size(n, len(filters[r]), decimate) for r in rows)
        k = np.arange(size)
        bank = np.empty((len(rows), size), np.complex128)
        for i, r in enumerate(rows):
            h = filters[r].astype(np.complex128)
            h = np.pad(h, (0, -len(h) % size)).reshape(-1, size).sum(axis=0)     # wrap modulo P
            offset = (len(filters[r]) - 2) // 2          # pywt keeps diff(conv)[offset: offset + n]
            bank[i] = (-np.sqrt(scales[r]) * sfft.fft(h)
                       * (np.exp(2j * np.pi * k / size) - 1) * np.exp(2j * np.pi * k * offset / size))
        groups.append((slice(int(rows[0]), int(rows[-1]) + 1), size, bank.astype(np.complex64)))
    return groups


def scalogram_view(signals: np.ndarray, fs: float = MODEL_FS, n_scales: int = SCALO_SCALES,
                   decimate: int = SCALO_DECIMATE) -> View:
    """Continuous-wavelet magnitude per lead: values (N, 12, S, ceil(T/decimate)) mV.

    Axes: frequency (S,) Hz, high to low, log-spaced 45 -> 0.5 Hz; time (ceil(T/decimate),) s.
    Equals |pywt.cwt(leads - mean, scales, 'cmor1.5-1.0', method='fft')[..., ::decimate]| for
    float32 input to within 1e-5 of each record's peak (tests/test_views.py), several times
    faster: one FFT per lead and group of scales, the shortest FFT each group allows, the
    filters cached, and the decimation done in the frequency domain (summing the `decimate`
    spectral folds gives every decimate-th output sample).
    """
    x = _batch(signals).transpose(0, 2, 1)
    x = x - x.mean(axis=-1, keepdims=True)
    n = x.shape[-1]
    keep = -(-n // decimate)
    mag = np.empty((x.shape[0], 12, n_scales, keep), np.float32)
    for rows, size, bank in scalogram_filters(n, float(fs), n_scales, decimate):
        for i in range(0, x.shape[0], SCALO_CHUNK):
            spec = sfft.fft(x[i:i + SCALO_CHUNK], size, axis=-1)[:, :, None, :] * bank   # (n, 12, S', P)
            folded = spec.reshape(*spec.shape[:-1], decimate, size // decimate).sum(axis=-2)
            mag[i:i + SCALO_CHUNK, :, rows] = np.abs(sfft.ifft(folded, axis=-1)[..., :keep]) / decimate
    _, freqs = scalogram_axes(float(fs), n_scales)
    t = np.arange(0, n, decimate, dtype=np.float64) / fs
    return View("scalogram", mag, {"frequency": freqs, "time": t},
                {"frequency": "Hz", "time": "s", "value": "mV"})


VIEWS = {"signal": signal_view, "spectrum": spectrum_view, "scalogram": scalogram_view}


def compute_view(name: str, signals: np.ndarray, fs: float = MODEL_FS) -> View:
    """Look a view up by name ('signal', 'spectrum', 'scalogram') and compute it."""
    if name not in VIEWS:
        raise ValueError(f"unknown view {name!r}; choose one of {sorted(VIEWS)}")
    return VIEWS[name](signals, fs)
