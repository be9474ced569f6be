"""Model cards side by side: fold-10 metrics with CIs, ROC, confusion, calibration, data, retraining."""
from __future__ import annotations

import streamlit as st

import ui
from ecgcore.plot import plots, tables

ui.ensure_frame()
st.title("Model cards")
cards_mod = ui.require_module("ecgcore.models.cards", "Model cards")

cards, absent = {}, {}
for name in ui.MODEL_ORDER:
    try:
        cards[name] = ui.card(name, ui.weights_dir())
    except FileNotFoundError as err:
        absent[name] = str(err)
for name, msg in absent.items():
    st.warning(f"**{name}**: {msg}")
if not cards:
    st.stop()
st.caption(cards_mod.HISTORY)
NUM = st.column_config.NumberColumn(format="%.2f")
CFG = {"config": {"displaylogo": False}}

st.markdown("#### Fold 10 (held out): macro ROC-AUC with 95% bootstrap CI")
for col, (name, c) in zip(st.columns(len(cards)), cards.items()):
    t, v = c["fold10"], c["fold9"]
    lo, hi = t["macro_auc_ci95"]
    with col.container(border=True, key=f"card_{name}"):
        st.markdown(f"**{name}** · {c['title']}")
        st.metric("Fold-10 macro AUC", f"{t['macro_auc']:.3f}")
        st.markdown(f"95% CI **{lo:.3f}-{hi:.3f}**, {t['n_records']} records, "
                    f"{t['bootstrap_resamples']} resamples  \nfold 9 (selection): {v['macro_auc']:.3f}  \n"
                    f"ECE {t['ece_before']:.3f} → {t['ece_after']:.3f} after calibration")
        if "fold10_untouched" in c:
            u = c["fold10_untouched"]
            st.markdown(f"Fold 10 without the 256 records earlier evaluations read: **{u['macro_auc']:.3f}** "
                        f"(95% CI {u['macro_auc_ci95'][0]:.3f}-{u['macro_auc_ci95'][1]:.3f}, "
                        f"{u['n_records']:,} records)")
        if "ece_chance" in t:
            st.caption(f"A perfectly calibrated model with these probabilities would show ECE "
                       f"{t['ece_chance']['mean']:.3f} on {t['n_records']} records from chance alone "
                       f"(95th percentile {t['ece_chance']['p95']:.3f}).")
        if "fusion_verdict" in c:
            st.caption(c["fusion_verdict"])

st.markdown("#### Per class, fold 10: AUC (95% CI)")
st.dataframe(tables.card_auc_table(cards), key="auc_table")

st.markdown("#### ROC curves, fold 10")
for col, (name, c) in zip(st.columns(len(cards)), cards.items()):
    t = c["fold10"]
    aucs = {cls: t["classes"][cls]["auc"] for cls in t["classes"]}
    col.plotly_chart(plots.roc_figure(t["roc"], aucs, name), key=f"roc_{name}", **CFG)

st.markdown("#### Calibration, fold 10 (after the calibration fitted on fold 9)")
st.caption("  \n".join(f"`{n}`: {(c.get('calibration') or {}).get('method', 'unknown')}" for n, c in cards.items()))
for col, (name, c) in zip(st.columns(len(cards)), cards.items()):
    col.plotly_chart(plots.reliability_figure(c["fold10"]["reliability_after"], name), key=f"rel_{name}", **CFG)

st.markdown("#### Per class at each model's threshold, fold 10 (confusion counts)")
for tab, (name, c) in zip(st.tabs(list(cards)), cards.items()):
    tab.dataframe(tables.card_class_table(c["fold10"]), key=f"classes_{name}",
                  column_config={k: NUM for k in ("AUC", "F1", "sensitivity", "specificity", "threshold")})
    tab.caption(f"Thresholds: {c.get('threshold_rule')}. Calibration: {(c.get('calibration') or {}).get('method')}.")

st.markdown("#### Training data and how to retrain")
for col, (name, c) in zip(st.columns(len(cards)), cards.items()):
    with col:
        st.markdown(f"**{name}**")
        if "train" in c:
            tr = c["train"]
            st.markdown(f"PTB-XL folds {tr['folds'][0]}-{tr['folds'][-1]}: {tr['n_train']:,} records; "
                        f"chosen on fold {tr['val_fold']} ({tr['n_val']}), epoch {tr['best_epoch']} of "
                        f"{tr['epochs']}; {tr['seconds'] / 60:.1f} min on {tr['threads']} CPU thread{'' if tr['threads'] == 1 else 's'}.  \n"
                        "Positives: " + ", ".join(f"{k} {n}" for k, n in tr["train_positives"].items()))
            st.code(tr["command"], language="bash", wrap_lines=True)
        elif "components" in c:
            st.markdown(f"Stacked on fold 9 ({c['fit']['n_records']} records) from "
                        f"{', '.join(c['components'])}.")
            joint = c["fit"].get("joint_embedding_model")
            if isinstance(joint, dict):
                st.caption(f"Joint model over the networks' embeddings, cross-fitted on fold 9: macro AUC "
                           f"{joint['joint_oof_macro_auc']:.3f} vs {joint['late_fusion_oof_macro_auc']:.3f} "
                           f"for the late fusion. {joint['verdict']}.")
            st.code("python -m ecgcore.models.fusion fit", language="bash", wrap_lines=True)
st.markdown(cards_mod.RETRAIN)
