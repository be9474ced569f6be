"""Records: browse PTB-XL records that have signal files; search, filter, open one."""
from __future__ import annotations

import streamlit as st

import ui
from ecgcore.plot import tables

ui.ensure_frame()
st.title("Records")
idx = ui.index()
if idx is None:
    status = ui.data_status()
    st.info(f"No PTB-XL folder at `{status['root']}` (missing {', '.join(status['missing'])}), so "
            "there are no records to browse. Either download PTB-XL with `python -m ecgcore.io.download` "
            "(or set PTBXL_DIR to a copy), or upload an ECG of your own on **Upload**.")
    st.page_link("pages/upload.py", label="Upload an ECG", icon=":material/upload_file:")
    st.stop()
ui.demo_notice()

top = st.columns([2.2, 1.6, 1.6, 1.6])
query = top[0].text_input("Search", placeholder="ecg_id or words of the report (e.g. infarkt)")
classes = top[1].multiselect("Superclass (any of)", list(ui.CLASSES))
folds = top[2].multiselect("Fold", list(range(1, 11)), help="1-8 train, 9 validation, 10 test")
sex = top[3].radio("Sex", ["any", "female", "male"], horizontal=True)
mid = st.columns([2.2, 1.6, 1.6, 1.6])
age = mid[0].slider("Age (years; 90 = 90 or older)", 0, 90, (0, 90))
flags = mid[1].multiselect("Quality flags (any of)", list(ui.QUALITY_FLAGS),
                           format_func=lambda f: f.replace("_", " "))
no_flags = mid[2].checkbox("Only records without quality flags")
validated = mid[3].checkbox("Validated by a human")

sub = tables.filter_records(idx, query, classes, folds, sex, None if age == (0, 90) else age,
                        validated, flags, no_flags)
table = tables.records_table(sub)
st.session_state["records_table_ids"] = table["ecg_id"].tolist()
total = int((idx["has_100"] | idx["has_500"]).sum())
st.markdown(f"**{len(table):,}** of {total:,} records with signals match.")


def _open_selected() -> None:
    rows = st.session_state["records_table"].selection.rows
    if rows:
        ui.set_current_ptbxl(st.session_state["records_table_ids"][rows[0]])


st.dataframe(table, key="records_table", hide_index=True, on_select=_open_selected,
             selection_mode="single-row", height=420,
             column_config={"ecg_id": st.column_config.NumberColumn("ecg_id", format="%d"),
                            "report": st.column_config.TextColumn("report", width="large"),
                            "validated": st.column_config.CheckboxColumn("validated")})
st.caption("Click a row to open that record; it stays open on every page and in the address (?ecg_id=…).")

def _open_by_id() -> None:
    wanted = st.session_state.get("open_id")
    if wanted is None:
        return
    if int(wanted) in set(ui.available_ids().tolist()):
        ui.set_current_ptbxl(int(wanted))
        st.session_state["open_error"] = None
    else:
        st.session_state["open_error"] = f"ecg_id {int(wanted)} has no signal files in this PTB-XL copy."


left, right = st.columns([1, 3])
with left.form("open_by_id", border=False):
    st.number_input("Open by ecg_id", min_value=1, step=1, value=None, placeholder="e.g. 123", key="open_id")
    st.form_submit_button("Open", type="primary", on_click=_open_by_id)
if st.session_state.get("open_error"):
    left.error(st.session_state["open_error"])

cur = ui.current()
if cur and cur["kind"] == "ptbxl":
    row = idx.loc[cur["ecg_id"]]
    with right:
        st.markdown(f"#### Open: PTB-XL #{cur['ecg_id']}")
        st.markdown(f"Report: *{row['report']}*  \nSCP codes: `{row['scp_codes']}`")
        links = st.columns(4)
        links[0].page_link("pages/waveform.py", label="Waveform", icon=":material/monitor_heart:")
        links[1].page_link("pages/predictions.py", label="Predictions", icon=":material/fact_check:")
        links[2].page_link("pages/explain.py", label="Explain", icon=":material/insights:")
        links[3].page_link("pages/spectrum.py", label="Spectrum", icon=":material/equalizer:")
