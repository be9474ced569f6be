"""ecgcore.plot.plots: the ECG paper is to standard, traces are the raw values, figures stay SVG."""
from __future__ import annotations

import json

import numpy as np
import pytest

from ecgcore.plot import plots
from ecgcore.signal.record import LEADS


def ramp(fs: float, seconds: float = 10.0) -> np.ndarray:
    """(T, 12) test array: lead k holds k + t, so every sample says where it came from."""
    t = np.arange(int(fs * seconds)) / fs
    return (t[:, None] + np.arange(12)[None, :]).astype(np.float32)


def scatters(fig):
    return [tr for tr in fig.data if tr.type == "scatter"]


@pytest.mark.parametrize("speed,gain,small_s,small_mv", [(25, 10, 0.04, 0.1), (50, 10, 0.02, 0.1),
                                                         (25, 20, 0.04, 0.05), (25, 5, 0.04, 0.2)])
def test_grid_boxes_follow_the_paper_standard(speed, gain, small_s, small_mv):
    b = plots.grid_boxes(speed, gain)
    assert b["small_s"] == pytest.approx(small_s) and b["large_s"] == pytest.approx(5 * small_s)
    assert b["small_mv"] == pytest.approx(small_mv) and b["large_mv"] == pytest.approx(5 * small_mv)


@pytest.mark.parametrize("speed,gain", [(25.0, 10.0), (50.0, 10.0), (25.0, 20.0), (25.0, 5.0)])
def test_boxes_are_square_and_ticks_match(speed, gain):
    fig = plots.ecg_grid_figure(ramp(100), 100, speed=speed, gain=gain)
    x, y = fig.layout.xaxis, fig.layout.yaxis
    assert y.scaleanchor == "x"
    # pixels per mm must be equal on both axes: a box of 1/speed s and one of 1/gain mV
    assert (1 / gain) * y.scaleratio == pytest.approx(1 / speed)
    assert x.dtick == pytest.approx(5 / speed) and x.minor.dtick == pytest.approx(1 / speed)
    assert y.dtick == pytest.approx(5 / gain) and y.minor.dtick == pytest.approx(1 / gain)
    assert x.tick0 == 0 and y.tick0 == 0
    assert f"{speed:g} mm/s" in fig.layout.title.text and f"{gain:g} mm/mV" in fig.layout.title.text


def test_3x4_segments_show_the_right_lead_and_time():
    fs, spacing = 100, 3.0
    sig = ramp(fs)
    fig = plots.ecg_grid_figure(sig, fs, layout="3x4", spacing=spacing)
    by_name = {tr.name: tr for tr in scatters(fig) if tr.name}
    for c, column in enumerate(plots.LAYOUT_3X4):
        for r, k in enumerate(column):
            tr = by_name[LEADS[k]]
            assert tr.x0 == pytest.approx(2.5 * c) and tr.dx == pytest.approx(1 / fs)
            assert tr.x is None                                    # x0/dx, no x array
            np.testing.assert_allclose(np.asarray(tr.y), sig[250 * c:250 * (c + 1), k] - r * spacing, atol=1e-6)
    rhythm = by_name["II rhythm"]
    assert len(rhythm.y) == 10 * fs and rhythm.x0 == 0
    np.testing.assert_allclose(np.asarray(rhythm.y), sig[:, 1] - 3 * spacing, atol=1e-6)
    labels = [a.text for a in fig.layout.annotations]
    assert [lab.replace("<b>", "").replace("</b>", "") for lab in labels] == \
        ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6", "II"]


def test_12x1_shows_every_lead_for_10_s_at_500_hz():
    fs = 500
    sig = ramp(fs, 12.0)
    fig = plots.ecg_grid_figure(sig, fs, layout="12x1", start=1.0, spacing=2.5)
    traces = [tr for tr in scatters(fig) if tr.name in LEADS]
    assert [tr.name for tr in traces] == list(LEADS)
    for k, tr in enumerate(traces):
        assert len(tr.y) == 10 * fs and tr.dx == pytest.approx(1 / fs)
        np.testing.assert_allclose(np.asarray(tr.y), sig[500:5500, k] - 2.5 * k, atol=1e-5)


def test_calibration_pulse_is_1_mv_by_0_2_s_on_every_row():
    fig = plots.ecg_grid_figure(ramp(100), 100, layout="3x4", spacing=3.0)
    pulse = next(tr for tr in scatters(fig) if tr.name == "1 mV")
    ys = np.array([np.nan if v is None else v for v in pulse.y], float)
    xs = np.array([np.nan if v is None else v for v in pulse.x], float)
    rows = np.split(ys, np.where(np.isnan(ys))[0])
    heights = [np.nanmax(r) - np.nanmin(r) for r in rows if np.isfinite(r).any()]
    assert heights == pytest.approx([1.0] * 4)
    top = xs[ys == np.nanmax(ys[:6])]
    assert top.max() - top.min() == pytest.approx(0.2)
    assert fig.layout.xaxis.range[0] <= np.nanmin(xs) and np.nanmax(xs) <= 0


def test_saliency_band_sits_behind_each_lead_row():
    sal = np.tile(np.arange(12, dtype=float)[:, None], (1, 10)) - 5.5    # row k = k - 5.5
    fig = plots.ecg_grid_figure(ramp(100), 100, layout="12x1", spacing=3.0, saliency=sal)
    assert fig.data[0].type == "heatmap"                                 # drawn first = behind
    band = fig.data[0]
    edges = np.asarray(band.y)
    assert len(edges) == 13 and np.all(np.diff(edges) > 0)
    z = np.asarray(band.z)
    for k in range(12):                          # lead k's row spans its trace's offset -3k
        row = 11 - k
        assert edges[row] < -3.0 * k < edges[row + 1]
        assert z[row, 0] == pytest.approx((k - 5.5) / 5.5)      # scaled by max |saliency|
    assert band.dx * z.shape[1] == pytest.approx(10.0)
    with pytest.raises(ValueError, match="12x1"):
        plots.ecg_grid_figure(ramp(100), 100, layout="3x4", saliency=sal)


def test_no_webgl_traces_and_compact_json_on_a_real_500_hz_record(ptbxl_dir):
    from ecgcore.io.ptbxl import load_record
    rec = load_record(1, 500)
    fig = plots.ecg_grid_figure(rec.signal, rec.fs, layout="3x4")
    assert {tr.type for tr in fig.data} == {"scatter"}
    size = len(json.dumps(fig.to_plotly_json(), cls=_NumpyJSON))
    assert size < 400_000, size   # ~20k samples as float32; x arrays would add as much again


class _NumpyJSON(json.JSONEncoder):
    def default(self, o):
        return o.tolist() if isinstance(o, np.ndarray) else super().default(o)


def test_bad_inputs_are_refused_with_the_value():
    with pytest.raises(ValueError, match="'5x5'"):
        plots.ecg_grid_figure(ramp(100), 100, layout="5x5")
    with pytest.raises(ValueError, match=r"\(1000, 3\)"):
        plots.ecg_grid_figure(np.zeros((1000, 3)), 100)
    with pytest.raises(ValueError, match="speed=0"):
        plots.grid_boxes(0, 10)


def test_spectrum_figure_draws_the_picked_leads_and_saliency():
    from ecgcore.signal.views import spectrum_view
    view = spectrum_view(ramp(100, 10.0))
    vals, f = view.values[0], view.axes["frequency"]
    fig = plots.spectrum_figure(vals, f, ["II", "V5"], log=True)
    lines = scatters(fig)
    assert [tr.name for tr in lines] == ["II", "V5"]
    np.testing.assert_allclose(np.asarray(lines[1].y), vals[LEADS.index("V5")])
    assert lines[0].x0 == pytest.approx(0.0) and lines[0].dx == pytest.approx(f[1] - f[0])
    assert fig.layout.yaxis.type == "log"
    fig = plots.spectrum_figure(vals, f, ["I"], saliency=np.ones_like(vals))
    assert [tr.type for tr in fig.data] == ["scatter", "heatmap"]
    assert list(fig.data[1].y) == list(LEADS)


def test_scalogram_figure_orders_frequencies_ascending_with_the_trace_on_top():
    from ecgcore.signal.views import scalogram_view
    x = ramp(100, 10.0)
    view = scalogram_view(x)
    vals, f, t = view.values[0, 1], view.axes["frequency"], view.axes["time"]
    fig = plots.scalogram_figure(vals, f, t, x[:, 1], 100, "II")
    heat, trace = fig.data
    assert heat.type == "heatmap" and trace.type == "scatter"
    assert np.all(np.diff(np.asarray(heat.y)) > 0)
    np.testing.assert_allclose(np.asarray(heat.z)[0], vals[np.argmin(f)])
    assert fig.layout.yaxis.type == "log" and trace.yaxis == "y2"
    fig = plots.scalogram_figure(vals, f, t, x[:, 1], 100, "II", saliency=-vals)
    assert [tr.type for tr in fig.data] == ["heatmap", "scatter", "heatmap", "scatter"]
    assert fig.data[2].zmid == 0


def test_roc_and_reliability_figures_have_one_line_per_class():
    roc = {c: {"fpr": [0, 0.5, 1], "tpr": [0, 0.8, 1]} for c in ("NORM", "MI")}
    fig = plots.roc_figure(roc, {"NORM": 0.9, "MI": 0.7})
    assert [tr.name for tr in fig.data[1:]] == ["NORM 0.90", "MI 0.70"]
    rel = {"NORM": {"mean_predicted": [0.1, None, 0.9], "observed": [0.2, None, 0.8], "count": [5, 0, 7]}}
    fig = plots.reliability_figure(rel)
    assert list(fig.data[1].x) == [0.1, 0.9] and list(fig.data[1].customdata) == [5, 7]
