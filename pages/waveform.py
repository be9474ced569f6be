"""Waveform: the 12 leads on standard ECG paper (raw mV, 500 Hz when PTB-XL has it), the
machine-read measurements, wave markers, calipers and the median beats."""
from __future__ import annotations

import pandas as pd
import streamlit as st

import ui
from ecgcore.plot import plots, reading
from ecgcore.signal.measure import AXIS_NAMES, axis_class

LAYOUTS = {"3x4": "3 x 4 + lead II rhythm strip", "12x1": "12 leads x 10 s"}
LABELS = {"hr_bpm": "Heart rate", "rr_ms": "RR", "pr_ms": "PR", "qrs_ms": "QRS", "qt_ms": "QT",
          "qtc_bazett_ms": "QTc (Bazett)", "qtc_fridericia_ms": "QTc (Fridericia)", "p_axis_deg": "P axis",
          "qrs_axis_deg": "QRS axis", "t_axis_deg": "T axis"}

ui.ensure_frame()
st.title("Waveform")
rec = ui.record_for_display()
if ui.require_record() is None:
    st.stop()

ui.model_summary(rec)
c = st.columns([1.8, 1.0, 1.15, 1.3, 1.0, 1.6])
layout = c[0].radio("Layout", list(LAYOUTS), format_func=LAYOUTS.get, horizontal=True, key="wave_layout")
speed = c[1].selectbox("Paper speed", [25.0, 50.0], format_func=lambda v: f"{v:g} mm/s", key="wave_speed")
gain = c[2].selectbox("Gain", [10.0, 5.0, 20.0], format_func=lambda v: f"{v:g} mm/mV", key="wave_gain")
markers = c[3].toggle("Wave markers", key="wave_markers", help="P onset/offset, QRS onset/offset (J), T end")
calipers = c[4].toggle("Calipers", key="calipers", help="click two points on a trace: Δt, rate, ΔV")
start = 0.0
if rec.seconds > 10.0:
    start = c[5].slider("Start of the 10 s window (s)", 0.0, float(rec.seconds - 10.0), 0.0, 0.5)

m = ui.measurements(rec)
boxes = plots.grid_boxes(speed, gain)
title = f"{rec.title}   {speed:g} mm/s   {gain:g} mm/mV   {rec.fs:g} Hz"
fig = plots.ecg_grid_figure(rec.signal, rec.fs, layout=layout, speed=speed, gain=gain, start=start,
                            title=title, pickable=calipers)
if markers and m.delineation is not None:
    for trace in reading.fiducial_traces(rec.signal, rec.fs, reading.fiducials_from(m.delineation),
                                         layout=layout, start=start):
        fig.add_trace(trace)
    fig.update_layout(showlegend=True, legend=dict(orientation="h", x=0, y=1.0, yanchor="bottom", xanchor="left"))
config = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
if calipers:
    ui.caliper_click(st.session_state.get("ecg_grid"), fig, start, layout)   # the click of this rerun
    if st.session_state.get(ui.CALIPER_KEY):
        fig.add_trace(reading.caliper_trace(st.session_state[ui.CALIPER_KEY]))
    st.plotly_chart(fig, key="ecg_grid", config=config, on_select="rerun", selection_mode="points")
else:
    st.plotly_chart(fig, key="ecg_grid", config=config)
st.caption(f"**{speed:g} mm/s, {gain:g} mm/mV.** Small box {boxes['small_s']:.2f} s x {boxes['small_mv']:.2f} mV, "
           f"large box {boxes['large_s']:.1f} s x {boxes['large_mv']:.1f} mV (boxes drawn square). "
           f"The step at the start of each row is the 1 mV calibration pulse. Raw signal at "
           f"{rec.fs:g} Hz in mV, unfiltered; window {start:g}-{min(start + 10, rec.seconds):g} s "
           f"of {rec.seconds:.1f} s.")
for note in rec.notes:
    st.caption(f"• {note}")
if markers and m.delineation is None:
    st.warning("Wave markers unavailable: " + m.values["hr_bpm"].reason)

if calipers:
    with st.container(key="caliper_box", border=True):
        points = st.session_state.get(ui.CALIPER_KEY, [])
        if len(points) < 2:
            st.markdown(f"**Calipers:** click a point on a trace ({len(points)} of 2 chosen).")
        else:
            a, b = points[-2:]
            r = reading.caliper_reading(a, b)
            bpm = f"{r['bpm']:.0f} bpm if one RR interval" if r["bpm"] else "no interval"
            dv = f"ΔV **{r['dv_mv']:+.2f} mV** ({a.lead})" if r["dv_mv"] is not None else r["note"]
            st.markdown(f"**Calipers:** {a.lead} at {a.t_s:.3f} s → {b.lead} at {b.t_s:.3f} s: "
                        f"Δt **{r['dt_ms']:.0f} ms** ({bpm}); {dv}.")
        if points and st.button("Clear calipers", key="caliper_clear"):
            ui.clear_calipers(points[-1])
            st.rerun()

st.subheader("Measurements")
rows = [{"measurement": LABELS[n], "value": (f"{v.value:.0f} {v.unit.replace('deg', '°')}" if v.ok else "not measurable"),
         "why not": "" if v.ok else v.reason} for n, v in m.values.items()]
st.dataframe(pd.DataFrame(rows), hide_index=True, key="measure_table",
             column_config={"why not": st.column_config.TextColumn(width="large")})
coded_axis = rec.meta.get("heart_axis") if rec.ecg_id is not None else None
if coded_axis:
    qrs_axis = m.values["qrs_axis_deg"]
    computed = (f"{axis_class(qrs_axis.value) or 'unclassed'} ({qrs_axis.value:.0f}°)" if qrs_axis.ok
                else "not measurable")
    st.markdown(f"**QRS axis class:** computed {computed}; coded by PTB-XL (`heart_axis`) "
                f"{coded_axis} ({AXIS_NAMES.get(coded_axis, 'a class PTB-XL does not define')}).")
st_row = {lead: (f"{v.value:+.2f}" if v.ok else "n/m") for lead, v in m.st_mv.items()}
st.markdown("**ST level at J + 60 ms (mV, vs the PR segment):** " +
            ", ".join(f"{lead} {v}" for lead, v in st_row.items()))
st.caption(f"Machine reading of the {rec.fs:g} Hz signal ({'; '.join(m.notes) or 'no median beat'}); "
           "intervals from the median beat with global (all-lead) QRS onset/offset and T end; axis from "
           "the net QRS deflection (P, T: net area) in I and aVF. A clinician confirms every number; see docs/measurements.md for "
           "how these agree with the cardiologists' codes in PTB-XL and with LUDB's experts.")

if m.median is not None:
    st.subheader("Median beats")
    st.plotly_chart(reading.median_beat_figure(m.median, speed=50.0, gain=gain,
                                               title=f"median beat per lead, 50 mm/s, {gain:g} mm/mV"),
                    key="median_beats", config={"displaylogo": False})
    st.caption(f"Median of {m.median.n_beats} of {m.median.n_total} beats aligned on R, band-passed "
               "0.5-40 Hz as for delineation; dashed: QRS onset, dotted: QRS offset (J) and T end (all "
               "leads), blue ticks: P onset/offset of each lead.")
else:
    st.info("No median beat: " + (m.values["hr_bpm"].reason or "no beat fits") + ".")
