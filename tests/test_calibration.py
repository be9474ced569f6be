"""Calibration and metrics on arrays with known answers."""
from __future__ import annotations

import numpy as np
import pytest

from ecgcore.models.calibration import (apply_calibration, bootstrap_auc, choose_calibration, choose_thresholds, ece,
                                 fit_calibration, fit_platt, fit_temperature, macro_auc, sigmoid)


def test_temperature_recovers_known_scale():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, (20000, 5))
    y = (rng.random(z.shape) < sigmoid(z)).astype(float)
    temps = fit_temperature(z * 3, y)                        # logits 3x over-confident
    assert np.allclose(temps, 3, rtol=0.08)
    assert ece(y, sigmoid(z * 3 / temps)) < ece(y, sigmoid(z * 3))


def test_platt_recovers_known_slope_and_shift():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, (20000, 5))
    y = (rng.random(z.shape) < sigmoid(0.5 * z - 1.0)).astype(float)   # truth: slope 0.5, shift -1
    slope, intercept = fit_platt(z, y)
    assert np.allclose(slope, 0.5, atol=0.05) and np.allclose(intercept, -1.0, atol=0.08)


def test_choose_calibration_prefers_platt_only_when_a_shift_needs_it():
    rng = np.random.default_rng(1)
    z = rng.normal(0, 2, (600, 5))
    shifted = (rng.random(z.shape) < sigmoid(z / 2 - 1.5)).astype(float)
    scaled = (rng.random(z.shape) < sigmoid(z / 2)).astype(float)
    assert choose_calibration(z, shifted, repeats=3)["kind"] == "platt"
    pick = choose_calibration(z, scaled, repeats=3)
    assert set(pick["selection"]) == {"temperature", "platt"} and "fold 9" in pick["rule"]
    assert pick["selection"]["temperature"]["cv_ece"] < 0.06


def test_stored_temperature_and_platt_calibrations_apply_alike():
    z = np.array([[-2.0, 0.0, 1.0, 3.0, 4.0]])
    old = {"temperature": [2.0] * 5}                              # files written before Platt
    assert np.allclose(apply_calibration(z, old), z / 2)
    platt = {"slope": [0.5] * 5, "intercept": [1.0] * 5}
    assert np.allclose(apply_calibration(z, platt), z / 2 + 1)
    with pytest.raises(ValueError, match="calibration method"):
        fit_calibration(z, np.ones_like(z), "isotonic")


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


def test_ece_chance_is_the_noise_floor_of_a_calibrated_model():
    from ecgcore.models.calibration import ece, ece_chance
    rng = np.random.default_rng(0)
    small, large = rng.beta(1, 3, (256, 5)), rng.beta(1, 3, (20000, 5))
    floor_small, floor_large = ece_chance(small, n=200), ece_chance(large, n=20)
    assert floor_large["mean"] < 0.015 < floor_small["mean"] < floor_small["p95"]
    y = (rng.random(small.shape) < small).astype(float)          # labels from a calibrated model
    assert ece(y, small) < floor_small["p95"] + 0.01
    assert ece(y, np.clip(small + 0.2, 0, 1)) > floor_small["p95"]   # a biased model stands out
