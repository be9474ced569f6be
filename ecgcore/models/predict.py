"""One call for everything the Predictions page shows about a record.

`assess(record, models)` runs every model (through `predict_proba` only), the fused model,
the quality check and the abstention rule, and returns plain arrays and words.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .fusion import FusedModel, uncertainty_score
from ..io.ptbxl import TRAIN_FOLDS, VAL_FOLD
from ..signal.quality import QualityReport, assess_quality
from ..signal.record import CLASSES, Record, model_input

NEAR_THRESHOLD = 0.1     # |p - threshold| below this counts as "near the threshold"
STRONG_DISAGREEMENT = 0.5  # models' probabilities for one class spread wider than this


@dataclass
class ModelOutput:
    """One model's answer. proba, thresholds: (5,); positive: (5,) bool (proba >= threshold)."""
    name: str
    title: str
    proba: np.ndarray
    thresholds: np.ndarray

    @property
    def positive(self) -> np.ndarray:
        return self.proba >= self.thresholds


@dataclass
class Assessment:
    outputs: dict[str, ModelOutput]
    status: str                       # 'confident' | 'uncertain' | 'not assessable' | 'no fused model'
    reasons: list[str]
    quality: QualityReport
    agreement: pd.DataFrame           # per class: models positive, spread of probabilities
    labels: list[str] | None          # cardiologists' superclasses (PTB-XL), None for uploads
    fold: int | None
    notes: list[str] = field(default_factory=list)

    @property
    def in_training_folds(self) -> bool | None:
        """True when the record was seen in training (folds 1-8) or used for selection (fold 9)."""
        return None if self.fold is None else self.fold in TRAIN_FOLDS + (VAL_FOLD,)

    def table(self) -> pd.DataFrame:
        """Rows = models (fused last), columns = classes: calibrated probabilities."""
        return pd.DataFrame({n: o.proba for n, o in self.outputs.items()}, index=list(CLASSES)).T


def fold_note(fold: int | None) -> str | None:
    if fold is None:
        return None
    if fold in TRAIN_FOLDS:
        return f"fold {fold}: the models were TRAINED on this record; its predictions flatter them"
    if fold == VAL_FOLD:
        return f"fold {fold}: used to select models, calibrate and set thresholds (not a clean test)"
    return (f"fold {fold}: held-out test fold, never trained on and no setting was chosen on it; it has "
            "been evaluated more than once, so it is no longer strictly unseen (see Model cards)")


def agreement_table(outputs: dict[str, ModelOutput]) -> pd.DataFrame:
    singles = [o for n, o in outputs.items() if n != "fused"]
    probs = np.stack([o.proba for o in singles])
    pos = np.stack([o.positive for o in singles])
    return pd.DataFrame({"models_positive": pos.sum(0), "models": len(singles),
                         "spread": probs.max(0) - probs.min(0)}, index=list(CLASSES))


def abstention(outputs: dict[str, ModelOutput], quality: QualityReport, cut: float,
               kind: str = "entropy+spread") -> tuple[str, list[str]]:
    """Status and reasons in words from the fused output, the models' spread and signal quality."""
    if not quality.assessable:
        return "not assessable", list(quality.reasons)
    fused = outputs["fused"]
    reasons = []
    for k, cls in enumerate(CLASSES):
        if abs(fused.proba[k] - fused.thresholds[k]) < NEAR_THRESHOLD:
            reasons.append(f"{cls}: fused probability {fused.proba[k]:.2f} is near its threshold "
                           f"{fused.thresholds[k]:.2f}")
    singles = np.stack([o.proba for n, o in outputs.items() if n != "fused"])
    for cls, spread in zip(CLASSES, singles.max(0) - singles.min(0)):   # agreement_table's spread
        if spread > STRONG_DISAGREEMENT:
            reasons.append(f"{cls}: the models disagree (probabilities spread over {spread:.2f})")
    score = float(uncertainty_score({n: o.proba[None] for n, o in outputs.items()}, fused.thresholds, kind)[0])
    if score > cut:
        reasons.append(f"high predictive uncertainty ({kind} score {score:.2f} > {cut:.2f}, "
                       "the fold-9 90th percentile)")
    return ("uncertain" if reasons else "confident"), reasons


def assess(record: Record, models: dict) -> Assessment:
    """Run every model on one record. `models`: name -> loaded model; include 'fused' for the
    fused output and abstention (without it, status is 'no fused model')."""
    x = model_input(record)[None]
    outputs: dict[str, ModelOutput] = {}
    fused = models.get("fused")
    if isinstance(fused, FusedModel):
        probs = fused.predict_all(x)
        for name, comp in fused.components.items():
            outputs[name] = ModelOutput(name, comp.title, probs[name][0], comp.thresholds)
    for name, model in models.items():
        if name not in outputs and name != "fused":
            outputs[name] = ModelOutput(name, model.title, model.predict_proba(x)[0], model.thresholds)
    quality = assess_quality(record.signal, record.fs)
    if isinstance(fused, FusedModel):
        outputs["fused"] = ModelOutput("fused", fused.title, probs["fused"][0], fused.thresholds)
        status, reasons = abstention(outputs, quality, fused.uncertainty_cut, fused.uncertainty_kind)
    else:
        status = "not assessable" if not quality.assessable else "no fused model"
        reasons = list(quality.reasons) if not quality.assessable else ["the fused model is not available"]
    fold = record.meta.get("fold") if record.ecg_id is not None else None
    notes = [n for n in [fold_note(fold)] if n]
    return Assessment(outputs, status, reasons, quality,
                      agreement_table(outputs) if len(outputs) > 1 else pd.DataFrame(),
                      record.label_names if record.labels is not None else None, fold, notes)
