"""Plotly figures from arrays: the ECG paper grid, spectrum, scalogram, saliency bands, model cards.

No Streamlit here: every function takes numpy arrays and returns a `go.Figure`. The ECG grid
follows the paper standard: small boxes 1 mm, large boxes 5 mm, drawn SQUARE (the y axis is
anchored to x with scaleratio = gain / speed), so at 25 mm/s and 10 mm/mV a small box is
0.04 s x 0.1 mV and a large one 0.2 s x 0.5 mV. Traces are SVG `go.Scatter` with x0/dx
(never Scattergl: many WebGL contexts leave charts blank).
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..signal.record import CLASSES, LEADS

MINOR, MAJOR, INK, CALIPER = "#f7cdd3", "#e58e9b", "#1a1a1a", "#d81b60"
SALIENCY_SCALE = "RdBu_r"               # red: evidence for the class, blue: against
LAYOUT_3X4 = ((0, 1, 2), (3, 4, 5), (6, 7, 8), (9, 10, 11))   # columns of lead indices
RHYTHM_LEAD = 1                         # lead II
PULSE_X = (-0.36, -0.30, -0.30, -0.10, -0.10, -0.04)  # 1 mV x 0.2 s calibration pulse, before t=0
PULSE_Y = (0.0, 0.0, 1.0, 1.0, 0.0, 0.0)
X_LEFT = -0.4                           # s of margin for the pulse
FONT = dict(family="Inter, Helvetica, Arial, sans-serif", size=12, color="#222")
CLASS_COLORS = {"NORM": "#2e7d32", "MI": "#c62828", "STTC": "#ef6c00", "CD": "#6a1b9a", "HYP": "#1565c0"}
SMALL_LEGEND = dict(orientation="h", x=0, y=-0.3, yanchor="top", font=dict(size=11), itemwidth=30)


def grid_boxes(speed: float, gain: float) -> dict[str, float]:
    """Box sizes in data units: small/large box in s and mV for a paper speed (mm/s) and gain (mm/mV)."""
    if speed <= 0 or gain <= 0:
        raise ValueError(f"speed and gain must be positive, got speed={speed} mm/s, gain={gain} mm/mV")
    return {"small_s": 1.0 / speed, "large_s": 5.0 / speed, "small_mv": 1.0 / gain, "large_mv": 5.0 / gain}


def _paper_axes(fig: go.Figure, x_range: tuple[float, float], y_range: tuple[float, float],
                speed: float, gain: float) -> None:
    """ECG paper on the single x/y pair: pink grid, square boxes, no tick labels."""
    b = grid_boxes(speed, gain)
    common = dict(showticklabels=False, zeroline=False, showline=False, ticks="", tick0=0.0,
                  showgrid=True, gridcolor=MAJOR, gridwidth=1, constrain="domain", fixedrange=False)
    fig.update_xaxes(range=list(x_range), dtick=b["large_s"],
                     minor=dict(dtick=b["small_s"], showgrid=True, gridcolor=MINOR, gridwidth=0.5), **common)
    fig.update_yaxes(range=list(y_range), dtick=b["large_mv"], scaleanchor="x", scaleratio=gain / speed,
                     minor=dict(dtick=b["small_mv"], showgrid=True, gridcolor=MINOR, gridwidth=0.5), **common)


def _paper_height(x_span: float, y_span: float, speed: float, gain: float, width_px: int,
                  margin_px: int) -> int:
    """Figure height that keeps boxes square at `width_px` wide (plotly then trims the domain)."""
    px_per_mm = (width_px - 40) / (x_span * speed)
    return int(y_span * gain * px_per_mm + margin_px)


def _trace(y: np.ndarray, t0: float, fs: float, offset: float, lead: str, pickable: bool = False) -> go.Scatter:
    """One lead's segment. pickable: invisible markers on every sample, so a click selects a sample
    (plotly selects markers, not lines); the selected one is drawn as a caliper dot."""
    extra = dict(mode="lines+markers", marker=dict(size=6, opacity=0),
                 selected=dict(marker=dict(opacity=1, size=9, color=CALIPER)),
                 unselected=dict(marker=dict(opacity=0))) if pickable else dict(mode="lines")
    return go.Scatter(x0=t0, dx=1.0 / fs, y=np.asarray(y, np.float32) + np.float32(offset),
                      line=dict(color=INK, width=1.1), name=lead, showlegend=False,
                      meta={"lead": lead.split()[0], "offset": float(offset)},      # calipers read it back
                      hovertemplate=f"{lead}  %{{x:.3f}} s<extra></extra>", **extra)


def _pulses(offsets: list[float]) -> go.Scatter:
    xs, ys = [], []
    for off in offsets:
        xs += list(PULSE_X) + [None]
        ys += [off + v for v in PULSE_Y] + [None]
    return go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=INK, width=1.1), name="1 mV",
                      showlegend=False, hoverinfo="skip")


def ecg_grid_figure(signal: np.ndarray, fs: float, *, layout: str = "3x4", speed: float = 25.0,
                    gain: float = 10.0, start: float = 0.0, spacing: float = 3.0, title: str = "",
                    saliency: np.ndarray | None = None, width_px: int = 1150, pickable: bool = False) -> go.Figure:
    """The 12-lead ECG on paper, one figure, one x/y pair, raw mV.

    signal: (T, 12) mV at `fs`; shows the 10 s from `start`. layout '3x4': I,II,III | aVR,aVL,aVF |
    V1-V3 | V4-V6, 2.5 s each, plus a 10 s lead II rhythm strip; '12x1': each lead for 10 s.
    saliency: (12, W) over those 10 s, drawn as a colour band behind each row ('12x1' only).
    pickable: every sample can be clicked (selected), for calipers.
    """
    if layout not in ("3x4", "12x1"):
        raise ValueError(f"layout must be '3x4' or '12x1', got {layout!r}")
    sig = np.asarray(signal, np.float32)
    if sig.ndim != 2 or sig.shape[1] != len(LEADS):
        raise ValueError(f"signal must be (T, 12) mV, got {sig.shape}")
    i0 = int(round(start * fs))
    n = int(round(10.0 * fs))
    sig = sig[i0:i0 + n]
    fig = go.Figure()
    offsets: list[float] = []
    labels: list[tuple[float, float, str]] = []
    if layout == "3x4":
        seg = int(round(2.5 * fs))
        for c, column in enumerate(LAYOUT_3X4):
            for r, lead in enumerate(column):
                part = sig[c * seg:(c + 1) * seg, lead]
                if len(part):
                    fig.add_trace(_trace(part, c * 2.5, fs, -r * spacing, LEADS[lead], pickable))
                labels.append((c * 2.5, -r * spacing, LEADS[lead]))
        fig.add_trace(_trace(sig[:, RHYTHM_LEAD], 0.0, fs, -3 * spacing, "II rhythm", pickable))
        labels.append((0.0, -3 * spacing, "II"))
        offsets = [-r * spacing for r in range(4)]
        ticks_x, ticks_y = [], []
        for c in (1, 2, 3):                       # short bars where the columns change
            for r in range(3):
                ticks_x += [c * 2.5, c * 2.5, None]
                ticks_y += [-r * spacing - 0.4, -r * spacing + 0.4, None]
        fig.add_trace(go.Scatter(x=ticks_x, y=ticks_y, mode="lines", line=dict(color=INK, width=1.1),
                                 showlegend=False, hoverinfo="skip"))
    else:
        for k, lead in enumerate(LEADS):
            fig.add_trace(_trace(sig[:, k], 0.0, fs, -k * spacing, lead, pickable))
            labels.append((0.0, -k * spacing, lead))
        offsets = [-k * spacing for k in range(len(LEADS))]
    if saliency is not None:
        if layout != "12x1":
            raise ValueError("saliency bands are drawn on the '12x1' layout only")
        fig.add_trace(saliency_band(np.asarray(saliency), spacing))
        fig.data = (fig.data[-1],) + fig.data[:-1]   # band behind the traces
    fig.add_trace(_pulses(offsets))
    for x, y, text in labels:
        fig.add_annotation(x=x + 0.04, y=y + 0.42 * spacing, text=f"<b>{text}</b>", showarrow=False,
                           xanchor="left", yanchor="top", font=dict(size=13, color=INK))
    y_range = (offsets[-1] - spacing / 2, spacing / 2)
    x_range = (X_LEFT, 10.0)
    _paper_axes(fig, x_range, y_range, speed, gain)
    height = _paper_height(x_range[1] - x_range[0], y_range[1] - y_range[0], speed, gain, width_px, 50)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), plot_bgcolor="white",
                      paper_bgcolor="white", font=FONT, hovermode="closest",
                      title=dict(text=title or f"{speed:g} mm/s   {gain:g} mm/mV   {fs:g} Hz",
                                 x=0.01, font=dict(size=13)))
    return fig


def saliency_band(saliency: np.ndarray, spacing: float, seconds: float = 10.0) -> go.Heatmap:
    """One heatmap whose 12 rows sit behind the 12 rows of a '12x1' grid. saliency: (12, W)."""
    if saliency.ndim != 2 or saliency.shape[0] != len(LEADS):
        raise ValueError(f"saliency must be (12, W), got {saliency.shape}")
    n = len(LEADS)
    edges = [-(n - 1) * spacing - spacing / 2 + k * spacing for k in range(n + 1)]   # ascending
    dx = seconds / saliency.shape[1]
    z = relative(saliency)[::-1]
    return go.Heatmap(z=z, x0=dx / 2, dx=dx, y=edges, zmin=-1, zmax=1, zmid=0,
                      colorscale=SALIENCY_SCALE, opacity=0.55, showscale=True, hoverinfo="skip",
                      colorbar=dict(title=dict(text=RELATIVE, side="right"), thickness=10, len=0.5))


RELATIVE = "attribution / max |attribution|"


def relative(saliency: np.ndarray) -> np.ndarray:
    """Saliency divided by its largest magnitude: -1..1, sign kept (all zeros stay zeros)."""
    a = np.asarray(saliency, np.float32)
    m = float(np.abs(a).max())
    return a / m if m > 0 else a


def spectrum_figure(values: np.ndarray, freqs: np.ndarray, leads: list[str], *, log: bool = False,
                    saliency: np.ndarray | None = None) -> go.Figure:
    """Magnitude spectra of the chosen leads. values (12, F) mV, freqs (F,) Hz; saliency (12, F)."""
    picks = [LEADS.index(name) for name in leads]
    rows = 2 if saliency is not None else 1
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        row_heights=[0.6, 0.4] if rows == 2 else None)
    df = float(freqs[1] - freqs[0])
    for k in picks:
        fig.add_trace(go.Scatter(x0=float(freqs[0]), dx=df, y=values[k], mode="lines", name=LEADS[k],
                                 line=dict(width=1.4),
                                 hovertemplate=f"{LEADS[k]} %{{x:.1f}} Hz: %{{y:.4f}} mV<extra></extra>"),
                      row=1, col=1)
    fig.update_yaxes(title_text="magnitude (mV)", type="log" if log else "linear", row=1, col=1)
    if saliency is not None:
        fig.add_trace(go.Heatmap(z=relative(saliency), x0=float(freqs[0]), dx=df, y=list(LEADS), zmid=0,
                                 zmin=-1, zmax=1, colorscale=SALIENCY_SCALE,
                                 colorbar=dict(title=dict(text=RELATIVE, side="right"), thickness=10,
                                               len=0.4, y=0.2),
                                 hovertemplate="%{y} %{x:.1f} Hz: %{z:.3g}<extra></extra>"), row=2, col=1)
        fig.update_yaxes(autorange="reversed", row=2, col=1)
    fig.update_xaxes(title_text="frequency (Hz)", row=rows, col=1)
    fig.update_layout(height=420 if rows == 1 else 640, margin=dict(l=60, r=20, t=30, b=50),
                      legend=dict(orientation="h", y=1.08), font=FONT, plot_bgcolor="white")
    fig.update_xaxes(gridcolor="#eee")
    fig.update_yaxes(gridcolor="#eee")
    return fig


def scalogram_figure(values: np.ndarray, freqs: np.ndarray, times: np.ndarray, trace: np.ndarray,
                     trace_fs: float, lead: str, saliency: np.ndarray | None = None) -> go.Figure:
    """Wavelet magnitude (S, W) of one lead, trace (T,) mV on top; saliency (S, W) as a second panel."""
    panels = [("|CWT| (mV)", values, "Viridis", None)]
    if saliency is not None:
        panels.append((RELATIVE, relative(saliency), SALIENCY_SCALE, 1.0))
    order = np.argsort(freqs)                        # plotly wants ascending y
    fig = make_subplots(rows=len(panels), cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        specs=[[{"secondary_y": True}]] * len(panels))
    dt = float(times[1] - times[0])
    for r, (name, z, scale, zmax) in enumerate(panels, start=1):
        extra = dict(zmid=0, zmin=-zmax, zmax=zmax) if zmax else {}
        fig.add_trace(go.Heatmap(z=z[order], x0=float(times[0]), dx=dt, y=freqs[order], colorscale=scale,
                                 colorbar=dict(title=dict(text=name, side="right"), thickness=10, x=1.08,
                                               len=0.9 / len(panels), y=1 - (r - 0.5) / len(panels)),
                                 hovertemplate="%{x:.2f} s, %{y:.1f} Hz: %{z:.3g}<extra></extra>", **extra),
                      row=r, col=1, secondary_y=False)
        fig.add_trace(go.Scatter(x0=0.0, dx=1.0 / trace_fs, y=trace, mode="lines", name=lead,
                                 line=dict(color="white", width=1.2), showlegend=False,
                                 hovertemplate=f"{lead} %{{x:.2f}} s: %{{y:.2f}} mV<extra></extra>"),
                      row=r, col=1, secondary_y=True)
        fig.update_yaxes(type="log", title_text="frequency (Hz)", tickvals=[0.5, 1, 2, 5, 10, 20, 45],
                         row=r, col=1, secondary_y=False)
        fig.update_yaxes(title_text=f"{lead} (mV)", showgrid=False, tickmode="auto", nticks=6, zeroline=False,
                         row=r, col=1, secondary_y=True)
    fig.update_xaxes(title_text="time (s)", row=len(panels), col=1)
    fig.update_layout(height=380 * len(panels), margin=dict(l=60, r=20, t=30, b=50), font=FONT)
    return fig


def roc_figure(roc: dict[str, dict], aucs: dict[str, float], title: str = "") -> go.Figure:
    """ROC curves per class from {class: {'fpr': [...], 'tpr': [...]}}, AUCs in the legend."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(color="#bbb", dash="dot"),
                             showlegend=False, hoverinfo="skip"))
    for cls in CLASSES:
        if cls in roc:
            fig.add_trace(go.Scatter(x=roc[cls]["fpr"], y=roc[cls]["tpr"], mode="lines",
                                     name=f"{cls} {aucs.get(cls, float('nan')):.2f}",
                                     line=dict(width=1.6, color=CLASS_COLORS[cls])))
    fig.update_layout(title=dict(text=title, font=dict(size=13)), height=380, font=FONT,
                      margin=dict(l=50, r=10, t=40, b=100), plot_bgcolor="white", legend=SMALL_LEGEND)
    fig.update_xaxes(title_text="1 - specificity", range=[0, 1], gridcolor="#eee", constrain="domain")
    fig.update_yaxes(title_text="sensitivity", range=[0, 1], gridcolor="#eee", constrain="domain")
    return fig


def reliability_figure(reliability: dict[str, dict], title: str = "") -> go.Figure:
    """Reliability diagram: observed rate vs mean predicted probability per bin, per class."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(color="#bbb", dash="dot"),
                             showlegend=False, hoverinfo="skip"))
    for cls in CLASSES:
        rel = reliability.get(cls)
        if not rel:
            continue
        pts = [(p, o, c) for p, o, c in zip(rel["mean_predicted"], rel["observed"], rel["count"]) if c]
        fig.add_trace(go.Scatter(x=[p for p, _, _ in pts], y=[o for _, o, _ in pts], mode="lines+markers",
                                 name=cls, customdata=[c for _, _, c in pts], line=dict(color=CLASS_COLORS[cls]),
                                 hovertemplate=f"{cls}: predicted %{{x:.2f}}, observed %{{y:.2f}} "
                                               "(%{customdata} records)<extra></extra>"))
    fig.update_layout(title=dict(text=title, font=dict(size=13)), height=380, font=FONT,
                      margin=dict(l=50, r=10, t=40, b=100), plot_bgcolor="white", legend=SMALL_LEGEND)
    fig.update_xaxes(title_text="mean predicted probability", range=[0, 1], gridcolor="#eee")
    fig.update_yaxes(title_text="observed rate", range=[0, 1], gridcolor="#eee")
    return fig


def deletion_figure(fraction: np.ndarray, salient: np.ndarray, random: np.ndarray) -> go.Figure:
    """Deletion curves: probability as segments are switched off, most salient first vs random."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=fraction, y=salient, mode="lines", name="salient first",
                             line=dict(color="#b3261e", width=2)))
    fig.add_trace(go.Scatter(x=fraction, y=random, mode="lines", name="random order",
                             line=dict(color="#888", width=2, dash="dash")))
    fig.update_layout(height=260, margin=dict(l=45, r=10, t=10, b=40), font=FONT, plot_bgcolor="white",
                      legend=dict(orientation="h", y=-0.35, x=0), title=None)
    fig.update_xaxes(title_text="fraction removed", range=[0, 1], gridcolor="#eee")
    fig.update_yaxes(title_text="probability", gridcolor="#eee")
    return fig
