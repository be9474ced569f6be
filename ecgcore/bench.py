"""Benchmark: median time per stage on this machine (targets from the issues in brackets).

    python -m ecgcore.bench [--data ../shared/ptbxl] [--repeat 50] [--skip-explain] [--score [N]]

Stages: index load, load_record, spectrum and scalogram (single record and batch of 64),
model inference per model (single record and batch throughput), one record through all
models + fusion + quality, explanations (SHAP, LIME) per model, and with --score the
archive scorer's records/s in one process and on a 2-worker Dask LocalCluster.
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import numpy as np
import torch

TARGETS_MS = {"index load (cold)": 2000, "load_record 100 Hz": 5, "scalogram 12 leads (1 record)": 25,
              "delineation + measurements 100 Hz (1 record)": 50, "quality check 100 Hz (1 record)": 5,
              "assess: 3 models + fusion + quality (1 record)": 100,
              **{f"{name}: predict_proba 1 record": 15 for name in ("signal", "spectrum", "scalogram")}}


def median_ms(fn: Callable[[], object], repeat: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def row(name: str, ms: float, extra: str = "") -> dict:
    target = TARGETS_MS.get(name)
    verdict = "" if target is None else ("PASS" if ms < target else "FAIL") + f" (< {target} ms)"
    print(f"{name:<52} {ms:10.2f} ms  {verdict} {extra}".rstrip(), flush=True)
    return {"stage": name, "median_ms": ms, "target_ms": target, "extra": extra}


def bench_data(data: str | None, repeat: int) -> list[dict]:
    from .io.ptbxl import load_index, load_record
    from .signal.views import scalogram_view, spectrum_view
    out = []
    load_index.cache_clear()
    t0 = time.perf_counter()
    index = load_index(data)
    out.append(row("index load (cold)", (time.perf_counter() - t0) * 1000))
    ids = index.index[index["has_100"]].to_numpy()[:repeat]
    it = iter(np.resize(ids, repeat + 10))
    out.append(row("load_record 100 Hz", median_ms(lambda: load_record(int(next(it)), 100, data), repeat)))
    x1 = load_record(int(ids[0]), 100, data).signal[None]
    xb = np.repeat(x1, 64, axis=0)
    out.append(row("spectrum 12 leads (1 record)", median_ms(lambda: spectrum_view(x1), repeat)))
    out.append(row("spectrum batch of 64, per record", median_ms(lambda: spectrum_view(xb), 5) / 64))
    out.append(row("scalogram 12 leads (1 record)", median_ms(lambda: scalogram_view(x1), repeat)))
    out.append(row("scalogram batch of 64, per record", median_ms(lambda: scalogram_view(xb), 3) / 64))
    out += bench_reading(index, data)
    return out


def bench_reading(index, data: str | None, n: int = 20) -> list[dict]:
    """Delineation + median beat + measurements per record, at 100 Hz and (where present) 500 Hz."""
    from .io.ptbxl import load_record
    from .signal.measure import bench_measure
    out = []
    for fs, col in ((100, "has_100"), (500, "has_500")):
        ids = index.index[index[col]].to_numpy()[:n]
        if len(ids):
            signals = [load_record(int(i), fs, data).signal for i in ids]
            out.append(row(f"delineation + measurements {fs} Hz (1 record)", bench_measure(signals, fs, repeat=2),
                           f"median of {len(ids)} records x 2"))
    return out


def bench_models(data: str | None, repeat: int) -> tuple[list[dict], dict, np.ndarray]:
    from .models.predict import assess
    from .io.ptbxl import load_index, load_record
    from .models.registry import available, load_model
    out, models = [], {}
    for name in available():
        models[name] = load_model(name)
    index = load_index(data)
    rec = load_record(int(index.index[index["has_100"] & (index["fold"] == 10)][0]), 100, data)
    from .signal.quality import assess_quality
    from .signal.record import model_input
    x1 = model_input(rec)[None]
    xb = np.repeat(x1, 64, axis=0)
    out.append(row("quality check 100 Hz (1 record)", median_ms(lambda: assess_quality(rec.signal, rec.fs), repeat)))
    for name, m in models.items():
        ms = median_ms(lambda: m.predict_proba(x1), repeat)
        batch_ms = median_ms(lambda: m.predict_proba(xb), 3)
        out.append(row(f"{name}: predict_proba 1 record", ms, f"throughput {64000 / batch_ms:.0f} records/s (batch 64)"))
    if "fused" in models:
        full = {k: v for k, v in models.items()}
        out.append(row("assess: 3 models + fusion + quality (1 record)",
                       median_ms(lambda: assess(rec, full), repeat)))
    return out, models, x1[0]


def bench_explain(models: dict, signal: np.ndarray) -> list[dict]:
    try:
        from .explain import bench_explain as run
    except ImportError as err:
        print(f"explanations: not benchmarked ({err})")
        return []
    out = []
    for key, seconds in run({k: v for k, v in models.items() if k != "fused"}, signal).items():
        out.append(row(f"explain {key}", seconds * 1000))
    return out


def _rss_mb() -> float:
    from .memory import rss_mb
    return rss_mb()


def bench_score(data: str | None, limit: int | None, workers: int = 2, keep: bool = False,
                measure: bool = True) -> list[dict]:
    """Records/s of `python -m ecgcore.score` over a PTB-XL folder: in this process (a batch loop,
    torch on every core) and on a Dask LocalCluster of `workers` single-threaded workers. keep: the
    Dask run's file becomes the app's score file of that folder (Records page, browse by outcome)."""
    import shutil
    import tempfile
    from .score import ptbxl_source, score
    source, keys = ptbxl_source(data)
    keys = keys[:limit] if limit else keys
    out, rates = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("single process", f"dask {workers} workers"):
            t0 = time.perf_counter()
            if name == "single process":
                table = score(source, keys, f"{tmp}/{name.replace(' ', '_')}.parquet", workers=0, measure=measure)
            else:                       # cluster start-up counted; worker memory read after the run
                from distributed import Client
                from .score.run import local_cluster
                with local_cluster(workers) as cluster, Client(cluster) as client:
                    table = score(source, keys, f"{tmp}/{name.replace(' ', '_')}.parquet", client=client,
                                  measure=measure)
                    rss = client.run(_rss_mb)
                print(f"dask worker memory after the run (RSS): "
                      f"{', '.join(f'{v:.0f} MB' for v in rss.values())}", flush=True)
            seconds = time.perf_counter() - t0
            rates[name] = len(keys) / seconds
            ok = int((table["status"] == "ok").sum())
            print(f"score{'' if measure else ' (no measurements)'}, {name}: {len(keys):,} records ({ok:,} ok) in {seconds:.0f} s = "
                  f"{rates[name]:.1f} records/s", flush=True)
            if keep and name.startswith("dask"):
                from .score.outcomes import scores_path
                dest = scores_path(source.root)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(f"{tmp}/{name.replace(' ', '_')}.parquet", dest)
                print(f"score file kept for the app: {dest}")
            out.append({"stage": f"score {name}", "median_ms": seconds * 1000 / len(keys), "target_ms": None,
                        "extra": f"{len(keys)} records in {seconds:.0f} s, {rates[name]:.1f} records/s"})
    dask_rate = rates[f"dask {workers} workers"]
    ratio = dask_rate / rates["single process"]
    all_s = 21_799 / dask_rate
    print(f"score: dask / single-process throughput = {ratio:.2f} (target >= 0.90: "
          f"{'PASS' if ratio >= 0.9 else 'FAIL'}); 21,799 records on dask: {all_s / 60:.1f} min "
          f"(target < 5 min: {'PASS' if all_s < 300 else 'FAIL'})", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecgcore.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None, help="PTB-XL folder (default $PTBXL_DIR)")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the app uses 1 per request)")
    parser.add_argument("--skip-models", action="store_true")
    parser.add_argument("--skip-explain", action="store_true")
    parser.add_argument("--score", nargs="?", const=0, type=int, metavar="N",
                        help="also time `ecgcore.score` (single process vs Dask) over the first N records "
                             "with 100 Hz signals (no N: all of them; minutes on the full PTB-XL)")
    parser.add_argument("--score-no-measure", action="store_true",
                        help="score without the machine measurements (ecgcore.score --no-measure)")
    parser.add_argument("--score-keep", action="store_true",
                        help="keep the Dask run's scores as the app's score file of --data")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"ecgcore bench: median of {args.repeat} runs, torch threads {args.threads}")
    results = bench_data(args.data, args.repeat)
    if not args.skip_models:
        rows, models, signal = bench_models(args.data, args.repeat)
        results += rows
        if not args.skip_explain and models:
            results += bench_explain(models, signal)
    if args.score is not None:
        results += bench_score(args.data, args.score or None, keep=args.score_keep,
                               measure=not args.score_no_measure)
    failed = [r["stage"] for r in results if r["target_ms"] and r["median_ms"] >= r["target_ms"]]
    print("all targets met" if not failed else f"targets missed: {failed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
