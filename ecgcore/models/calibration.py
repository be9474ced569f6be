"""Calibration, thresholds and metrics on arrays (no models, no I/O).

Everything here is fitted on fold 9 and only *measured* on fold 10. scipy/sklearn are imported
inside the functions that need them, so loading a model does not pay for them.
"""
from __future__ import annotations

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-class temperature T (5,) minimising BCE of sigmoid(logit / T). logits, y: (N, 5)."""
    from scipy.optimize import minimize_scalar
    temps = np.ones(logits.shape[1], np.float64)
    for k in range(logits.shape[1]):
        z, t = logits[:, k].astype(np.float64), y[:, k].astype(np.float64)

        def nll(log_t: float) -> float:
            p = np.clip(sigmoid(z / np.exp(log_t)), 1e-7, 1 - 1e-7)
            return float(-np.mean(t * np.log(p) + (1 - t) * np.log(1 - p)))
        temps[k] = float(np.exp(minimize_scalar(nll, bounds=(-3, 3), method="bounded").x))
    return temps


def fit_platt(logits: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-class Platt scaling: slope a (5,), intercept b (5,) minimising BCE of sigmoid(a z + b)."""
    from sklearn.linear_model import LogisticRegression
    slope, intercept = np.ones(logits.shape[1]), np.zeros(logits.shape[1])
    for k in range(logits.shape[1]):
        if 0 < y[:, k].sum() < len(y):
            lr = LogisticRegression(C=1e4).fit(logits[:, k:k + 1].astype(np.float64), y[:, k])
            slope[k], intercept[k] = float(lr.coef_[0, 0]), float(lr.intercept_[0])
    return slope, intercept


CALIBRATIONS = {"temperature": "per-class temperature", "platt": "per-class Platt scaling"}


def fit_calibration(logits: np.ndarray, y: np.ndarray, method: str) -> dict:
    """Fit one calibration -> {'kind', 'slope' (5,), 'intercept' (5,)}: p = sigmoid(slope * z + intercept)."""
    if method == "temperature":
        slope, intercept = 1.0 / fit_temperature(logits, y), np.zeros(logits.shape[1])
    elif method == "platt":
        slope, intercept = fit_platt(logits, y)
    else:
        raise ValueError(f"calibration method must be one of {sorted(CALIBRATIONS)}, got {method!r}")
    return {"kind": method, "slope": [float(v) for v in slope], "intercept": [float(v) for v in intercept]}


def calibration_params(calib: dict, n: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """(slope (n,), intercept (n,)) of a stored calibration; files with only 'temperature' work too."""
    if "slope" in calib:
        return np.asarray(calib["slope"], np.float64), np.asarray(calib["intercept"], np.float64)
    return 1.0 / np.asarray(calib.get("temperature", [1.0] * n), np.float64), np.zeros(n)


def apply_calibration(logits: np.ndarray, calib: dict) -> np.ndarray:
    """Calibrated logits (N, 5) = slope * z + intercept."""
    slope, intercept = calibration_params(calib, logits.shape[-1])
    return logits * slope + intercept


def choose_calibration(logits: np.ndarray, y: np.ndarray, repeats: int = 10, seed: int = 0) -> dict:
    """Pick temperature or Platt scaling by cross-validation inside the given (fold-9) records,
    then fit the winner on all of them.

    Rule: lower mean out-of-fold macro ECE over `repeats` x 5-fold splits (ties -> temperature).
    Returns fit_calibration's dict plus 'method' (words), 'rule' and 'selection' (per method:
    mean out-of-fold ECE and BCE)."""
    from sklearn.model_selection import KFold
    table = {}
    for method in CALIBRATIONS:
        eces, bces = [], []
        for r in range(repeats):
            p = np.zeros(logits.shape)
            for tr, te in KFold(5, shuffle=True, random_state=seed + r).split(logits):
                p[te] = sigmoid(apply_calibration(logits[te], fit_calibration(logits[tr], y[tr], method)))
            pc = np.clip(p, 1e-7, 1 - 1e-7)
            eces.append(ece(y, p))
            bces.append(float(-np.mean(y * np.log(pc) + (1 - y) * np.log(1 - pc))))
        table[method] = {"cv_ece": float(np.mean(eces)), "cv_bce": float(np.mean(bces))}
    best = min(CALIBRATIONS, key=lambda m: (round(table[m]["cv_ece"], 6), m != "temperature"))
    out = fit_calibration(logits, y, best)
    out.update(method=f"{CALIBRATIONS[best]}, fitted on fold 9", selection=table,
               rule=f"lower mean out-of-fold ECE on fold 9 ({repeats} x 5-fold cross-validation)")
    return out


def choose_thresholds(proba: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-class threshold (5,) maximising F1 on (N, 5) probabilities (rule: max F1 on fold 9)."""
    from sklearn.metrics import f1_score
    out = np.full(proba.shape[1], 0.5)
    for k in range(proba.shape[1]):
        candidates = np.unique(proba[:, k])
        if len(candidates) > 200:
            candidates = np.quantile(proba[:, k], np.linspace(0.01, 0.99, 199))
        scores = [f1_score(y[:, k], proba[:, k] >= c, zero_division=0) for c in candidates]
        out[k] = float(candidates[int(np.argmax(scores))])
    return out


def macro_auc(y: np.ndarray, proba: np.ndarray) -> float:
    """Mean per-class ROC-AUC over classes that have both positives and negatives."""
    aucs = per_class_auc(y, proba)
    return float(np.nanmean(aucs))


def per_class_auc(y: np.ndarray, proba: np.ndarray) -> np.ndarray:
    from sklearn.metrics import roc_auc_score
    out = np.full(y.shape[1], np.nan)
    for k in range(y.shape[1]):
        if 0 < y[:, k].sum() < len(y):
            out[k] = roc_auc_score(y[:, k], proba[:, k])
    return out


def bootstrap_stats(y: np.ndarray, stat, n: int = 1000, seed: int = 0) -> list[float]:
    """stat(idx) over n resamples of the records of y (N, C), drawn with replacement; resamples
    lacking a positive of some class are skipped (their AUC is undefined)."""
    rng = np.random.default_rng(seed)
    stats = []
    for _ in range(n):
        idx = rng.integers(0, len(y), len(y))
        if not (y[idx].sum(0) == 0).any():
            stats.append(stat(idx))
    return stats


def bootstrap_auc(y: np.ndarray, proba: np.ndarray, n: int = 1000, seed: int = 0) -> dict:
    """Macro AUC with a 95% percentile bootstrap CI over records (n resamples)."""
    stats = bootstrap_stats(y, lambda idx: macro_auc(y[idx], proba[idx]), n, seed)
    lo, hi = np.percentile(stats, [2.5, 97.5])
    return {"macro_auc": macro_auc(y, proba), "ci95": [float(lo), float(hi)],
            "resamples": len(stats)}


def ece(y: np.ndarray, proba: np.ndarray, bins: int = 10) -> float:
    """Macro expected calibration error over classes, equal-width bins."""
    return float(np.mean([reliability(y[:, k], proba[:, k], bins)["ece"] for k in range(y.shape[1])]))


def ece_chance(proba: np.ndarray, n: int = 1000, seed: int = 0) -> dict:
    """Macro ECE that a perfectly calibrated model with these probabilities (N, 5) would show on N
    records from sampling noise alone: labels drawn as Bernoulli(proba). {'mean', 'p95', 'simulations'}."""
    rng = np.random.default_rng(seed)
    stats = [ece((rng.random(proba.shape) < proba).astype(np.float64), proba) for _ in range(n)]
    return {"mean": float(np.mean(stats)), "p95": float(np.percentile(stats, 95)), "simulations": n}


def reliability(y: np.ndarray, p: np.ndarray, bins: int = 10) -> dict:
    """Reliability diagram data for one class: per bin mean predicted, observed rate, count; ECE."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    conf, acc, count = [], [], []
    for b in range(bins):
        m = which == b
        count.append(int(m.sum()))
        conf.append(float(p[m].mean()) if m.any() else None)
        acc.append(float(y[m].mean()) if m.any() else None)
    err = sum(c * abs(a - f) for a, f, c in zip(acc, conf, count) if c) / max(len(p), 1)
    return {"mean_predicted": conf, "observed": acc, "count": count, "ece": float(err)}


def roc_points(y: np.ndarray, p: np.ndarray, max_points: int = 200) -> dict:
    from sklearn.metrics import roc_curve
    fpr, tpr, _ = roc_curve(y, p)
    if len(fpr) > max_points:
        keep = np.unique(np.linspace(0, len(fpr) - 1, max_points).astype(int))
        fpr, tpr = fpr[keep], tpr[keep]
    return {"fpr": np.round(fpr, 4).tolist(), "tpr": np.round(tpr, 4).tolist()}
