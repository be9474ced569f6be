"""LIME by segment perturbation, through `lime.lime_base.LimeBase` with our own masks.

Sampling (a stated choice, set on fold 9): every perturbation switches off exactly `n_off`
segments (default 2 of 120) to the view's off value, and each segment is switched off equally
often (rows are cut from a run of random permutations). So LIME fits a local linear model of
the class probability around the record: weights = change in probability when a segment is
present vs switched off, with the others mostly present. On fold-9 records this local design
was far more stable between seeds than the usual half-of-the-segments-off sampling, at the same
faithfulness (numbers in docs/explanations.md).
`singles=True` (a per-view choice, `LIME_DESIGN`) puts one row per segment switched off alone
right after the record row; those rows are the same for every seed, the rest are random pairs.
Fit: Ridge (alpha=1) on the 0/1 masks, LIME's exponential kernel on the cosine distance to the
unperturbed mask (width 0.25, as lime_image; near-constant at this locality). Row 0 is the record.
Rows are nested: the first m rows of a design of n > m rows are the design of m rows (same seed).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .segments import Segmentation, masks_apply

KERNEL_WIDTH = 0.25
N_OFF = 2
RIDGE_ALPHA = 1.0
# view -> (n_off, singles); chosen on fold 9 (docs/explanations.md; scalogram: issue #5, with
# 400 samples, by scripts/select_lime_scalogram.py)
LIME_DESIGN = {"signal": (N_OFF, False), "spectrum": (N_OFF, False), "scalogram": (N_OFF, True)}


def lime_masks(n_samples: int, n_segments: int, seed: int, n_off: int = N_OFF,
               singles: bool = False) -> np.ndarray:
    """(n_samples, n_segments) 0/1 masks: row 0 all ones, then (if singles) one row per segment
    switched off alone, then rows with n_off zeros, each segment equally often."""
    if not 1 <= n_off < n_segments:
        raise ValueError(f"n_off must be in 1..{n_segments - 1}, got {n_off}")
    n_fixed = 1 + n_segments * bool(singles)
    n_random = n_samples - n_fixed
    if n_random * n_off < 2 * n_segments:
        raise ValueError(f"n_samples={n_samples} switches each of {n_segments} segments off fewer "
                         f"than twice at random; use at least {n_fixed + 2 * n_segments // n_off}")
    rng = np.random.default_rng(seed)
    n_perm = n_random * n_off // n_segments + 1
    order = np.concatenate([rng.permutation(n_segments) for _ in range(n_perm)])
    masks = np.ones((n_samples, n_segments))
    if singles:
        masks[1 + np.arange(n_segments), np.arange(n_segments)] = 0.0
    rows = np.repeat(np.arange(n_fixed, n_samples), n_off)
    masks[rows, order[:len(rows)]] = 0.0
    return masks


def masks_predict(predict: Callable[[np.ndarray], np.ndarray], values: np.ndarray, off: np.ndarray,
                  seg: Segmentation, masks: np.ndarray) -> np.ndarray:
    """Model outputs on the perturbed copies, in batches of about 2 M values (20 scalograms;
    measured: batches of 4-20 scalograms cost the same per sample, 32 and more cost more)."""
    batch = int(np.clip(2_000_000 // values.size, 8, 64))
    out = [predict(masks_apply(values, off, seg, masks[i:i + batch]))
           for i in range(0, len(masks), batch)]
    return np.concatenate(out)


def lime_fit(masks: np.ndarray, y: np.ndarray, seed: int,
             alpha: float = RIDGE_ALPHA) -> tuple[np.ndarray, float, float]:
    """LimeBase fit of outputs y (B,) on masks (B, n): (weights (n,), intercept, weighted R^2)."""
    from lime.lime_base import LimeBase
    from sklearn.linear_model import Ridge

    n = masks.shape[1]
    distances = 1.0 - np.sqrt(masks.sum(1) / n)                # cosine distance to all-ones
    base = LimeBase(lambda d: np.sqrt(np.exp(-(d ** 2) / KERNEL_WIDTH ** 2)), random_state=seed)
    intercept, weights, r2, _ = base.explain_instance_with_data(
        masks, np.asarray(y)[:, None], distances, 0, n, feature_selection="none",
        model_regressor=Ridge(alpha=alpha, fit_intercept=True))
    scores = np.zeros(n)
    for feature, weight in weights:
        scores[feature] = weight
    return scores, float(intercept), float(r2)


def lime_scores(predict_class: Callable[[np.ndarray], np.ndarray], values: np.ndarray,
                off: np.ndarray, seg: Segmentation, n_samples: int, seed: int,
                n_off: int | None = None, singles: bool | None = None) -> tuple[np.ndarray, dict]:
    """(n,) LIME weight per segment and fit info.

    predict_class: view values (B, 12, ...) -> (B,) probability of the explained class.
    n_off, singles: default `LIME_DESIGN[seg.view]`.
    """
    d_off, d_singles = LIME_DESIGN.get(seg.view, (N_OFF, False))
    n_off = d_off if n_off is None else n_off
    singles = d_singles if singles is None else singles
    masks = lime_masks(n_samples, seg.n, seed, n_off, singles)
    y = masks_predict(predict_class, values, off, seg, masks)
    scores, intercept, r2 = lime_fit(masks, y, seed)
    return scores, {"r2": r2, "intercept": intercept, "n_samples": int(n_samples),
                    "n_off": int(n_off), "singles": bool(singles)}
