"""Train one registered model on PTB-XL folds 1-8, select on fold 9; fold 10 is never read.

    python -m ecgcore.models.train signal --data ../shared/ptbxl [--epochs N] [--resume] [--threads N]
    python -m ecgcore.models.train signal --recalibrate     # refit calibration + thresholds only

Writes weights/NAME.pt (self-describing: net + kwargs, classes, fs, leads, view, input
scaling, calibration and thresholds fitted on fold 9) and refreshes weights/SHA256SUMS.
Checkpoints for --resume go to runs/NAME/last.pt after every epoch (OUT/runs/NAME/last.pt
when --out names another folder, so a trial run never touches the shipped run).
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from . import nets
from ..signal.augment import augment_scalogram, augment_signal
from .calibration import apply_calibration, choose_calibration, choose_thresholds, macro_auc, sigmoid
from .dataset import aux_labels, load_split, view_cache
from ..io.ptbxl import TRAIN_FOLDS, VAL_FOLD
from ..signal.record import CLASSES, LEADS, MODEL_FS, MODEL_SAMPLES
from .registry import FORMAT, REGISTRY, WEIGHTS_DIR, ModelSpec, build_net, load_checkpoint, write_sums
from ..signal.views import compute_view

RUNS_DIR = Path(__file__).resolve().parents[2] / "runs"


class Batches:
    """Turns signal arrays into a model's view values, with or without augmentation."""

    def __init__(self, spec: ModelSpec, arrays: dict, split: str):
        self.spec, self.x = spec, arrays["x"]
        self.cached = view_cache("scalogram", split, arrays) if spec.view == "scalogram" else None

    def get(self, idx: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        if self.cached is not None:
            v = self.cached[idx]
            return augment_scalogram(v, rng) if rng is not None else v.astype(np.float32)
        x = self.x[idx]
        if rng is not None:
            x = augment_signal(x, rng, self.spec.train.get("stretch", True))
        return compute_view(self.spec.view, x).values


class AuxHeads(nn.Module):
    """Training-only linear heads, one per network (ensemble member), from pooled features to
    auxiliary targets. Not part of the shipped network."""

    def __init__(self, net: nn.Module, n_aux: int):
        super().__init__()
        self.heads = nn.ModuleList([nn.Linear(m.embed_dim, n_aux) for m in members(net)])

    def loss(self, net: nn.Module, x: torch.Tensor, y: torch.Tensor, y_aux: torch.Tensor,
             weight: float) -> torch.Tensor:
        """Mean over members of BCE(main) + weight * BCE(auxiliary)."""
        bce = nn.functional.binary_cross_entropy_with_logits
        out = []
        for m, head in zip(members(net), self.heads):
            e = m.embed(x)
            out.append(bce(m.head(e), y) + weight * bce(head(e), y_aux))
        return torch.stack(out).mean()


def members(net: nn.Module) -> list[nn.Module]:
    return list(net.members) if isinstance(net, nets.Ensemble) else [net]


def fit_input_scale(net: nn.Module, batches: Batches, n: int) -> None:
    """Set the net's per-lead input mean/std from training-fold view values."""
    values = torch.from_numpy(batches.get(np.arange(min(n, 512)), None))
    for scale in getattr(net, "scales", None) or [net.scale]:
        with torch.no_grad():
            v = torch.log1p(values * scale.log_scale) if scale.log else values
            dims = [0] + list(range(2, v.dim()))
            scale.mean.copy_(v.mean(dim=dims))
            scale.std.copy_(v.std(dim=dims).clamp_min(1e-3))


def predict_logits(net: nn.Module, batches: Batches, n: int, bs: int = 128) -> np.ndarray:
    net.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, n, bs):
            out.append(net(torch.from_numpy(batches.get(np.arange(i, min(i + bs, n)), None))).numpy())
    return np.concatenate(out)


def subsample(arrays: dict, fraction: float, seed: int) -> dict:
    """A random `fraction` (0, 1] of a split's records (same arrays, fewer rows), for learning curves.
    Records are drawn without replacement by `seed`; their order is kept."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}; use 1 for all training records")
    if fraction == 1:
        return arrays
    n = len(arrays["ids"])
    keep = np.sort(np.random.default_rng(10_000 + seed).permutation(n)[: max(2, round(fraction * n))])
    return {k: v[keep] for k, v in arrays.items()}


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, timeout=5).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine() -> dict:
    """What a bit-for-bit rerun needs to match besides the code: CPU model, the instruction set
    torch's kernels use (they pick different summation orders per ISA), torch and numpy versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "isa": torch.backends.cpu.get_cpu_capability(), "torch": str(torch.__version__),
            "numpy": str(np.__version__)}


def train(name: str, data: str | None, epochs: int | None = None, resume: bool = False,
          seed: int = 0, out_dir: Path = WEIGHTS_DIR, threads: int | None = None,
          aux_weight: float | None = None, fraction: float = 1.0, stop_after: int | None = None,
          net_overrides: dict | None = None) -> Path | None:
    """Train NAME by its registry recipe; returns OUT/NAME.pt, or None when stopped early by
    `stop_after` (epochs done so far, checkpoint kept in OUT/runs/NAME/last.pt for --resume).
    net_overrides: network settings that replace the recipe's (a candidate for a selection rule,
    e.g. {"widths": [16, 32, 48, 64]}); the checkpoint records the settings it was built with."""
    spec = REGISTRY[name]
    if net_overrides:
        spec = dataclasses.replace(spec, net_kwargs={**spec.net_kwargs, **net_overrides})
    hp = dict(spec.train, epochs=epochs or spec.train["epochs"])
    if aux_weight is not None:
        hp["aux_weight"] = aux_weight
    if fraction != 1.0:
        hp["fraction"] = fraction
    torch.manual_seed(seed)
    if threads:
        torch.set_num_threads(threads)
    tr, va = subsample(load_split("train", data), fraction, seed), load_split("val", data)
    btr, bva = Batches(spec, tr, "train"), Batches(spec, va, "val")
    net = nets.NETS[spec.net](n_classes=len(CLASSES), **spec.net_kwargs)
    fit_input_scale(net, btr, len(tr["x"]))
    ema = copy.deepcopy(net)
    aux = None
    if hp.get("aux_weight", 0) > 0:     # training-only subclass heads (docs/selection_log.md)
        names, tr["y_aux"] = aux_labels(tr["ids"], data)
        hp["aux_labels"] = f"{len(names)} PTB-XL diagnostic subclasses"
        aux = AuxHeads(net, len(names))
    params = list(net.parameters()) + (list(aux.parameters()) if aux is not None else [])
    opt = torch.optim.AdamW(params, lr=hp["lr"], weight_decay=hp["weight_decay"])
    steps = hp["epochs"] * int(np.ceil(len(tr["x"]) / hp["batch"]))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=hp["lr"], total_steps=steps, pct_start=0.2)
    state = {"epoch": 0, "best_auc": -1.0, "best_state": None, "history": [], "seconds": 0.0}
    run_dir = (RUNS_DIR if Path(out_dir).resolve() == WEIGHTS_DIR.resolve() else Path(out_dir) / "runs") / name
    run_dir.mkdir(parents=True, exist_ok=True)
    if resume and (run_dir / "last.pt").is_file():
        ck = torch.load(run_dir / "last.pt", weights_only=False)
        net.load_state_dict(ck["net"]), ema.load_state_dict(ck["ema"])
        if aux is not None:
            aux.load_state_dict(ck["aux"])
        opt.load_state_dict(ck["opt"]), sched.load_state_dict(ck["sched"])
        state = ck["state"]
        if ck.get("torch_rng") is not None:         # dropout masks continue as if never stopped
            torch.set_rng_state(ck["torch_rng"])
        print(f"resuming {name} after epoch {state['epoch']}", file=sys.stderr)
    loss_fn = nn.BCEWithLogitsLoss()
    bar = tqdm(range(state["epoch"], hp["epochs"]), desc=f"train {name}", initial=state["epoch"],
               total=hp["epochs"])
    for epoch in bar:
        t0 = time.time()
        rng = np.random.default_rng(seed * 1000 + epoch)
        order = rng.permutation(len(tr["x"]))
        net.train()
        losses = []
        for i in range(0, len(order), hp["batch"]):
            idx = np.sort(order[i:i + hp["batch"]])
            if len(idx) < 2:
                continue
            xb = torch.from_numpy(btr.get(idx, rng))
            yb = torch.from_numpy(tr["y"][idx])
            if aux is not None:
                loss = aux.loss(net, xb, yb, torch.from_numpy(tr["y_aux"][idx]), hp["aux_weight"])
            elif isinstance(net, nets.Ensemble):   # each member learns on its own loss
                loss = torch.stack([loss_fn(z, yb) for z in net.member_logits(xb)]).mean()
            else:
                loss = loss_fn(net(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            with torch.no_grad():
                decay = min(0.995, (1 + epoch * 24 + i) / (10 + epoch * 24 + i))
                for pe, p in zip(ema.state_dict().values(), net.state_dict().values()):
                    pe.copy_(pe * decay + p.detach() * (1 - decay)) if pe.dtype.is_floating_point else pe.copy_(p)
            losses.append(float(loss.detach()))
        auc = macro_auc(va["y"], sigmoid(predict_logits(ema, bva, len(va["x"]))))
        state["history"].append({"epoch": epoch + 1, "loss": float(np.mean(losses)), "val_auc": auc})
        if auc > state["best_auc"]:
            state["best_auc"], state["best_epoch"] = auc, epoch + 1
            state["best_state"] = {k: v.clone() for k, v in ema.state_dict().items()}
        state["epoch"] = epoch + 1
        state["seconds"] += time.time() - t0
        bar.set_postfix(loss=f"{np.mean(losses):.4f}", val_auc=f"{auc:.4f}", best=f"{state['best_auc']:.4f}")
        torch.save({"net": net.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                    "sched": sched.state_dict(), "state": state, "torch_rng": torch.get_rng_state(),
                    "aux": aux.state_dict() if aux is not None else None}, run_dir / "last.pt")
        if stop_after is not None and state["epoch"] >= stop_after and state["epoch"] < hp["epochs"]:
            print(f"stopped after epoch {state['epoch']} of {hp['epochs']} (fold-9 macro AUC {auc:.6f}); "
                  f"continue with --resume", file=sys.stderr)
            return None
    return write_weights(spec, hp, state, bva, va, tr, seed, data, out_dir)


def write_weights(spec: ModelSpec, hp: dict, state: dict, bva: Batches, va: dict, tr: dict,
                  seed: int, data: str | None, out_dir: Path) -> Path:
    """Best fold-9 state + calibration and max-F1 thresholds fitted on fold 9 -> weights/NAME.pt."""
    net = nets.NETS[spec.net](n_classes=len(CLASSES), **spec.net_kwargs)
    net.load_state_dict(state["best_state"])
    calibration, thresholds = fit_outputs(predict_logits(net, bva, len(va["x"])), va["y"])
    ckpt = {
        "format": FORMAT, "kind": "single", "name": spec.name, "title": spec.title,
        "net": spec.net, "net_kwargs": dict(spec.net_kwargs), "state_dict": net.state_dict(),
        "classes": list(CLASSES), "leads": list(LEADS), "fs": MODEL_FS, "samples": MODEL_SAMPLES,
        "units": "mV", "view": spec.view, "view_params": view_params(spec.view),
        "calibration": calibration,
        "thresholds": [float(t) for t in thresholds],
        "threshold_rule": "per class, maximises F1 on fold 9 (calibrated probabilities)",
        "train": {"folds": list(TRAIN_FOLDS), "val_fold": VAL_FOLD, "n_train": int(len(tr["x"])),
                  "n_val": int(len(va["x"])), "train_positives": dict(zip(CLASSES, tr["y"].sum(0).astype(int).tolist())),
                  "epochs": hp["epochs"], "best_epoch": state["best_epoch"], "val_auc": state["best_auc"],
                  "hyperparameters": hp, "seed": seed, "seconds": round(state["seconds"], 1),
                  "threads": torch.get_num_threads(), "git_commit": git_commit(),
                  "machine": machine(), "command": train_command(spec, hp, seed, data),
                  "history": state["history"]},
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{spec.name}.pt"
    torch.save(ckpt, path)
    write_sums(out_dir)
    print(f"wrote {path} (fold-9 macro AUC {state['best_auc']:.4f} at epoch {state['best_epoch']})")
    return path


def train_command(spec: ModelSpec, hp: dict, seed: int, data: str | None) -> str:
    """The command line that reproduces a run: the registry recipe plus every option that differs."""
    cmd = f"python -m ecgcore.models.train {spec.name} --data {data or '$PTBXL_DIR'}"
    if hp["epochs"] != spec.train["epochs"]:
        cmd += f" --epochs {hp['epochs']}"
    if seed:
        cmd += f" --seed {seed}"
    if hp.get("aux_weight", 0) != spec.train.get("aux_weight", 0):
        cmd += f" --aux-weight {hp['aux_weight']}"
    if "fraction" in hp:
        cmd += f" --fraction {hp['fraction']}"
    return cmd


def fit_outputs(logits: np.ndarray, y: np.ndarray) -> tuple[dict, np.ndarray]:
    """Fold-9 logits (N, 5) -> calibration (temperature or Platt, chosen by CV) and max-F1 thresholds (5,)."""
    calibration = choose_calibration(logits, y)
    return calibration, choose_thresholds(sigmoid(apply_calibration(logits, calibration)), y)


def recalibrate(name: str, data: str | None, weights_dir: Path = WEIGHTS_DIR) -> Path:
    """Refit an existing weights file's calibration and thresholds on fold 9 with this code's rule
    (the same last step as `train`); the network is untouched. Rewrites the file and SHA256SUMS."""
    spec, path = REGISTRY[name], Path(weights_dir) / f"{name}.pt"
    ckpt = load_checkpoint(path)
    net = build_net(ckpt)
    va = load_split("val", data)
    calibration, thresholds = fit_outputs(predict_logits(net, Batches(spec, va, "val"), len(va["x"])), va["y"])
    ckpt["calibration"], ckpt["thresholds"] = calibration, [float(t) for t in thresholds]
    ckpt["train"]["recalibrated"] = {"git_commit": git_commit(), "fold": VAL_FOLD,
                                     "command": f"python -m ecgcore.models.train {name} --recalibrate"}
    torch.save(ckpt, path)
    write_sums(Path(weights_dir))
    print(f"recalibrated {path}: {calibration['method']} (fold-9 CV ECE "
          + ", ".join(f"{m} {v['cv_ece']:.4f}" for m, v in calibration["selection"].items()) + ")")
    return path


def view_params(view: str) -> dict:
    from ..signal import views
    if view == "spectrum":
        return {"window": "hann", "max_hz": views.SPECTRUM_MAX_HZ, "detrend": "mean"}
    if view == "scalogram":
        return {"wavelet": views.SCALO_WAVELET, "fmin": views.SCALO_FMIN, "fmax": views.SCALO_FMAX,
                "scales": views.SCALO_SCALES, "decimate": views.SCALO_DECIMATE, "method": "fft",
                "dtype": "float32"}
    return {"detrend": "none"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecgcore.models.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", choices=sorted(REGISTRY))
    parser.add_argument("--data", default=None, help="PTB-XL folder (default $PTBXL_DIR)")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true", help="continue from runs/NAME/last.pt")
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR,
                        help="weights folder (default weights/); checkpoints go to OUT/runs/ when set")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    parser.add_argument("--aux-weight", type=float, default=None,
                        help="weight of the training-only subclass loss (default: the registry's, usually 0)")
    parser.add_argument("--fraction", type=float, default=1.0,
                        help="train on this random fraction of folds 1-8 (learning curves; default 1)")
    parser.add_argument("--recalibrate", action="store_true",
                        help="only refit calibration + thresholds of the existing OUT/NAME.pt on fold 9")
    parser.add_argument("--stop-after", type=int, default=None, metavar="K",
                        help="stop after epoch K (checkpoint kept; the same command with --resume goes on): "
                             "a long recipe in session-sized pieces")
    parser.add_argument("--widths", type=int, nargs="+", default=None,
                        help="scalogram only: the 2D CNN's block widths instead of the recipe's "
                             "(a candidate under a selection rule, e.g. --widths 16 32 48 64)")
    args = parser.parse_args(argv)
    if args.widths and REGISTRY[args.name].net != "ScalogramCNN":
        parser.error(f"--widths is for the scalogram network; {args.name} uses {REGISTRY[args.name].net}")
    if args.recalibrate:
        recalibrate(args.name, args.data, args.out)
        return 0
    train(args.name, args.data, args.epochs, args.resume, args.seed, args.out, args.threads, args.aux_weight,
          args.fraction, args.stop_after, {"widths": args.widths} if args.widths else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
