"""Models, the results computed from them (cached on plain ids), model cards, the summary line."""
from __future__ import annotations

import sys
import threading

import streamlit as st

from ecgcore.signal.record import CLASSES, Record

from .core import MODEL_ORDER, current_key, optional, record_for_models, weights_dir


TORCH_THREADS = 1   # per server process: one user's explanation must not starve everyone else


@st.cache_resource(show_spinner="Loading model weights…")
def _model(name: str, wdir: str | None):
    import torch                      # imported here, not at start-up: the first page opens ~2 s sooner
    torch.set_num_threads(TORCH_THREADS)
    from ecgcore.models import registry
    model = registry.load_model(name, wdir)
    if getattr(model, "net", None) is not None:      # SHAP's one-off costs, paid before anyone waits
        # not a daemon: the interpreter waits for it (seconds) at exit instead of finalising while torch
        # runs in it, which aborted the process ("terminate called without an active exception")
        threading.Thread(target=_warm_up, args=(model,), name=f"shap-warm-up-{name}", daemon=False).start()
    return model


def _warm_up(model) -> None:
    """Background thread: ecgcore.explain.warm_up; a failure here only means a slower first map
    (the Explain page reports real errors when a map is asked for)."""
    from ecgcore.explain import warm_up
    try:
        warm_up(model)
    except Exception as err:  # noqa: BLE001
        print(f"SHAP warm-up of {model.name} skipped: {type(err).__name__}: {err}", file=sys.stderr)


def models() -> tuple[dict, dict[str, str]]:
    """({name: model} that loaded, {name: why not}) over signal, spectrum, scalogram, fused."""
    from ecgcore.models.registry import WeightsError
    loaded, errors = {}, {}
    wdir = weights_dir()
    for name in MODEL_ORDER:
        try:
            loaded[name] = _model(name, wdir)
        except WeightsError as err:
            errors[name] = str(err)
    return loaded, errors


def show_model_errors(errors: dict[str, str]) -> None:
    for name, msg in errors.items():
        st.error(f"Model **{name}** is unavailable: {msg}")


def require_models() -> dict:
    """{name: model} that loaded, after an error per model that did not; stops the page if none did."""
    loaded, errors = models()
    show_model_errors(errors)
    if not loaded:
        st.stop()
    return loaded


# ---------------------------------------------------------------- computed results (cached on plain ids)
@st.cache_data(max_entries=256, show_spinner=False)
def assessment(key: str, wdir: str | None, names: tuple[str, ...], _record: Record, _models: dict):
    """ecgcore.models.predict.assess for one record, keyed on the record id and the model names."""
    from ecgcore.memory import trim_heap
    from ecgcore.models.predict import assess
    result = assess(_record, _models)
    trim_heap()                 # give this thread's freed scalogram batches back (~3 ms)
    return result


# One explanation at a time per server: on 2 cores a second one only slows both, and each holds a few
# hundred MB of perturbations while it runs. Predictions for other users keep the other core.
EXPLAIN_SLOT = threading.BoundedSemaphore(1)


@st.cache_resource(max_entries=64, show_spinner=False)
def explanation(key: str, wdir: str | None, model_name: str, method: str, class_index: int,
                _record: Record, _model):
    """ecgcore.explain.explain on the record's model input (seed 0), keyed on plain ids;
    waits for EXPLAIN_SLOT."""
    from ecgcore.explain import explain
    from ecgcore.signal.record import model_input
    with EXPLAIN_SLOT:
        return explain(_model, model_input(_record), method, class_index, seed=0)


@st.cache_data(max_entries=64, show_spinner=False)
def wave_evidence(key: str, wdir: str | None, model_name: str, method: str, class_index: int, _expl):
    """ecgcore.explain.waves.wave_evidence of the cached explanation with the same ids."""
    from ecgcore.explain.waves import wave_evidence as lead_by_wave
    return lead_by_wave(_expl)


@st.cache_data(max_entries=32, show_spinner=False)
def view_of(key: str, view: str, _record: Record):
    """A view ('spectrum', 'scalogram', 'signal') of the record's model input (1, 12, ...)."""
    from ecgcore.signal.record import model_input
    from ecgcore.signal.views import compute_view
    return compute_view(view, model_input(_record))


# ---------------------------------------------------------------- model cards (tables: ecgcore.plot.tables)
@st.cache_data(show_spinner=False)
def card(name: str, wdir: str | None) -> dict:
    from ecgcore.models.cards import load_card
    return load_card(name, wdir)


def model_summary(rec: Record) -> None:
    """One line under a page title: the fused calls and the status for `rec` (or what is missing)."""
    with st.container(key="model_summary", border=True):
        predict, missing = optional("ecgcore.models.predict")
        if predict is None:
            st.markdown(f"{rec.title}: predictions unavailable (module {missing} is missing).")
            return
        loaded, errors = models()
        if not loaded:
            st.markdown(f"{rec.title}: predictions unavailable ({len(errors)} models failed to load; "
                        "see **Predictions**).")
            return
        a = assessment(current_key(), weights_dir(), tuple(loaded), record_for_models(), loaded)
        name = "fused" if "fused" in a.outputs else next(iter(a.outputs))
        out = a.outputs[name]
        found = [f"**{c}** {p:.2f}" for c, p, yes in zip(CLASSES, out.proba, out.positive) if yes]
        labels = "" if a.labels is None else f" · cardiologists: {', '.join(a.labels) or 'none'}"
        st.markdown(f"{rec.title} · {name} model: {', '.join(found) or 'no class above threshold'}"
                    f" · status: **{a.status}**{labels}")
