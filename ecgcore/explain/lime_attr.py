"""LIME by segment perturbation, through `lime.lime_base.LimeBase` with our own masks.

Each perturbation keeps every segment with probability 1/2 and switches the others off to the
view's off value; the model's probability for the class is regressed on the 0/1 masks
(Ridge, alpha=1, LIME's exponential kernel on the cosine distance to the unperturbed mask,
width 0.25 as in lime_image). The first perturbation is the record itself.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .segments import Segmentation, masks_apply

KERNEL_WIDTH = 0.25


def lime_masks(n_samples: int, n_segments: int, seed: int, p_off: float = 0.5,
               antithetic: bool = False) -> np.ndarray:
    """(n_samples, n_segments) 0/1 masks, row 0 all ones (the record itself).

    Each segment is off with probability p_off; antithetic: rows come in pairs (mask, 1 - mask).
    """
    if n_samples < 2 * n_segments // 3:
        raise ValueError(f"n_samples={n_samples} is too few for {n_segments} segments; "
                         f"use at least {2 * n_segments // 3}")
    rng = np.random.default_rng(seed)
    if antithetic == "balanced":
        m = max(1, int(round(p_off * n_segments)))
        perms = np.concatenate([rng.permutation(n_segments) for _ in range(n_samples * m // n_segments + 1)])
        masks = np.ones((n_samples, n_segments))
        rows = np.repeat(np.arange(n_samples), m)
        masks[rows, perms[:len(rows)]] = 0.0
    elif antithetic:
        half = (rng.random(((n_samples + 1) // 2, n_segments)) >= 0.5).astype(np.float64)
        masks = np.empty((2 * len(half), n_segments))
        masks[0::2], masks[1::2] = half, 1.0 - half
        masks = masks[:n_samples]
    else:
        masks = (rng.random((n_samples, n_segments)) >= p_off).astype(np.float64)
    masks[0] = 1.0
    return masks


def masks_predict(predict: Callable[[np.ndarray], np.ndarray], values: np.ndarray, off: np.ndarray,
                  seg: Segmentation, masks: np.ndarray, batch: int = 64) -> np.ndarray:
    """Model outputs (B, ...) on the perturbed copies, `batch` copies at a time."""
    out = [predict(masks_apply(values, off, seg, masks[i:i + batch]))
           for i in range(0, len(masks), batch)]
    return np.concatenate(out)


def lime_scores(predict_class: Callable[[np.ndarray], np.ndarray], values: np.ndarray,
                off: np.ndarray, seg: Segmentation, n_samples: int, seed: int,
                p_off: float = 0.5, antithetic: bool = False) -> tuple[np.ndarray, dict]:
    """(n,) LIME weight per segment (probability change when kept vs off) and fit info.

    predict_class: view values (B, 12, ...) -> (B,) probability of the explained class.
    """
    from lime.lime_base import LimeBase

    masks = lime_masks(n_samples, seg.n, seed, p_off, antithetic)
    y = masks_predict(predict_class, values, off, seg, masks)
    distances = 1.0 - np.sqrt(masks.sum(1) / seg.n)          # cosine distance to all-ones
    base = LimeBase(lambda d: np.sqrt(np.exp(-(d ** 2) / KERNEL_WIDTH ** 2)), random_state=seed)
    intercept, weights, r2, _ = base.explain_instance_with_data(
        masks, y[:, None], distances, 0, seg.n, feature_selection="none")
    scores = np.zeros(seg.n)
    for feature, weight in weights:
        scores[feature] = weight
    return scores, {"r2": float(r2), "intercept": float(intercept), "n_samples": int(n_samples)}
