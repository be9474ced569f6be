"""Joint fusion over embeddings vs late fusion: the cross-fitted comparison picks the informative input."""
from __future__ import annotations

import numpy as np

from ecgcore.models.joint import compare, fit_joint, joint_logits


def _data(n: int = 150, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, 5)) < 0.35).astype(np.float64)
    y[:5], y[5:10] = 1, 0                                   # every class has both labels in every fold
    signal = (2 * y - 1) * 2.0                              # (n, 5) strong class evidence
    return rng, y, signal


def test_joint_head_recovers_a_linear_signal():
    rng, y, signal = _data()
    e = np.concatenate([signal + rng.normal(0, 1, signal.shape), rng.normal(0, 1, (len(y), 20))], axis=1)
    head = fit_joint(e, y)
    z = joint_logits(head, e)
    assert z.shape == y.shape and head["weight"].shape == (5, 25)
    assert all(np.corrcoef(z[:, k], y[:, k])[0, 1] > 0.6 for k in range(5))


def test_comparison_prefers_the_informative_input():
    rng, y, signal = _data()
    informative_z = np.repeat((signal + rng.normal(0, 1, signal.shape))[..., None], 3, axis=-1)
    noise_z = rng.normal(0, 1, (len(y), 5, 3))
    informative_e = np.concatenate([signal + rng.normal(0, 1, signal.shape), rng.normal(0, 1, (len(y), 10))], 1)
    noise_e = rng.normal(0, 1, (len(y), 15))
    late_wins = compare(informative_z, noise_e, y, repeats=1)
    joint_wins = compare(noise_z, informative_e, y, repeats=1)
    assert not late_wins["shipped"] and late_wins["late_fusion_oof_macro_auc"] > 0.8
    assert late_wins["joint_oof_macro_auc"] < 0.65 and "not better" in late_wins["verdict"]
    assert joint_wins["shipped"] and joint_wins["joint_oof_macro_auc"] > 0.8
