"""Waveform: the 12 leads on standard ECG paper (raw mV, 500 Hz when PTB-XL has it)."""
from __future__ import annotations

import streamlit as st

import ui
from ecgcore.plot import plots

LAYOUTS = {"3x4": "3 x 4 + lead II rhythm strip", "12x1": "12 leads x 10 s"}

ui.ensure_frame()
st.title("Waveform")
rec = ui.record_for_display()
if ui.require_record() is None:
    st.stop()

ui.model_summary(rec)
c = st.columns([2.2, 1, 1, 2])
layout = c[0].radio("Layout", list(LAYOUTS), format_func=LAYOUTS.get, horizontal=True, key="wave_layout")
speed = c[1].selectbox("Paper speed", [25.0, 50.0], format_func=lambda v: f"{v:g} mm/s", key="wave_speed")
gain = c[2].selectbox("Gain", [10.0, 5.0, 20.0], format_func=lambda v: f"{v:g} mm/mV", key="wave_gain")
start = 0.0
if rec.seconds > 10.0:
    start = c[3].slider("Start of the 10 s window (s)", 0.0, float(rec.seconds - 10.0), 0.0, 0.5)

boxes = plots.grid_boxes(speed, gain)
title = f"{rec.title}   {speed:g} mm/s   {gain:g} mm/mV   {rec.fs:g} Hz"
fig = plots.ecg_grid_figure(rec.signal, rec.fs, layout=layout, speed=speed, gain=gain, start=start,
                            title=title)
st.plotly_chart(fig, key="ecg_grid", config={"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]})
st.caption(f"**{speed:g} mm/s, {gain:g} mm/mV.** Small box {boxes['small_s']:.2f} s x {boxes['small_mv']:.2f} mV, "
           f"large box {boxes['large_s']:.1f} s x {boxes['large_mv']:.1f} mV (boxes drawn square). "
           f"The step at the start of each row is the 1 mV calibration pulse. Raw signal at "
           f"{rec.fs:g} Hz in mV, unfiltered; window {start:g}-{min(start + 10, rec.seconds):g} s "
           f"of {rec.seconds:.1f} s.")
for note in rec.notes:
    st.caption(f"• {note}")
