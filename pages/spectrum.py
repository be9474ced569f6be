"""Spectrum: FFT magnitude per lead, exactly what the spectrum model reads."""
from __future__ import annotations

import streamlit as st

import ui
from ecgcore.plot import plots
from ecgcore.signal.record import LEADS

ui.ensure_frame()
st.title("Spectrum")
rec = ui.require_record()
if rec is None:
    st.stop()

c = st.columns([3, 1])
leads = c[0].multiselect("Leads", list(LEADS), default=["II", "V1", "V5"], key="spec_leads")
log = c[1].radio("Magnitude axis", ["linear", "log"], horizontal=True, key="spec_scale") == "log"
view = ui.view_of(ui.current_key(), "spectrum", rec)
if not leads:
    st.info("Pick at least one lead.")
    st.stop()
fig = plots.spectrum_figure(view.values[0], view.axes["frequency"], leads, log=log)
st.plotly_chart(fig, key="spectrum", config={"displaylogo": False})
st.caption("`ecgcore.signal.views.spectrum_view(model_input(record))`: the record at 100 Hz, 10 s, each lead "
           "mean-removed and Hann-windowed; magnitude scaled so a sine of A mV reads A. 0-45 Hz, "
           f"{view.values.shape[-1]} bins of {view.axes['frequency'][1]:.2f} Hz. This is the spectrum "
           "model's own input.")
