"""Paired fold-9 comparison of runs: known truths of the paired bootstrap."""
from __future__ import annotations

import numpy as np

from ecgcore.models.compare import paired_difference


def _labels(n: int = 200, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((n, 5)) < 0.3).astype(np.float32)


def test_identical_predictions_differ_by_exactly_zero():
    y = _labels()
    p = np.random.default_rng(1).random(y.shape)
    d = paired_difference(y, p, p, n=100)
    assert d["difference"] == 0 and d["ci95"] == [0.0, 0.0] and d["resamples"] == 100


def test_informative_beats_uninformative_with_a_ci_above_zero():
    y = _labels()
    rng = np.random.default_rng(2)
    good, noise = y + rng.normal(0, 0.5, y.shape), rng.random(y.shape)
    d = paired_difference(y, good, noise, n=150)
    assert d["difference"] > 0.2 and d["ci95"][0] > 0.1
    flipped = paired_difference(y, noise, good, n=150)
    assert np.isclose(flipped["difference"], -d["difference"]) and flipped["ci95"][1] < -0.1
