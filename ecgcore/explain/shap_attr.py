"""SHAP (expected gradients, `shap.GradientExplainer`) on a model's own view.

The explained output is the calibrated probability of one class, sigmoid(logit / T), so SHAP
and LIME speak the same unit. The background is a fixed draw of training-fold records
(folds 1-8, never fold 10): `background_signals(n, seed)`. The explainer runs on a deep copy
of the network (models are shared between app sessions), is cached per (network, class,
background), and runs under a lock that restores NumPy's global random state, which
GradientExplainer reseeds.
"""
from __future__ import annotations

import copy
import functools
import threading

import numpy as np
import torch
from torch import nn

from ..ptbxl import TRAIN_FOLDS, load_index, load_record, ptbxl_dir, split_ids
from ..record import model_input
from ..views import compute_view

BACKGROUND_SIZE = 32


class ClassProbability(nn.Module):
    """net (N, 12, ...) -> (N, 1) calibrated probability of class k."""

    def __init__(self, net: nn.Module, k: int, temperature: float):
        super().__init__()
        self.net, self.k, self.temperature = net, k, float(temperature)
        self.sigmoid = nn.Sigmoid()        # a module, so DeepExplainer treats it as nonlinear

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.sigmoid(self.net(x)[:, self.k:self.k + 1] / self.temperature)


@functools.lru_cache(maxsize=4)
def _background_signals(root: str, n: int, seed: int) -> np.ndarray:
    ids = split_ids(load_index(root), TRAIN_FOLDS, fs=100)
    if len(ids) < n:
        raise ValueError(f"only {len(ids)} training records under {root}; need {n} for a background")
    pick = np.sort(np.random.default_rng(seed).choice(ids, n, replace=False))
    x = np.stack([model_input(load_record(int(i), 100, root)) for i in pick])
    x.setflags(write=False)
    return x


def background_signals(n: int = BACKGROUND_SIZE, seed: int = 0) -> np.ndarray:
    """(n, 1000, 12) mV: n training-fold records drawn with `seed` (cached per PTB-XL folder)."""
    return _background_signals(str(ptbxl_dir()), n, seed)


@functools.lru_cache(maxsize=8)
def _background_values(root: str, view: str, n: int, seed: int) -> np.ndarray:
    values = compute_view(view, _background_signals(root, n, seed)).values
    values.setflags(write=False)
    return values


def background_values(view: str, n: int = BACKGROUND_SIZE, seed: int = 0) -> np.ndarray:
    """(n, 12, ...) view values of `background_signals(n, seed)` (cached)."""
    return _background_values(str(ptbxl_dir()), view, n, seed)


@functools.lru_cache(maxsize=16)
def _explainer(net: nn.Module, class_index: int, temperature: float, view: str, n: int, seed: int):
    """A GradientExplainer on a deep copy of `net` (its init runs the background once)."""
    import shap

    model = ClassProbability(copy.deepcopy(net), class_index, temperature).eval()
    bg = torch.from_numpy(np.array(background_values(view, n, seed), np.float32))
    return shap.GradientExplainer(model, bg)


_SHAP_LOCK = threading.Lock()      # GradientExplainer reseeds NumPy's global random state


def shap_attributions(net: nn.Module, values: np.ndarray, view: str, class_index: int,
                      temperature: float = 1.0, nsamples: int = 64, seed: int = 0,
                      n_background: int = BACKGROUND_SIZE) -> np.ndarray:
    """(12, ...) SHAP values of one record's view values (12, ...) for one class's probability.

    Background: `background_values(view, n_background, seed)`. Sum over all elements
    ~ p(record) - mean p(background) (expected-gradients estimate, `nsamples` path samples).
    """
    explainer = _explainer(net, int(class_index), float(temperature), view, n_background, seed)
    x = torch.from_numpy(np.array(values, np.float32)[None])
    with _SHAP_LOCK:
        explainer.explainer.batch_size = nsamples
        state = np.random.get_state()
        try:
            phi = explainer.shap_values(x, nsamples=nsamples, rseed=seed)
        finally:
            np.random.set_state(state)
    phi = np.asarray(phi[0] if isinstance(phi, list) else phi)       # (1, 12, ..., 1)
    return phi.reshape(values.shape).astype(np.float32)
