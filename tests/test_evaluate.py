"""Card pieces: the risk-coverage gain and its bootstrap interval."""
from __future__ import annotations

import numpy as np

from ecgcore.models.evaluate import coverage_gain


def _scores(seed: int = 0, n: int = 300):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, 5)) < 0.3).astype(float)
    hard = rng.random(n) < 0.2                                   # 20% of records: scores are noise
    p = np.where(hard[:, None], rng.random((n, 5)), 0.2 + 0.6 * y + rng.normal(0, 0.1, (n, 5)))
    return rng, y, np.clip(p, 0, 1), hard


def test_abstaining_on_the_hard_records_raises_the_auc():
    rng, y, p, hard = _scores()
    g = coverage_gain(y, p, hard + rng.random(len(y)) * 0.1, 0.8, n=200)
    assert g["gain"] > 0.05 and g["ci95"][0] > 0


def test_random_abstention_gains_nothing():
    rng, y, p, _ = _scores(1)
    g = coverage_gain(y, p, rng.random(len(y)), 0.9, n=200)
    assert g["ci95"][0] < 0 < g["ci95"][1] and abs(g["gain"]) < 0.03
