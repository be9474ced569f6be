"""Compare trial training runs with the shipped networks on fold 9 only (fold 10 is never read).

    python -m ecgcore.models.compare runs/lc/f0.25 runs/lc/f0.5 --models signal spectrum
    python -m ecgcore.models.compare runs/seeds/s1 runs/seeds/s2 --models signal --out docs/seeds.md

For every trial folder holding NAME.pt (written by `python -m ecgcore.models.train NAME --out DIR`), the
table gives its training records, the epoch it chose on fold 9, its fold-9 macro AUC and the paired
difference from the shipped weights/NAME.pt with a 95% bootstrap CI (the same records resampled for
both, 1,000 times). The fold-9 AUC of a run is flattered by its own epoch choice on fold 9, equally for
every run here; AUC is unchanged by calibration, so raw network outputs are compared.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .calibration import bootstrap_stats, macro_auc, sigmoid
from .registry import WEIGHTS_DIR, load_model

N_BOOT = 1000


def paired_difference(y: np.ndarray, p_a: np.ndarray, p_b: np.ndarray, n: int = N_BOOT,
                      seed: int = 0) -> dict:
    """Macro AUC of a minus b on the same records, y (N, 5), p (N, 5), with a 95% percentile
    bootstrap CI over records (resamples lacking a positive of some class are skipped)."""
    stats = bootstrap_stats(y, lambda idx: macro_auc(y[idx], p_a[idx]) - macro_auc(y[idx], p_b[idx]), n, seed)
    lo, hi = np.percentile(stats, [2.5, 97.5])
    return {"difference": macro_auc(y, p_a) - macro_auc(y, p_b), "ci95": [float(lo), float(hi)],
            "resamples": len(stats)}


def run_row(name: str, run_dir: Path, x: np.ndarray, y: np.ndarray, ref: np.ndarray) -> dict:
    """One trial run of model `name` in `run_dir` against the shipped probabilities `ref` (N, 5)."""
    model = load_model(name, run_dir)                 # hash-checked against run_dir/SHA256SUMS
    p = sigmoid(model.logits(x))
    tr = model.ckpt["train"]
    return {"model": name, "run": str(run_dir), "n_train": tr["n_train"], "seed": tr["seed"],
            "fraction": tr["hyperparameters"].get("fraction", 1.0), "best_epoch": tr["best_epoch"],
            "epochs": tr["epochs"], "minutes": tr["seconds"] / 60, "fold9_auc": macro_auc(y, p),
            "vs_shipped": paired_difference(y, p, ref)}


def compare(run_dirs: list[Path], names: list[str], data: str | None = None,
            weights_dir: Path = WEIGHTS_DIR) -> list[dict]:
    """Rows for every (model, run) pair present, shipped model first, each on fold 9."""
    from .dataset import load_split
    va = load_split("val", data)
    rows = []
    for name in names:
        shipped = load_model(name, weights_dir)
        ref = sigmoid(shipped.logits(va["x"]))
        tr = shipped.ckpt["train"]
        rows.append({"model": name, "run": f"shipped ({weights_dir.name}/)", "n_train": tr["n_train"],
                     "seed": tr["seed"], "fraction": 1.0, "best_epoch": tr["best_epoch"], "epochs": tr["epochs"],
                     "minutes": tr["seconds"] / 60, "fold9_auc": macro_auc(va["y"], ref), "vs_shipped": None})
        rows += [run_row(name, Path(d), va["x"], va["y"], ref) for d in run_dirs
                 if (Path(d) / f"{name}.pt").is_file()]
    return rows


def markdown(rows: list[dict], n_val: int) -> str:
    lines = [f"Fold 9 only ({n_val} records); difference = run minus shipped, paired bootstrap "
             f"({N_BOOT} resamples of records).", "",
             "| model | run | training records | seed | chosen epoch | minutes | fold-9 macro AUC | "
             "minus shipped (95% CI) |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        d = r["vs_shipped"]
        diff = "" if d is None else f"{d['difference']:+.4f} ({d['ci95'][0]:+.4f} to {d['ci95'][1]:+.4f})"
        lines.append(f"| {r['model']} | {r['run']} | {r['n_train']} | {r['seed']} | {r['best_epoch']} of "
                     f"{r['epochs']} | {r['minutes']:.1f} | {r['fold9_auc']:.4f} | {diff} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecgcore.models.compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="folders written by train --out")
    parser.add_argument("--models", nargs="+", default=["signal", "spectrum", "scalogram"])
    parser.add_argument("--data", default=None, help="PTB-XL folder (default $PTBXL_DIR)")
    parser.add_argument("--weights", type=Path, default=WEIGHTS_DIR)
    parser.add_argument("--out", type=Path, default=None, help="also write the table to this file")
    args = parser.parse_args(argv)
    missing = [str(d) for d in args.runs if not d.is_dir()]
    if missing:
        parser.error(f"no such run folder: {', '.join(missing)}")
    rows = compare(args.runs, args.models, args.data, args.weights)
    from .dataset import load_split
    text = markdown(rows, len(load_split("val", args.data, progress=False)["y"]))
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
