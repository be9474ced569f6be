"""What explanation needs from a model, whatever kind it is.

`as_target(model)` accepts
- a single-view model (`EcgModel` or `ViewNetModel`): `.net`, `.view_name`, `.logits_from_view`,
  `.calibrate` -> LIME and SHAP on its own view;
- anything with `predict_proba(signals (N, 1000, 12)) -> (N, 5)` (the fused model) -> LIME on
  the time-signal view only (no network to take gradients of).
"""
from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from ..signal.record import CLASSES
from ..signal.views import compute_view


class ExplainError(ValueError):
    """A model, method or class that cannot be explained as asked; the message says what can."""


@dataclass(frozen=True)
class Target:
    """name, view, predict (view values (B, 12, ...) -> (B, 5) probabilities), net or None."""
    name: str
    view: str
    predict: Callable[[np.ndarray], np.ndarray]
    net: nn.Module | None
    slope: np.ndarray          # (5,) calibration: p = sigmoid(slope * logit + intercept)
    intercept: np.ndarray

    def values(self, signal: np.ndarray) -> np.ndarray:
        """One record (1000, 12) mV -> its view values (12, ...) float32."""
        return compute_view(self.view, np.asarray(signal, np.float32)[None]).values[0]


def _proba_on_signal_view(model, batch: int = 64) -> Callable[[np.ndarray], np.ndarray]:
    def predict(values: np.ndarray) -> np.ndarray:
        out = [model.predict_proba(np.ascontiguousarray(values[i:i + batch].transpose(0, 2, 1)))
               for i in range(0, len(values), batch)]
        return np.concatenate(out).astype(np.float64)
    return predict


def as_target(model) -> Target:
    """Wrap a model for explanation (see module docstring); raises ExplainError otherwise."""
    name = str(getattr(model, "name", type(model).__name__))
    slope = np.asarray(getattr(model, "slope", np.ones(len(CLASSES))), np.float32)
    intercept = np.asarray(getattr(model, "intercept", np.zeros(len(CLASSES))), np.float32)
    has_net = getattr(model, "net", None) is not None and getattr(model, "view_name", None)
    if has_net and hasattr(model, "logits_from_view") and hasattr(model, "calibrate"):
        def predict(values: np.ndarray) -> np.ndarray:
            return np.asarray(model.calibrate(model.logits_from_view(values)), np.float64)
        return Target(name, model.view_name, predict, model.net, slope, intercept)
    if hasattr(model, "predict_proba"):
        return Target(name, "signal", _proba_on_signal_view(model), None, slope, intercept)
    raise ExplainError(f"cannot explain {name!r}: it needs .predict_proba(signals) or "
                       ".net + .view_name + .logits_from_view + .calibrate")


class ViewNetModel:
    """A network on one view with the `EcgModel` interface (no weights file, no thresholds fitted).

    For probes and sanity checks: net maps view values (N, 12, ...) -> logits (N, 5).
    """

    def __init__(self, net: nn.Module, view_name: str, name: str = "probe",
                 slope: np.ndarray | None = None, intercept: np.ndarray | None = None):
        self.net, self.view_name, self.name, self.title = net.eval(), view_name, name, name
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.slope = np.asarray(slope if slope is not None else np.ones(len(CLASSES)), np.float32)
        self.intercept = np.asarray(intercept if intercept is not None else np.zeros(len(CLASSES)), np.float32)
        self.thresholds = np.full(len(CLASSES), 0.5, np.float32)
        self.lock = threading.Lock()

    def view(self, signals: np.ndarray):
        return compute_view(self.view_name, signals)

    def logits_from_view(self, values: np.ndarray, batch: int = 128) -> np.ndarray:
        out = []
        with torch.inference_mode():
            for i in range(0, len(values), batch):
                x = torch.from_numpy(np.ascontiguousarray(values[i:i + batch], np.float32))
                out.append(self.net(x).numpy())
        return np.concatenate(out) if out else np.zeros((0, len(CLASSES)), np.float32)

    def calibrate(self, logits: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(logits * self.slope + self.intercept)))

    def predict_proba(self, signals: np.ndarray) -> np.ndarray:
        return self.calibrate(self.logits_from_view(self.view(signals).values)).astype(np.float32)


def randomized_model(model, seed: int = 0) -> ViewNetModel:
    """A copy of a single-view model with every parameter re-drawn (model-randomisation check).

    Modules with `reset_parameters` are re-initialised (BatchNorm statistics included); any
    other parameter is drawn from N(0, 0.02^2). Input-scaling buffers are kept.
    """
    target = as_target(model)
    if target.net is None:
        raise ExplainError(f"{target.name!r} has no network to randomise")
    net = copy.deepcopy(target.net)
    covered: set[int] = set()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for module in net.modules():
            if hasattr(module, "reset_parameters") and callable(module.reset_parameters):
                module.reset_parameters()
                covered.update(id(p) for p in module.parameters(recurse=False))
        with torch.no_grad():
            for p in net.parameters():
                if id(p) not in covered:
                    p.normal_(0.0, 0.02)
    return ViewNetModel(net, target.view, f"{target.name} (randomised)", target.slope, target.intercept)
