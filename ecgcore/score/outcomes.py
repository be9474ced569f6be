"""Browse records by what the models said: the score file of a PTB-XL folder, read and filtered.

Pure pandas (no Streamlit). The Records page joins these columns onto the PTB-XL index.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd

from ..models.dataset import CACHE_DIR
from ..signal.record import CLASSES
from .batch import MODELS

SINGLE = tuple(m for m in MODELS if m != "fused")
DISAGREE_SPREAD = 0.5        # as the Predictions page: models' probabilities for a class spread wider
OUTCOMES = ("false negatives", "false positives", "true positives", "true negatives")


def scores_path(root: str | os.PathLike, cache_dir: str | os.PathLike | None = None) -> Path:
    """Where the app keeps the score file of the PTB-XL folder at `root` (one per folder), under
    the view cache folder ($ECGCORE_CACHE, default .cache/ in the repository)."""
    root = Path(root).resolve()
    tag = hashlib.sha1(str(root).encode()).hexdigest()[:10]
    return Path(cache_dir or CACHE_DIR) / "scores" / f"{root.name}-{tag}.parquet"


def load_scores(path: str | os.PathLike, shas: dict[str, str] | None = None) -> tuple[pd.DataFrame | None, str]:
    """(score table indexed by ecg_id, '') or (None, why not). `shas`: the current weights' SHA-256 by
    model; a file scored with other weights is refused, so stale outputs are never shown."""
    path = Path(path)
    if not path.is_file():
        return None, "no score file yet"
    table = pd.read_parquet(path)
    if "ecg_id" not in table.columns:
        return None, f"{path.name} is not a PTB-XL score file (no ecg_id column)"
    for m, sha in (shas or {}).items():
        col = f"weights_sha256_{m}"
        ok = table.loc[table["status"] == "ok", col] if col in table else pd.Series(["missing"])
        if len(ok) and (ok != sha).any():
            return None, (f"{path.name} was scored with other {m} weights than those loaded now; "
                          "score the folder again")
    return table.set_index("ecg_id"), ""


def disagreement(scores: pd.DataFrame) -> pd.DataFrame:
    """Per class, True where the three networks' probabilities spread wider than DISAGREE_SPREAD."""
    return pd.DataFrame({c: (scores[[f"p_{m}_{c}" for m in SINGLE]].max(axis=1)
                             - scores[[f"p_{m}_{c}" for m in SINGLE]].min(axis=1)) > DISAGREE_SPREAD
                         for c in CLASSES}, index=scores.index)


def filter_outcomes(scores: pd.DataFrame, calls: list[str] | None = None,
                    prob: tuple[str, float, float] | None = None, disagree: bool = False,
                    versus: tuple[str, str] | None = None, abstained: bool = False) -> pd.Index:
    """ecg_ids of scored records matching every filter.

    calls: fused model positive for any of these classes; prob: (class, low, high) on the fused
    probability; disagree: the networks disagree on some class; versus: (class, one of OUTCOMES)
    of the fused call against the cardiologists' label; abstained: status not 'confident'.
    """
    keep = scores["status"] == "ok"
    if calls:
        keep &= scores[[f"call_{c}" for c in calls]].fillna(False).astype(bool).any(axis=1)
    if prob is not None:
        cls, lo, hi = prob
        keep &= scores[f"p_fused_{cls}"].between(lo, hi)
    if disagree:
        keep &= disagreement(scores).any(axis=1)
    if versus is not None:
        cls, what = versus
        if what not in OUTCOMES:
            raise ValueError(f"versus must be one of {OUTCOMES}, got {what!r}")
        called = scores[f"call_{cls}"].fillna(False).astype(bool)
        truth = scores[f"y_{cls}"]
        keep &= truth.notna()
        truth = truth.fillna(False).astype(bool)
        keep &= {"false negatives": truth & ~called, "false positives": ~truth & called,
                 "true positives": truth & called, "true negatives": ~truth & ~called}[what]
    if abstained:
        keep &= scores["abstention"] != "confident"
    return scores.index[keep]
