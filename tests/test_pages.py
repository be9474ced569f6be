"""Every page through streamlit.testing.v1.AppTest: no exception, the right texts, and the values
shown equal what ecgcore computes for a fixed real PTB-XL record.

Predictions / Explain / Model cards need trained weights (weights/, or $ECGCORE_WEIGHTS_DIR):
those tests skip, saying so, until all four models are there.
"""
from __future__ import annotations

import base64
import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from ecgcore.signal.record import CLASSES, LEADS

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TIMEOUT = 120
RECORD = 9            # fold 10 (held out), NORM, 100 + 500 Hz


def weights_dir() -> Path:
    from ecgcore.models.registry import WEIGHTS_DIR
    return Path(os.environ.get("ECGCORE_WEIGHTS_DIR") or WEIGHTS_DIR)


def have_weights() -> bool:
    return all((weights_dir() / f"{n}.pt").is_file() for n in ("signal", "spectrum", "scalogram", "fused"))


needs_weights = pytest.mark.skipif(not have_weights(), reason=f"trained weights not in {weights_dir()} yet")


def app(query: dict | None = None):
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update(query or {})
    return at.run()


def page(at, name: str):
    at.switch_page(f"pages/{name}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at) -> str:
    parts = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "title", "subheader", "metric"):
        for el in getattr(at, kind):
            parts.append(str(getattr(el, "value", "")) + " " + str(getattr(el, "label", "")))
    return "\n".join(parts)


def qp(at, name: str = "ecg_id") -> str | None:
    """A query parameter as one string (AppTest keeps a str or a list of str)."""
    v = at.query_params.get(name)
    return v[-1] if isinstance(v, list) else v


def decode(v):
    """A plotly JSON array: a list, or {'dtype', 'bdata'} (base64 numpy)."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
    return np.asarray(v)


def probabilities(at):
    """The Predictions page's probability table (the first dataframe, classes as rows)."""
    table = at.dataframe[0].value
    assert list(table.index) == list(CLASSES), table
    return table


def charts(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


@pytest.fixture(scope="module")
def data(ptbxl_dir):
    from ecgcore.io.ptbxl import load_index
    return load_index(ptbxl_dir)


# ------------------------------------------------------------------ frame
def test_without_ptbxl_the_app_opens_and_says_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("PTBXL_DIR", str(tmp_path))
    at = app()
    assert not at.exception
    words = texts(at) + "\n".join(w.value for w in at.sidebar.warning)
    assert "python -m ecgcore.io.download" in words and "Upload" in words
    assert "ptbxl_database.csv" in words
    assert "not for clinical diagnosis" in words
    page(at, "waveform")
    assert "No record is open" in texts(at)


def test_deep_link_opens_the_record_and_the_sidebar_shows_its_labels(data):
    at = app({"ecg_id": str(RECORD)})
    assert not at.exception
    side = "\n".join(m.value for m in at.sidebar.markdown)
    row = data.loc[RECORD]
    assert f"PTB-XL #{RECORD}" in side
    assert ", ".join(c for c in CLASSES if row[c]) in side
    status = "\n".join(c.value for c in at.sidebar.caption)
    assert f"{int(data['has_100'].sum()):,}" in status and f"{int(data['has_500'].sum()):,}" in status
    assert qp(at) == str(RECORD)
    at.sidebar.button(key="next_record").click().run()
    ids = data.index[data["has_100"] | data["has_500"]]
    nxt = int(ids[ids.get_loc(RECORD) + 1])
    assert qp(at) == str(nxt)
    assert f"PTB-XL #{nxt}" in "\n".join(m.value for m in at.sidebar.markdown)


def test_a_deep_link_to_a_record_without_signals_says_so(data):
    absent = int(data.index[~(data["has_100"] | data["has_500"])][0])
    at = app({"ecg_id": str(absent)})
    assert any(f"{absent}" in e.value and "no signal files" in e.value for e in at.error)


# ------------------------------------------------------------------ records
def test_records_filters_count_like_pandas(data):
    at = page(app(), "records")
    with_signal = data[data["has_100"] | data["has_500"]]
    assert f"**{len(with_signal):,}** of {len(with_signal):,}" in texts(at)
    at.multiselect[0].set_value(["MI"]).run()                     # superclass
    at.multiselect[1].set_value([10]).run()                       # fold
    expected = with_signal[with_signal["MI"] & (with_signal["fold"] == 10)]
    assert f"**{len(expected):,}** of" in texts(at)
    assert at.dataframe[0].value["ecg_id"].tolist() == expected.index.tolist()
    at.checkbox[0].check().run()                                  # no quality flags
    from ecgcore.io.ptbxl import QUALITY_COLUMNS
    clean = expected[(expected[list(QUALITY_COLUMNS)] == "").all(axis=1)]
    assert f"**{len(clean):,}** of" in texts(at)


def test_records_search_by_report_text_and_open_by_id(data):
    at = page(app(), "records")
    at.text_input[0].input("infarkt").run()
    with_signal = data[data["has_100"] | data["has_500"]]
    n = int(with_signal["report"].fillna("").str.contains("infarkt", case=False).sum())
    assert n > 0 and f"**{n:,}** of" in texts(at)
    at.number_input[0].set_value(RECORD)
    next(b for b in at.button if b.label == "Open").click().run()   # the form's Open button
    assert qp(at) == str(RECORD)
    assert f"Open: PTB-XL #{RECORD}" in texts(at)


def test_records_without_a_score_file_offer_to_score_the_folder(data, tmp_path, monkeypatch):
    monkeypatch.setattr("ecgcore.score.outcomes.CACHE_DIR", tmp_path)
    at = page(app(), "records")
    assert "No model outputs for this folder (no score file yet)" in texts(at)
    assert any(b.label == "Score all records" for b in at.button)


@needs_weights
def test_records_filter_to_the_fused_models_mi_false_negatives_and_open_one(data, scored_cache, monkeypatch):
    import pandas as pd
    from ecgcore.score.outcomes import scores_path
    monkeypatch.setattr("ecgcore.score.outcomes.CACHE_DIR", scored_cache)
    scores = pd.read_parquet(scores_path(data.attrs["root"], scored_cache))
    at = page(app(), "records")
    assert f"{len(scores):,} records scored" in texts(at)
    at.selectbox(key="versus_cls").set_value("MI").run()
    at.selectbox(key="versus").set_value("false negatives").run()
    fn = scores[(scores["status"] == "ok") & scores["y_MI"].fillna(False).astype(bool) & ~scores["call_MI"].astype(bool)]
    assert len(fn) > 0
    shown = at.dataframe[0].value
    assert sorted(shown["ecg_id"].tolist()) == sorted(fn["ecg_id"].tolist())
    assert all("MI" not in calls.split(", ") for calls in shown["fused calls"])
    assert all("MI" in labels.split(", ") for labels in shown["labels"])
    at.selectbox(key="sort_by").set_value("fused P(MI) high first").run()
    ordered = at.dataframe[0].value["ecg_id"].tolist()
    assert ordered == fn.sort_values("p_fused_MI", ascending=False, kind="stable")["ecg_id"].tolist()
    at.number_input[0].set_value(ordered[0])
    next(b for b in at.button if b.label == "Open").click().run()
    assert qp(at) == str(ordered[0]) and f"Open: PTB-XL #{ordered[0]}" in texts(at)


# ------------------------------------------------------------------ views
def test_waveform_draws_the_raw_500_hz_signal_on_a_square_grid(data):
    from ecgcore.io.ptbxl import load_record
    at = page(app({"ecg_id": str(RECORD)}), "waveform")
    spec = charts(at)[0]                       # the grid (the median beats follow)
    rec = load_record(RECORD, 500)
    traces = {t.get("name"): t for t in spec["data"]}
    assert {t["type"] for t in spec["data"]} == {"scatter"}
    lead_i = decode(traces["I"]["y"])
    np.testing.assert_allclose(lead_i, rec.signal[:1250, 0], atol=1e-6)
    assert traces["I"]["dx"] == pytest.approx(1 / 500)
    y = spec["layout"]["yaxis"]
    assert y["scaleanchor"] == "x" and y["scaleratio"] == pytest.approx(10 / 25)
    assert "25 mm/s" in spec["layout"]["title"]["text"] and "500 Hz" in spec["layout"]["title"]["text"]
    assert "0.04 s x 0.10 mV" in texts(at)
    at.selectbox(key="wave_speed").set_value(50.0).run()
    at.radio(key="wave_layout").set_value("12x1").run()
    spec = charts(at)[0]                       # the grid (the median beats follow)
    assert spec["layout"]["xaxis"]["minor"]["dtick"] == pytest.approx(0.02)
    assert [t["name"] for t in spec["data"] if t.get("name") in LEADS] == list(LEADS)


def test_waveform_shows_the_measurements_markers_and_median_beats_of_ecgcore(data):
    from ecgcore.io.ptbxl import load_record
    from ecgcore.signal.measure import measure_record
    rec = load_record(RECORD, 500)
    m = measure_record(rec.signal, rec.fs)
    at = page(app({"ecg_id": str(RECORD)}), "waveform")
    table = at.dataframe[0].value                          # the measurements table
    shown = dict(zip(table["measurement"], table["value"]))
    assert m.values["qrs_ms"].ok and shown["QRS"] == f"{m.values['qrs_ms'].value:.0f} ms"
    assert shown["Heart rate"] == f"{m.values['hr_bpm'].value:.0f} bpm"
    for name, v in m.values.items():
        if not v.ok:
            assert v.reason in table["why not"].tolist()
    assert "ST level at J + 60 ms" in texts(at)
    assert rec.meta["heart_axis"] is None and "coded by PTB-XL" not in texts(at)   # #9 has no coded axis
    grid, median = charts(at)
    assert sum(1 for t in median["data"] if t.get("name") in LEADS) == 12
    assert {"QRS onset", "T end"} <= {t.get("name") for t in median["data"]}
    at.toggle(key="wave_markers").set_value(True).run()
    grid = charts(at)[0]
    marks = {t["name"]: t for t in grid["data"] if t.get("mode") == "markers"}
    assert set(marks) == {"P onset", "P offset", "QRS onset", "QRS offset (J)", "T end"}
    onsets = np.asarray(marks["QRS onset"]["x"] if isinstance(marks["QRS onset"]["x"], list)
                        else decode(marks["QRS onset"]["x"]), float)
    in_first_column = np.sort(onsets[onsets < 2.5])       # lead I, II, III show the same beats
    want = m.delineation.qrs_on[np.isfinite(m.delineation.qrs_on)] / rec.fs
    assert set(np.round(in_first_column, 3)) == set(np.round(want[want < 2.5], 3))


def test_waveform_shows_the_coded_heart_axis_next_to_the_computed_class(data):
    from ecgcore.io.ptbxl import load_index, load_record
    from ecgcore.signal.measure import axis_class, measure_record
    index = load_index()
    ecg_id = int(index.index[index["has_100"] & (index["heart_axis"] == "LAD")][0])
    rec = load_record(ecg_id, 500 if index.at[ecg_id, "has_500"] else 100)   # as the page draws it
    axis = measure_record(rec.signal, rec.fs).values["qrs_axis_deg"]
    at = page(app({"ecg_id": str(ecg_id)}), "waveform")
    computed = f"{axis_class(axis.value)} ({axis.value:.0f}°)" if axis.ok else "not measurable"
    assert (f"computed {computed}; coded by PTB-XL (`heart_axis`) LAD (left axis deviation, -30 to 0°)"
            in texts(at))


def test_a_flat_upload_says_why_nothing_is_measurable(data):
    from ecgcore.signal.measure import measure_record
    m = measure_record(np.zeros((1000, 12), np.float32), 100.0)
    assert not any(v.ok for v in m.values.values())
    assert all("not assessable" in v.reason for v in m.values.values())


def test_spectrum_and_scalogram_are_exactly_ecgcore_views(data):
    from ecgcore.io.ptbxl import load_record
    from ecgcore.signal.record import model_input
    from ecgcore.signal.views import scalogram_view, spectrum_view
    x = model_input(load_record(RECORD, 100))
    at = page(app({"ecg_id": str(RECORD)}), "spectrum")
    (spec,) = charts(at)
    want = spectrum_view(x).values[0]
    lines = {t["name"]: decode(t["y"]) for t in spec["data"]}
    assert list(lines) == ["II", "V1", "V5"]
    np.testing.assert_allclose(lines["V1"], want[LEADS.index("V1")], rtol=1e-6)
    at.radio(key="spec_scale").set_value("log").run()
    assert charts(at)[0]["layout"]["yaxis"]["type"] == "log"
    page(at, "scalogram")
    at.selectbox(key="scalo_lead").set_value("V2").run()
    (spec,) = charts(at)
    view = scalogram_view(x)
    heat = spec["data"][0]
    z = np.asarray([decode(row) for row in heat["z"]]) if isinstance(heat["z"], list) else decode(heat["z"])
    z = z.reshape(len(view.axes["frequency"]), -1)
    order = np.argsort(view.axes["frequency"])
    np.testing.assert_allclose(z, view.values[0, LEADS.index("V2")][order], rtol=1e-5)
    assert spec["data"][1]["name"] == "V2"


# ------------------------------------------------------------------ models
@needs_weights
def test_predictions_equal_ecgcore_assess(data):
    from ecgcore.models.predict import assess
    from ecgcore.io.ptbxl import load_record
    from ecgcore.models.registry import load_model
    at = page(app({"ecg_id": str(RECORD)}), "predictions")
    wdir = os.environ.get("ECGCORE_WEIGHTS_DIR")
    models = {n: load_model(n, wdir) for n in ("signal", "spectrum", "scalogram", "fused")}
    a = assess(load_record(RECORD, 100), models)
    table = probabilities(at)
    for name, out in a.outputs.items():
        np.testing.assert_allclose(table[name].to_numpy(float), out.proba, atol=1e-6)
    assert table["fused call"].tolist() == ["yes" if p else "no" for p in a.outputs["fused"].positive]
    words = texts(at)
    assert f"**{', '.join(a.labels)}**" in words
    assert {"confident": "Confident", "uncertain": "Uncertain"}.get(a.status, a.status.capitalize()) in words
    assert "held-out test fold" in words          # fold 10 note from ecgcore.models.predict
    # the waveform page's one-line summary tells the same fused calls
    page(at, "waveform")
    summary = texts(at)
    for cls, p, yes in zip(CLASSES, a.outputs["fused"].proba, a.outputs["fused"].positive):
        if yes:
            assert f"**{cls}** {p:.2f}" in summary


@needs_weights
def test_a_tampered_weights_file_is_named_in_a_clear_message(tmp_path, monkeypatch):
    for f in weights_dir().glob("*"):
        if f.is_file():
            shutil.copy(f, tmp_path / f.name)
    blob = bytearray((tmp_path / "spectrum.pt").read_bytes())
    blob[-100] ^= 0xFF
    (tmp_path / "spectrum.pt").write_bytes(bytes(blob))
    monkeypatch.setenv("ECGCORE_WEIGHTS_DIR", str(tmp_path))
    at = page(app({"ecg_id": str(RECORD)}), "predictions")
    errors = [e.value for e in at.error]
    assert any("spectrum.pt" in e and "integrity" in e for e in errors), errors


@needs_weights
def test_explain_runs_shap_and_shows_maps_with_trust_measures(data):
    from ecgcore.explain import explain
    from ecgcore.io.ptbxl import load_record
    from ecgcore.signal.record import model_input
    from ecgcore.models.registry import load_model
    at = page(app({"ecg_id": str(RECORD)}), "explain")
    assert "press **Explain**" in texts(at)
    at.selectbox(key="expl_model").set_value("spectrum").run()
    at.radio(key="expl_method").set_value("shap").run()
    at.selectbox(key="expl_class").set_value(0).run()
    at.button(key="expl_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    want = explain(load_model("spectrum", os.environ.get("ECGCORE_WEIGHTS_DIR")),
                   model_input(load_record(RECORD, 100)), "shap", 0, seed=0)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Faithfulness"] == f"{want.trust['faithfulness']:+.3f}"
    assert metrics["Stability"] == f"{want.trust['stability']:.2f}"
    specs = charts(at)
    heat = [t for s in specs for t in s["data"] if t["type"] == "heatmap"]
    assert heat, "the spectrum saliency heatmap is missing"
    words = texts(at)
    assert "discard timing" in words          # the spectrum model's map has no time axis: said, not faked
    assert "No lead x wave table for this map" in words


@needs_weights
def test_explain_shows_the_lead_by_wave_evidence_of_ecgcore(data):
    from ecgcore.explain import explain, saliency_on_view
    from ecgcore.explain.waves import evidence_by_wave, evidence_sentence, wave_labels
    from ecgcore.io.ptbxl import load_record
    from ecgcore.models.registry import load_model
    from ecgcore.signal.delineate import delineate_record
    from ecgcore.signal.record import model_input
    at = page(app({"ecg_id": str(RECORD)}), "explain")
    at.selectbox(key="expl_model").set_value("scalogram").run()
    at.radio(key="expl_method").set_value("shap").run()
    at.selectbox(key="expl_class").set_value(0).run()
    at.button(key="expl_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    x = model_input(load_record(RECORD, 100))
    want = explain(load_model("scalogram", os.environ.get("ECGCORE_WEIGHTS_DIR")), x, "shap", 0, seed=0)
    band, _ = saliency_on_view(want, "signal")
    table = evidence_by_wave(band, wave_labels(delineate_record(x, 100), 1000))
    shown = at.dataframe[-1].value
    np.testing.assert_allclose(shown.to_numpy(float), (table * 100).round(1).to_numpy(), atol=0.051)
    assert evidence_sentence(table, "NORM") in texts(at)


@needs_weights
def test_model_cards_show_ecgcore_cards_side_by_side():
    from ecgcore.models.cards import load_card
    at = page(app(), "models")
    shown = {m.label: m.value for m in at.metric}
    assert shown, "no card metrics shown"
    names = [n for n in ("signal", "spectrum", "scalogram", "fused")
             if (weights_dir() / f"{n}.json").is_file()]
    values = [m.value for m in at.metric]
    for n in names:
        card = load_card(n, os.environ.get("ECGCORE_WEIGHTS_DIR"))
        assert f"{card['fold10']['macro_auc']:.3f}" in values
        assert f"{card['fold10']['macro_auc_ci95'][0]:.3f}" in texts(at)
    assert len(at.get("plotly_chart")) == 2 * len(names)          # ROC + calibration per card


# ------------------------------------------------------------------ upload
def csv_bytes(signal: np.ndarray) -> bytes:
    buf = io.StringIO()
    buf.write(",".join(LEADS) + "\n")
    np.savetxt(buf, signal, delimiter=",", fmt="%.5f")
    return buf.getvalue().encode()


def test_upload_accepts_a_csv_and_refuses_a_bad_file(ptbxl_dir):
    from ecgcore.io.ptbxl import load_record
    rec = load_record(RECORD, 100)
    at = page(app(), "upload")
    at.number_input[0].set_value(100.0).run()
    at.file_uploader[0].set_value(("mine.csv", csv_bytes(rec.signal), "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Accepted" in s.value for s in at.success)
    assert any("Upload: mine.csv" in m.value for m in at.sidebar.markdown)
    assert qp(at) is None
    page(at, "waveform")
    spec = charts(at)[0]                       # the grid (the median beats follow)
    lead_i = decode({t.get("name"): t for t in spec["data"]}["I"]["y"])
    np.testing.assert_allclose(lead_i, rec.signal[:250, 0], atol=1e-4)
    page(at, "upload")
    at.file_uploader[0].set_value(("bad.npy", b"not a numpy file", "application/octet-stream")).run()
    errs = [e.value for e in at.error]
    assert any(e.startswith("Not accepted:") and "bad.npy" in e for e in errs), errs


@needs_weights
def test_an_upload_gets_predictions_without_labels(ptbxl_dir):
    from ecgcore.models.predict import assess
    from ecgcore.io.ptbxl import load_record
    from ecgcore.io.readers import read_upload
    from ecgcore.models.registry import load_model
    data = csv_bytes(load_record(RECORD, 100).signal)
    at = page(app(), "upload")
    at.number_input[0].set_value(100.0).run()
    at.file_uploader[0].set_value(("mine.csv", data, "text/csv")).run()
    page(at, "predictions")
    assert "none (uploaded ECG)" in texts(at)
    wdir = os.environ.get("ECGCORE_WEIGHTS_DIR")
    models = {n: load_model(n, wdir) for n in ("signal", "spectrum", "scalogram", "fused")}
    a = assess(read_upload([("mine.csv", data)], 100.0), models)
    table = probabilities(at)
    np.testing.assert_allclose(table["fused"].to_numpy(float), a.outputs["fused"].proba, atol=1e-6)
    assert "cardiologists" not in table.columns


def test_upload_accepts_a_cinc_mat_record_and_shows_its_metadata(ptbxl_dir):
    from ecgcore.fuzz.seeds import cinc_mat
    stem = ptbxl_dir / "records100" / "00000" / "00001_lr"
    files = cinc_mat([("00001_lr.hea", stem.with_suffix(".hea").read_bytes()),
                      ("00001_lr.dat", stem.with_suffix(".dat").read_bytes())],
                     "# Age: 56\n# Sex: Female\n# Dx: 426783006,164865005\n")
    at = page(app(), "upload")
    at.file_uploader[0].set_value([(n, d, "application/octet-stream") for n, d in files]).run()
    assert not at.error, [e.value for e in at.error]
    assert any("100 Hz, 10.0 s" in s.value for s in at.success)
    shown = " ".join(m.value for m in at.markdown)
    assert "426783006 sinus rhythm, 164865005 myocardial infarction" in shown and "age: 56" in shown


def test_upload_accepts_a_wfdb_pair_at_its_header_rate(ptbxl_dir, tmp_path):
    import wfdb
    from ecgcore.io.ptbxl import load_record
    rec = load_record(RECORD, 500)
    wfdb.wrsamp("mine", fs=500, units=["mV"] * 12, sig_name=list(LEADS), p_signal=rec.signal.astype(float),
                fmt=["16"] * 12, adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(tmp_path))
    files = [("mine.hea", (tmp_path / "mine.hea").read_bytes(), "text/plain"),
             ("mine.dat", (tmp_path / "mine.dat").read_bytes(), "application/octet-stream")]
    at = page(app(), "upload")
    at.number_input[0].set_value(100.0).run()        # a typed rate is ignored for WFDB: the header says 500
    at.file_uploader[0].set_value(files).run()
    assert not at.error, [e.value for e in at.error]
    assert any("500 Hz, 10.0 s" in s.value for s in at.success)
    page(at, "waveform")
    spec = charts(at)[0]                       # the grid (the median beats follow)
    assert "500 Hz" in spec["layout"]["title"]["text"]
    lead_v1 = decode({t.get("name"): t for t in spec["data"]}["V1"]["y"])
    np.testing.assert_allclose(lead_v1, rec.signal[2500:3750, 6], atol=1e-3)   # 5-7.5 s; 16-bit at 1 uV
