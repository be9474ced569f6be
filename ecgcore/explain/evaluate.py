"""Measure the explanations on fold-10 records and write the table into docs/explanations.md.

    python -m ecgcore.explain.evaluate --n 50 [--data ../shared/ptbxl] [--weights weights]

For each of n fold-10 records (a fixed draw, seed 0), each shipped model and each method, the
model's most probable class is explained with trust measures at the default settings (seed 0).
Reported per model and method: mean faithfulness (deletion area difference, random - salient)
with its 95% CI (t interval over records) and the share of records where it is > 0, mean
stability and LIME-SHAP agreement (Spearman, top-k union), and seconds per explanation.
This is evaluation, not tuning: nothing here feeds back into the settings.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

from ..ptbxl import TEST_FOLD, load_index, load_record, split_ids
from ..record import model_input
from ..registry import available, load_model
from .core import METHODS, bench_explain, explain
from .models import as_target

DOC = Path(__file__).resolve().parents[2] / "docs" / "explanations.md"
BEGIN, END = "<!-- evaluate:begin -->", "<!-- evaluate:end -->"


def test_records(n: int, data: str | None = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(ids (n,), signals (n, 1000, 12)): a fixed draw of fold-10 records."""
    ids = split_ids(load_index(data), TEST_FOLD, fs=100)
    pick = np.sort(np.random.default_rng(seed).choice(ids, min(n, len(ids)), replace=False))
    return pick, np.stack([model_input(load_record(int(i), 100, data)) for i in pick])


def mean_ci(x: list[float]) -> tuple[float, float, float]:
    """Mean and 95% t-interval of the finite values of x."""
    a = np.asarray([v for v in x if v is not None and np.isfinite(v)], np.float64)
    if len(a) < 2:
        return (float(a.mean()) if len(a) else float("nan"), float("nan"), float("nan"))
    half = stats.t.ppf(0.975, len(a) - 1) * a.std(ddof=1) / np.sqrt(len(a))
    return float(a.mean()), float(a.mean() - half), float(a.mean() + half)


def evaluate(models: dict, signals: np.ndarray, log=sys.stderr) -> dict:
    """{(model, method): {'faithfulness': [...], 'stability': [...], 'agreement': [...], 'seconds': [...]}}."""
    rows: dict = {}
    for i, x in enumerate(signals):
        for name, model in models.items():
            target = as_target(model)
            k = int(np.argmax(target.predict(target.values(x)[None])[0]))
            for method in METHODS if target.net is not None else ("lime",):
                e = explain(model, x, method, k, seed=0, with_trust=True)
                r = rows.setdefault((name, method), {"faithfulness": [], "stability": [],
                                                     "agreement": [], "seconds": [], "trust_seconds": []})
                r["faithfulness"].append(e.trust["faithfulness"])
                r["stability"].append(e.trust["stability"])
                r["agreement"].append(e.trust["agreement"])
                r["seconds"].append(e.seconds)
                r["trust_seconds"].append(e.trust["seconds"])
        print(f"record {i + 1}/{len(signals)} done", file=log, flush=True)
    return rows


def table(rows: dict) -> str:
    """Markdown table of the per-record results."""
    head = ("| model | method | n | faithfulness (area random - salient) | 95% CI | > 0 | "
            "stability | agreement LIME-SHAP | s / explanation | s trust |\n"
            "|---|---|---|---|---|---|---|---|---|---|\n")
    lines = []
    for (name, method), r in rows.items():
        m, lo, hi = mean_ci(r["faithfulness"])
        s, slo, shi = mean_ci(r["stability"])
        a, _, _ = mean_ci(r["agreement"])
        pos = np.mean(np.asarray(r["faithfulness"]) > 0)
        lines.append(f"| {name} | {method} | {len(r['faithfulness'])} | {m:.4f} | [{lo:.4f}, {hi:.4f}] | "
                     f"{pos:.0%} | {s:.2f} [{slo:.2f}, {shi:.2f}] | "
                     f"{'n/a' if np.isnan(a) else f'{a:.2f}'} | {np.median(r['seconds']):.2f} | "
                     f"{np.median(r['trust_seconds']):.2f} |")
    return head + "\n".join(lines) + "\n"


def write_doc(text: str, doc: Path = DOC) -> None:
    """Replace the block between the evaluate markers in `doc` (append it if absent)."""
    block = f"{BEGIN}\n{text}{END}"
    old = doc.read_text() if doc.is_file() else "# Explanations\n"
    if BEGIN in old and END in old:
        new = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: block, old, flags=re.S)
    else:
        new = old.rstrip() + "\n\n" + block + "\n"
    doc.write_text(new)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=50, help="fold-10 records (default 50)")
    p.add_argument("--data", default=None, help="PTB-XL folder (default $PTBXL_DIR)")
    p.add_argument("--weights", default=None, help="weights folder (default weights/)")
    p.add_argument("--models", default=None, help="comma-separated names (default: every shipped one)")
    p.add_argument("--doc", type=Path, default=DOC)
    args = p.parse_args(argv)
    names = args.models.split(",") if args.models else available(args.weights)
    if not names:
        print("no weights found: train the models first (python -m ecgcore.train NAME)", file=sys.stderr)
        return 1
    models = {n: load_model(n, args.weights) for n in names}
    ids, signals = test_records(args.n, args.data)
    t0 = time.time()
    rows = evaluate(models, signals)
    speed = bench_explain(models, signals[0], with_trust=True)
    import torch
    text = (f"Measured by `python -m ecgcore.explain.evaluate --n {args.n}` on {len(ids)} fold-10 records "
            f"(ecg_id {ids[0]}..{ids[-1]}, fixed draw), models: {', '.join(names)}; "
            f"explained class = each model's most probable class; seed 0; {time.time() - t0:.0f} s in all, "
            f"torch threads {torch.get_num_threads()}.\n\n" + table(rows) +
            "\nSeconds for one record (ecg_id " + str(ids[0]) + "), one class, `bench_explain`:\n\n"
            "| step | seconds |\n|---|---|\n" +
            "".join(f"| {k} | {v:.2f} |\n" for k, v in speed.items()))
    write_doc(text, args.doc)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
