"""Score one batch of records: read each, check its quality, run every model once on the batch.

Runs on a Dask worker (or in the calling process). Models are loaded once per process and
kept (`_models`); torch uses `threads` threads. A record that cannot be read becomes a row with
status 'refused' (the reader's message) or 'error' (anything unexpected), never a failed batch.
"""
from __future__ import annotations

import functools
import os
import traceback

import numpy as np
import pandas as pd
import torch

from ..io.checks import UploadError
from ..memory import trim_heap
from ..models.fusion import FusedModel
from ..models.predict import ModelOutput, abstention
from ..models.registry import load_model, sha256
from ..signal.measure import measure_record
from ..signal.quality import assess_quality
from ..signal.record import CLASSES, Record, model_input
from .sources import Source, read_item

MODELS = ("signal", "spectrum", "scalogram", "fused")
MEASURES = ("hr_bpm", "pr_ms", "qrs_ms", "qt_ms", "qtc_bazett_ms", "qtc_fridericia_ms", "qrs_axis_deg")


@functools.lru_cache(maxsize=2)
def _models(weights_dir: str | None) -> tuple[FusedModel, dict[str, str]]:
    """The fused model (with its three components), hash-checked, and each file's SHA-256."""
    fused = load_model("fused", weights_dir)
    if not isinstance(fused, FusedModel):
        raise TypeError(f"fused.pt in {weights_dir} is not a fusion checkpoint")
    files = {"fused": fused.path, **{n: m.path for n, m in fused.components.items()}}
    return fused, {n: sha256(p) for n, p in files.items()}


def columns() -> list[str]:
    """Every column a score row has besides the key, in order."""
    cols = ["status", "reason", "source_fs", "seconds", "strat_fold", "labels", *(f"y_{c}" for c in CLASSES)]
    cols += [f"p_{m}_{c}" for m in MODELS for c in CLASSES]
    cols += [f"call_{c}" for c in CLASSES]
    cols += ["abstention", "abstention_reasons", "quality_ok", "quality_assessable", "quality_summary",
             *MEASURES, "measure_note", "warnings", *(f"weights_sha256_{m}" for m in MODELS)]
    return cols


def _row(source: Source, key, record: Record | None, status: str, reason: str) -> dict:
    row = {source.key_column: key, "status": status, "reason": reason}
    if record is not None:
        row.update(source_fs=float(record.fs), seconds=float(record.seconds),
                   warnings="; ".join(record.warnings))
        if record.ecg_id is not None:
            row["strat_fold"] = record.meta.get("fold")
            row["labels"] = ";".join(record.label_names) if record.labels is not None else ""
            for c, y in zip(CLASSES, record.labels):
                row[f"y_{c}"] = bool(y)
    return row


def score_batch(source: Source, keys: list, weights_dir: str | None = None, threads: int = 1,
                measure: bool = True) -> pd.DataFrame:
    """Rows (one per key, in order) for `keys` of `source`; see `columns()`. measure: also the
    machine measurements (`ecgcore.signal.measure`, about 30 ms a record); else those columns stay
    empty and measure_note says they were not asked for."""
    torch.set_num_threads(threads)
    fused, shas = _models(weights_dir)
    groups = dict(source.groups) if source.kind == "folder" else None
    rows, records = [], []
    for key in keys:
        try:
            record = read_item(source, key, groups)
            x = model_input(record)
            if not np.isfinite(x).all():
                raise UploadError(f"{key}: the signal has missing (NaN) or infinite samples after "
                                  "resampling; give a record with finite samples in every lead")
            rows.append(_row(source, key, record, "ok", ""))
            records.append((len(rows) - 1, record, x))
        except (UploadError, FileNotFoundError, KeyError, ValueError) as exc:
            rows.append(_row(source, key, None, "refused", str(exc).strip("'\"")))
        except Exception as exc:                          # noqa: BLE001 - a row, never a failed run
            rows.append(_row(source, key, None, "error", f"{type(exc).__name__}: {exc} "
                             f"({traceback.extract_tb(exc.__traceback__)[-1].name})"))
    if records:
        probs = fused.predict_all(np.stack([x for _, _, x in records]))
        for j, (i, record, _) in enumerate(records):
            rows[i].update(_model_columns(probs, j, fused, record))
            rows[i].update(_measures(record) if measure else {"measure_note": "not measured (--no-measure)"})
    for row in rows:
        row.update({f"weights_sha256_{m}": shas[m] for m in MODELS})
    frame = pd.DataFrame(rows, columns=[source.key_column, *columns()])
    # Hand the batch's freed heap back once per batch: without it a worker's memory grew with every
    # batch (4.4 / 2.4 GB after 21,799 records); with it 518 / 527 MB after 4,000, at 55.9 vs 58.1
    # records/s. Dask's MALLOC_TRIM_THRESHOLD_ trims after every large free instead (run.local_cluster).
    trim_heap()
    return frame


def _model_columns(probs: dict[str, np.ndarray], j: int, fused: FusedModel, record: Record) -> dict:
    out = {f"p_{m}_{c}": float(probs[m][j, k]) for m in MODELS for k, c in enumerate(CLASSES)}
    calls = probs["fused"][j] >= fused.thresholds
    out.update({f"call_{c}": bool(calls[k]) for k, c in enumerate(CLASSES)})
    quality = assess_quality(record.signal, record.fs)
    outputs = {n: ModelOutput(n, n, probs[n][j], (fused.components[n].thresholds if n in fused.components
                                                 else fused.thresholds)) for n in MODELS}
    status, reasons = abstention(outputs, quality, fused.uncertainty_cut, fused.uncertainty_kind)
    out.update(abstention=status, abstention_reasons="; ".join(reasons), quality_ok=quality.ok,
               quality_assessable=quality.assessable, quality_summary=quality.summary)
    return out


def _measures(record: Record) -> dict:
    """The machine measurements (empty when not measurable; the reasons in measure_note)."""
    try:
        row = measure_record(record.signal, record.fs).as_row()
    except Exception as exc:                              # noqa: BLE001 - the record keeps its scores
        return {"measure_note": f"measurement failed: {type(exc).__name__}: {exc}"}
    return {**{k: row[k] for k in MEASURES}, "measure_note": row["measure_note"]}


def default_threads() -> int:
    return max(1, os.cpu_count() or 1)
