"""Scalogram: continuous-wavelet magnitude of one lead with its trace on top."""
from __future__ import annotations

import streamlit as st

import ui
from ecgcore.plot import plots
from ecgcore.signal.record import LEADS, MODEL_FS

ui.ensure_frame()
st.title("Scalogram")
rec = ui.require_record()
if rec is None:
    st.stop()

lead = st.columns([1, 3])[0].selectbox("Lead", list(LEADS), index=1, key="scalo_lead")
k = LEADS.index(lead)
view = ui.view_of(ui.current_key(), "scalogram", rec)
signal = ui.view_of(ui.current_key(), "signal", rec)
fig = plots.scalogram_figure(view.values[0, k], view.axes["frequency"], view.axes["time"],
                             signal.values[0, k], MODEL_FS, lead)
st.plotly_chart(fig, key="scalogram", config={"displaylogo": False})
f = view.axes["frequency"]
st.caption(f"`ecgcore.signal.views.scalogram_view(model_input(record))`: complex Morlet CWT magnitude, "
           f"{len(f)} scales log-spaced {f.max():g} to {f.min():g} Hz, every 4th sample (0.04 s). "
           f"The white line is lead {lead} (mV, right axis) as the model reads it (100 Hz). "
           "This is the scalogram model's own input.")
