"""How far to trust a saliency map: faithfulness (deletion curves) and rank agreement.

Deletion: switch segments off (to the view's off value) in saliency order, most positive first,
and follow the model's probability for the class; do the same in random orders. The
faithfulness score is area(random) - area(salient) under the curves over the fraction removed
(x in [0, 1], probability units): > 0 means the map finds the evidence faster than chance.

Rank agreement: Spearman correlation of two segment-score vectors, over the union of both
top-k segments (k = n // 5, the segments a reader looks at; used for stability) or over all
segments (top=0; LIME-SHAP agreement and the model-randomisation check). Restricting to the
union of two tops is biased low when the rankings differ (segments high in one and low in the
other are selected), so it is only the headline where the two runs should coincide.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.stats import spearmanr

from .lime_attr import masks_predict
from .segments import Segmentation

DELETION_STEPS = 20
DELETION_RANDOM_ORDERS = 4


def deletion_masks(order: np.ndarray, n: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """(steps + 1, n) masks removing the first round(f * n) segments of `order`, and f (steps + 1,)."""
    fraction = np.linspace(0.0, 1.0, steps + 1)
    masks = np.ones((steps + 1, n))
    for i, f in enumerate(fraction):
        masks[i, order[:int(round(f * n))]] = 0.0
    return masks, fraction


def deletion_curves(predict_class: Callable[[np.ndarray], np.ndarray], values: np.ndarray,
                    off: np.ndarray, seg: Segmentation, scores: np.ndarray,
                    steps: int = DELETION_STEPS, n_random: int = DELETION_RANDOM_ORDERS,
                    seed: int = 0) -> dict:
    """Deletion curves of the saliency order vs the mean of `n_random` random orders.

    Returns plain types: fraction, salient, random (steps + 1,), area_salient, area_random,
    faithfulness = area_random - area_salient.
    """
    order = np.argsort(-np.asarray(scores), kind="stable")
    rng = np.random.default_rng(seed)
    orders = [order] + [rng.permutation(seg.n) for _ in range(n_random)]
    parts = [deletion_masks(o, seg.n, steps) for o in orders]
    fraction = parts[0][1]
    y = masks_predict(predict_class, values, off, seg, np.concatenate([m for m, _ in parts]))
    y = y.reshape(len(orders), steps + 1)
    salient, random = y[0], y[1:].mean(0)
    area_s, area_r = float(np.trapezoid(salient, fraction)), float(np.trapezoid(random, fraction))
    return {"fraction": fraction.astype(np.float32), "salient": salient.astype(np.float32),
            "random": random.astype(np.float32), "area_salient": area_s, "area_random": area_r,
            "faithfulness": area_r - area_s}


def rank_agreement(a: np.ndarray, b: np.ndarray, top: int | None = None) -> float:
    """Spearman correlation of a and b (n,) over the union of their top-k (by score) segments.

    top: k; default n // 5; 0 or >= n uses every segment. NaN if either side is constant there.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"score vectors must be (n,) of equal length, got {a.shape} and {b.shape}")
    k = len(a) // 5 if top is None else top
    if 0 < k < len(a):
        keep = np.union1d(np.argsort(-a, kind="stable")[:k], np.argsort(-b, kind="stable")[:k])
        a, b = a[keep], b[keep]
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)
