"""Fused (hybrid) model: late fusion of the three single-view models, fitted on fold 9 only.

Per class c, the fused logit is a logistic-regression stack of the three models' calibrated
logits for that class: z_c = b_c + sum_m w_cm * z_mc. Weights are fitted on fold 9 with L2
regularisation (strength picked by 5-fold cross-validation inside fold 9), then a calibration
(temperature or Platt, picked by cross-validation) and max-F1 thresholds are fitted on fold 9 like
every other model. The abstention score is also picked on fold 9: among `UNCERTAINTY_SCORES`, the
one whose 10% most uncertain records, removed from cross-fitted fold-9 predictions, raise the macro
AUC the most. A joint model over the networks' embeddings is compared with this late fusion by
cross-fitting on fold 9 (`ecgcore.models.joint`); the verdict is stored in the weights and the card.

    python -m ecgcore.models.fusion fit --data ../shared/ptbxl     # writes weights/fused.pt
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import torch

from .calibration import (apply_calibration, calibration_params, choose_calibration, choose_thresholds,
                          macro_auc, sigmoid)
from ..signal.record import CLASSES, LEADS, MODEL_FS, MODEL_SAMPLES
from .joint import compare as compare_joint
from .registry import FORMAT, REGISTRY, WEIGHTS_DIR, EcgModel, load_model, write_sums
from .stacking import fit_stack

COMPONENTS: tuple[str, ...] = tuple(REGISTRY)


class FusedModel:
    """Three component models + per-class stacking weights. Same `predict_proba` contract."""

    name = "fused"
    view_name = None
    net = None

    def __init__(self, ckpt: dict, path: Path | None = None, weights_dir: str | os.PathLike | None = None,
                 components: dict[str, EcgModel] | None = None):
        self.ckpt, self.path = ckpt, path
        self.components = components or {n: load_model(n, weights_dir) for n in ckpt["components"]}
        self.weight = np.asarray(ckpt["weight"], np.float64)        # (5, M)
        self.bias = np.asarray(ckpt["bias"], np.float64)            # (5,)
        self.slope, self.intercept = calibration_params(ckpt["calibration"], len(CLASSES))
        self.thresholds = np.asarray(ckpt["thresholds"], np.float32)
        self.uncertainty_cut = float(ckpt.get("uncertainty_cut", np.inf))
        self.uncertainty_kind = str(ckpt.get("uncertainty_kind", "entropy+spread"))

    @property
    def title(self) -> str:
        return self.ckpt.get("title", "Fused model")

    def component_logits(self, signals: np.ndarray) -> dict[str, np.ndarray]:
        """Calibrated logits (N, 5) per component model."""
        return {n: m.calibrated_logits(signals) for n, m in self.components.items()}

    def fuse_logits(self, comp: dict[str, np.ndarray]) -> np.ndarray:
        """Uncalibrated fused logits (N, 5) from calibrated component logits."""
        z = np.stack([comp[n] for n in self.ckpt["components"]], axis=-1)   # (N, 5, M)
        return (z * self.weight[None]).sum(-1) + self.bias[None]

    def calibrate(self, logits: np.ndarray) -> np.ndarray:
        return sigmoid(logits * self.slope + self.intercept)

    def predict_all(self, signals: np.ndarray) -> dict[str, np.ndarray]:
        """Calibrated probabilities (N, 5) for every component and 'fused', one pass each."""
        comp = self.component_logits(signals)
        out = {n: sigmoid(z).astype(np.float32) for n, z in comp.items()}
        out["fused"] = self.calibrate(self.fuse_logits(comp)).astype(np.float32)
        return out

    def predict_proba(self, signals: np.ndarray) -> np.ndarray:
        """(N, 1000, 12) float32 mV at 100 Hz -> (N, 5) calibrated fused probabilities."""
        return self.predict_all(signals)["fused"]


def _entropy(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return -(p * np.log2(p) + (1 - p) * np.log2(1 - p))


def _spread(probs: dict[str, np.ndarray]) -> np.ndarray:
    comps = np.stack([v for k, v in probs.items() if k != "fused"])
    return (comps.max(0) - comps.min(0)).mean(-1)


def _margin(probs: dict[str, np.ndarray], thresholds: np.ndarray) -> np.ndarray:
    """(N, 5) distance of each fused probability from its threshold, in logits."""
    p, t = np.clip(probs["fused"], 1e-6, 1 - 1e-6), np.clip(thresholds, 1e-6, 1 - 1e-6)
    return np.abs(np.log(p / (1 - p)) - np.log(t / (1 - t)))


UNCERTAINTY_SCORES = {   # name -> (words, score (N,) from probs and thresholds; higher = less certain)
    "entropy+spread": ("mean binary entropy of the fused probabilities + mean spread of the 3 models",
                       lambda pr, t: _entropy(pr["fused"]).mean(-1) + _spread(pr)),
    "entropy": ("mean binary entropy of the fused probabilities", lambda pr, t: _entropy(pr["fused"]).mean(-1)),
    "spread": ("mean spread (max - min) of the 3 models' probabilities", lambda pr, t: _spread(pr)),
    "threshold margin": ("closeness of the fused probabilities to their thresholds: minus the mean "
                         "|logit(p) - logit(threshold)| over classes",
                         lambda pr, t: -_margin(pr, t).mean(-1)),
    "nearest threshold": ("closeness of the class nearest its threshold: minus the smallest "
                          "|logit(p) - logit(threshold)|", lambda pr, t: -_margin(pr, t).min(-1)),
}


def uncertainty_score(probs: dict[str, np.ndarray], thresholds: np.ndarray,
                      kind: str = "entropy+spread") -> np.ndarray:
    """Per record (N,), higher = less certain. probs: name -> (N, 5) calibrated probabilities
    with 'fused' and the components; kind: a key of UNCERTAINTY_SCORES."""
    if kind not in UNCERTAINTY_SCORES:
        raise ValueError(f"unknown uncertainty score {kind!r}; choose from {sorted(UNCERTAINTY_SCORES)}")
    return UNCERTAINTY_SCORES[kind][1](probs, np.asarray(thresholds, np.float64))


def choose_uncertainty(z: np.ndarray, y: np.ndarray, repeats: int = 10, coverage: float = 0.9) -> dict:
    """Pick the abstention score on fold 9 without reusing in-sample fits.

    z (N, 5, M) calibrated component logits. For each of `repeats` 5-fold splits the stack,
    calibration and thresholds are fitted on 4/5 and applied to the held-out 1/5 (cross-fitting);
    each score then drops its `1 - coverage` most uncertain records. Rule: the largest mean gain
    in macro AUC over full coverage. Returns {'kind', 'table': {kind: mean gain}, 'rule'}."""
    from sklearn.model_selection import KFold
    gains: dict[str, list[float]] = {k: [] for k in UNCERTAINTY_SCORES}
    comps = {f"m{i}": sigmoid(z[..., i]) for i in range(z.shape[-1])}
    for r in range(repeats):
        pf = np.zeros(y.shape)
        for tr, te in KFold(5, shuffle=True, random_state=r).split(y):
            w, b, _ = fit_stack(z[tr], y[tr], seed=r)
            fl = (z * w[None]).sum(-1) + b[None]
            calib = choose_calibration(fl[tr], y[tr], repeats=2, seed=r)
            pf[te] = sigmoid(apply_calibration(fl[te], calib))
        probs = dict(comps, fused=pf)
        thr, full = choose_thresholds(pf, y), macro_auc(y, pf)
        for kind in UNCERTAINTY_SCORES:
            s = uncertainty_score(probs, thr, kind)
            keep = np.argsort(s, kind="stable")[: int(round(coverage * len(y)))]
            gains[kind].append(macro_auc(y[keep], pf[keep]) - full)
    table = {k: float(np.mean(v)) for k, v in gains.items()}
    return {"kind": max(table, key=table.get), "table": table,
            "rule": f"largest mean macro-AUC gain at {coverage:.0%} coverage, cross-fitted on fold 9 "
                    f"({repeats} x 5-fold)"}


def fit(data: str | None = None, weights_dir: Path = WEIGHTS_DIR, joint_repeats: int = 10) -> Path:
    """Fit the fused model on fold 9 and write weights/fused.pt (+ refresh SHA256SUMS)."""
    from .dataset import load_split
    va = load_split("val", data)
    comps = {n: load_model(n, weights_dir) for n in COMPONENTS}
    comp_logits = {n: m.calibrated_logits(va["x"]) for n, m in comps.items()}
    z = np.stack([comp_logits[n] for n in COMPONENTS], axis=-1)
    weight, bias, chosen = fit_stack(z, va["y"])
    mean_auc = macro_auc(va["y"], sigmoid(z.mean(-1)))
    singles = {n: macro_auc(va["y"], sigmoid(v)) for n, v in comp_logits.items()}   # no fitting involved
    fused_logits = (z * weight[None]).sum(-1) + bias[None]
    calibration = choose_calibration(fused_logits, va["y"])
    probs = {n: sigmoid(v) for n, v in comp_logits.items()}
    probs["fused"] = sigmoid(apply_calibration(fused_logits, calibration))
    thresholds = choose_thresholds(probs["fused"], va["y"])
    uncertainty = choose_uncertainty(z, va["y"])
    if joint_repeats < 1:
        joint = "joint-model comparison not run (--joint-repeats 0): only the late fusion was fitted"
    else:
        joint = compare_joint(z, np.concatenate([m.embeddings(va["x"]) for m in comps.values()], axis=1),
                              va["y"], repeats=joint_repeats)
    if isinstance(joint, dict) and joint["shipped"]:
        joint["verdict"] = "joint model is better on fold 9, but this version ships only the late fusion"
        print(f"WARNING: {joint['verdict']}: {joint}")
    cut = float(np.quantile(uncertainty_score(probs, thresholds, uncertainty["kind"]), 0.9))
    ckpt = {
        "format": FORMAT, "kind": "fusion", "name": "fused", "title": "Fused model (stacked late fusion)",
        "components": list(COMPONENTS), "weight": weight.tolist(), "bias": bias.tolist(),
        "classes": list(CLASSES), "leads": list(LEADS), "fs": MODEL_FS, "samples": MODEL_SAMPLES,
        "calibration": calibration,
        "thresholds": [float(t) for t in thresholds],
        "threshold_rule": "per class, maximises F1 on fold 9 (calibrated probabilities)",
        "uncertainty_kind": uncertainty["kind"], "uncertainty_cut": cut,
        "uncertainty_rule": (f"uncertain when the {uncertainty['kind']} score "
                             f"({UNCERTAINTY_SCORES[uncertainty['kind']][0]}) exceeds its fold-9 90th percentile"),
        "uncertainty_selection": uncertainty,
        "fit": {"fold": 9, "n_records": int(len(va["y"])), "stack_C": chosen,
                "fold9_macro_auc_stacked_in_sample": macro_auc(va["y"], probs["fused"]),
                "fold9_macro_auc_mean_of_logits": mean_auc,
                "single_fold9_macro_auc": singles, "best_single_fold9": max(singles, key=singles.get),
                "joint_embedding_model": joint},
    }
    path = weights_dir / "fused.pt"
    torch.save(ckpt, path)
    write_sums(weights_dir)
    print(f"wrote {path}: stacking C per class {chosen}")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecgcore.models.fusion", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["fit"])
    parser.add_argument("--data", default=None, help="PTB-XL folder (default $PTBXL_DIR)")
    parser.add_argument("--weights", type=Path, default=WEIGHTS_DIR)
    parser.add_argument("--joint-repeats", type=int, default=10,
                        help="repeats of the 5-fold cross-fitting of the joint-model comparison (slow on 2k records)")
    args = parser.parse_args(argv)
    fit(args.data, args.weights, args.joint_repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
