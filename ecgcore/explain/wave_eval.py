"""Clinical plausibility of the saliency maps on fold 10: is the evidence where a cardiologist looks?

    python -m ecgcore.explain.wave_eval --data data/ptb-xl [--methods shap lime] [--limit N]

For fold-10 records coded (PTB-XL scp_codes, likelihood > 0) with:
  IMI         share of the MI evidence in II, III, aVF      (uniform map: 3/12 of the leads)
  ASMI, AMI   share of the MI evidence in V1-V4             (uniform: 4/12)
  CLBBB/CRBBB share of the CD evidence in the QRS           (uniform: that record's QRS share of samples)
  LVH         share of the HYP evidence in the QRS          (uniform: as above)
for each model whose map has a time axis (signal, scalogram) and method. Writes the table between
markers in docs/explanations.md. Records whose map has no positive evidence or no beats are counted
and left out. Nothing here chooses a setting: it only describes the shipped models on fold 10.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..io.ptbxl import load_index, load_record, parse_codes
from ..models.dataset import CACHE_DIR
from ..models.registry import load_model, sha256, weights_path
from ..signal.delineate import delineate_record
from ..signal.record import CLASSES, MODEL_FS, model_input
from .core import explain
from .waves import lead_share, uniform_shares, wave_evidence, wave_share

DOC = Path(__file__).resolve().parents[2] / "docs" / "explanations.md"
BEGIN, END = "<!-- wave_eval:begin -->", "<!-- wave_eval:end -->"
CHECKS = (  # (name, codes, class, measure, argument)
    ("IMI: MI evidence in II, III, aVF", ("IMI",), "MI", "leads", ("II", "III", "aVF")),
    ("ASMI/AMI: MI evidence in V1-V4", ("ASMI", "AMI"), "MI", "leads", ("V1", "V2", "V3", "V4")),
    ("CLBBB/CRBBB: CD evidence in the QRS", ("CLBBB", "CRBBB"), "CD", "wave", "QRS"),
    ("LVH: HYP evidence in the QRS", ("LVH",), "HYP", "wave", "QRS"),
)
MODELS = ("signal", "scalogram")


def _share(table, labels, measure: str, arg) -> tuple[float, float]:
    if measure == "leads":
        return lead_share(table, arg), lead_share(uniform_shares(labels), arg)
    return wave_share(table, arg), wave_share(uniform_shares(labels), arg)


_STATE: dict = {}


def _init(data: str | None, seed: int, threads: int) -> None:
    """Per process: the models once, `threads` torch threads."""
    import torch
    torch.set_num_threads(threads)
    _STATE.update(data=data, seed=seed, models={n: load_model(n) for n in MODELS})


def _measure(task: tuple[int, int, str]) -> dict:
    """One (check, ecg_id, method): {model: [share, uniform], or None when left out}."""
    k, ecg_id, meth = task
    _, _, cls, measure, arg = CHECKS[k]
    x = model_input(load_record(int(ecg_id), 100, _STATE["data"]))
    d = delineate_record(x, MODEL_FS)                     # once per record, shared by the models
    out = {}
    for m in MODELS:
        ev = wave_evidence(explain(_STATE["models"][m], x, meth, CLASSES.index(cls), seed=_STATE["seed"],
                                   with_trust=False), d)
        ok = ev.table is not None and float(ev.table.to_numpy().sum()) > 0    # some positive evidence
        out[m] = list(_share(ev.table, ev.labels, measure, arg)) if ok else None
    return {"check": k, "id": int(ecg_id), "method": meth, "out": out}


def _cache_file(seed: int) -> Path:
    """Results already measured, one JSON line per (check, record, method), keyed by the weights' hashes."""
    key = hashlib.sha256(json.dumps([[sha256(weights_path(n)) for n in MODELS], seed,
                                     [c[:2] for c in CHECKS]]).encode()).hexdigest()[:12]
    return CACHE_DIR / "wave_eval" / f"{key}.jsonl"


def _run(tasks: list, data: str | None, seed: int, workers: int, cache: Path | None) -> dict:
    """{(check, id, method): out} for every task, reusing and extending `cache` (a killed run resumes)."""
    done = {}
    if cache is not None and cache.is_file():
        for line in cache.read_text().splitlines():
            try:
                r = json.loads(line)
                done[(r["check"], r["id"], r["method"])] = r["out"]
            except (ValueError, KeyError):
                continue                                   # a line cut by a kill
    todo = [t for t in tasks if t not in done]
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
    sink = open(cache, "a") if cache is not None else None
    try:
        if workers > 1:
            pool = ProcessPoolExecutor(workers, initializer=_init, initargs=(data, seed, 1))
            results = pool.map(_measure, todo, chunksize=2)
        else:
            _init(data, seed, os.cpu_count() or 1)
            pool, results = None, map(_measure, todo)
        for r in tqdm(results, total=len(todo), desc=f"fold-10 maps ({len(done)} cached)"):
            done[(r["check"], r["id"], r["method"])] = r["out"]
            if sink is not None:
                sink.write(json.dumps(r) + "\n")
                sink.flush()
        if pool is not None:
            pool.shutdown()
    finally:
        if sink is not None:
            sink.close()
    return done


def _mean_ci(diff: np.ndarray, seed: int, n_boot: int = 2000) -> tuple[float, float]:
    """95% bootstrap CI (percentile) of the mean of `diff` over records."""
    if len(diff) < 2:
        return float("nan"), float("nan")
    boots = np.random.default_rng(seed).choice(diff, (n_boot, len(diff))).mean(1)
    return float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))


def evaluate(data: str | None, methods: tuple[str, ...], limit: int | None, seed: int = 0,
             workers: int = 1, cache: bool = True, limits: dict[str, int] | None = None) -> list[dict]:
    """One row per check x model x method: records, mean share, mean uniform share, the mean of
    (share - uniform) with its 95% bootstrap CI, and the share of records above uniform.
    limit: at most this many records per check (a seed-0 random order); limits: per method, e.g.
    {'lime': 60} (the first records of the same order, so a smaller sample is part of a larger one)."""
    index = load_index(data)
    fold10 = index[(index["fold"] == 10) & index["has_100"]]
    codes = {i: parse_codes(s) if isinstance(s, str) else s for i, s in fold10["scp_codes"].items()}
    tasks, coded = [], {}
    for k, (_, wanted, _, _, _) in enumerate(CHECKS):
        ids = [int(i) for i in fold10.index if any(codes[i].get(w, 0) > 0 for w in wanted)]
        coded[k] = len(ids)
        order = [int(i) for i in np.random.default_rng(seed).permutation(ids)]
        for meth in methods:
            n = min(x for x in (limit, (limits or {}).get(meth), len(ids)) if x is not None)
            tasks += [(k, i, meth) for i in (order[:n] if n < len(ids) else ids)]
    done = _run(tasks, data, seed, workers, _cache_file(seed) if cache else None)
    rows = []
    for k, (name, *_rest) in enumerate(CHECKS):
        for m in MODELS:
            for meth in methods:
                got = [done[t][m] for t in tasks if t[0] == k and t[2] == meth]
                s = np.asarray([g for g in got if g is not None], float).reshape(-1, 2)
                lo, hi = _mean_ci(s[:, 0] - s[:, 1], seed)
                rows.append({"check": name, "model": m, "method": meth, "coded": coded[k], "sampled": len(got),
                             "records": len(s), "skipped": sum(g is None for g in got),
                             "share": float(s[:, 0].mean()) if len(s) else np.nan,
                             "uniform": float(s[:, 1].mean()) if len(s) else np.nan,
                             "diff": float((s[:, 0] - s[:, 1]).mean()) if len(s) else np.nan,
                             "diff_lo": lo, "diff_hi": hi,
                             "above_uniform": float((s[:, 0] > s[:, 1]).mean()) if len(s) else np.nan})
    return rows


def markdown(rows: list[dict], command: str) -> str:
    lines = [BEGIN, "## Clinical plausibility on fold 10: evidence by lead and wave", "",
             f"`{command}` (`ecgcore.explain.wave_eval`). For each fold-10 record coded as in the first column, "
             "the share of the map's positive evidence for the class that falls in the leads or wave a "
             "cardiologist reads, against the share a uniform map would give (same record's wave labels). "
             "SHAP maps are per element (10 ms on the signal, 40 ms on the scalogram), so their wave shares are "
             "informative; LIME spreads each segment's score evenly (one second per lead on the signal, "
             "two-second tiles on the scalogram), so its *wave* shares follow the waves' durations and only "
             "its *lead* shares are informative.", "",
             "| check | model | method | records measured (sampled of coded) | mean share | uniform map | "
             "share - uniform, mean (95% bootstrap CI) | records above uniform |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['check']} | {r['model']} | {r['method'].upper()} | {r['records']} ({r['sampled']} of {r['coded']}) | "
                     f"{r['share']:.1%} | {r['uniform']:.1%} | {r['diff']:+.1%} ({r['diff_lo']:+.1%} to {r['diff_hi']:+.1%}) | "
                     f"{r['above_uniform']:.0%} |")
    left_out = ", ".join(f"{r['check'].split(':')[0]} {r['model']} {r['method']}: {r['skipped']}"
                         for r in rows if r["skipped"])
    lines += ["", "Records left out (no beats, or a map with no positive evidence): " + (left_out or "none"), END]
    return "\n".join(lines)


def write(text: str, doc: Path = DOC) -> None:
    old = doc.read_text()
    if BEGIN in old:
        old = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: text, old, flags=re.S)
    else:
        old = old.rstrip() + "\n\n" + text + "\n"
    doc.write_text(old)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ecgcore.explain.wave_eval", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="PTB-XL folder (default $PTBXL_DIR)")
    p.add_argument("--methods", nargs="+", default=["shap", "lime"], choices=["shap", "lime"])
    p.add_argument("--limit", type=int, help="at most N records per check (random, seed 0); default all")
    p.add_argument("--lime-limit", type=int,
                   help="at most N records per check for LIME only (about 4x SHAP's time a map)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="processes, one torch thread each (default: one per core)")
    p.add_argument("--no-cache", action="store_true",
                   help="do not reuse or extend .cache/wave_eval (a killed run otherwise resumes)")
    p.add_argument("--no-write", action="store_true", help="print the table, leave docs/explanations.md alone")
    a = p.parse_args(argv)
    rows = evaluate(a.data, tuple(a.methods), a.limit, workers=a.workers, cache=not a.no_cache,
                    limits={"lime": a.lime_limit} if a.lime_limit else None)
    cmd = "python -m ecgcore.explain.wave_eval" + (f" --data {a.data}" if a.data else "") + \
        f" --methods {' '.join(a.methods)}" + (f" --limit {a.limit}" if a.limit else "") + \
        (f" --lime-limit {a.lime_limit}" if a.lime_limit else "")
    text = markdown(rows, cmd)
    if not a.no_write:
        write(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
