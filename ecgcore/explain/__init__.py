"""LIME and SHAP saliency on every view, with faithfulness and stability measured.

    from ecgcore.explain import explain, saliency_on_view
    expl = explain(model, signal, "shap", class_index=0)   # on the model's own view
    band, why = saliency_on_view(expl, "signal")           # or None + the reason

See docs/explanations.md for the choices (segments, off values, backgrounds) and the measured
faithfulness, stability and speed. shap and lime are imported on first use.
"""
from .core import (LIME_SAMPLES, METHODS, SHAP_BACKGROUND, Explanation, bench_explain, explain, trust_measures,
                   warm_up)
from .mapping import VIEW_NAMES, saliency_on_view
from .models import ExplainError, ViewNetModel, as_target, randomized_model
from .segments import DEFAULT_OFF, SegmentError, Segmentation, off_values, segmentation
from .trust import deletion_curves, rank_agreement

__all__ = ["Explanation", "explain", "saliency_on_view", "bench_explain", "trust_measures", "warm_up",
           "ExplainError", "SegmentError", "ViewNetModel", "as_target", "randomized_model",
           "Segmentation", "segmentation", "off_values", "deletion_curves", "rank_agreement",
           "METHODS", "VIEW_NAMES", "DEFAULT_OFF", "LIME_SAMPLES", "SHAP_BACKGROUND"]
