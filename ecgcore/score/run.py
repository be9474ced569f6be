"""Drive a scoring run: batches on Dask (or in-process), parts on disk, resume, one final file.

Each finished batch is written at once as `OUT.parts/part-NNNNNN.parquet` (atomically: written
beside, then renamed), so a crash loses at most the batches in flight. A rerun reads the keys
already in OUT and in the parts and scores only the rest. When every record has a row, the parts
and any earlier OUT are merged into OUT (sorted by key) and the parts folder is removed.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Callable

import pandas as pd
import torch
from tqdm.auto import tqdm

from .batch import columns, default_threads, score_batch
from .sources import Source, folder_source, ptbxl_source


def parts_dir(out: Path) -> Path:
    return out.with_name(out.name + ".parts")


def done_keys(out: Path, key_column: str) -> set:
    """Keys that already have a row in OUT or in its parts folder."""
    frames = [pd.read_parquet(p, columns=[key_column]) for p in [out] if p.is_file()]
    frames += [pd.read_parquet(p, columns=[key_column]) for p in sorted(parts_dir(out).glob("part-*.parquet"))]
    return set().union(*(set(f[key_column].tolist()) for f in frames)) if frames else set()


def write_part(out: Path, frame: pd.DataFrame) -> Path:
    """Write one batch's rows as the next part, atomically."""
    folder = parts_dir(out)
    folder.mkdir(parents=True, exist_ok=True)
    n = len(list(folder.glob("part-*.parquet")))
    while (path := folder / f"part-{n:06d}.parquet").exists():
        n += 1
    tmp = folder / f".{path.name}.tmp"
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)
    return path


def merge(out: Path, key_column: str) -> pd.DataFrame:
    """OUT := OUT + every part, one row per key (sorted); the parts folder is removed."""
    parts = sorted(parts_dir(out).glob("part-*.parquet"))
    frames = ([pd.read_parquet(out)] if out.is_file() else []) + [pd.read_parquet(p) for p in parts]
    frames = [f for f in frames if len(f)]
    table = (pd.concat(frames, ignore_index=True) if frames
             else pd.DataFrame(columns=[key_column, *columns()]))
    table = table.drop_duplicates(key_column, keep="first").sort_values(key_column, ignore_index=True)
    tmp = out.with_name(f".{out.name}.tmp")
    table.to_parquet(tmp, index=False)
    os.replace(tmp, out)
    for p in parts:
        p.unlink()
    if parts_dir(out).is_dir() and not any(parts_dir(out).iterdir()):
        parts_dir(out).rmdir()
    return table


def _batches(keys: list, size: int) -> list[list]:
    return [keys[i:i + size] for i in range(0, len(keys), size)]


def score(source: Source, keys: list, out: str | os.PathLike, *, client=None, workers: int | None = None,
          batch_size: int = 64, weights_dir: str | None = None, progress: bool = True,
          on_progress: Callable[[int, int], None] | None = None, measure: bool = True) -> pd.DataFrame:
    """Score `keys` of `source` into OUT; returns the merged table.

    client: a dask.distributed Client to use; else `workers` > 0 starts a LocalCluster of that many
    single-threaded worker processes (None: one per core), and `workers=0` scores in this process.
    on_progress(done, total) is called after every batch (e.g. to move a progress bar in the app).
    measure: add the machine measurements (heart rate, intervals, axis) to every row.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = done_keys(out, source.key_column)
    todo = [k for k in keys if k not in done]
    batches = _batches(todo, batch_size)
    bar = _Progress(len(keys), len(keys) - len(todo), progress, on_progress)
    lookup = dict(source.groups) if source.kind == "folder" else None
    if batches and client is None and workers == 0:
        threads = torch.get_num_threads()
        try:
            for batch in batches:
                write_part(out, score_batch(source.subset(batch, lookup), batch, weights_dir,
                                                 threads=default_threads(), measure=measure))
                bar.update(len(batch))
        finally:
            torch.set_num_threads(threads)
    elif batches:
        _score_dask(source, lookup, batches, out, bar, client, workers, weights_dir, measure)
    bar.close()
    return merge(out, source.key_column)


class _Progress:
    """tqdm on the terminal and an optional callback(done, total)."""

    def __init__(self, total: int, done: int, show: bool, callback):
        self.bar = tqdm(total=total, initial=done, unit="rec", desc="score", disable=not show)
        self.done, self.total, self.callback = done, total, callback

    def update(self, n: int) -> None:
        self.bar.update(n)
        self.done += n
        if self.callback:
            self.callback(self.done, self.total)

    def close(self) -> None:
        self.bar.close()


def local_cluster(n_workers: int | None = None):
    """A Dask LocalCluster of `n_workers` (default: one per core) single-threaded worker processes.

    Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which also pins glibc's mmap
    threshold at 128 kB, so every large array (a batch's scalograms, conv buffers) is mapped and
    zeroed afresh: measured here, 2 workers scored 45 records/s with it and 61 without (plain
    processes: 67). Our workers start without it (the other thread limits stay at 1).
    """
    import dask
    from distributed import LocalCluster
    key = "distributed.nanny.pre-spawn-environ"
    environ = {k: v for k, v in (dask.config.get(key, default=None) or {}).items() if k != "MALLOC_TRIM_THRESHOLD_"}
    with dask.config.set({key: environ}):
        return LocalCluster(n_workers=n_workers or default_threads(), threads_per_worker=1, processes=True,
                            dashboard_address=None)


def _score_dask(source, lookup, batches, out, bar, client, workers, weights_dir, measure) -> None:
    from distributed import Client, as_completed
    own = client is None
    if own:
        cluster = local_cluster(workers)
        client = Client(cluster)
    try:
        futures = {client.submit(score_batch, source.subset(b, lookup), b, weights_dir, 1, measure, pure=False): b
                   for b in batches}          # each task carries only its own files' names
        for fut in as_completed(futures):
            batch = futures[fut]
            try:
                frame = fut.result()
            except Exception as exc:                     # noqa: BLE001 - the batch's rows say why
                frame = pd.DataFrame([{source.key_column: k, "status": "error",
                                       "reason": f"batch failed on the cluster: {type(exc).__name__}: {exc}"}
                                      for k in batch], columns=[source.key_column, *columns()])
            write_part(out, frame)
            bar.update(len(batch))
    finally:
        if own:
            client.close()
            cluster.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ecgcore.score", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", help="a PTB-XL folder (with ptbxl_database.csv) or a folder of ECG files")
    p.add_argument("--out", required=True, help="output .parquet file (resumed when it or its .parts exist)")
    p.add_argument("--folds", type=int, nargs="*", help="PTB-XL only: score only these strat_folds")
    p.add_argument("--fs", type=float, help="uploads only: rate (Hz) for files that do not state one")
    p.add_argument("--workers", type=int, help="LocalCluster workers (default: one per core); 0 = no Dask")
    p.add_argument("--scheduler", help="address of an existing Dask scheduler, e.g. tcp://10.0.0.5:8786")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--weights", help="weights folder (default: the repository's weights/)")
    p.add_argument("--no-measure", action="store_true",
                   help="skip the machine measurements (heart rate, intervals, axis; ~30 ms of one core a record)")
    a = p.parse_args(argv)
    try:
        if (Path(a.source) / "ptbxl_database.csv").is_file():
            source, keys = ptbxl_source(a.source, tuple(a.folds or ()))
        else:
            if a.folds:
                raise ValueError(f"--folds is for PTB-XL folders; {a.source} has no ptbxl_database.csv")
            source, keys = folder_source(a.source, a.fs)
    except (ValueError, FileNotFoundError) as exc:
        p.error(str(exc))
    client = None
    if a.scheduler:
        from distributed import Client
        client = Client(a.scheduler)
    t0 = time.perf_counter()
    table = score(source, keys, a.out, client=client, workers=a.workers, batch_size=a.batch_size,
                  weights_dir=a.weights, measure=not a.no_measure)
    counts = table["status"].value_counts().to_dict()
    print(f"wrote {a.out}: {len(table)} records ({counts}) in {time.perf_counter() - t0:.0f} s")
    return 0
