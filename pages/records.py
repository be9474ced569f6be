"""Records: browse PTB-XL records that have signal files; search, filter, open one."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

import ui
from ecgcore.plot import tables
from ecgcore.score.outcomes import OUTCOMES, filter_outcomes

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
scores, why_not, scores_file = ui.scores()


def _score_all(missing: list[int]) -> None:
    """Score the records of this folder that have no row yet, in this process, with a progress bar."""
    from ecgcore.score import ptbxl_source, score
    source, keys = ptbxl_source(ui.data_root()[0])
    bar = st.progress(0.0, text=f"Scoring {len(missing):,} records…")
    try:
        score(source, keys, scores_file, workers=0, weights_dir=ui.weights_dir(), progress=False,
              on_progress=lambda done, total: bar.progress(done / total, text=f"Scored {done:,} of {total:,}"))
    except Exception as err:  # noqa: BLE001 - said on the page; rows already written are kept
        st.error(f"Scoring stopped: {type(err).__name__}: {err}. Records scored so far are kept in "
                 f"`{scores_file}`; press the button again to go on.")
        return
    st.rerun()


with st.expander("Browse by what the models said", expanded=scores is not None, icon=":material/rule:"):
    signal_ids = idx.index[idx["has_100"]]
    missing = [] if scores is None else sorted(set(signal_ids) - set(scores.index))
    if scores is None:
        st.markdown(f"No model outputs for this folder ({why_not}). Scoring runs the three networks, the "
                    f"fusion and the quality check on all {len(signal_ids):,} records with 100 Hz signals "
                    "(about 20-40 records a second on 2 cores) and keeps the result in "
                    f"`{scores_file}`; `python -m ecgcore.score` does the same from a terminal, on Dask.")
        if st.button("Score all records", key="score_all"):
            _score_all(list(signal_ids))
        outcome = None
    else:
        st.caption(f"{len(scores):,} records scored ({scores_file.name}); the fused model's calls at its "
                   "fold-9 thresholds against the cardiologists' labels.")
        if missing and st.button(f"Score the {len(missing):,} records not scored yet", key="score_rest"):
            _score_all(missing)
        oc = st.columns([1.6, 1.2, 1.6, 1.4])
        versus_cls = oc[0].selectbox("Fused vs cardiologists", ["any", *ui.CLASSES], key="versus_cls")
        versus = oc[1].selectbox("Outcome", OUTCOMES, key="versus", disabled=versus_cls == "any")
        calls = oc[2].multiselect("Fused model calls (any of)", list(ui.CLASSES), key="fused_calls")
        sort = oc[3].selectbox("Sort by", ["ecg_id", *[f"fused P({c}) high first" for c in ui.CLASSES]],
                               key="sort_by")
        pc = st.columns([1.2, 2.0, 1.4, 1.4])
        prob_cls = pc[0].selectbox("Probability of", ["any", *ui.CLASSES], key="prob_cls")
        prob = pc[1].slider("Fused probability range", 0.0, 1.0, (0.0, 1.0), 0.05, key="prob_range",
                            disabled=prob_cls == "any")
        disagree = pc[2].checkbox("Networks disagree", key="disagree",
                                  help="some class where the three networks' probabilities spread over 0.5")
        abstained = pc[3].checkbox("Abstained", key="abstained", help="status 'uncertain' or 'not assessable'")
        outcome = dict(calls=calls, prob=None if prob_cls == "any" else (prob_cls, *prob), disagree=disagree,
                       versus=None if versus_cls == "any" else (versus_cls, versus), abstained=abstained)

table = tables.records_table(sub)
if scores is not None:
    active = outcome["calls"] or outcome["prob"] or outcome["disagree"] or outcome["versus"] or outcome["abstained"]
    if active:
        sub = sub[sub.index.isin(filter_outcomes(scores, **outcome))]
        table = tables.records_table(sub)
    extra = ui.outcome_columns(str(scores_file), scores_file.stat().st_mtime).reindex(table["ecg_id"])
    table = pd.concat([table.iloc[:, :2], extra.reset_index(drop=True), table.iloc[:, 2:]], axis=1)
    if sort != "ecg_id":
        cls = sort.split("(")[1].split(")")[0]
        order = scores[f"p_fused_{cls}"].reindex(table["ecg_id"]).to_numpy()
        table = table.iloc[np.argsort(-np.nan_to_num(order, nan=-1.0), kind="stable")].reset_index(drop=True)
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
