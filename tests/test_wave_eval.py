"""The fold-10 plausibility command (ecgcore.explain.wave_eval) on the partial copy: every sampled record
measured once per model and method, the same shares as computing one map by hand, and a killed run
resumes from its cache without measuring a record twice."""
from __future__ import annotations

import json

import numpy as np
import pytest

from ecgcore.explain import wave_eval
from ecgcore.explain.core import explain
from ecgcore.explain.mapping import saliency_on_view
from ecgcore.explain.waves import evidence_by_wave, lead_share, uniform_shares, wave_labels
from ecgcore.io.ptbxl import load_record
from ecgcore.models.registry import load_model
from ecgcore.signal.delineate import delineate_record
from ecgcore.signal.record import CLASSES, MODEL_FS, model_input

pytestmark = pytest.mark.skipif(not all((wave_eval.DOC.parents[1] / "weights" / f"{n}.pt").is_file()
                                        for n in wave_eval.MODELS), reason="needs the shipped weights")


@pytest.fixture()
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(wave_eval, "CACHE_DIR", tmp_path)
    return tmp_path


def test_rows_counts_and_a_share_recomputed_by_hand(ptbxl_dir, cache_dir):
    rows = wave_eval.evaluate(str(ptbxl_dir), ("shap",), limit=2, workers=1)
    assert len(rows) == len(wave_eval.CHECKS) * len(wave_eval.MODELS)
    for r in rows:
        assert r["sampled"] == min(2, r["coded"]) and r["records"] + r["skipped"] == r["sampled"]
        assert r["diff"] == pytest.approx(r["share"] - r["uniform"])
        assert r["diff_lo"] <= r["diff"] <= r["diff_hi"] or r["records"] < 2
    lines = [json.loads(x) for x in next(cache_dir.glob("wave_eval/*.jsonl")).read_text().splitlines()]
    assert len({(r["check"], r["id"], r["method"]) for r in lines}) == len(lines) == sum(
        min(2, r["coded"]) for r in rows if r["model"] == "signal")
    first = next(r for r in lines if r["check"] == 0 and r["out"]["signal"] is not None)
    x = model_input(load_record(first["id"], 100, str(ptbxl_dir)))
    band = saliency_on_view(explain(load_model("signal"), x, "shap", CLASSES.index("MI"), seed=0,
                                    with_trust=False), "signal")[0]
    labels = wave_labels(delineate_record(x, MODEL_FS), x.shape[0])
    share = lead_share(evidence_by_wave(band, labels), ("II", "III", "aVF"))
    assert first["method"] == "shap" and first["out"]["signal"] == pytest.approx([share, lead_share(uniform_shares(labels), ("II", "III", "aVF"))])


def test_a_per_method_limit_samples_a_subset_of_the_same_order(ptbxl_dir, cache_dir, monkeypatch):
    seen = []
    monkeypatch.setattr(wave_eval, "_run", lambda tasks, *a, **k: seen.extend(tasks) or
                        {t: {m: [0.5, 0.25] for m in wave_eval.MODELS} for t in tasks})
    rows = wave_eval.evaluate(str(ptbxl_dir), ("shap", "lime"), limit=None, workers=1, limits={"lime": 3})
    for k in range(len(wave_eval.CHECKS)):
        shap = [i for c, i, m in seen if c == k and m == "shap"]
        lime = [i for c, i, m in seen if c == k and m == "lime"]
        coded = next(r["coded"] for r in rows if r["check"] == wave_eval.CHECKS[k][0])
        assert len(shap) == coded and len(lime) == min(3, coded) and set(lime) <= set(shap)
    assert all(r["diff"] == pytest.approx(0.25) and r["above_uniform"] == 1.0 for r in rows)


def test_a_second_run_reads_the_cache_and_measures_nothing(ptbxl_dir, cache_dir, monkeypatch):
    first = wave_eval.evaluate(str(ptbxl_dir), ("shap",), limit=1, workers=1)
    monkeypatch.setattr(wave_eval, "_measure", lambda task: pytest.fail(f"measured {task} again"))
    again = wave_eval.evaluate(str(ptbxl_dir), ("shap",), limit=1, workers=1)
    assert [r["share"] for r in again] == [r["share"] for r in first]
    text = wave_eval.markdown(again, "cmd")
    assert text.startswith(wave_eval.BEGIN) and text.count("\n| ") == len(again) + 1
    assert np.isfinite([r["share"] for r in again if r["records"]]).all()
