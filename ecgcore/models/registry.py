"""Model registry: name -> view, network, weights file; hash-checked loading; predict_proba.

Every model, whatever its view, honours one contract:

    model.predict_proba(signals)   # (N, 1000, 12) float32 mV at 100 Hz -> (N, 5) in [0, 1]

Weights files are self-describing (net class + kwargs, classes, fs, leads, view, calibration,
thresholds) and load with `torch.load(weights_only=True)` after their SHA-256 is checked
against `weights/SHA256SUMS`.
"""
from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import nets
from .inference import inference_net
from .calibration import calibration_params
from ..signal.record import CLASSES, LEADS, MODEL_FS, MODEL_SAMPLES
from ..signal.views import View, compute_view

WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "weights"
FORMAT = "ecgcore-weights-v1"


@dataclass(frozen=True)
class ModelSpec:
    """What a registered model is: its view, its network and how it is trained."""
    name: str
    title: str
    view: str
    net: str
    net_kwargs: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)


REGISTRY: dict[str, ModelSpec] = {
    "signal": ModelSpec(
        "signal", "1D ResNet on the time signal", "signal", "SignalResNet",
        {"width": 64, "depth": 4, "kernel": 7, "dropout": 0.2},
        {"epochs": 20, "lr": 3e-3, "batch": 64, "weight_decay": 1e-2, "stretch": False}),
    "spectrum": ModelSpec(
        "spectrum", "1D CNN + Transformer on the FFT spectrum (3-member ensemble)", "spectrum", "Ensemble",
        {"member": "SpectrumTransformer", "k": 3,
         "member_kwargs": {"d_model": 64, "n_layers": 2, "n_heads": 4, "dropout": 0.3}},
        {"epochs": 24, "lr": 2e-3, "batch": 64, "weight_decay": 5e-2}),   # 24 epochs: session 9 (selection_log)
    "scalogram": ModelSpec(
        "scalogram", "2D CNN on the wavelet scalogram", "scalogram", "ScalogramCNN",
        {"widths": [32, 48, 64, 96], "dropout": 0.3},
        {"epochs": 8, "lr": 3e-3, "batch": 64, "weight_decay": 5e-2,
         "aux_weight": 0.5}),                      # fold-9 choices, docs/selection_log.md (8 epochs: session 7)
}


class WeightsError(RuntimeError):
    """A weights file is missing, unlisted or does not match its recorded hash."""


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_sums(weights_dir: Path) -> dict[str, str]:
    sums = weights_dir / "SHA256SUMS"
    if not sums.is_file():
        return {}
    out = {}
    for line in sums.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:
            out[parts[1].lstrip("*")] = parts[0]
    return out


def write_sums(weights_dir: Path = WEIGHTS_DIR) -> None:
    """Rewrite weights/SHA256SUMS over every .pt and .npz file there (run by train/fusion commands)."""
    files = sorted([*weights_dir.glob("*.pt"), *weights_dir.glob("*.npz")])
    lines = [f"{sha256(p)}  {p.name}" for p in files]
    (weights_dir / "SHA256SUMS").write_text("\n".join(lines) + "\n")


def verify(path: Path) -> None:
    """Raise WeightsError unless `path` exists and its SHA-256 matches weights/SHA256SUMS."""
    if not path.is_file():
        how = {"fused": "python -m ecgcore.models.fusion fit",
               "shap_background": "python -m ecgcore.explain.shap_attr"}.get(path.stem,
                                                                             f"python -m ecgcore.models.train {path.stem}")
        raise WeightsError(f"weights file {path.name} not found in {path.parent}; make it with `{how}`")
    expected = read_sums(path.parent).get(path.name)
    if expected is None:
        raise WeightsError(f"{path.name} is not listed in {path.parent / 'SHA256SUMS'}; "
                           "refusing unverified weights")
    actual = sha256(path)
    if actual != expected:
        raise WeightsError(f"{path.name} failed its integrity check (SHA-256 {actual[:12]}... "
                           f"but SHA256SUMS says {expected[:12]}...); the file was altered or "
                           "corrupted: restore it from git or retrain it")


def build_net(ckpt: dict) -> torch.nn.Module:
    net = nets.NETS[ckpt["net"]](n_classes=len(ckpt["classes"]), **ckpt["net_kwargs"])
    net.load_state_dict(ckpt["state_dict"])
    return net.eval()


class EcgModel:
    """A loaded single-view model: view function + network + calibration + thresholds."""

    def __init__(self, ckpt: dict, path: Path | None = None):
        if ckpt.get("format") != FORMAT:
            raise WeightsError(f"{path}: not an {FORMAT} file")
        if tuple(ckpt["classes"]) != CLASSES or tuple(ckpt["leads"]) != LEADS:
            raise WeightsError(f"{path}: classes/leads {ckpt['classes']}/{ckpt['leads']} differ "
                               f"from this code's {CLASSES}/{LEADS}")
        self.ckpt, self.path = ckpt, path
        self.name: str = ckpt["name"]
        self.view_name: str = ckpt["view"]
        self.net = build_net(ckpt)
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.fast_net = inference_net(self.net)
        slope, intercept = calibration_params(ckpt.get("calibration") or {}, len(CLASSES))
        self.slope, self.intercept = slope.astype(np.float32), intercept.astype(np.float32)
        self.thresholds = np.asarray(ckpt.get("thresholds") or [0.5] * len(CLASSES), np.float32)
        self.lock = threading.Lock()

    @property
    def title(self) -> str:
        return self.ckpt.get("title", self.name)

    def view(self, signals: np.ndarray) -> View:
        """The model's own input view of (N, 1000, 12) mV signals."""
        return compute_view(self.view_name, _check(signals), MODEL_FS)

    def _batched(self, values: np.ndarray, fn, batch: int = 128) -> list[np.ndarray]:
        """fn (the net or its embed) over view values (N, 12, ...) in batches. Scalogram batches
        go in as channels-last (1.2-1.5x faster 2D convolutions on this CPU; logits equal to ~1e-6)."""
        out = []
        with torch.inference_mode():
            for i in range(0, len(values), batch):
                x = torch.from_numpy(np.ascontiguousarray(values[i:i + batch]))
                if x.dim() == 4:
                    x = x.contiguous(memory_format=torch.channels_last)
                out.append(fn(x).numpy())
        return out

    def logits_from_view(self, values: np.ndarray, batch: int = 128) -> np.ndarray:
        """Uncalibrated logits (N, 5) from view values (N, 12, ...)."""
        out = self._batched(values, self.fast_net, batch)
        return np.concatenate(out) if out else np.zeros((0, len(CLASSES)), np.float32)

    def embeddings(self, signals: np.ndarray) -> np.ndarray:
        """The network's pooled features before its classification head: (N, net.embed_dim)."""
        out = self._batched(self.view(signals).values, self.net.embed)
        return np.concatenate(out) if out else np.zeros((0, self.net.embed_dim), np.float32)

    def logits(self, signals: np.ndarray) -> np.ndarray:
        return self.logits_from_view(self.view(signals).values)

    def calibrated_logits(self, signals: np.ndarray) -> np.ndarray:
        """slope * logit + intercept (N, 5): the logits of the calibrated probabilities."""
        return self.logits(signals) * self.slope + self.intercept

    def calibrate(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (N, 5) from raw logits (fold-9 temperature or Platt scaling)."""
        return 1.0 / (1.0 + np.exp(-(logits * self.slope + self.intercept)))

    def predict_proba(self, signals: np.ndarray) -> np.ndarray:
        """(N, 1000, 12) float32 mV at 100 Hz -> (N, 5) calibrated probabilities."""
        return self.calibrate(self.logits(signals)).astype(np.float32)


def _check(signals: np.ndarray) -> np.ndarray:
    x = np.asarray(signals, dtype=np.float32)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[1:] != (MODEL_SAMPLES, len(LEADS)):
        raise ValueError(f"models take (N, {MODEL_SAMPLES}, 12) mV at {MODEL_FS} Hz, got {x.shape}; "
                         "use ecgcore.signal.record.model_input(record)")
    if not np.isfinite(x).all():
        raise ValueError("signals contain NaN or inf; models need finite mV values")
    return x


def weights_path(name: str, weights_dir: str | os.PathLike | None = None) -> Path:
    return Path(weights_dir or WEIGHTS_DIR) / f"{name}.pt"


def load_checkpoint(path: Path) -> dict:
    """Hash-check then load a weights file (weights_only=True)."""
    verify(path)
    return torch.load(path, map_location="cpu", weights_only=True)


def load_model(name: str, weights_dir: str | os.PathLike | None = None):
    """Load a registered model (or the fused model) by name, hash-checked."""
    path = weights_path(name, weights_dir)
    ckpt = load_checkpoint(path)
    if ckpt.get("kind") == "fusion":
        from .fusion import FusedModel
        return FusedModel(ckpt, path, weights_dir)
    return EcgModel(ckpt, path)


def available(weights_dir: str | os.PathLike | None = None) -> list[str]:
    """Names of models whose weights file is present (not yet hash-checked)."""
    names = list(REGISTRY) + ["fused"]
    return [n for n in names if weights_path(n, weights_dir).is_file()]
