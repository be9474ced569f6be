"""Per-class logistic stacking on fold 9, shared by the late fusion and the joint model.

`pick_c` chooses a logistic regression's L2 strength by stratified 5-fold CV AUC; `fit_stack`
fits the late fusion's per-class weights over the components' calibrated logits.
"""
from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from ..signal.record import CLASSES

C_GRID = (0.01, 0.1, 1.0, 10.0)      # late fusion: a few logits per class, mild regularisation


def pick_c(x: np.ndarray, y: np.ndarray, grid: tuple[float, ...], seed: int = 0,
           max_iter: int = 100) -> tuple[float, float]:
    """The L2 strength C of `grid` with the best stratified 5-fold AUC of a logistic regression
    on x (N, D) for one binary label y (N,). Returns (C, its mean CV AUC); ties keep the first."""
    from sklearn.metrics import roc_auc_score
    best_c, best = grid[0], -1.0
    for c in grid:
        scores = []
        for tr, te in StratifiedKFold(5, shuffle=True, random_state=seed).split(x, y):
            lr = LogisticRegression(C=c, max_iter=max_iter).fit(x[tr], y[tr])
            scores.append(roc_auc_score(y[te], lr.decision_function(x[te])))
        if np.mean(scores) > best:
            best_c, best = c, float(np.mean(scores))
    return best_c, best


def fit_stack(z: np.ndarray, y: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray, dict]:
    """Per-class logistic stacking. z (N, 5, M) calibrated logits, y (N, 5) -> weight (5, M), bias (5,)."""
    n_classes, m = z.shape[1], z.shape[2]
    weight, bias, chosen = np.zeros((n_classes, m)), np.zeros(n_classes), {}
    for k in range(n_classes):
        best_c, best = pick_c(z[:, k], y[:, k], C_GRID, seed)
        lr = LogisticRegression(C=best_c).fit(z[:, k], y[:, k])
        weight[k], bias[k] = lr.coef_[0], lr.intercept_[0]
        chosen[CLASSES[k]] = {"C": best_c, "cv_auc": best}
    return weight, bias, chosen
