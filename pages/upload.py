"""Upload: an ECG of one's own (WFDB .hea + .dat pair, CSV + sampling rate, or .npy).

The reading and every refusal come from ecgcore.readers; an accepted upload becomes the current
record for every page (without cardiologists' labels) and lives in this session only.
"""
from __future__ import annotations

import streamlit as st

import ui
from ecgcore.record import model_input_notes

ui.ensure_frame()
st.title("Upload an ECG")
readers = ui.require_module("ecgcore.readers", "Uploads")

st.markdown(
    "Formats: a **WFDB pair** (`.hea` + `.dat`, select both files), a **CSV** (one column per lead, "
    "header with lead names, values in mV) or a **NumPy `.npy`** array (samples x 12 leads, mV). "
    "CSV and `.npy` carry no sampling rate: enter it below. The file stays in this browser session "
    "only; nothing is stored on the server.")


def _read() -> None:
    """Read the chosen files (on every change of files or rate); refusals are kept as text."""
    files = st.session_state.get("upload_files") or []
    st.session_state["upload_error"] = None
    if not files:
        return
    blobs = [(f.name, f.getvalue()) for f in files]
    wfdb_pair = all(n.lower().endswith((".hea", ".dat")) for n, _ in blobs)
    try:   # a WFDB header carries its own rate: the rate box is for CSV and .npy
        record = readers.read_upload(blobs, None if wfdb_pair else st.session_state.get("upload_fs"))
    except readers.UploadError as err:
        st.session_state["upload_error"] = str(err)
    else:
        ui.set_current_upload(record)


st.columns([1, 2])[0].number_input("Sampling rate (Hz), for CSV and .npy", min_value=1.0, max_value=10000.0, value=None,
                step=50.0, placeholder="e.g. 500", key="upload_fs", on_change=_read)
st.file_uploader("ECG file(s)", type=["hea", "dat", "csv", "npy"], accept_multiple_files=True,
                 help=f"Up to {readers.MAX_UPLOAD_MB} MB.", key="upload_files", on_change=_read)
if st.session_state.get("upload_files") and st.session_state.get("upload_error"):
    st.error(f"Not accepted: {st.session_state['upload_error']}", icon=":material/block:")

rec = st.session_state.get(ui.UPLOAD_KEY)
if rec is not None:
    cur = ui.current()
    opened = cur and cur["kind"] == "upload"
    refused = bool(st.session_state.get("upload_files") and st.session_state.get("upload_error"))
    (st.info if refused else st.success)(
        f"{'Still open from before' if refused else 'Accepted'} **{rec.title}**: {rec.fs:g} Hz, "
        f"{rec.seconds:.1f} s, 12 leads in mV." + ("" if opened else " (Another record is open now; "
                                                    "reopen the upload below.)"))
    for note in model_input_notes(rec):
        st.caption(f"• {note}")
    cols = st.columns(4)
    if not opened:
        cols[0].button("Open the upload", on_click=ui.set_current_upload, args=(rec,))
    cols[1].page_link("pages/waveform.py", label="Waveform", icon=":material/monitor_heart:")
    cols[2].page_link("pages/predictions.py", label="Predictions", icon=":material/fact_check:")
    cols[3].page_link("pages/explain.py", label="Explain", icon=":material/insights:")
