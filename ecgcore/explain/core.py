"""The explanation API the app calls: `explain`, `Explanation`, `bench_explain`.

    expl = explain(model, signal, "lime", class_index=1)     # signal: (1000, 12) mV at 100 Hz
    expl.values          # saliency on the model's own view, one record: (12, 1000) / (12, 451) / (12, 32, 250)
    expl.segments        # (120,) segment scores, named by expl.segment_names
    expl.trust           # faithfulness, deletion curves, stability, LIME-SHAP agreement, notes

Scores are in probability units of the calibrated class probability: LIME weights (change when a
segment is kept vs switched off) and SHAP values summed over each segment. Everything in an
Explanation is numpy arrays or plain Python values, so it pickles (st.cache_data).
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import numpy as np

from ..memory import trim_heap
from ..signal.record import CLASSES, MODEL_SAMPLES
from .lime_attr import lime_scores
from .models import ExplainError, Target, ViewNetModel, as_target
from .segments import DEFAULT_OFF, Segmentation, off_values, segment_paint, segment_sum, segmentation
from .shap_attr import background_values, explainer_for, shap_attributions
from .trust import deletion_curves, rank_agreement

METHODS = ("lime", "shap")
LIME_SAMPLES = {"signal": 800, "spectrum": 1000, "scalogram": 400}     # ~1-2 s each; scalogram: fold-9 choice
LIME_SAMPLES_PROBA_ONLY = 300       # models seen only through predict_proba recompute every view
SHAP_BACKGROUND = {"signal": 32, "spectrum": 32, "scalogram": 16}   # training records (16: speed)
SEGMENT_DESC = {"signal": "12 leads x 10 one-second windows",
                "spectrum": "12 leads x 10 frequency bands",
                "scalogram": "12 leads x 5 two-second windows x 2 frequency bands"}
OFF_DESC = {"mean": "the lead's mean over the record", "zero": "0 mV", "blur": "a blurred copy"}


@dataclass
class Explanation:
    """One saliency map of one model for one class on one record (see module docstring)."""
    model: str
    method: str
    class_name: str
    view: str
    values: np.ndarray
    segments: np.ndarray
    segment_names: tuple[str, ...]
    segment_grid: tuple[int, ...]
    segment_desc: str
    trust: dict
    seconds: float
    class_index: int = 0
    probability: float = float("nan")
    signal: np.ndarray = field(default_factory=lambda: np.zeros((MODEL_SAMPLES, 12), np.float32))
    seed: int = 0
    info: dict = field(default_factory=dict)

    def top(self, k: int = 5) -> list[tuple[str, float]]:
        """The k most positive segments as (name, score)."""
        order = np.argsort(-self.segments, kind="stable")[:k]
        return [(self.segment_names[i], float(self.segments[i])) for i in order]


def _check(signal: np.ndarray, method: str, class_index: int) -> np.ndarray:
    x = np.asarray(signal, np.float32)
    if x.shape != (MODEL_SAMPLES, 12):
        raise ExplainError(f"signal must be ({MODEL_SAMPLES}, 12) mV at 100 Hz, got {x.shape}; "
                           "use ecgcore.signal.record.model_input(record)")
    if not np.isfinite(x).all():
        raise ExplainError("signal contains NaN or inf; explanations need finite mV values")
    if method not in METHODS:
        raise ExplainError(f"method must be one of {METHODS}, got {method!r}")
    if not 0 <= int(class_index) < len(CLASSES):
        raise ExplainError(f"class_index must be 0..{len(CLASSES) - 1} ({CLASSES}), got {class_index}")
    return x


def _attribute(target: Target, values: np.ndarray, seg: Segmentation, off: np.ndarray,
               method: str, k: int, seed: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """(segment scores (n,), element saliency like values, info) for one method and seed."""
    if method == "lime":
        n = LIME_SAMPLES[target.view] if target.net is not None else LIME_SAMPLES_PROBA_ONLY
        scores, info = lime_scores(lambda v: target.predict(v)[:, k], values, off, seg, n, seed)
        return scores, segment_paint(scores, seg), info
    if target.net is None:
        raise ExplainError(f"SHAP needs a network to differentiate; {target.name!r} only has "
                           "predict_proba: use method='lime'")
    n = SHAP_BACKGROUND[target.view]
    attr, kind = shap_attributions(target.net, values, target.view, k,
                                   (float(target.slope[k]), float(target.intercept[k])), n, seed)
    info = {"explainer": kind, "background": f"{n} training-fold records, seed {seed}",
            "sum": float(attr.sum())}
    return segment_sum(attr, seg), attr, info


def trust_measures(target: Target, values: np.ndarray, seg: Segmentation, off: np.ndarray,
                   method: str, k: int, seed: int, scores: np.ndarray,
                   other_scores: np.ndarray | None = None) -> dict:
    """Faithfulness (deletion), stability (seed + 1) and LIME-SHAP agreement for one map.

    other_scores: the other method's segment scores, if already computed (else computed here).
    """
    t0 = time.perf_counter()
    deletion = deletion_curves(lambda v: target.predict(v)[:, k], values, off, seg, scores, seed=seed)
    second, _, _ = _attribute(target, values, seg, off, method, k, seed + 1)
    what = "LIME seeds" if method == "lime" else "SHAP background draws"
    notes = [f"stability: {what} {seed} vs {seed + 1}; Spearman over the union of both top "
             f"{seg.n // 5} segments (stability_all: over all {seg.n})",
             f"deletion: segments switched off to {OFF_DESC[DEFAULT_OFF[target.view]]}, "
             "most positive first, vs the mean of 4 random orders"]
    other = "shap" if method == "lime" else "lime"
    agreement = agreement_top = None
    if target.net is None and other == "shap":
        notes.append("agreement: not computed (no network for SHAP on this model)")
    else:
        if other_scores is None:
            other_scores, _, _ = _attribute(target, values, seg, off, other, k, seed)
        agreement = rank_agreement(scores, other_scores, top=0)
        agreement_top = rank_agreement(scores, other_scores)
        notes.append(f"agreement: Spearman of LIME and SHAP scores over all {seg.n} segments "
                     "(agreement_top: over the top-k union, biased low when the two differ)")
    return {**deletion, "stability": rank_agreement(scores, second),
            "stability_all": rank_agreement(scores, second, top=0), "agreement": agreement,
            "agreement_top": agreement_top, "notes": notes, "seconds": time.perf_counter() - t0}


def explain(model, signal: np.ndarray, method: str, class_index: int, seed: int = 0,
            with_trust: bool = True, other: Explanation | None = None) -> Explanation:
    """Explain one class of one model on one record (1000, 12) mV, on the model's own view.

    method: 'lime' (any model; predict_proba-only models in the time view) or 'shap' (models
    with a network). Deterministic for a given seed. other: the other method's Explanation of
    the same model, record, class and seed, reused for the agreement instead of recomputing it.
    """
    x = _check(signal, method, class_index)
    k = int(class_index)
    t0 = time.perf_counter()
    target = as_target(model)
    values = target.values(x)
    seg = segmentation(target.view)
    off = off_values(values, DEFAULT_OFF[target.view])
    scores, attr, info = _attribute(target, values, seg, off, method, k, seed)
    probability = float(target.predict(values[None])[0, k])
    seconds = time.perf_counter() - t0
    reuse = None
    if other is not None:
        if (other.model, other.class_index, other.seed) != (target.name, k, seed) \
                or other.method == method or not np.array_equal(other.signal, x):
            raise ExplainError("`other` must explain the same model, record, class and seed "
                               "with the other method")
        reuse = np.asarray(other.segments, np.float64)
    trust = trust_measures(target, values, seg, off, method, k, seed, scores, reuse) if with_trust else {}
    info["off"] = DEFAULT_OFF[target.view]
    trim_heap()            # the perturbation batches are gone; give their pages back (see ecgcore.memory)
    return Explanation(target.name, method, CLASSES[k], target.view, attr, scores.astype(np.float32),
                       seg.names, seg.grid, SEGMENT_DESC[target.view], trust, seconds, k,
                       probability, x, seed, info)


def warm_up(model) -> float:
    """Pay a process's one-off SHAP costs before anyone waits for a map: load the background,
    build the explainer of every class and run one of them once on a background record (the first
    backward pass initialises its kernels). Returns seconds; 0.0 for models without a network."""
    target = as_target(model)
    if target.net is None:
        return 0.0
    t0 = time.perf_counter()
    n = SHAP_BACKGROUND[target.view]
    calibration = [(float(target.slope[k]), float(target.intercept[k])) for k in range(len(CLASSES))]
    for k, calib in enumerate(calibration):
        explainer_for(target.net, k, calib, target.view, n, 0)
    shap_attributions(target.net, background_values(target.view, n, 0)[0], target.view, 0, calibration[0], n, 0)
    return time.perf_counter() - t0


def bench_explain(models, signal: np.ndarray, with_trust: bool = False) -> dict[str, float]:
    """Seconds per model and method (and totals) to explain one record's top class.

    models: {name: model} or a sequence of models. Keys '<name>/<method>', 'total', plus
    '<name>/<method>+trust' and 'total_with_trust' when with_trust; 'background' is the
    one-off load of the SHAP backgrounds and 'warm-up' the one-off `warm_up` of each model (the app
    runs it in the background when a model loads); neither is in the totals. 'cold <name>/shap' is
    the first SHAP map of a fresh model copy before its warm-up (explainer build + first backward).
    """
    items = list(models.items()) if isinstance(models, dict) else [(m.name, m) for m in models]
    x = _check(signal, "lime", 0)
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    for _, model in items:
        target = as_target(model)
        if target.net is not None:
            background_values(target.view, SHAP_BACKGROUND[target.view], 0)
    out["background"] = time.perf_counter() - t0
    import lime.lime_base  # noqa: F401  (imports are a one-off cost, not part of a call)
    import shap  # noqa: F401
    for name, model in items:
        target = as_target(model)
        if target.net is not None:                      # a copy of the net no explainer was built for
            fresh = ViewNetModel(copy.deepcopy(target.net), target.view, name, target.slope, target.intercept)
            k = int(np.argmax(target.predict(target.values(x)[None])[0]))
            t = time.perf_counter()
            explain(fresh, x, "shap", k, with_trust=False)
            out[f"cold {name}/shap"] = time.perf_counter() - t
    t0 = time.perf_counter()
    for _, model in items:
        warm_up(model)
    out["warm-up"] = time.perf_counter() - t0
    for name, model in items:
        target = as_target(model)
        k = int(np.argmax(target.predict(target.values(x)[None])[0]))
        for method in METHODS if target.net is not None else ("lime",):
            t = time.perf_counter()
            explain(model, x, method, k, with_trust=False)
            out[f"{name}/{method}"] = time.perf_counter() - t
            if with_trust:
                t = time.perf_counter()
                explain(model, x, method, k, with_trust=True)
                out[f"{name}/{method}+trust"] = time.perf_counter() - t
    out["total"] = sum(v for key, v in out.items()
                       if "/" in key and not key.endswith("+trust") and not key.startswith("cold "))
    if with_trust:
        out["total_with_trust"] = sum(v for key, v in out.items() if key.endswith("+trust"))
    return out
