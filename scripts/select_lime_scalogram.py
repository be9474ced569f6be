"""Choose the scalogram model's LIME setting on fold-9 records (issue #5), never on fold 10.

    PTBXL_DIR=../shared/ptbxl python scripts/select_lime_scalogram.py [--n 50] [--doc docs/explanations.md]

For n fold-9 records (a fixed draw, seed 0; `ecgcore.explain.evaluate.test_records(fold=9)`) the
scalogram model's most probable class is explained with every candidate below, seeds 0 and 1,
and the table (mean over records: stability top-k and all, faithfulness, estimated seconds per
map) is written between the select-lime markers of docs/explanations.md.

Candidates (the segment grid, off value and kernel are unchanged):
    pairs       n_off = 2 every row (the current design), Ridge alpha 1: 300, 360, 400, 480, 600 samples
    pairs       alpha 0.1 and 10: 300 and 400 samples
    singles     row 0, then each of the 120 segments off alone once (the same rows for every seed),
                then random n_off = 2 rows, alpha 1: 300, 360, 400 samples
    occlusion   row 0 + the 120 single rows only (121): a reference, deterministic, not eligible
The kernel width is not swept: with n_off fixed every perturbed row has the same distance to the
record (0.0084; 0.0042 for single rows), so LIME's kernel weighs them all alike (>= 0.9994).

Rule, fixed before any fold-9 result was seen:
1. Eligible: estimated unloaded LIME time per map <= 1.8 s (10% under the 2 s target), estimated
   as 1.30 s x samples / 300 (1.30 s: the fold-10 bench at 300 samples, 2 threads) -> <= 415
   samples; and a randomised design (occlusion is not: its seed stability is 1 by construction).
2. Qualifying: fold-9 mean stability (top-k) >= 0.85 and mean faithfulness >= that of the
   current setting (pairs, 300, alpha 1) - 0.01.
3. Among qualifying settings, the least change wins: samples only, then samples + alpha, then the
   singles design; within one kind the fewest samples, then the higher stability.
4. If none qualifies: the eligible setting with the highest stability whose faithfulness passes 2.
Rows are nested (lime_attr), so each seed's model outputs are computed once for the largest design
and cut for the smaller ones; the deletion curves' random orders are computed once per record.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path[:0] = [str(Path(__file__).resolve().parent.parent)]          # run from anywhere, like loadtest.py
from ecgcore.explain.evaluate import DOC, mean_ci, test_records  # noqa: E402
from ecgcore.explain.lime_attr import lime_fit, lime_masks, lime_scores, masks_predict  # noqa: E402
from ecgcore.explain.models import as_target  # noqa: E402
from ecgcore.explain.segments import DEFAULT_OFF, off_values, segmentation  # noqa: E402
from ecgcore.explain.trust import DELETION_RANDOM_ORDERS, DELETION_STEPS, deletion_masks, rank_agreement  # noqa: E402
from ecgcore.io.ptbxl import VAL_FOLD  # noqa: E402
from ecgcore.models.registry import load_model  # noqa: E402

BEGIN, END = "<!-- select-lime-scalogram:begin -->", "<!-- select-lime-scalogram:end -->"
# (design, samples, alpha); design in pairs | singles | occlusion
CANDIDATES = ([("pairs", n, 1.0) for n in (300, 360, 400, 480, 600)]
              + [("pairs", n, a) for a in (0.1, 10.0) for n in (300, 400)]
              + [("singles", n, 1.0) for n in (300, 360, 400)] + [("occlusion", 121, 1.0)])
CURRENT = ("pairs", 300, 1.0)
BENCH_S, BENCH_N, LIMIT_S = 1.30, 300, 1.8
SEEDS = (0, 1)


def estimated_seconds(n: int) -> float:
    """Unloaded seconds per map, scaled from the fold-10 bench (1.30 s at 300 samples)."""
    return BENCH_S * n / BENCH_N


def design_masks(design: str, n: int, seed: int) -> np.ndarray:
    if design == "occlusion":
        return np.vstack([np.ones(120), 1.0 - np.eye(120)])
    return lime_masks(n, 120, seed, 2, singles=design == "singles")


def record_results(target, x: np.ndarray) -> dict:
    """{candidate: (stability, stability_all, faithfulness)} for one record's top class."""
    seg, values = segmentation("scalogram"), target.values(x)
    off = off_values(values, DEFAULT_OFF["scalogram"])
    k = int(np.argmax(target.predict(values[None])[0]))
    predict = lambda v: target.predict(v)[:, k]                             # noqa: E731
    n_max = max(n for d, n, _ in CANDIDATES if d == "pairs")
    pairs = {s: lime_masks(n_max, seg.n, s) for s in SEEDS}
    y_pairs = {s: masks_predict(predict, values, off, seg, m) for s, m in pairs.items()}
    y_single = masks_predict(predict, values, off, seg, 1.0 - np.eye(seg.n))
    rng = np.random.default_rng(0)                                          # as deletion_curves, seed 0
    rand = [deletion_masks(rng.permutation(seg.n), seg.n, DELETION_STEPS) for _ in range(DELETION_RANDOM_ORDERS)]
    fraction = rand[0][1]
    y_rand = masks_predict(predict, values, off, seg, np.concatenate([m for m, _ in rand]))
    area_random = float(np.trapezoid(y_rand.reshape(len(rand), -1).mean(0), fraction))
    out = {}
    for cand in CANDIDATES:
        design, n, alpha = cand
        scores = []
        for s in SEEDS:
            masks = design_masks(design, n, s)
            if design == "pairs":
                y = y_pairs[s][:n]
            else:
                y = np.concatenate([y_pairs[s][:1], y_single, y_pairs[s][1:n - seg.n]])[:n]
            scores.append(lime_fit(masks, y, s, alpha)[0])
        order = np.argsort(-scores[0], kind="stable")
        salient = masks_predict(predict, values, off, seg, deletion_masks(order, seg.n, DELETION_STEPS)[0])
        faith = area_random - float(np.trapezoid(salient, fraction))
        out[cand] = (rank_agreement(*scores), rank_agreement(*scores, top=0), faith)
    return out


def time_maps(target, x: np.ndarray) -> dict[int, float]:
    """CPU seconds (this process, its torch threads) of one `lime_scores` call per sample count."""
    seg, values = segmentation("scalogram"), target.values(x)
    off = off_values(values, DEFAULT_OFF["scalogram"])
    out = {}
    for n in sorted({n for d, n, _ in CANDIDATES if d != "occlusion"}):
        t0 = time.process_time()
        lime_scores(lambda v: target.predict(v)[:, 0], values, off, seg, n, 0)
        out[n] = time.process_time() - t0
    return out


def choose(summary: dict) -> tuple | None:
    """Apply the rule in the module docstring to {candidate: means}; None if nothing is eligible."""
    floor = summary[CURRENT]["faithfulness"] - 0.01
    eligible = [c for c in summary if c[0] != "occlusion" and estimated_seconds(c[1]) <= LIMIT_S]
    good = [c for c in eligible if summary[c]["faithfulness"] >= floor]
    change = lambda c: (c[0] == "singles", c[2] != 1.0)                      # noqa: E731
    ok = [c for c in good if summary[c]["stability"] >= 0.85]
    if ok:
        return min(ok, key=lambda c: (change(c)[0], change(c)[1], c[1], -summary[c]["stability"]))
    return max(good, key=lambda c: summary[c]["stability"]) if good else None


def table(summary: dict, cpu: dict, chosen) -> str:
    head = ("| design | samples | Ridge alpha | stability top-k [95% CI] | stability all | "
            "faithfulness [95% CI] | est. s / map unloaded | CPU s / map, 1 thread, loaded |\n"
            "|---|---|---|---|---|---|---|---|\n")
    lines = []
    for c, r in summary.items():
        mark = " **chosen**" if c == chosen else (" (current)" if c == CURRENT else "")
        st, fa = r["stability_ci"], r["faithfulness_ci"]
        lines.append(f"| {c[0]}{mark} | {c[1]} | {c[2]:g} | {st[0]:.2f} [{st[1]:.2f}, {st[2]:.2f}] | "
                     f"{r['stability_all']:.2f} | {fa[0]:.3f} [{fa[1]:.3f}, {fa[2]:.3f}] | "
                     f"{estimated_seconds(c[1]):.2f} | {f'{cpu[c[1]]:.2f}' if c[1] in cpu else 'n/a'} |")
    return head + "\n".join(lines) + "\n"


def write_block(text: str, doc: Path) -> None:
    old = doc.read_text()
    if BEGIN not in old or END not in old:
        raise SystemExit(f"{doc} has no {BEGIN} ... {END} block; add one where the table belongs")
    head, rest = old.split(BEGIN, 1)
    doc.write_text(head + BEGIN + "\n" + text + END + rest.split(END, 1)[1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=50, help="fold-9 records (default 50)")
    p.add_argument("--data", default=None, help="PTB-XL folder (default $PTBXL_DIR)")
    p.add_argument("--weights", default=None)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--doc", type=Path, default=DOC)
    p.add_argument("--json", type=Path, default=None, help="also write per-record results here")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    target = as_target(load_model("scalogram", args.weights))
    ids, signals = test_records(args.n, args.data, fold=VAL_FOLD)
    t0 = time.time()
    cpu = time_maps(target, signals[0])
    per = []
    for i, x in enumerate(signals):
        per.append(record_results(target, x))
        print(f"record {i + 1}/{len(signals)} done ({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
    summary = {}
    for c in CANDIDATES:
        st, sa, fa = (list(v) for v in zip(*(r[c] for r in per)))
        summary[c] = {"stability": mean_ci(st)[0], "stability_ci": mean_ci(st), "stability_all": mean_ci(sa)[0],
                      "faithfulness": mean_ci(fa)[0], "faithfulness_ci": mean_ci(fa)}
    chosen = choose(summary)
    text = (f"Measured by `python scripts/select_lime_scalogram.py --n {args.n}` on {len(ids)} fold-9 "
            f"records (ecg_id {ids[0]}..{ids[-1]}, fixed draw), scalogram model, its most probable class, "
            f"seeds 0 vs 1; {time.time() - t0:.0f} s in all, torch threads {args.threads}, machine "
            f"shared with other jobs. Chosen by the rule: {chosen}.\n\n" + table(summary, cpu, chosen))
    write_block(text, args.doc)
    if args.json:
        args.json.write_text(json.dumps({"ids": ids.tolist(), "cpu": cpu, "records": [
            {"/".join(map(str, c)): v for c, v in r.items()} for r in per]}))
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
