"""Upload: an ECG of one's own (WFDB .hea + .dat/.mat, DICOM, HL7 aECG, EDF, CSV, or .npy + rate).

The reading and every refusal come from ecgcore.io.readers; an accepted upload becomes the current
record for every page (without cardiologists' labels) and lives in this session only.
"""
from __future__ import annotations

import streamlit as st

import ui
from ecgcore.signal.record import MODEL_SECONDS, model_input_notes
from ecgcore.io.snomed import dx_text

ui.ensure_frame()
st.title("Upload an ECG")
readers = ui.require_module("ecgcore.io.readers", "Uploads")

st.markdown(
    "Accepted formats (the file stays in this browser session only; nothing is stored on the server):\n"
    "- **WFDB**: the `.hea` with the signal files it names, selected together: `rec.hea` + `rec.dat` "
    "(PTB-XL, PhysioNet), `E07500.hea` + `E07500.mat` (PhysioNet/CinC Challenge), `s0010_re.hea` + "
    "`s0010_re.dat` (+ `.xyz`: extra signals are set aside). The header gives the rate.\n"
    "- **DICOM ECG** `.dcm`: a 12-lead ECG waveform file from a cart or PACS, e.g. `ecg.dcm` (the "
    "rhythm group is read at its own rate; median beats are skipped).\n"
    "- **HL7 aECG** `.xml`: the FDA annotated ECG, e.g. `study_0001.xml` (leads MDC_ECG_LEAD_I ... V6; "
    "8-lead files get III, aVR, aVL, aVF derived).\n"
    "- **EDF / EDF+** `.edf`: the 12 leads labelled `I` ... `V6` or `ECG I` ..., in uV/mV, e.g. "
    "`holter_10s.edf` (other signals are set aside).\n"
    "- **CSV**: a header row naming the 12 leads (`I,II,...,V6`, `Lead V1`, `V1 (mV)`), one row per "
    "sample; `,` `;` or tab, decimal commas, lines of metadata above the header row. The rate comes "
    "from a time column or a `Sampling rate: 500` line; otherwise enter it below.\n"
    "- **NumPy `.npy`**: samples x 12 leads in mV, in the order I, II, III, aVR, aVL, aVF, V1-V6; "
    "enter the rate below.\n\n"
    "Recordings of 5-60 s are accepted; the models read 10 s: for a longer one, choose the window "
    "below. GE MUSE XML and SCP-ECG are not read yet: export DICOM, aECG or EDF "
    "from the cart software instead.")


def _read() -> None:
    """Read the chosen files (on every change of files or rate); refusals are kept as text."""
    files = st.session_state.get("upload_files") or []
    st.session_state["upload_error"] = None
    if not files:
        return
    blobs = [(f.name, f.getvalue()) for f in files]
    needs_rate = all(n.lower().endswith((".csv", ".npy")) for n, _ in blobs)
    try:   # WFDB, DICOM, aECG and EDF carry their own rate: the rate box is for CSV and .npy
        record = readers.read_upload(blobs, st.session_state.get("upload_fs") if needs_rate else None)
    except readers.UploadError as err:
        st.session_state["upload_error"] = str(err)
    else:
        ui.accept_upload(record)


st.columns([1, 2])[0].number_input("Sampling rate (Hz), for CSV and .npy", min_value=1.0, max_value=10000.0, value=None,
                step=50.0, placeholder="e.g. 500", key="upload_fs", on_change=_read)
st.file_uploader("ECG file(s)", type=list(readers.UPLOAD_TYPES), accept_multiple_files=True,
                 help=f"Up to {readers.MAX_UPLOAD_MB} MB.", key="upload_files", on_change=_read)
if st.session_state.get("upload_files") and st.session_state.get("upload_error"):
    st.error(f"Not accepted: {st.session_state['upload_error']}", icon=":material/block:")

rec = st.session_state.get(ui.UPLOAD_KEY)
full = st.session_state.get(ui.UPLOAD_FULL_KEY) or rec
if rec is not None:
    cur = ui.current()
    opened = cur and cur["kind"] == "upload"
    refused = bool(st.session_state.get("upload_files") and st.session_state.get("upload_error"))
    (st.info if refused else st.success)(
        f"{'Still open from before' if refused else 'Accepted'} **{rec.title}** "
        f"({rec.meta.get('format', 'upload')}): {full.fs:g} Hz, {full.seconds:.1f} s, 12 leads in mV."
        + ("" if opened else " (Another record is open now; reopen the upload below.)"))
    if full.seconds > MODEL_SECONDS:
        st.slider("Start of the 10 s the models read (s)", 0.0, float(full.seconds - MODEL_SECONDS),
                  step=0.5, key=ui.UPLOAD_WINDOW_KEY, on_change=ui.change_upload_window,
                  help="Predictions, Explain and the other pages use this window of the recording.")
        a, b = rec.meta.get("window_s", (0.0, MODEL_SECONDS))
        st.caption(f"The models see **{a:g}-{b:g} s** of this {full.seconds:.1f} s recording.")
    for warning in rec.warnings:
        st.warning(warning, icon=":material/warning:")
    about = [f"{k}: {rec.meta[k]}" for k in ("age", "sex") if k in rec.meta]
    if rec.meta.get("dx"):
        about.append(f"diagnoses in the header (SNOMED CT): {dx_text(rec.meta['dx'])}")
    if about:
        st.markdown("**From the file:** " + "; ".join(about))
    for note in model_input_notes(rec):
        st.caption(f"• {note}")
    cols = st.columns(4)
    if not opened:
        cols[0].button("Open the upload", on_click=ui.set_current_upload, args=(rec,))
    cols[1].page_link("pages/waveform.py", label="Waveform", icon=":material/monitor_heart:")
    cols[2].page_link("pages/predictions.py", label="Predictions", icon=":material/fact_check:")
    cols[3].page_link("pages/explain.py", label="Explain", icon=":material/insights:")
