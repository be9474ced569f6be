"""Explain: LIME / SHAP attributions on the signal, spectrum and scalogram, with trust measures."""
from __future__ import annotations

import streamlit as st

import ui
from ecgcore.models.registry import WeightsError
from ecgcore.plot import plots
from ecgcore.signal.record import CLASS_NAMES, CLASSES, LEADS, MODEL_FS

ui.ensure_frame()
st.title("Explain")
rec = ui.require_record()
if rec is None:
    st.stop()
explain_mod = ui.require_module("ecgcore.explain", "Explanations")
from ecgcore.explain import waves  # noqa: E402  (only once the module is known to be there)
loaded = ui.require_models()

c = st.columns([1.3, 1, 1.6, 1])
name = c[0].selectbox("Model", list(loaded), key="expl_model")
model = loaded[name]
has_net = getattr(model, "net", None) is not None
method = c[1].radio("Method", ["lime", "shap"] if has_net else ["lime"], format_func=str.upper,
                    horizontal=True, key="expl_method",
                    help=None if has_net else "SHAP needs a network: the fused model has LIME only")
class_index = c[2].selectbox("Class", range(len(CLASSES)), key="expl_class",
                             format_func=lambda k: f"{CLASSES[k]} ({CLASS_NAMES[CLASSES[k]]})")
key = (ui.current_key(), ui.weights_dir(), name, method, int(class_index))
c[3].markdown("&nbsp;")
c[3].button("Explain", type="primary", key="expl_run", width="stretch",
            on_click=lambda: st.session_state.update(expl_go=True))   # survives a frame rerun
if st.session_state.pop("expl_go", False):
    with st.status(f"{method.upper()} for {CLASSES[class_index]} on the {name} model…", expanded=True) as s:
        s.write("Attributing, then measuring faithfulness (deletion), stability (a second seed) "
                "and agreement with the other method. This takes seconds to a minute; the server runs "
                "one explanation at a time, so it may first wait for another user's.")
        try:
            expl = ui.explanation(*key, rec, model)
        except explain_mod.ExplainError as err:
            s.update(label=f"{method.upper()} could not run", state="error")
            st.error(str(err))
            st.stop()
        except (FileNotFoundError, WeightsError) as err:     # a weights file or SHAP's background pool
            s.update(label=f"{method.upper()} could not run", state="error")
            st.error(f"The explanation needs a file that could not be used: {err}")
            st.stop()
        s.update(label=f"{method.upper()} for {CLASSES[class_index]} done in {expl.seconds:.1f} s "
                       f"(+ {expl.trust.get('seconds', 0):.1f} s for trust measures)", state="complete",
                 expanded=False)
    st.session_state["expl_shown"] = key

if st.session_state.get("expl_shown") != key:
    st.info("Choose a model, a method and a class, then press **Explain**. Results are kept for this record.")
    st.stop()
expl = ui.explanation(*key, rec, model)
t = expl.trust


HELP = {"faithfulness": "area under the random-order deletion curve minus the salient-first one: > 0 means "
                        "removing the salient parts lowers the probability faster than removing random parts",
        "stability": "Spearman rank agreement of the segment scores with a second seed",
        "agreement": "Spearman rank agreement of the LIME and SHAP segment scores"}


def trust_panel(reason: str, full: bool) -> None:
    """The explanation's trust measures and what this map is (beside each map)."""
    agree = "n/a" if t.get("agreement") is None else f"{t['agreement']:.2f}"
    if full:
        st.metric("Faithfulness", f"{t['faithfulness']:+.3f}", help=HELP["faithfulness"])
        st.metric("Stability", f"{t['stability']:.2f}", help=HELP["stability"])
        st.metric("LIME-SHAP agreement", agree, help=HELP["agreement"])
    else:
        st.markdown(f"Faithfulness **{t['faithfulness']:+.3f}**  \nStability **{t['stability']:.2f}**  \n"
                    f"LIME-SHAP agreement **{agree}**")
    st.caption(f"**This map:** {reason}.")


st.markdown(f"#### {expl.method.upper()} · {name} model · {expl.class_name} "
            f"(probability {expl.probability:.2f})")
st.caption(f"Segments: {expl.segment_desc}. Red: evidence for {expl.class_name}; blue: against; colours "
           f"are scaled by the largest magnitude ({float(abs(expl.values).max()):.3g}). "
           f"{expl.seconds:.1f} s to compute, seed {expl.seed}.")


evidence = ui.wave_evidence(*key, expl)       # the map by lead and wave (cached with the explanation)
if evidence.table is not None:
    sentence = waves.evidence_sentence(evidence.table, expl.class_name)
    st.markdown(f"**{sentence[:1].upper() + sentence[1:]}** (wave by wave table below).")
top = ", ".join(f"{n} ({v:+.3g})" for n, v in expl.top(5))
st.caption(f"Most positive segments: {top}")

CFG = {"config": {"displaylogo": False}}


def view_section(title: str, view: str, draw, full: bool) -> None:
    """The map on one view (or why it has none) and the trust measures beside it."""
    st.markdown(f"##### {title}")
    left, right = st.columns([4, 1])
    sal, why = explain_mod.saliency_on_view(expl, view)
    with left:
        if sal is None:
            st.info(why)
        else:
            draw(sal)
    with right:
        trust_panel(why, full=full)
        if full:
            st.plotly_chart(plots.deletion_figure(t["fraction"], t["salient"], t["random"]),
                            key="expl_deletion", **CFG)


def draw_signal(band) -> None:
    st.plotly_chart(plots.ecg_grid_figure(expl.signal, MODEL_FS, layout="12x1", saliency=band, spacing=2.5,
                                          width_px=780,
                                          title=f"{rec.title}   model input, 100 Hz   25 mm/s   10 mm/mV"),
                    key="expl_signal", **CFG)


def draw_spectrum(sal) -> None:
    spec = ui.view_of(ui.current_key(), "spectrum", rec)
    st.plotly_chart(plots.spectrum_figure(spec.values[0], spec.axes["frequency"], ["II", "V1", "V5"],
                                          saliency=sal), key="expl_spectrum", **CFG)


def draw_scalogram(sal) -> None:
    lead = st.columns([1, 2])[0].selectbox("Lead", list(LEADS), index=1, key="expl_lead")
    k = LEADS.index(lead)
    scalo = ui.view_of(ui.current_key(), "scalogram", rec)
    st.plotly_chart(plots.scalogram_figure(scalo.values[0, k], scalo.axes["frequency"], scalo.axes["time"],
                                           expl.signal[:, k], MODEL_FS, lead, saliency=sal[k]),
                    key="expl_scalogram", **CFG)


view_section("On the signal", "signal", draw_signal, full=True)
view_section("On the spectrum", "spectrum", draw_spectrum, full=False)
view_section("On the scalogram", "scalogram", draw_scalogram, full=False)
for note in t.get("notes", []):
    st.caption(f"• {note}")

st.markdown("##### Where the evidence lies, wave by wave")
if evidence.table is None:
    st.info(evidence.why)
else:
    st.markdown(f"**{sentence}.**")
    st.dataframe((evidence.table * 100).round(1), key="wave_table",
                 column_config={w: st.column_config.ProgressColumn(w, format="%.1f%%", min_value=0,
                                                                   max_value=float(evidence.table.to_numpy().max() * 100) or 1)
                                for w in waves.WAVES})
    st.caption(f"Share of the map's positive evidence for {expl.class_name} in each lead and wave "
               f"({evidence.n_beats} beats delineated on the 100 Hz model input). A uniform map would put "
               f"{waves.wave_share(waves.uniform_shares(evidence.labels), 'QRS'):.0%} in QRS. "
               + ("LIME spreads each segment's score evenly over the segment (one second per lead, "
                  "or two-second tiles on the scalogram), so within a lead its wave shares follow the "
                  "waves' durations: read its lead shares, not its wave shares."
                  if expl.method == "lime" else
                  "SHAP attributes every sample (40 ms columns on the scalogram), so its wave shares "
                  "carry information."))
