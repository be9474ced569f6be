"""ECG dashboard: the frame around every page (streamlit run app.py).

Page config, the research-demo statement, the shared sidebar (current record, data status)
and st.navigation over pages/. Pages render what ecgcore computes.
"""
from __future__ import annotations

import streamlit as st

import ui

st.set_page_config(page_title="ECG dashboard (research demo)", page_icon="🫀", layout="wide",
                   initial_sidebar_state="expanded")

DISCLAIMER = ("Research demo, not for clinical diagnosis. Models trained on one public dataset (PTB-XL, "
              "one German source population, 1989-1996); every output needs a clinician's reading of the ECG.")

PAGES = {
    "Data": [st.Page("pages/records.py", title="Records", icon=":material/list:", default=True),
             st.Page("pages/upload.py", title="Upload", icon=":material/upload_file:")],
    "Views": [st.Page("pages/waveform.py", title="Waveform", icon=":material/monitor_heart:"),
              st.Page("pages/spectrum.py", title="Spectrum", icon=":material/equalizer:"),
              st.Page("pages/scalogram.py", title="Scalogram", icon=":material/gradient:")],
    "Models": [st.Page("pages/predictions.py", title="Predictions", icon=":material/fact_check:"),
               st.Page("pages/explain.py", title="Explain", icon=":material/insights:"),
               st.Page("pages/models.py", title="Model cards", icon=":material/model_training:")],
}


def sidebar_record() -> None:
    """Current record, its labels, and a quick way to step to the previous / next record."""
    cur = ui.current()
    st.sidebar.markdown("#### Current record")
    if not cur:
        st.sidebar.caption("None open: choose one on Records or upload an ECG.")
    elif cur["kind"] == "upload":
        rec = st.session_state.get(ui.UPLOAD_KEY)
        st.sidebar.markdown(f"**{rec.title}**  \n" + "  \n".join(ui.upload_summary(rec)) +
                            "  \nno cardiologists' labels (upload)")
    else:
        row = ui.index().loc[cur["ecg_id"]]
        labels = ", ".join(c for c in ui.CLASSES if row[c]) or "no diagnostic superclass"
        rates = " + ".join(f"{fs} Hz" for fs, col in ((100, "has_100"), (500, "has_500")) if row[col])
        age = "age ?" if row["age"] != row["age"] else f"{int(row['age'])} y"
        sex = {0: "male", 1: "female"}.get(row["sex"], "sex ?")
        st.sidebar.markdown(f"**PTB-XL #{cur['ecg_id']}**  \nLabels: **{labels}**  \n"
                            f"{age}, {sex}, fold {row['fold']}  \n{rates}")
    ids = ui.available_ids()
    if len(ids):
        on_ptbxl = bool(cur) and cur["kind"] == "ptbxl"
        pos = int(ids.searchsorted(cur["ecg_id"])) if on_ptbxl else 0
        prev_id = int(ids[pos - 1]) if on_ptbxl and pos > 0 else None
        next_id = int(ids[pos + 1]) if on_ptbxl and pos + 1 < len(ids) else (None if on_ptbxl else int(ids[0]))
        prev_col, next_col = st.sidebar.columns(2)
        prev_col.button("◀ previous", key="prev_record", width="stretch", disabled=prev_id is None,
                        on_click=ui.set_current_ptbxl, args=(prev_id,))
        next_col.button("next ▶", key="next_record", width="stretch", disabled=next_id is None,
                        on_click=ui.set_current_ptbxl, args=(next_id,))


def sidebar_data() -> None:
    status = ui.data_status()
    st.sidebar.markdown("#### Data")
    if status["missing"]:
        st.sidebar.warning(f"No PTB-XL folder at `{status['root']}` (missing "
                           f"{', '.join(status['missing'])}). Two ways on: download it with "
                           "`python -m ecgcore.io.download` (or set PTBXL_DIR), or upload an ECG on "
                           "**Upload**." + (" Or unset PTBXL_DIR to open the demo set shipped in "
                                            "`demo/ptb-xl`." if status["env"] else ""))
    else:
        if status["demo"]:
            st.sidebar.info(ui.demo_message(status), icon=":material/science:")
        st.sidebar.caption(f"PTB-XL: **{status['n100']:,}** records with 100 Hz signals, "
                           f"**{status['n500']:,}** with 500 Hz (metadata lists {status['rows']:,}).")


nav = st.navigation(PAGES)
link_problem = ui.sync_current() if not ui.data_status()["missing"] else None
sidebar_record()
sidebar_data()
st.sidebar.caption(DISCLAIMER)
st.sidebar.caption("Data: PTB-XL, Wagner et al., Sci Data 7:154 (2020), PhysioNet, CC BY 4.0.")
st.caption(f":orange[:material/info: **Research demo, not for clinical diagnosis.**] {DISCLAIMER.split('. ', 1)[1]}")
if link_problem:
    st.error(link_problem)
nav.run()
