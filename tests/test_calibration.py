"""Calibration and metrics on arrays with known answers."""
from __future__ import annotations

import numpy as np
import pytest

from ecgcore.calibration import bootstrap_auc, choose_thresholds, ece, fit_temperature, macro_auc, sigmoid


def test_temperature_recovers_known_scale():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, (20000, 5))
    y = (rng.random(z.shape) < sigmoid(z)).astype(float)
    temps = fit_temperature(z * 3, y)                        # logits 3x over-confident
    assert np.allclose(temps, 3, rtol=0.08)
    assert ece(y, sigmoid(z * 3 / temps)) < ece(y, sigmoid(z * 3))


def test_perfect_ranking_auc_and_thresholds():
    y = np.zeros((100, 5)); y[50:] = 1
    p = np.linspace(0, 1, 100)[:, None].repeat(5, 1)
    assert macro_auc(y, p) == 1.0
    thr = choose_thresholds(p, y)
    assert np.all((thr > p[49, 0]) & (thr <= p[50, 0]))


def test_bootstrap_ci_brackets_estimate():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, (300, 5)).astype(float)
    p = np.clip(y * 0.3 + rng.random(y.shape) * 0.7, 0, 1)
    out = bootstrap_auc(y, p, n=200)
    lo, hi = out["ci95"]
    assert lo < out["macro_auc"] < hi and hi - lo < 0.15
