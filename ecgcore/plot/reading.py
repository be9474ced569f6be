"""Reading an ECG on the grid: fiducial markers, the median-beat panel and caliper readings.

Pure: arrays and ecgcore.signal results in, plotly figures or plain values out (no Streamlit).
Markers use the same layout rules as `plots.ecg_grid_figure` (3x4 columns of 2.5 s, or 12x1), so
they land on the traces they belong to.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from ..signal.record import LEADS
from .plots import CALIPER, FONT, INK, LAYOUT_3X4, RHYTHM_LEAD, _paper_axes, _paper_height

WAVE_COLORS = {"P": "#1565c0", "QRS": "#c62828", "T": "#2e7d32"}
MARKS = (("P", "p_on", "P onset"), ("P", "p_off", "P offset"), ("QRS", "qrs_on", "QRS onset"),
         ("QRS", "qrs_off", "QRS offset (J)"), ("T", "t_off", "T end"))


def _segments(layout: str, n: int, fs: float) -> list[tuple[int, int, int, float, float]]:
    """Where each lead is drawn: (lead, first sample, stop sample, x of the first sample, y offset)."""
    spacing = 3.0
    if layout == "12x1":
        return [(k, 0, n, 0.0, -k * spacing) for k in range(len(LEADS))]
    seg = int(round(2.5 * fs))
    out = [(lead, c * seg, min((c + 1) * seg, n), c * 2.5, -r * spacing)
           for c, column in enumerate(LAYOUT_3X4) for r, lead in enumerate(column)]
    return out + [(RHYTHM_LEAD, 0, n, 0.0, -3 * spacing)]


def fiducial_traces(signal: np.ndarray, fs: float, fiducials: dict[str, np.ndarray], *,
                    layout: str = "3x4", start: float = 0.0) -> list[go.Scatter]:
    """Markers for P on/off, QRS on/off and T end on every drawn lead.

    signal: (T, 12) mV as drawn (the full record; the 10 s from `start` are shown);
    fiducials: name in MARKS -> (B, 12) sample indices of the full record (NaN = not found).
    Global QRS/T fiducials may be passed as (B, 12) with the same value in every column.
    """
    i0, n = int(round(start * fs)), int(round(10.0 * fs))
    shown = np.asarray(signal, np.float32)[i0:i0 + n]
    traces = []
    for wave, name, label in MARKS:
        pts = np.asarray(fiducials.get(name, np.empty((0, 12))), float)
        xs, ys = [], []
        for lead, a, b, x0, off in _segments(layout, len(shown), fs):
            idx = pts[:, lead] - i0 if pts.size else np.empty(0)
            idx = np.round(idx[np.isfinite(idx)]).astype(int)
            idx = idx[(idx >= a) & (idx < b)]
            xs += list(x0 + (idx - a) / fs)
            ys += list(shown[idx, lead] + off)
        traces.append(go.Scatter(x=xs, y=ys, mode="markers", name=label, legendgroup=wave,
                                 marker=dict(symbol="line-ns-open", size=11, color=WAVE_COLORS[wave],
                                             line=dict(width=2, color=WAVE_COLORS[wave])),
                                 hovertemplate=f"{label} %{{x:.3f}} s<extra></extra>"))
    return traces


def fiducials_from(delineation) -> dict[str, np.ndarray]:
    """(B, 12) arrays for MARKS from an `ecgcore.signal.delineate.Delineation`: P per lead, QRS
    onset/offset and T end global per beat (as ECG machines mark them)."""
    b = delineation.n_beats
    glob = {n: np.repeat(np.asarray(getattr(delineation, n), float)[:, None], 12, axis=1)
            for n in ("qrs_on", "qrs_off", "t_off")}
    return {"p_on": delineation.lead("p_on"), "p_off": delineation.lead("p_off"),
            **({k: v.reshape(b, 12) for k, v in glob.items()})}


def median_beat_figure(median, *, speed: float = 25.0, gain: float = 10.0, width_px: int = 1150,
                       title: str = "") -> go.Figure:
    """The 12 median beats on ECG paper (3 rows x 4 columns, leads as in the 3x4 layout) with the
    global QRS onset/offset and T end as dashed lines and each lead's P onset/offset as ticks.

    median: `ecgcore.signal.median_beat.MedianBeats` (signal (L, 12) mV at median.fs).
    """
    sig, fs = np.asarray(median.signal, np.float32), float(median.fs)
    span, gap, spacing = sig.shape[0] / fs, 0.15, 3.0
    fig = go.Figure()
    f = median.fiducials
    lines: dict[str, tuple[list, list]] = {}
    for c, column in enumerate(LAYOUT_3X4):
        x0 = c * (span + gap)
        for r, lead in enumerate(column):
            off = -r * spacing
            fig.add_trace(go.Scatter(x0=x0, dx=1.0 / fs, y=sig[:, lead] + off, mode="lines", showlegend=False,
                                     line=dict(color=INK, width=1.3), name=LEADS[lead],
                                     hovertemplate=f"{LEADS[lead]} %{{x:.3f}} s<extra></extra>"))
            fig.add_annotation(x=x0 + 0.02, y=off + 0.42 * spacing, text=f"<b>{LEADS[lead]}</b>", showarrow=False,
                               xanchor="left", yanchor="top", font=dict(size=12, color=INK))
            for wave, key, label in (("QRS", "g_qrs_on", "QRS onset"), ("QRS", "g_qrs_off", "QRS offset (J)"),
                                     ("T", "g_t_off", "T end"), ("P", "p_on", "P onset"), ("P", "p_off", "P offset")):
                v = f.get(key)
                v = float(v[lead]) if isinstance(v, np.ndarray) else (None if v is None else float(v))
                if v is None or not np.isfinite(v):
                    continue
                xs, ys = lines.setdefault(label, ([], []))
                xs += [x0 + v / fs, x0 + v / fs, None]
                ys += [off - 0.45 * spacing, off + 0.3 * spacing, None]
    for label, (xs, ys) in lines.items():
        wave = label.split()[0]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=label, hoverinfo="skip",
                                 line=dict(color=WAVE_COLORS.get(wave, "#555"), width=1.4,
                                           dash="dash" if "onset" in label else "dot")))
    x_range, y_range = (-0.05, 4 * span + 3 * gap), (-2 * spacing - spacing / 2, spacing / 2)
    _paper_axes(fig, x_range, y_range, speed, gain)
    height = _paper_height(x_range[1] - x_range[0], y_range[1] - y_range[0], speed, gain, width_px, 110)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=60), plot_bgcolor="white",
                      paper_bgcolor="white", font=FONT, hovermode="closest",
                      legend=dict(orientation="h", x=0, y=-0.02, yanchor="top"),
                      title=dict(text=title, x=0.01, font=dict(size=13)))
    return fig


@dataclass(frozen=True)
class CaliperPoint:
    """A point clicked on the grid: time in s from the record start, lead, value in mV, and where
    it sits on the figure (x, y in figure units) to draw it."""
    t_s: float
    lead: str
    mv: float
    fig_xy: tuple[float, float] = (0.0, 0.0)


def caliper_point(figure_trace: dict, x: float, y: float, start: float = 0.0) -> CaliperPoint | None:
    """Turn a clicked point (its trace's `meta` as set by `plots._trace`, and x, y in figure units)
    into a CaliperPoint; None for things that are not ECG traces (markers, pulses)."""
    meta = (figure_trace or {}).get("meta") or {}
    if "lead" not in meta:
        return None
    return CaliperPoint(float(x) + start, str(meta["lead"]), float(y) - float(meta["offset"]), (float(x), float(y)))


def caliper_trace(points: list[CaliperPoint]) -> go.Scatter:
    """The chosen caliper points (and the span between two) drawn on the grid."""
    xs = [p.fig_xy[0] for p in points]
    ys = [p.fig_xy[1] for p in points]
    return go.Scatter(x=xs, y=ys, mode="markers+lines", name="calipers", showlegend=False, hoverinfo="skip",
                      marker=dict(size=10, color=CALIPER, symbol="diamond"), line=dict(color=CALIPER, dash="dot"))


def caliper_reading(a: CaliperPoint, b: CaliperPoint) -> dict:
    """Δt in ms, the rate it implies if it is one RR interval (bpm), ΔV in mV (same lead only)."""
    dt_ms = abs(b.t_s - a.t_s) * 1000.0
    same = a.lead == b.lead
    return {"dt_ms": dt_ms, "bpm": (60000.0 / dt_ms) if dt_ms > 0 else None,
            "dv_mv": (b.mv - a.mv) if same else None,
            "note": "" if same else f"points on different leads ({a.lead}, {b.lead}): ΔV not shown"}
