"""Joint fusion over the three networks' embeddings, compared with the late fusion on fold 9.

Issue #4 asks for a joint model over the branches' embeddings, shipped only if it is better on
fold 9 than the late fusion. Both are fitted on fold 9 only, so the comparison is cross-fitted:
for each of `repeats` 5-fold splits of fold 9, each fusion is fitted on 4/5 and scores the held-out
1/5; the pooled out-of-fold macro AUCs are compared. The rule, fixed before the first run: the
joint model is shipped only if its mean out-of-fold macro AUC is higher than the late fusion's.
Fold 10 is not read.

Joint model: the three networks' pooled features (their `embed`, frozen) concatenated and
standardised, then per class an L2 logistic regression whose strength is picked by 5-fold
cross-validation inside the training part.

    python -m ecgcore.models.joint --data ../shared/ptbxl        # prints the fold-9 comparison
"""
from __future__ import annotations

import argparse

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

from .calibration import macro_auc
from .stacking import fit_stack, pick_c

C_GRID = (1e-4, 1e-3, 1e-2, 1e-1)


def fit_joint(e: np.ndarray, y: np.ndarray, seed: int = 0) -> dict:
    """Per-class logistic head on standardised embeddings. e (N, D), y (N, 5) ->
    {'mean' (D,), 'std' (D,), 'weight' (5, D), 'bias' (5,), 'C' (5,)}."""
    mean, std = e.mean(0), e.std(0) + 1e-6
    z = (e - mean) / std
    weight, bias, cs = np.zeros((y.shape[1], e.shape[1])), np.zeros(y.shape[1]), []
    for k in range(y.shape[1]):
        c, _ = pick_c(z, y[:, k], C_GRID, seed, max_iter=2000)
        lr = LogisticRegression(C=c, max_iter=2000).fit(z, y[:, k])
        weight[k], bias[k] = lr.coef_[0], lr.intercept_[0]
        cs.append(c)
    return {"mean": mean, "std": std, "weight": weight, "bias": bias, "C": cs}


def joint_logits(head: dict, e: np.ndarray) -> np.ndarray:
    """(N, 5) logits of a fitted joint head on embeddings e (N, D)."""
    return ((e - head["mean"]) / head["std"]) @ head["weight"].T + head["bias"]


def compare(z: np.ndarray, e: np.ndarray, y: np.ndarray, repeats: int = 10) -> dict:
    """Cross-fitted fold-9 comparison. z (N, 5, M) calibrated component logits (late fusion's
    input), e (N, D) concatenated embeddings, y (N, 5). Returns the table and the verdict."""
    late, joint = [], []
    for r in range(repeats):
        oof_late, oof_joint = np.zeros(y.shape), np.zeros(y.shape)
        for tr, te in KFold(5, shuffle=True, random_state=r).split(y):
            w, b, _ = fit_stack(z[tr], y[tr], seed=r)
            oof_late[te] = (z[te] * w[None]).sum(-1) + b[None]
            oof_joint[te] = joint_logits(fit_joint(e[tr], y[tr], seed=r), e[te])
        late.append(macro_auc(y, oof_late))
        joint.append(macro_auc(y, oof_joint))
    diff = np.array(joint) - np.array(late)
    shipped = bool(np.mean(joint) > np.mean(late))
    return {
        "fold": 9, "n_records": int(len(y)), "embedding_dim": int(e.shape[1]),
        "protocol": f"{repeats} x 5-fold cross-fitting on fold 9, pooled out-of-fold macro AUC",
        "late_fusion_oof_macro_auc": float(np.mean(late)),
        "joint_oof_macro_auc": float(np.mean(joint)),
        "joint_minus_late": {"mean": float(diff.mean()), "min": float(diff.min()), "max": float(diff.max())},
        "rule": "ship the joint model only if its mean out-of-fold macro AUC is higher (fixed before running)",
        "verdict": ("joint model is better on fold 9" if shipped else
                    "joint model is not better on fold 9: only the late fusion is shipped"),
        "shipped": shipped,
    }


def fold9_comparison(data: str | None = None, weights_dir=None, repeats: int = 10) -> dict:
    """Load fold 9 and the shipped single models, and run `compare`."""
    from .dataset import load_split
    from .registry import REGISTRY, load_model
    va = load_split("val", data)
    models = [load_model(n, weights_dir) for n in REGISTRY]
    z = np.stack([m.calibrated_logits(va["x"]) for m in models], axis=-1)
    e = np.concatenate([m.embeddings(va["x"]) for m in models], axis=1)
    return compare(z, e, va["y"], repeats)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecgcore.models.joint", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None, help="PTB-XL folder (default $PTBXL_DIR)")
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args(argv)
    import json
    print(json.dumps(fold9_comparison(args.data, repeats=args.repeats), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
