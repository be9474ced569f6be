"""Predictions: every model's calibrated probabilities, the fused call, abstention and quality."""
from __future__ import annotations

import streamlit as st

import ui
from ecgcore.plot import tables

ui.ensure_frame()
st.title("Predictions")
rec = ui.require_record()
if rec is None:
    st.stop()
ui.require_module("ecgcore.models.predict", "Predictions")
loaded = ui.require_models()

a = ui.assessment(ui.current_key(), ui.weights_dir(), tuple(loaded), rec, loaded)
st.subheader(rec.title)
if a.labels is not None:
    st.markdown(f"Cardiologists' labels (PTB-XL): **{', '.join(a.labels) or 'no diagnostic superclass'}**")
else:
    st.markdown("Cardiologists' labels: none (uploaded ECG).")

STATUS = {"confident": (st.success, "Confident"), "uncertain": (st.warning, "Uncertain: review carefully"),
          "not assessable": (st.error, "Not assessable"), "no fused model": (st.info, "No fused model")}
show, words = STATUS.get(a.status, (st.info, a.status))
show(f"**{words}**" + ("".join(f"\n- {r}" for r in a.reasons) if a.reasons else
                       "\n\nNo class is near its threshold, the models agree and the signal quality is adequate."))
if "fused" in a.outputs:
    try:
        fused_card = ui.card("fused", ui.weights_dir())
    except FileNotFoundError as err:
        st.caption(f"The fused model's card is missing ({err}).")
    else:
        rc = {row["coverage"]: row["macro_auc"] for row in fused_card["risk_coverage_fold10"]["curve"]}
        gain = fused_card["risk_coverage_fold10"].get("gain_at_90")
        ci = f" (95% CI {gain['ci95'][0]:+.3f} to {gain['ci95'][1]:+.3f})" if gain else ""
        st.caption(f"On the test fold: {fused_card['fusion_verdict']}. Abstaining on the least certain 10% "
                   f"moves the fused macro AUC from {rc[1.0]:.3f} to {rc[0.9]:.3f}{ci}, so 'confident' is not "
                   "evidence that the answer is right.")
if a.in_training_folds:
    st.warning(f"This record is in fold {a.fold}, which the models were trained or tuned on: its "
               "predictions are optimistic and are no evidence of accuracy.", icon=":material/school:")
for note in a.notes:
    st.caption(f"• {note}")

table = tables.probability_table(a)
prob_cols = {n: st.column_config.ProgressColumn(n, format="%.2f", min_value=0.0, max_value=1.0, width="small")
             for n in a.outputs}
prob_cols.update({"finding": st.column_config.TextColumn(width="medium"),
                  "cardiologists": st.column_config.TextColumn(width="small"),
                  "fused threshold": st.column_config.NumberColumn("threshold", format="%.2f", width="small"),
                  "fused call": st.column_config.TextColumn("fused call", width="small")})
st.markdown("#### Calibrated probabilities")
st.dataframe(table, key="probabilities", column_config=prob_cols)
st.caption("Each probability is calibrated on fold 9 (temperature or Platt scaling, whichever cross-validated "
           "better there; see Model cards). The fused call is **yes** when "
           "the fused probability reaches its threshold (chosen on fold 9 to maximise F1).")

left, right = st.columns(2)
with left:
    st.markdown("#### Each model's call")
    st.dataframe(tables.calls_table(a), key="calls")
    if len(a.agreement):
        st.markdown("#### Agreement between the single-view models")
        st.dataframe(a.agreement, key="agreement",
                     column_config={"models_positive": "models positive", "models": "of models",
                                    "spread": st.column_config.NumberColumn("spread (max - min)", format="%.2f")})
with right:
    st.markdown("#### Signal quality")
    q = a.quality
    (st.success if q.ok else st.warning if q.assessable else st.error)(
        q.summary + "".join(f"\n- {r}" for r in q.reasons))
    with st.expander("Per-lead quality", expanded=not q.ok):
        st.dataframe(tables.quality_table(q), key="quality", hide_index=True, height=460)
