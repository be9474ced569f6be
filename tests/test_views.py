"""Views: known truths on synthetic sines (a 10 Hz sine peaks at 10 Hz)."""
from __future__ import annotations

import numpy as np
import pytest

from ecgcore.signal.views import compute_view, scalogram_view, signal_view, spectrum_view


def sine(freq: float, amp: float = 1.0, fs: float = 100, seconds: float = 10) -> np.ndarray:
    t = np.arange(int(fs * seconds)) / fs
    return np.repeat((amp * np.sin(2 * np.pi * freq * t))[:, None], 12, axis=1).astype(np.float32)


@pytest.mark.parametrize("freq", [1.0, 10.0, 25.0])
def test_spectrum_peaks_at_sine_frequency(freq):
    v = spectrum_view(sine(freq, amp=2.0))
    assert v.values.shape == (1, 12, 451)
    peak = v.axes["frequency"][np.argmax(v.values[0, 0])]
    assert peak == pytest.approx(freq, abs=0.1)
    assert v.values[0, 0].max() == pytest.approx(2.0, rel=0.05)      # amplitude in mV


def test_scalogram_ridge_near_10hz():
    v = scalogram_view(sine(10.0))
    assert v.values.shape == (1, 12, 32, 250)
    freqs = v.axes["frequency"]
    assert freqs[0] == pytest.approx(45) and freqs[-1] == pytest.approx(0.5)
    assert np.all(np.diff(np.log(freqs)) < 0)                      # log-spaced, high to low
    ridge = freqs[np.argmax(v.values[0, 0, :, 50:200].mean(-1))]
    assert ridge == pytest.approx(10.0, rel=0.1)
    assert v.axes["time"][1] == pytest.approx(0.04)


def test_scalogram_separates_two_tones_in_time():
    x = sine(5.0)
    x[500:] = sine(20.0)[500:]
    v = scalogram_view(x).values[0, 0]
    freqs = scalogram_view(x).axes["frequency"]
    assert freqs[np.argmax(v[:, 60])] == pytest.approx(5, rel=0.12)
    assert freqs[np.argmax(v[:, 190])] == pytest.approx(20, rel=0.12)


def test_signal_view_is_the_signal_leads_first():
    x = np.random.default_rng(0).normal(size=(2, 1000, 12)).astype(np.float32)
    v = signal_view(x)
    assert v.values.shape == (2, 12, 1000)
    assert np.array_equal(v.values[1, 3], x[1, :, 3])
    assert v.axes["time"][-1] == pytest.approx(9.99)


@pytest.mark.parametrize("name", ["signal", "spectrum", "scalogram"])
def test_views_are_deterministic_and_batch_consistent(name):
    x = np.random.default_rng(1).normal(size=(3, 1000, 12)).astype(np.float32)
    a, b = compute_view(name, x).values, compute_view(name, x).values
    assert np.array_equal(a, b)
    assert np.allclose(compute_view(name, x[1:2]).values[0], a[1], rtol=1e-5, atol=1e-6)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="12"):
        spectrum_view(np.zeros((1000, 8)))
    with pytest.raises(ValueError, match="unknown view"):
        compute_view("fourier", np.zeros((1000, 12)))


def pywt_scalogram(x: np.ndarray, decimate: int = 4) -> np.ndarray:
    """The definition the fast scalogram must equal: pywt.cwt on float32 mean-removed leads."""
    import pywt

    from ecgcore.signal.views import SCALO_WAVELET, scalogram_axes
    leads = x.transpose(0, 2, 1) - x.transpose(0, 2, 1).mean(axis=-1, keepdims=True)
    coef, _ = pywt.cwt(leads, scalogram_axes()[0], SCALO_WAVELET, sampling_period=0.01, method="fft", axis=-1)
    return np.abs(coef[..., ::decimate]).transpose(1, 2, 0, 3)


@pytest.mark.parametrize("n", [1000, 999, 250])
def test_scalogram_equals_pywt_cwt(n):
    """Batch of 6 (crosses the 4-record chunk) of ECG-like and noisy leads, odd lengths too."""
    rng = np.random.default_rng(n)
    x = (sine(1.2)[:n] * rng.uniform(0.2, 2, 12) + rng.normal(0, 0.1, (6, n, 12))).astype(np.float32)
    got, want = scalogram_view(x).values, pywt_scalogram(x)
    assert got.shape == want.shape == (6, 12, 32, -(-n // 4))
    peak = want.max(axis=(1, 2, 3), keepdims=True)
    assert (np.abs(got - want) / peak).max() < 1e-5


def test_scalogram_equals_pywt_cwt_on_real_records(ptbxl_dir):
    from ecgcore.models.dataset import load_split
    x = load_split("val", str(ptbxl_dir), progress=False)["x"][:8]
    want = pywt_scalogram(x)
    peak = want.max(axis=(1, 2, 3), keepdims=True)
    assert (np.abs(scalogram_view(x).values - want) / peak).max() < 1e-5
