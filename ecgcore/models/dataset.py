"""Arrays for training and evaluation: signals, labels and cached views per split.

Caches live in `.cache/` (git-ignored) keyed on the PTB-XL folder and the ids, so a full
PTB-XL download gets its own cache.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..io.ptbxl import (TEST_FOLD, TRAIN_FOLDS, VAL_FOLD, labels_from_codes, load_index, load_record,
                    split_ids, subclass_map)
from ..signal.record import CLASSES, model_input
from ..signal.views import compute_view

CACHE_DIR = Path(os.environ.get("ECGCORE_CACHE", Path(__file__).resolve().parents[2] / ".cache"))
SPLITS = {"train": TRAIN_FOLDS, "val": (VAL_FOLD,), "test": (TEST_FOLD,)}


def _key(root: str, ids: np.ndarray, extra: str = "") -> str:
    h = hashlib.sha1(f"{root}|{extra}|".encode() + np.asarray(ids, np.int64).tobytes())
    return h.hexdigest()[:16]


def load_split(split: str, data: str | None = None, progress: bool = True) -> dict:
    """{'ids': (N,), 'x': (N, 1000, 12) float32 mV at 100 Hz, 'y': (N, 5) float32} for a split.

    split: 'train' (folds 1-8), 'val' (fold 9) or 'test' (fold 10); records without signal
    files at 100 Hz or without a superclass are left out.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
    index = load_index(data)
    ids = split_ids(index, SPLITS[split], fs=100)
    path = CACHE_DIR / f"signals_{split}_{_key(index.attrs['root'], ids)}.npz"
    if path.is_file():
        with np.load(path) as z:
            return {"ids": z["ids"], "x": z["x"], "y": z["y"]}
    x = np.zeros((len(ids), 1000, 12), np.float32)
    for i, ecg_id in enumerate(tqdm(ids, desc=f"reading {split}", disable=not progress)):
        x[i] = model_input(load_record(int(ecg_id), 100, data))
    y = index.loc[ids, list(CLASSES)].to_numpy(np.float32)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.savez(path, ids=ids, x=x, y=y)
    return {"ids": ids, "x": x, "y": y}


def aux_labels(ids: np.ndarray, data: str | None = None) -> tuple[list[str], np.ndarray]:
    """PTB-XL's 23 diagnostic subclasses as training-only auxiliary targets: (names, (N, 23) float32).

    A subclass is on when any of its diagnostic codes is listed in the record's scp_codes, whatever
    the likelihood (the rule used for the superclasses).
    """
    import pandas as pd
    index = load_index(data)
    mapping = subclass_map(pd.read_csv(Path(index.attrs["root"]) / "scp_statements.csv", index_col=0))
    names = sorted(set(mapping.values()))
    y = np.zeros((len(ids), len(names)), np.float32)
    for i, ecg_id in enumerate(ids):
        y[i] = labels_from_codes(index.at[int(ecg_id), "scp_codes"], mapping, names)
    return names, y


def view_cache(view: str, split: str, arrays: dict, batch: int = 64, progress: bool = True) -> np.ndarray:
    """Precomputed view values for a split, float16 on disk (used for the scalogram)."""
    path = CACHE_DIR / f"{view}_{split}_{_key(str(arrays['x'].shape), arrays['ids'], view)}.npy"
    if path.is_file():
        return np.load(path, mmap_mode=None)
    chunks = []
    for i in tqdm(range(0, len(arrays["x"]), batch), desc=f"{view} cache {split}", disable=not progress):
        chunks.append(compute_view(view, arrays["x"][i:i + batch]).values.astype(np.float16))
    values = np.concatenate(chunks)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.save(path, values)
    return values
