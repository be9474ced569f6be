"""Fused model, abstention and the one-call assessment the pages use."""
from __future__ import annotations

import json

import numpy as np
import pytest

from ecgcore.models.fusion import UNCERTAINTY_SCORES, fit_stack, uncertainty_score
from ecgcore.models.registry import WEIGHTS_DIR

HAVE_FUSED = (WEIGHTS_DIR / "fused.pt").is_file()
needs_fused = pytest.mark.skipif(not HAVE_FUSED, reason="weights/fused.pt not built yet")


def test_stack_learns_to_trust_the_informative_model():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, (400, 5)).astype(float)
    good = (y * 2 - 1) * 2 + rng.normal(0, 1, y.shape)        # informative logits
    noise = rng.normal(0, 1, y.shape)                          # uninformative logits
    z = np.stack([good, noise, noise * 0.5], axis=-1)          # (N, 5, 3)
    weight, bias, chosen = fit_stack(z, y)
    assert np.all(weight[:, 0] > 5 * np.abs(weight[:, 1:]).max(axis=1))
    assert set(chosen) == {"NORM", "MI", "STTC", "CD", "HYP"}


def test_uncertainty_is_higher_for_disagreement_and_mid_probabilities():
    sure = {"a": np.array([[0.95, 0.02, 0.03, 0.01, 0.02]]), "b": np.array([[0.9, 0.05, 0.02, 0.02, 0.03]])}
    sure["fused"] = sure["a"]
    torn = {"a": np.array([[0.9, 0.1, 0.9, 0.1, 0.5]]), "b": np.array([[0.1, 0.9, 0.1, 0.9, 0.5]])}
    torn["fused"] = np.array([[0.5, 0.5, 0.5, 0.5, 0.5]])
    thr = np.full(5, 0.5)
    assert uncertainty_score(torn, thr)[0] > uncertainty_score(sure, thr)[0] + 1
    for kind in UNCERTAINTY_SCORES:           # every candidate ranks the torn record as less certain
        assert uncertainty_score(torn, thr, kind)[0] > uncertainty_score(sure, thr, kind)[0], kind
    with pytest.raises(ValueError, match="unknown uncertainty score"):
        uncertainty_score(torn, thr, "vibes")


def test_threshold_margin_measures_distance_from_each_threshold():
    thr = np.array([0.2, 0.5, 0.5, 0.5, 0.8])
    at = {"fused": thr[None].copy(), "a": thr[None], "b": thr[None]}
    far = {"fused": np.array([[0.99, 0.01, 0.99, 0.01, 0.99]]), "a": thr[None], "b": thr[None]}
    assert uncertainty_score(at, thr, "threshold margin")[0] == pytest.approx(0.0, abs=1e-6)
    assert uncertainty_score(far, thr, "threshold margin")[0] < -3


@needs_fused
def test_fused_card_reports_honestly():
    card = json.loads((WEIGHTS_DIR / "fused.json").read_text())
    t = card["fold10"]
    assert t["n_records"] >= 256 and len(t["macro_auc_ci95"]) == 2         # partial copy's or full fold 10
    assert t["macro_auc_ci95"][0] <= t["macro_auc"] <= t["macro_auc_ci95"][1]
    d = card["fused_minus_best_fold10"]                                     # the paired CI behind the verdict
    assert d["ci95"][0] <= d["difference"] <= d["ci95"][1] and d["best_single"] in card["components"]
    assert "best single model" in card["fusion_verdict"] and d["best_single"] in card["fusion_verdict"]
    curve = card["risk_coverage_fold10"]["curve"]
    assert curve[0]["coverage"] == 1.0 and any(r["coverage"] == 0.9 for r in curve)


@needs_fused
def test_assess_real_record(ptbxl_dir):
    from ecgcore.models.predict import assess
    from ecgcore.io.ptbxl import load_record
    from ecgcore.signal.record import model_input
    from ecgcore.models.registry import load_model
    models = {n: load_model(n) for n in ("signal", "spectrum", "scalogram", "fused")}
    rec = load_record(1, 100)
    a = assess(rec, models)
    assert list(a.outputs) == ["signal", "spectrum", "scalogram", "fused"]
    p = models["fused"].predict_proba(model_input(rec)[None])[0]
    assert np.allclose(a.outputs["fused"].proba, p, atol=1e-6)
    assert a.status in {"confident", "uncertain", "not assessable"}
    assert a.labels == ["NORM"] and a.fold == 3 and a.in_training_folds is True
    assert "TRAINED" in " ".join(a.notes)
    assert a.table().shape == (4, 5)


@needs_fused
def test_poor_signal_is_not_assessable(ptbxl_dir):
    from ecgcore.models.predict import assess
    from ecgcore.io.ptbxl import load_record
    from ecgcore.models.registry import load_model
    models = {n: load_model(n) for n in ("signal", "spectrum", "scalogram", "fused")}
    rec = load_record(1, 100)
    sig = rec.signal.copy()
    sig[:, [0, 1, 6, 7]] = 0.0                                   # four leads unplugged
    a = assess(rec.replace(signal=sig), models)
    assert a.status == "not assessable" and a.reasons


def test_abstention_names_disagreeing_models_and_a_near_threshold_call():
    """Known truths: MI spread 0.9 - 0.1 = 0.8 > 0.5 is a disagreement; fused NORM 0.52 vs 0.5 is near."""
    from ecgcore.models.predict import ModelOutput, abstention
    from ecgcore.signal.quality import QualityReport
    thr = np.full(5, 0.5, np.float32)
    base = np.array([0.05, 0.1, 0.05, 0.05, 0.05], np.float32)
    outputs = {n: ModelOutput(n, n, base.copy(), thr) for n in ("signal", "spectrum", "scalogram")}
    outputs["spectrum"].proba[1] = 0.9
    outputs["fused"] = ModelOutput("fused", "fused", np.array([0.52, 0.2, 0.05, 0.05, 0.05], np.float32), thr)
    status, reasons = abstention(outputs, QualityReport((), True, ()), cut=1e9)
    assert status == "uncertain"
    assert reasons == ["NORM: fused probability 0.52 is near its threshold 0.50",
                       "MI: the models disagree (probabilities spread over 0.80)"]
    outputs["spectrum"].proba[1] = 0.1
    outputs["fused"].proba[0] = 0.05
    assert abstention(outputs, QualityReport((), True, ()), cut=1e9) == ("confident", [])
