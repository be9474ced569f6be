"""ecgcore.explain: segments, LIME/SHAP on probe models with a known answer, mapping, trust.

Probe models read one window of one view (lead II, 3-4 s; or lead II, 4-6 Hz) through a fixed
readout, so the right saliency is known. Tests on shipped weights skip when weights/ lacks them.
"""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from torch import nn

from ecgcore.explain import (ExplainError, SegmentError, ViewNetModel, deletion_curves, explain,
                             off_values, randomized_model, rank_agreement, saliency_on_view,
                             segmentation)
from ecgcore.explain.segments import masks_apply, segment_paint, segment_sum
from ecgcore.signal.record import LEADS

II = LEADS.index("II")
# view -> (window of the view values the probe reads, typical mean |value| there, mV)
WINDOWS = {"signal": ((II, slice(300, 400)), 0.1),                      # II, 3-4 s
           "spectrum": ((II, slice(40, 60)), 0.015),                    # II, 4-6 Hz (0.1 Hz bins)
           "scalogram": ((II, slice(None), slice(75, 100)), 0.1)}       # II, 3-4 s, all scales
SHAPES = {"signal": (12, 1000), "spectrum": (12, 451), "scalogram": (12, 32, 250)}


class EnergyProbe(nn.Module):
    """(N, 12, ...) -> (N, 5): every class = 2 (mean |x| over the window / ref - 1).

    Built from ReLU modules and a fixed linear readout (like the real nets), so DeepLIFT's
    rules apply exactly; `square=True` reads the mean x^2 instead (for the gradient explainer).
    """

    def __init__(self, view: str, square: bool = False):
        super().__init__()
        window, self.ref = WINDOWS[view]
        self.square = square
        w = torch.zeros(SHAPES[view])
        w[window] = 1.0
        self.weight = nn.Parameter(w / w.sum(), requires_grad=False)
        self.pos, self.neg = nn.ReLU(), nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = x * x / self.ref if self.square else self.pos(x) + self.neg(-x)
        energy = (a * self.weight).flatten(1).sum(1, keepdim=True)
        return (2.0 * (energy / self.ref - 1.0)).expand(-1, 5)


class ProbaOnly:
    """A fused-style model: only predict_proba (mean of the signal and spectrum probes)."""
    name = "fused-probe"

    def __init__(self):
        self.parts = [ViewNetModel(EnergyProbe(v), v) for v in ("signal", "spectrum")]

    def predict_proba(self, signals: np.ndarray) -> np.ndarray:
        return np.mean([m.predict_proba(signals) for m in self.parts], axis=0)


@pytest.fixture(scope="module")
def signal(ptbxl_dir, index) -> np.ndarray:
    from ecgcore.io.ptbxl import VAL_FOLD, load_record, split_ids
    from ecgcore.signal.record import model_input
    return model_input(load_record(int(split_ids(index, VAL_FOLD)[0]), 100))


def probe(view: str) -> ViewNetModel:
    return ViewNetModel(EnergyProbe(view), view, f"{view}-probe")


# --- segments ---------------------------------------------------------------------------------

@pytest.mark.parametrize("view,first,probe_name", [("signal", "I 0-1 s", "II 3-4 s"),
                                                   ("spectrum", "I 0-1 Hz", "II 4-6 Hz"),
                                                   ("scalogram", "I 0-2 s 5.1-45.0 Hz", "II 2-4 s 5.1-45.0 Hz")])
def test_segmentation_covers_the_view(view, first, probe_name):
    seg = segmentation(view)
    assert seg.labels.shape == SHAPES[view] and seg.n == 120 == int(np.prod(seg.grid))
    assert set(np.unique(seg.labels)) == set(range(seg.n))
    assert seg.names[0] == first and probe_name in seg.names
    assert (seg.labels[II] // (seg.n // 12) == II).all()        # lead first


def test_off_values_are_the_stated_choice():
    rng = np.random.default_rng(0)
    values = rng.normal(1.0, 0.5, (12, 1000)).astype(np.float32)
    assert (off_values(values, "zero") == 0).all()
    mean = off_values(values, "mean")
    np.testing.assert_allclose(mean[:, 0], values.mean(1), rtol=1e-6)
    assert np.ptp(mean, axis=1).max() == 0
    blur = off_values(values, "blur")
    assert np.abs(np.diff(blur, axis=1)).max() < 0.05 * np.abs(np.diff(values, axis=1)).max()
    with pytest.raises(SegmentError, match="choose one of"):
        off_values(values, "noise")


def test_masks_switch_off_exactly_the_chosen_segments():
    seg = segmentation("signal")
    values = np.random.default_rng(1).normal(size=(12, 1000)).astype(np.float32)
    off = off_values(values, "mean")
    masks = np.ones((2, seg.n))
    masks[1, seg.names.index("II 3-4 s")] = 0
    out = masks_apply(values, off, seg, masks)
    np.testing.assert_array_equal(out[0], values)
    np.testing.assert_array_equal(out[1, II, 300:400], off[II, 300:400])
    out[1, II, 300:400] = values[II, 300:400]
    np.testing.assert_array_equal(out[1], values)                   # nothing else changed


@pytest.mark.parametrize("view", list(SHAPES))
def test_paint_and_segment_sum_are_inverse(view):
    seg = segmentation(view)
    scores = np.random.default_rng(2).normal(size=seg.n)
    np.testing.assert_allclose(segment_sum(segment_paint(scores, seg), seg), scores, rtol=1e-5, atol=1e-7)


# --- the probes: LIME and SHAP find the one window the model reads ------------------------------

def _probe_segments(view: str) -> set[int]:
    seg = segmentation(view)
    window, _ = WINDOWS[view]
    return set(np.unique(seg.labels[window]).tolist())


@pytest.mark.parametrize("view", list(SHAPES))
def test_lime_ranks_the_probe_segment_first(signal, view):
    expl = explain(probe(view), signal, "lime", 0, with_trust=False)
    assert expl.view == view and expl.values.shape == SHAPES[view]
    assert int(np.argmax(expl.segments)) in _probe_segments(view)
    assert expl.segments.max() > 0.05                       # keeping the window raises p


@pytest.mark.parametrize("view", list(SHAPES))
def test_shap_ranks_the_probe_segment_first(signal, view):
    model = probe(view)
    expl = explain(model, signal, "shap", 0, with_trust=False)
    assert expl.values.shape == SHAPES[view]
    top = int(np.argmax(np.abs(expl.segments)))
    assert top in _probe_segments(view)
    outside = np.ones(expl.segments.shape, bool)
    outside[list(_probe_segments(view))] = False
    assert np.abs(expl.segments[outside]).max() == 0        # zero gradient off the window
    # completeness: the attributions add up to p(record) - mean p(background), sign included
    from ecgcore.explain import SHAP_BACKGROUND
    from ecgcore.explain.shap_attr import background_signals
    bg = background_signals(SHAP_BACKGROUND[view])
    gap = model.predict_proba(signal[None])[0, 0] - model.predict_proba(bg)[:, 0].mean()
    assert np.sign(expl.segments[top]) == np.sign(gap)
    assert expl.info["explainer"] == "deep"
    assert expl.info["sum"] == pytest.approx(gap, abs=2e-3)      # DeepLIFT: sums to the gap


def test_shap_backgrounds_come_from_the_training_folds(index):
    from ecgcore.explain.shap_attr import background_ids
    a, b = background_ids(32, 0), background_ids(32, 1)
    assert len(set(a)) == 32 and not np.array_equal(a, b)
    assert index.loc[np.concatenate([a, b]), "fold"].between(1, 8).all()
    np.testing.assert_array_equal(a, background_ids(32, 0))             # fixed draw


def test_gradient_shap_on_a_quadratic_probe(signal):
    from ecgcore.explain.shap_attr import background_signals, shap_attributions
    model = ViewNetModel(EnergyProbe("signal", square=True), "signal")
    values = signal.T.copy()
    attr, kind = shap_attributions(model.net, values, "signal", 0, kind="gradient", nsamples=200)
    assert kind == "gradient" and attr.shape == (12, 1000)
    assert (attr[:, :300] == 0).all() and (attr[:, 400:] == 0).all() and (attr[:II] == 0).all()
    gap = model.predict_proba(signal[None])[0, 0] - model.predict_proba(background_signals())[:, 0].mean()
    assert abs(attr.sum() - gap) < 0.25 * abs(gap) + 0.02      # expected gradients: Monte-Carlo


def test_lime_on_a_predict_proba_only_model_uses_the_time_view(signal):
    expl = explain(ProbaOnly(), signal, "lime", 0, with_trust=True)
    assert expl.view == "signal" and expl.values.shape == (12, 1000)
    assert expl.segment_names[int(np.argmax(expl.segments))] == "II 3-4 s"
    assert expl.trust["agreement"] is None and any("agreement" in n for n in expl.trust["notes"])
    with pytest.raises(ExplainError, match="use method='lime'"):
        explain(ProbaOnly(), signal, "shap", 0)


@pytest.mark.parametrize("singles", [False, True])
def test_lime_design_is_balanced_nested_and_fits_an_additive_model(singles):
    from ecgcore.explain.lime_attr import lime_fit, lime_masks
    masks = lime_masks(400, 120, seed=0, singles=singles)
    off = (masks == 0)
    assert masks[0].all() and (off[1:].sum(1) >= 1).all() and off.sum(1).max() == 2
    assert off.sum(0).max() - off.sum(0).min() <= 1 + singles             # each segment equally often
    np.testing.assert_array_equal(masks[:300], lime_masks(300, 120, seed=0, singles=singles))  # nested
    other = lime_masks(400, 120, seed=1, singles=singles)
    same = (other == masks).all(1)                                        # rows equal across seeds
    assert same[:121].all() == singles and same[0] and same[121:].mean() < 0.1
    if singles:
        np.testing.assert_array_equal(masks[1:121], 1.0 - np.eye(120))       # each segment alone
    w = np.random.default_rng(3).normal(size=120)                         # an exactly additive model
    scores, _, r2 = lime_fit(masks, 0.5 + masks @ w, seed=0, alpha=1e-8)
    np.testing.assert_allclose(scores, w, atol=1e-5)
    assert r2 == pytest.approx(1.0)
    with pytest.raises(ValueError, match="use at least"):
        lime_masks(200, 120, seed=0, singles=True)


# --- mapping onto every view ---------------------------------------------------------------------

def test_signal_saliency_maps_to_the_content_of_its_salient_segments(signal):
    expl = explain(probe("signal"), signal, "lime", 0, with_trust=False)
    band, why = saliency_on_view(expl, "signal")
    assert band.shape == (12, 1000) and int(np.argmax(band.max(0))) // 100 == 3
    spec, why = saliency_on_view(expl, "spectrum")
    assert spec.shape == (12, 451) and "not a frequency attribution" in why
    assert spec[II].max() > 20 * np.delete(spec, II, axis=0).max()   # only lead II's 3-4 s is kept
    scalo, _ = saliency_on_view(expl, "scalogram")
    assert scalo.shape == (12, 32, 250)


def test_spectrum_saliency_has_no_time_to_map_onto(signal):
    expl = explain(probe("spectrum"), signal, "shap", 0, with_trust=False)
    for view in ("signal", "scalogram"):
        arr, why = saliency_on_view(expl, view)
        assert arr is None and "discard timing" in why
    arr, _ = saliency_on_view(expl, "spectrum")
    assert int(np.argmax(np.abs(arr[II]))) in range(40, 60)


@pytest.mark.parametrize("method", ["lime", "shap"])
def test_scalogram_saliency_maps_onto_time_and_frequency(signal, method):
    expl = explain(probe("scalogram"), signal, method, 0, with_trust=False)
    on_time, _ = saliency_on_view(expl, "signal")
    assert on_time.shape == (12, 1000)
    t = int(np.argmax(np.abs(on_time[II])))
    assert (300 <= t < 400) if method == "shap" else (200 <= t < 400)
    on_freq, why = saliency_on_view(expl, "spectrum")
    assert on_freq.shape == (12, 451) and (on_freq[:, :5] == 0).all()   # no scale below 0.5 Hz
    per_lead = np.abs(on_freq).sum(1)
    assert per_lead[II] > 5 * np.delete(per_lead, II).max()            # LIME: noise elsewhere
    with pytest.raises(ValueError, match="view must be one of"):
        saliency_on_view(expl, "ecg")


# --- trust measures ------------------------------------------------------------------------------

def test_rank_agreement_known_values():
    a = np.arange(20.0)
    assert rank_agreement(a, a) == pytest.approx(1.0)
    assert rank_agreement(a, -a, top=0) == pytest.approx(-1.0)
    assert np.isnan(rank_agreement(a, np.zeros(20), top=0))
    with pytest.raises(ValueError, match="equal length"):
        rank_agreement(a, a[:10])


@pytest.mark.parametrize("method", ["lime", "shap"])
def test_trust_on_the_probe(signal, method):
    expl = explain(probe("signal"), signal, method, 0, seed=3, with_trust=True)
    tr = expl.trust
    assert tr["salient"][0] == pytest.approx(tr["random"][0]) == pytest.approx(expl.probability, abs=1e-6)
    assert tr["salient"][1] < tr["salient"][0] - 0.05            # first 5 % removed: the window goes
    assert tr["faithfulness"] > 0.05
    # one informative segment: the other 119 scores are noise, so their ranks (stability,
    # agreement) carry no signal here; they are measured on the shipped models instead
    assert np.isfinite(tr["stability"]) and np.isfinite(tr["agreement"])


def test_agreement_reuses_the_other_explanation(signal):
    model = probe("spectrum")
    shap = explain(model, signal, "shap", 0, with_trust=False)
    reused = explain(model, signal, "lime", 0, with_trust=True, other=shap)
    fresh = explain(model, signal, "lime", 0, with_trust=True)
    assert reused.trust["agreement"] == fresh.trust["agreement"]
    with pytest.raises(ExplainError, match="same model, record, class and seed"):
        explain(model, signal, "lime", 1, other=shap)


def test_deletion_curve_of_a_reversed_order_is_worse(signal):
    model = probe("signal")
    expl = explain(model, signal, "lime", 0, with_trust=False)
    seg, values = segmentation("signal"), signal.T.copy()
    off = off_values(values, "mean")
    predict = lambda v: model.predict_proba(v.transpose(0, 2, 1))[:, 0]  # noqa: E731
    good = deletion_curves(predict, values, off, seg, expl.segments)
    bad = deletion_curves(predict, values, off, seg, -expl.segments)
    assert good["faithfulness"] > 0 > bad["faithfulness"]


def test_randomised_probe_changes_the_map(signal):
    model = probe("signal")
    rand = randomized_model(model, seed=0)
    assert not torch.equal(rand.net.weight, model.net.weight)
    for method in ("lime", "shap"):
        a = explain(model, signal, method, 0, with_trust=False).segments
        b = explain(rand, signal, method, 0, with_trust=False).segments
        assert rank_agreement(a, b, top=0) < 0.5


def test_explanations_are_deterministic_and_picklable(signal):
    a = explain(probe("spectrum"), signal, "lime", 2, seed=5, with_trust=False)
    b = explain(probe("spectrum"), signal, "lime", 2, seed=5, with_trust=False)
    np.testing.assert_array_equal(a.segments, b.segments)
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(c.values, a.values)
    assert c.class_name == "STTC" and c.top(1)[0][0] == "II 4-6 Hz"


def test_bad_inputs_name_the_fix(signal):
    with pytest.raises(ExplainError, match="model_input"):
        explain(probe("signal"), signal[:500], "lime", 0)
    with pytest.raises(ExplainError, match="method must be"):
        explain(probe("signal"), signal, "gradcam", 0)
    with pytest.raises(ExplainError, match="class_index"):
        explain(probe("signal"), signal, "lime", 5)
    with pytest.raises(ExplainError, match="predict_proba"):
        explain(object(), signal, "lime", 0)


# --- shipped weights ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["signal", "spectrum", "scalogram"])
def test_shipped_model_maps_change_when_weights_are_randomised(signal, name):
    from ecgcore.models.registry import WeightsError, load_model
    try:
        model = load_model(name)
    except WeightsError as e:
        pytest.skip(f"no shipped weights for {name}: {e}")
    k = int(np.argmax(model.predict_proba(signal[None])[0]))
    rand = randomized_model(model, seed=0)
    for method in ("lime", "shap"):
        trained = explain(model, signal, method, k, with_trust=False)
        assert trained.values.shape == SHAPES[model.view_name] and np.isfinite(trained.values).all()
        randomised = explain(rand, signal, method, k, with_trust=False)
        assert rank_agreement(trained.segments, randomised.segments, top=0) < 0.5, (name, method)


# --- evaluation doc ------------------------------------------------------------------------------

def test_partial_evaluation_replaces_only_the_named_models_rows():
    from ecgcore.explain.evaluate import merge_rows
    head = "| model | method | n | x |\n|---|---|---|---|\n"
    old = (head + "| signal | lime | 50 | 0.9 |\n| scalogram | lime | 50 | 0.7 |\n\n| step | seconds |\n"
           "|---|---|\n| signal/lime | 1.00 |\n| scalogram/lime | 1.50 |\n| total | 2.50 |\n")
    new = head + "| scalogram | lime | 50 | 0.8 |\n\n| step | seconds |\n|---|---|\n| scalogram/lime | 2.00 |\n"
    out = merge_rows(old, new, ["scalogram"], "Partial re-run (scalogram)")
    assert out.startswith("Partial re-run (scalogram)")
    assert "| signal | lime | 50 | 0.9 |" in out and "| scalogram | lime | 50 | 0.8 |" in out
    assert "0.7 |" not in out and "| scalogram/lime | 2.00 |" in out and "| total | 3.00 |" in out
    assert merge_rows(out, new, ["scalogram"], "Partial re-run (scalogram)").count("Partial") == 1
    cold_old = old.replace("| total |", "| cold scalogram/shap | 9.00 |\n| total |")
    cold_new = new + "| cold scalogram/shap | 0.50 |\n"
    out = merge_rows(cold_old, cold_new, ["scalogram"], "Partial re-run (scalogram)")
    assert "| cold scalogram/shap | 0.50 |" in out and "9.00" not in out      # cold rows are replaced too
    assert "| total | 3.00 |" in out                                          # and never summed


def test_warm_up_builds_every_class_explainer_once(signal):
    from ecgcore.explain import SHAP_BACKGROUND, warm_up
    from ecgcore.explain import shap_attr
    model = probe("spectrum")
    assert warm_up(model) > 0
    before = shap_attr._explainer.cache_info()
    for k in range(5):                                       # every class is now a cache hit
        shap_attr.explainer_for(model.net, k, (1.0, 0.0), "spectrum", SHAP_BACKGROUND["spectrum"], 0)
    after = shap_attr._explainer.cache_info()
    assert after.hits - before.hits == 5 and after.misses == before.misses
    assert warm_up(ProbaOnly()) == 0.0                        # no network: nothing to warm
