"""SHAP on a model's own view: `shap.DeepExplainer` (fallback `shap.GradientExplainer`).

The explained output is the calibrated probability of one class, sigmoid(logit / T), so SHAP
and LIME speak the same unit. The background is a fixed draw of training-fold records
(folds 1-8, never fold 10): `background_signals(n, seed)` draws n of the 64 records shipped in
`weights/shap_background.npz` (made by `python -m ecgcore.explain.shap_attr --data DIR`, listed in
SHA256SUMS), so explanations are the same with any PTB-XL folder, the demo set or none at all. Explainers are built on a deep
copy of the network (models are shared between app sessions and DeepExplainer leaves hooks on
the module it gets; one copy per network, shared by its classes), cached per (network, class,
background), and run under one lock (they
keep per-call state on their modules; GradientExplainer reseeds NumPy's global random state,
which is restored).
"""
from __future__ import annotations

import copy
import functools
import threading
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..io.ptbxl import TRAIN_FOLDS, load_index, load_record, split_ids
from ..signal.record import model_input
from ..models.registry import WEIGHTS_DIR, verify, write_sums
from ..signal.views import compute_view

BACKGROUND_SIZE = 32
POOL_SIZE = 64
BACKGROUND_FILE = WEIGHTS_DIR / "shap_background.npz"


class ClassProbability(nn.Module):
    """net (N, 12, ...) -> (N, 1) calibrated probability of class k: sigmoid(slope * z_k + intercept)."""

    def __init__(self, net: nn.Module, k: int, slope: float, intercept: float = 0.0):
        super().__init__()
        self.net, self.k, self.slope, self.intercept = net, k, float(slope), float(intercept)
        self.sigmoid = nn.Sigmoid()        # a module, so DeepExplainer treats it as nonlinear

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.sigmoid(self.net(x)[:, self.k:self.k + 1] * self.slope + self.intercept)


def make_background_pool(data: str | None = None, path: Path = BACKGROUND_FILE, seed: int = 0) -> Path:
    """Draw POOL_SIZE training-fold records (folds 1-8) of the PTB-XL folder `data` with `seed`
    and write their model inputs, in integer microvolts (PTB-XL's own resolution), to `path`."""
    ids = split_ids(load_index(data), TRAIN_FOLDS, fs=100)
    if len(ids) < POOL_SIZE:
        raise ValueError(f"only {len(ids)} training records in {data}; need {POOL_SIZE} for the SHAP pool")
    ids = np.sort(np.random.default_rng(seed).choice(ids, POOL_SIZE, replace=False))
    x = np.stack([model_input(load_record(int(i), 100, data)) for i in ids])
    uv = np.round(x * 1000)
    if np.abs(uv).max() > np.iinfo(np.int16).max:
        raise ValueError(f"a pool record exceeds +-32.7 mV ({np.abs(x).max():.1f} mV); draw with another --seed")
    np.savez_compressed(path, ids=ids, signals_uv=uv.astype(np.int16),
                        source=np.array(f"PTB-XL folds 1-8, {POOL_SIZE} records drawn with seed {seed}"))
    write_sums(path.parent)
    return path


@functools.lru_cache(maxsize=2)
def _pool(path: str) -> tuple[np.ndarray, np.ndarray]:
    verify(Path(path))                                   # listed in SHA256SUMS, hash matches
    with np.load(path, allow_pickle=False) as z:
        x = (z["signals_uv"] / 1000.0).astype(np.float32)
        ids = z["ids"].astype(np.int64)
    x.setflags(write=False)
    return ids, x


def _draw(n: int, seed: int) -> np.ndarray:
    ids, _ = _pool(str(BACKGROUND_FILE))
    if not 0 < n <= len(ids):
        raise ValueError(f"a SHAP background of {n} records was asked for; the shipped pool holds {len(ids)}")
    return np.sort(np.random.default_rng(seed).choice(len(ids), n, replace=False))


def background_ids(n: int = BACKGROUND_SIZE, seed: int = 0) -> np.ndarray:
    """(n,) sorted ecg_ids drawn with `seed` from the shipped pool of training-fold records."""
    return _pool(str(BACKGROUND_FILE))[0][_draw(n, seed)]


def background_signals(n: int = BACKGROUND_SIZE, seed: int = 0) -> np.ndarray:
    """(n, 1000, 12) float32 mV at 100 Hz: the model inputs of `background_ids(n, seed)`."""
    return _pool(str(BACKGROUND_FILE))[1][_draw(n, seed)]


@functools.lru_cache(maxsize=8)
def _background_values(view: str, n: int, seed: int) -> np.ndarray:
    values = compute_view(view, background_signals(n, seed)).values
    values.setflags(write=False)
    return values


def background_values(view: str, n: int = BACKGROUND_SIZE, seed: int = 0) -> np.ndarray:
    """(n, 12, ...) view values of `background_signals(n, seed)` (cached)."""
    return _background_values(view, n, seed)


@functools.lru_cache(maxsize=8)
def _net_copy(net: nn.Module) -> nn.Module:
    """One deep copy of a shared model's net for all its explainers (DeepExplainer hooks it)."""
    return copy.deepcopy(net).eval()


@functools.lru_cache(maxsize=8)
def _background_tensor(view: str, n: int, seed: int) -> torch.Tensor:
    return torch.from_numpy(np.array(background_values(view, n, seed), np.float32))


@functools.lru_cache(maxsize=32)     # 3 nets x 5 classes x 2 backgrounds (maps + stability)
def _explainer(net: nn.Module, class_index: int, calibration: tuple[float, float], view: str, n: int,
               seed: int, kind: str):
    """A cached shap explainer on the shared deep copy of `net` and the shared background tensor
    (one of each per net / background, not per class: explainers only run under the SHAP lock)."""
    import shap

    model = ClassProbability(_net_copy(net), class_index, *calibration).eval()
    bg = _background_tensor(view, n, seed)
    if kind == "deep":
        return shap.DeepExplainer(model, bg)
    return shap.GradientExplainer(model, bg)


_SHAP_LOCK = threading.Lock()   # explainers keep per-call state on their modules; Gradient reseeds NumPy


def explainer_for(net: nn.Module, class_index: int, calibration: tuple[float, float], view: str,
                  n_background: int = BACKGROUND_SIZE, seed: int = 0, kind: str = "deep"):
    """The cached explainer for these arguments, built now if needed (under the SHAP lock)."""
    with _SHAP_LOCK:
        return _explainer(net, int(class_index), (float(calibration[0]), float(calibration[1])), view,
                          int(n_background), int(seed), kind)


def _drop_activations(explainer) -> None:
    """Delete the per-layer inputs/outputs (`x`, `y`) DeepExplainer's hooks leave on modules.

    shap removes them only from direct children and containers; on nested custom modules they
    stay, holding a whole batch of activations per layer (~100 MB per cached explainer)."""
    model = getattr(getattr(explainer, "explainer", None), "model", None)
    if isinstance(model, nn.Module):
        for module in model.modules():
            for attr in ("x", "y"):
                if attr in module._parameters or attr in module.__dict__:
                    delattr(module, attr)


def _run(explainer, kind: str, x: torch.Tensor, nsamples: int, seed: int) -> np.ndarray:
    if kind == "deep":
        with warnings.catch_warnings():     # InputScale, ClassProbability: passed by gradient
            warnings.filterwarnings("ignore", message="unrecognized nn.Module")
            try:
                return explainer.shap_values(x, check_additivity=False)
            finally:
                _drop_activations(explainer)
    state = np.random.get_state()
    try:
        explainer.explainer.batch_size = nsamples
        return explainer.shap_values(x, nsamples=nsamples, rseed=seed)
    finally:
        np.random.set_state(state)


def shap_attributions(net: nn.Module, values: np.ndarray, view: str, class_index: int,
                      calibration: tuple[float, float] = (1.0, 0.0), n_background: int = BACKGROUND_SIZE, seed: int = 0,
                      kind: str = "deep", nsamples: int = 128) -> tuple[np.ndarray, str]:
    """(12, ...) SHAP values of one record's view values (12, ...) for one class's probability.

    calibration: (slope, intercept) of class k, so the explained output is sigmoid(slope z + b).
    Background: `background_values(view, n_background, seed)`. kind 'deep' (DeepExplainer,
    DeepLIFT rescale rule; additivity not enforced: functional max-pooling and attention are
    treated by their gradient) or 'gradient' (expected gradients, `nsamples` path samples).
    If DeepExplainer fails on a network, falls back to 'gradient'. Returns (values, kind used).
    Sum over all elements ~ p(record) - mean p(background).
    """
    if kind not in ("deep", "gradient"):
        raise ValueError(f"kind must be 'deep' or 'gradient', got {kind!r}")
    x = torch.from_numpy(np.array(values, np.float32)[None])
    args = (net, int(class_index), (float(calibration[0]), float(calibration[1])), view, int(n_background), int(seed))
    with _SHAP_LOCK:
        try:
            phi = _run(_explainer(*args, kind), kind, x, nsamples, seed)
        except Exception:                       # noqa: BLE001  (unsupported layer in DeepExplainer)
            if kind != "deep":
                raise
            kind = "gradient"
            phi = _run(_explainer(*args, kind), kind, x, nsamples, seed)
    phi = np.asarray(phi[0] if isinstance(phi, list) else phi)       # (1, 12, ..., 1)
    return phi.reshape(values.shape).astype(np.float32), kind


def main(argv: list[str] | None = None) -> int:
    import argparse
    parser = argparse.ArgumentParser(prog="python -m ecgcore.explain.shap_attr",
                                     description="Write weights/shap_background.npz from a PTB-XL folder's folds 1-8.")
    parser.add_argument("--data", default=None, help="PTB-XL folder (default $PTBXL_DIR)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"wrote {make_background_pool(args.data, BACKGROUND_FILE, args.seed)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
