"""Regenerate every model card from the weights alone.

    python -m ecgcore.models.evaluate --data ../shared/ptbxl [--models signal spectrum scalogram fused]
                               [--weights DIR]   # e.g. a retrained copy: train --out DIR

For each model: fold-10 (test) and fold-9 (validation) macro ROC-AUC with 95% bootstrap CIs
(1,000 resamples of records), per-class AUC, F1 and confusion at the fold-9 thresholds, ECE
before/after calibration with reliability data, ROC points, training summary. The fused card
adds the risk-coverage curve and the signal-quality validation. Writes weights/NAME.json + .md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .calibration import (bootstrap_auc, ece, ece_chance, macro_auc, per_class_auc, reliability, roc_points,
                          sigmoid)
from .cards import card_markdown
from .compare import paired_difference
from .dataset import load_split
from .fusion import UNCERTAINTY_SCORES, FusedModel, uncertainty_score
from ..signal.record import CLASSES
from .registry import REGISTRY, WEIGHTS_DIR, load_model, sha256

REFERENCE_IDS = 2          # fold-10 records whose predictions are stored for the regression test
N_BOOT = 1000
READ_BEFORE = Path(__file__).parent / "data" / "fold10_read_before.txt"


def read_before_ids() -> np.ndarray:
    """The fold-10 ecg_ids that earlier evaluations read (the partial copy's 256), sorted."""
    lines = READ_BEFORE.read_text().splitlines()
    return np.array(sorted(int(t) for t in lines if t.strip() and not t.startswith("#")), np.int64)


def untouched_mask(ids: np.ndarray) -> np.ndarray:
    """(N,) bool: fold-10 records no earlier evaluation read."""
    return ~np.isin(np.asarray(ids, np.int64), read_before_ids())


def class_metrics(y: np.ndarray, p: np.ndarray, thr: np.ndarray) -> dict:
    """Per class: AUC, F1, sensitivity, specificity and confusion counts at the thresholds."""
    out, aucs = {}, per_class_auc(y, p)
    for k, cls in enumerate(CLASSES):
        yk, pk = y[:, k].astype(bool), p[:, k] >= thr[k]
        tp, fp = int((yk & pk).sum()), int((~yk & pk).sum())
        fn, tn = int((yk & ~pk).sum()), int((~yk & ~pk).sum())
        f1 = 2 * tp / max(2 * tp + fp + fn, 1)
        out[cls] = {"auc": float(aucs[k]), "f1": f1, "threshold": float(thr[k]),
                    "sensitivity": tp / max(tp + fn, 1), "specificity": tn / max(tn + fp, 1),
                    "confusion": {"tp": tp, "fp": fp, "fn": fn, "tn": tn}, "positives": int(yk.sum())}
    return out


def per_class_ci(y: np.ndarray, p: np.ndarray, n: int = N_BOOT, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    stats = []
    for _ in range(n):
        idx = rng.integers(0, len(y), len(y))
        stats.append(per_class_auc(y[idx], p[idx]))
    lo, hi = np.nanpercentile(np.array(stats), [2.5, 97.5], axis=0)
    return {cls: [float(lo[k]), float(hi[k])] for k, cls in enumerate(CLASSES)}


def fold_metrics(y: np.ndarray, p_raw: np.ndarray, p_cal: np.ndarray, thr: np.ndarray) -> dict:
    """Everything measured on one fold. p_raw: before calibration, p_cal: after."""
    boot = bootstrap_auc(y, p_cal, N_BOOT)
    classes = class_metrics(y, p_cal, thr)
    for cls, ci in per_class_ci(y, p_cal).items():
        classes[cls]["auc_ci95"] = ci
    return {"n_records": int(len(y)), "positives": dict(zip(CLASSES, y.sum(0).astype(int).tolist())),
            "macro_auc": boot["macro_auc"], "macro_auc_ci95": boot["ci95"], "bootstrap_resamples": N_BOOT,
            "macro_f1": float(np.mean([c["f1"] for c in classes.values()])), "classes": classes,
            "ece_before": ece(y, p_raw), "ece_after": ece(y, p_cal),
            "ece_chance": ece_chance(p_cal),
            "reliability_after": {c: reliability(y[:, k], p_cal[:, k]) for k, c in enumerate(CLASSES)},
            "reliability_before": {c: reliability(y[:, k], p_raw[:, k]) for k, c in enumerate(CLASSES)},
            "roc": {c: roc_points(y[:, k], p_cal[:, k]) for k, c in enumerate(CLASSES)}}


def predictions(model, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(before, after) calibration probabilities (N, 5)."""
    if isinstance(model, FusedModel):
        z = model.fuse_logits(model.component_logits(x))
    else:
        z = model.logits(x)
    return sigmoid(z), model.calibrate(z)


def risk_coverage(y: np.ndarray, probs: dict[str, np.ndarray], thr: np.ndarray,
                  kind: str = "entropy+spread") -> dict:
    """Macro AUC on the records kept when abstaining on the least certain ones, per coverage."""
    score = uncertainty_score(probs, thr, kind)
    order = np.argsort(score, kind="stable")
    rows = []
    for cov in np.round(np.arange(1.0, 0.49, -0.05), 2):
        keep = order[: int(round(cov * len(y)))]
        rows.append({"coverage": float(cov), "n_records": int(len(keep)),
                     "macro_auc": macro_auc(y[keep], probs["fused"][keep])})
    return {"score": f"{kind}: {UNCERTAINTY_SCORES[kind][0]} (chosen on fold 9)", "curve": rows,
            "gain_at_90": coverage_gain(y, probs["fused"], score, 0.9)}


def coverage_gain(y: np.ndarray, p: np.ndarray, score: np.ndarray, coverage: float, n: int = N_BOOT,
                  seed: int = 0) -> dict:
    """Macro AUC at `coverage` minus at full coverage, with a 95% bootstrap interval (records
    resampled, then the least certain 1 - coverage of the resample dropped). score (N,), higher = less certain."""
    def gain(idx: np.ndarray) -> float:
        keep = idx[np.argsort(score[idx], kind="stable")[: int(round(coverage * len(idx)))]]
        return macro_auc(y[keep], p[keep]) - macro_auc(y[idx], p[idx])
    rng = np.random.default_rng(seed)
    stats = [gain(rng.integers(0, len(y), len(y))) for _ in range(n)]
    return {"coverage": coverage, "gain": gain(np.arange(len(y))),
            "ci95": [float(v) for v in np.nanpercentile(stats, [2.5, 97.5])], "bootstrap_resamples": n}


def evaluate_model(name: str, data: str | None, splits: dict, weights_dir: Path = WEIGHTS_DIR) -> dict:
    model = load_model(name, weights_dir)
    ckpt = model.ckpt
    card = {"name": name, "title": model.title, "kind": ckpt.get("kind", "single"),
            "view": ckpt.get("view"), "weights_file": f"{name}.pt",
            "weights_sha256": sha256(Path(weights_dir) / f"{name}.pt"),
            "generated": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "classes": list(CLASSES), "thresholds": [float(t) for t in model.thresholds],
            "threshold_rule": ckpt.get("threshold_rule"), "calibration": ckpt.get("calibration"),
            "evaluation_command": f"python -m ecgcore.models.evaluate --data {data or '$PTBXL_DIR'}"}
    if model.net is not None:
        card["n_params"] = int(sum(p.numel() for p in model.net.parameters()))
        card["net"], card["net_kwargs"], card["view_params"] = ckpt["net"], ckpt["net_kwargs"], ckpt["view_params"]
        card["train"] = ckpt["train"]
    else:
        card["fit"], card["components"] = ckpt["fit"], ckpt["components"]
        card["uncertainty_selection"] = ckpt.get("uncertainty_selection")
        card["weights"] = {"weight": ckpt["weight"], "bias": ckpt["bias"]}
    for split, fold in (("val", 9), ("test", 10)):
        arr = splits[split]
        raw, cal = predictions(model, arr["x"])
        card[f"fold{fold}"] = fold_metrics(arr["y"], raw, cal, model.thresholds)
    keep = untouched_mask(splits["test"]["ids"])
    y_new = splits["test"]["y"][keep]
    if keep.sum() >= 100 and (y_new.sum(0) > 0).all():    # only on a folder with the full fold 10
        card["fold10_untouched"] = fold_metrics(y_new, raw[keep], cal[keep], model.thresholds)
        card["fold10_untouched"]["subset"] = ("fold-10 records that no earlier evaluation read (all of "
                                              "fold 10 minus the partial copy's 256)")
    test = splits["test"]
    pick = np.flatnonzero(~untouched_mask(test["ids"]))[:REFERENCE_IDS]   # records the partial copy has too,
    if len(pick) < REFERENCE_IDS:                                         # so CI can check them
        pick = np.arange(REFERENCE_IDS)
    card["reference_predictions"] = {str(int(i)): [float(v) for v in p]
                                     for i, p in zip(test["ids"][pick], model.predict_proba(test["x"][pick]))}
    if isinstance(model, FusedModel):
        card.update(fusion_extras(model, splits, data))
    return card


def fusion_extras(model: FusedModel, splits: dict, data: str | None) -> dict:
    test = splits["test"]
    probs = model.predict_all(test["x"])
    rc = risk_coverage(test["y"], probs, model.thresholds, model.uncertainty_kind)
    singles = {n: macro_auc(test["y"], probs[n]) for n in model.components}
    best = max(singles, key=singles.get)
    diff = paired_difference(test["y"], probs["fused"], probs[best])
    lo, hi = diff["ci95"]
    verdict = (f"fused minus the best single model ({best}, {singles[best]:.3f}): {diff['difference']:+.4f} "
               f"(paired 95% CI {lo:+.4f} to {hi:+.4f}): "
               + ("fusion is better" if lo > 0 else "fusion is worse" if hi < 0 else "no clear difference"))
    extras = {"risk_coverage_fold10": rc, "single_model_fold10_auc": singles, "fusion_verdict": verdict,
              "fused_minus_best_fold10": dict(diff, best_single=best)}
    keep = untouched_mask(test["ids"])
    if keep.sum() >= 100:
        y_new = test["y"][keep]
        d_new = paired_difference(y_new, probs["fused"][keep], probs[best][keep])
        extras["fused_minus_best_fold10_untouched"] = dict(d_new, best_single=best, n_records=int(keep.sum()))
        extras["single_model_fold10_untouched_auc"] = {n: macro_auc(y_new, probs[n][keep])
                                                       for n in model.components}
    try:
        from ..io.ptbxl import load_index
        from ..io.ptbxl_quality import validate_against_ptbxl
        index = load_index(data)
        ids = index.index[index["has_100"] & (index["fold"] == 10)].to_numpy()
        extras["quality_validation"] = validate_against_ptbxl(index, ids, fs=100)
        extras["quality_validation_ids"] = "all records of fold 10 with 100 Hz signals"
    except Exception as err:  # quality validation is reported, never fatal for the card
        extras["quality_validation"] = {"error": f"{type(err).__name__}: {err}"}
    return extras


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecgcore.models.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None, help="PTB-XL folder (default $PTBXL_DIR)")
    parser.add_argument("--models", nargs="*", default=list(REGISTRY) + ["fused"])
    parser.add_argument("--markdown-only", action="store_true", help="re-render NAME.md from NAME.json")
    parser.add_argument("--weights", type=Path, default=WEIGHTS_DIR, help="weights folder (default weights/)")
    args = parser.parse_args(argv)
    if args.markdown_only:
        for name in args.models:
            (args.weights / f"{name}.md").write_text(card_markdown(json.loads((args.weights / f"{name}.json").read_text())))
        return 0
    splits = {s: load_split(s, args.data) for s in ("val", "test")}
    for name in tqdm(args.models, desc="model cards"):
        card = evaluate_model(name, args.data, splits, args.weights)
        (args.weights / f"{name}.json").write_text(json.dumps(card, indent=1, default=float) + "\n")
        (args.weights / f"{name}.md").write_text(card_markdown(card))
        t = card["fold10"]
        print(f"{name}: fold-10 macro AUC {t['macro_auc']:.3f} "
              f"[{t['macro_auc_ci95'][0]:.3f}, {t['macro_auc_ci95'][1]:.3f}] on {t['n_records']} records; "
              f"fold-9 {card['fold9']['macro_auc']:.3f}; ECE {t['ece_before']:.3f} -> {t['ece_after']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
