"""The only Streamlit-aware shared code: cached loaders keyed on plain ids, the current record.

Pages call these and render what `ecgcore` computes; nothing here computes a medical result.
The current record lives in `st.session_state["current"]` ({'kind': 'ptbxl', 'ecg_id': 123} or
{'kind': 'upload', 'key': 'upload:<sha1>'}) and, for PTB-XL records, in the URL (`?ecg_id=123`).
Set ECGCORE_WEIGHTS_DIR to serve weights from another folder (default: weights/).
"""
from __future__ import annotations

import hashlib
import importlib
import os
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from ecgcore.io import ptbxl
from ecgcore.signal.record import CLASSES, Record

MODEL_ORDER = ("signal", "spectrum", "scalogram", "fused")
QUALITY_FLAGS = ptbxl.QUALITY_COLUMNS
UPLOAD_KEY = "upload_record"          # the record the models read (a 10 s window of a longer upload)
UPLOAD_FULL_KEY = "upload_full"        # the whole accepted upload
UPLOAD_WINDOW_KEY = "upload_window"    # start (s) of the window, from the Upload page's slider


def weights_dir() -> str | None:
    return os.environ.get("ECGCORE_WEIGHTS_DIR") or None


def optional(module: str):
    """(module, None), or (None, what is missing) when a part of ecgcore has not landed yet."""
    try:
        return importlib.import_module(module), None
    except ImportError as err:
        name = getattr(err, "name", None) or ""
        if name.startswith("ecgcore") or "ecgcore" in str(err):
            return None, f"`{name or module}` ({err})"
        raise


def require_module(module: str, what: str):
    """The ecgcore module, or an error naming the missing part and a stop of the page."""
    mod, missing = optional(module)
    if mod is None:
        st.error(f"{what} are unavailable in this build: the module {missing} is missing.")
        st.stop()
    return mod


APP_FILE = Path(__file__).resolve().parent / "app.py"


def _inside_frame() -> bool:
    """True when this page runs from app.py's `nav.run()` (app.py is on the call stack)."""
    f = sys._getframe(1)
    while f is not None:
        name = f.f_code.co_filename
        if name.endswith("app.py") and Path(name).resolve() == APP_FILE:
            return True
        f = f.f_back
    return False


def ensure_frame() -> None:
    """Make every page run inside app.py's frame (sidebar, disclaimer, navigation).

    With a `pages/` folder, Streamlit runs a page file on its own (its old multipage mode) when
    the first requests of a fresh server are deep links such as /waveform?ecg_id=1, until some
    run calls st.navigation. Called at the top of each page: outside the frame, it switches that
    mode off and reruns, so app.py runs and routes to the same page with the same query string.
    (AppTest runs every page that way.) A rerun drops button clicks: pages act on clicks in
    on_click callbacks, which run before this.
    """
    if _inside_frame():
        return
    try:
        from streamlit.runtime.pages_manager import PagesManager
        PagesManager.uses_pages_directory = False
    except ImportError:     # a Streamlit without this internal: the rerun alone may do
        pass
    st.rerun()


# ---------------------------------------------------------------- data
@st.cache_resource(show_spinner="Reading the PTB-XL index…")
def _index(root: str) -> pd.DataFrame:
    return ptbxl.load_index(root)


def data_root() -> tuple[Path, bool]:
    """(PTB-XL folder the app reads, whether it is the demo set): $PTBXL_DIR, else data/ptb-xl, else
    the demo set shipped in demo/ptb-xl (`ecgcore.io.demo.app_data_dir`; only the app falls back to it)."""
    from ecgcore.io.demo import app_data_dir
    return app_data_dir()


def data_status() -> dict:
    """Where PTB-XL is and what it holds: {'root', 'missing', 'rows', 'n100', 'n500', 'demo', 'env'}."""
    root, demo = data_root()
    missing = ptbxl.missing_files(root)
    status = {"root": str(root), "missing": missing, "rows": 0, "n100": 0, "n500": 0, "demo": demo,
              "env": bool(os.environ.get("PTBXL_DIR"))}
    if not missing:
        idx = _index(str(root))
        status.update(rows=len(idx), n100=int(idx["has_100"].sum()), n500=int(idx["has_500"].sum()))
    return status


def demo_message(status: dict) -> str:
    """What the app says while it shows the demo set: how many records, what it is, how to get all."""
    n = int((index()[["has_100", "has_500"]].any(axis=1)).sum())
    return (f"**Demo set: {n} real PTB-XL records** shipped with the app in `demo/ptb-xl`, a small demo "
            "subset (mostly the held-out test fold 10), "
            f"{'which PTBXL_DIR names' if status['env'] else 'opened because no PTB-XL folder is configured'}. "
            "For the full dataset (21,799 records): `python -m ecgcore.io.download`, or set PTBXL_DIR to a "
            "PTB-XL folder.")


def demo_notice() -> None:
    """An info box saying that the demo set is open (nothing when it is not)."""
    status = data_status()
    if status["demo"] and not status["missing"]:
        st.info(demo_message(status), icon=":material/science:")


def index() -> pd.DataFrame | None:
    """The PTB-XL index, or None when there is no PTB-XL folder."""
    root, _ = data_root()
    return None if ptbxl.missing_files(root) else _index(str(root))


def ptbxl_record(ecg_id: int, fs: int) -> Record:
    return _ptbxl_record(int(ecg_id), int(fs), str(data_root()[0]))


@st.cache_data(max_entries=128, show_spinner=False)
def _ptbxl_record(ecg_id: int, fs: int, root: str) -> Record:
    return ptbxl.load_record(ecg_id, fs, root)


def available_ids() -> np.ndarray:
    """ecg_ids with signal files at 100 or 500 Hz (sorted)."""
    idx = index()
    if idx is None:
        return np.zeros(0, int)
    return idx.index[idx["has_100"] | idx["has_500"]].to_numpy()


# ---------------------------------------------------------------- current record
def set_current_ptbxl(ecg_id: int) -> None:
    st.session_state["current"] = {"kind": "ptbxl", "ecg_id": int(ecg_id)}
    st.query_params["ecg_id"] = str(int(ecg_id))


def set_current_upload(record: Record) -> None:
    key = upload_key(record)
    st.session_state[UPLOAD_KEY] = record
    st.session_state["current"] = {"kind": "upload", "key": key}
    st.query_params.pop("ecg_id", None)


def upload_window(full: Record, start_s: float = 0.0) -> Record:
    """The 10 s of `full` from start_s (clamped) that the models read, with a note and meta
    'window_s' saying which; `full` itself when it is 10 s or shorter."""
    from ecgcore.signal.record import MODEL_SECONDS
    if full.seconds <= MODEL_SECONDS + 1e-9:
        return full
    n = int(round(MODEL_SECONDS * full.fs))
    n0 = min(max(int(round(float(start_s) * full.fs)), 0), full.signal.shape[0] - n)
    a = n0 / full.fs
    note = (f"the models read {a:g}-{a + MODEL_SECONDS:g} s of the {full.seconds:.1f} s recording "
            "(window chosen on the Upload page)")
    return full.replace(signal=np.ascontiguousarray(full.signal[n0:n0 + n]), notes=full.notes + (note,),
                        meta={**full.meta, "window_s": (a, a + MODEL_SECONDS), "full_seconds": full.seconds})


def accept_upload(full: Record) -> None:
    """Keep a newly accepted upload and open its first 10 s (the window slider starts at 0)."""
    st.session_state[UPLOAD_FULL_KEY] = full
    st.session_state[UPLOAD_WINDOW_KEY] = 0.0
    set_current_upload(upload_window(full, 0.0))


def change_upload_window() -> None:
    """on_change of the window slider: open the chosen 10 s of the full upload."""
    full = st.session_state.get(UPLOAD_FULL_KEY)
    if full is not None:
        set_current_upload(upload_window(full, st.session_state.get(UPLOAD_WINDOW_KEY) or 0.0))


def upload_summary(rec: Record) -> list[str]:
    """Sidebar lines for an upload: source format and file, rate, duration (and the window the
    models read), leads found in the file, leads set aside, age/sex when the file gives them."""
    meta = rec.meta
    full = meta.get("full_seconds", rec.seconds)
    lines = [f"{meta.get('format', '?')} file `{meta.get('filename', '?')}`",
             f"{rec.fs:g} Hz, {full:.1f} s"]
    if "window_s" in meta:
        a, b = meta["window_s"]
        lines.append(f"models read {a:g}-{b:g} s")
    found = meta.get("original_leads")
    if found:
        lines.append(f"leads in the file: {len(found)} ({', '.join(map(str, found[:14]))}"
                     f"{', ...' if len(found) > 14 else ''})")
    aside = meta.get("set_aside") or []
    lines.append(f"set aside: {', '.join(map(str, aside[:8]))}{', ...' if len(aside) > 8 else ''}"
                 if aside else "set aside: none")
    about = [str(meta[k]) for k in ("age", "sex") if k in meta]
    if about:
        lines.append("patient: " + ", ".join(about))
    return lines


def upload_key(record: Record) -> str:
    h = hashlib.sha1(np.ascontiguousarray(record.signal).tobytes())
    h.update(f"{record.fs}|{record.meta.get('filename', '')}".encode())
    return f"upload:{h.hexdigest()[:16]}"


def sync_current() -> str | None:
    """Reconcile session state with `?ecg_id=`; returns a message when the link is unusable."""
    wanted = st.query_params.get("ecg_id")
    cur = st.session_state.get("current")
    if wanted is not None:
        if cur and cur.get("kind") == "ptbxl" and str(cur["ecg_id"]) == wanted:
            return None
        ids = available_ids()
        if not wanted.strip().isdigit() or int(wanted) not in set(ids.tolist()):
            st.query_params.pop("ecg_id", None)
            return f"ecg_id {wanted!r} from the link has no signal files here; pick a record below."
        set_current_ptbxl(int(wanted))
    elif cur and cur.get("kind") == "ptbxl":
        st.query_params["ecg_id"] = str(cur["ecg_id"])   # page switches clear the URL's parameters
    return None


def current() -> dict | None:
    return st.session_state.get("current")


def current_key() -> str | None:
    """A plain id for the current record: 'ptbxl:123' or 'upload:<sha1>' (cache key)."""
    cur = current()
    if not cur:
        return None
    return f"ptbxl:{cur['ecg_id']}" if cur["kind"] == "ptbxl" else cur["key"]


def _current_record(prefer_fs: int) -> Record | None:
    """The open record: the upload, or PTB-XL at `prefer_fs` when its files exist, else the other rate."""
    cur = current()
    if not cur:
        return None
    if cur["kind"] == "upload":
        return st.session_state.get(UPLOAD_KEY)
    row = index().loc[cur["ecg_id"]]
    other = 500 if prefer_fs == 100 else 100
    return ptbxl_record(cur["ecg_id"], prefer_fs if row[f"has_{prefer_fs}"] else other)


def record_for_models() -> Record | None:
    """The record the models read: PTB-XL at 100 Hz (what they were trained on) or the upload."""
    return _current_record(100)


def record_for_display() -> Record | None:
    """The record drawn on the grid: PTB-XL at 500 Hz when present, else 100 Hz; or the upload."""
    return _current_record(500)


def require_record() -> Record | None:
    """The model-input record, or an info box saying how to choose one (returns None)."""
    rec = record_for_models()
    if rec is None:
        st.info("No record is open. Choose one on **Records** (or `?ecg_id=...` in the address), "
                "or upload your own ECG on **Upload**.")
    return rec


# ---------------------------------------------------------------- models
TORCH_THREADS = 1   # per server process: one user's explanation must not starve everyone else


@st.cache_resource(show_spinner="Loading model weights…")
def _model(name: str, wdir: str | None):
    import torch                      # imported here, not at start-up: the first page opens ~2 s sooner
    torch.set_num_threads(TORCH_THREADS)
    from ecgcore.models import registry
    model = registry.load_model(name, wdir)
    if getattr(model, "net", None) is not None:      # SHAP's one-off costs, paid before anyone waits
        threading.Thread(target=_warm_up, args=(model,), name=f"shap-warm-up-{name}", daemon=True).start()
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


# ---------------------------------------------------------------- score file of the open PTB-XL folder
def scores() -> tuple[pd.DataFrame | None, str, Path]:
    """(score table indexed by ecg_id or None, why not, its path) for the open PTB-XL folder."""
    from ecgcore.score.outcomes import scores_path
    root, _ = data_root()
    path = scores_path(root)
    mtime = path.stat().st_mtime if path.is_file() else 0.0
    from ecgcore.models.registry import weights_path
    files = {n: weights_path(n, weights_dir()) for n in MODEL_ORDER}
    shas = tuple(sorted((n, _sha(str(p), p.stat().st_mtime)) for n, p in files.items() if p.is_file()))
    table, why = _scores(str(path), mtime, shas)
    return table, why, path


@st.cache_data(max_entries=4, show_spinner="Reading the score file…")
def _scores(path: str, mtime: float, shas: tuple) -> tuple[pd.DataFrame | None, str]:
    from ecgcore.score.outcomes import load_scores
    return load_scores(path, dict(shas))


@st.cache_data(max_entries=16, show_spinner=False)
def _sha(path: str, mtime: float) -> str:
    from ecgcore.models.registry import sha256
    return sha256(Path(path))


@st.cache_data(max_entries=4, show_spinner=False)
def outcome_columns(path: str, mtime: float) -> pd.DataFrame:
    """The Records table's model columns for the score file at `path` (indexed by ecg_id)."""
    from ecgcore.score.outcomes import load_scores
    from ecgcore.plot.tables import outcome_columns as columns
    table, _ = load_scores(path)
    return columns(table)


# ---------------------------------------------------------------- clinical reading (delineation, measurements)
def measurements(rec: Record):
    """`ecgcore.signal.measure.measure_record` of the record on display, cached on its id and rate."""
    return _measurements(current_key() or rec.title, float(rec.fs), rec)


@st.cache_data(max_entries=64, show_spinner="Measuring waves and intervals…")
def _measurements(key: str, fs: float, _rec: Record):
    from ecgcore.signal.measure import measure_record
    return measure_record(_rec.signal, _rec.fs)


CALIPER_KEY = "caliper_points"


def caliper_click(event, fig, start: float, layout: str) -> None:
    """Keep the last two points clicked on the grid (st.plotly_chart's selection state) as calipers;
    another record, window or layout starts them afresh (the old selection is then ignored)."""
    from ecgcore.plot.reading import caliper_point
    pts = (event or {}).get("selection", {}).get("points", []) if isinstance(event, dict) else \
        getattr(getattr(event, "selection", None), "points", []) or []
    point = None
    if len(pts) == 1:
        p = pts[0]
        curve = p.get("curve_number")
        trace = fig.data[curve].to_plotly_json() if curve is not None and curve < len(fig.data) else {}
        point = caliper_point(trace, p.get("x"), p.get("y"), start)
    context = (current_key(), start, layout)
    if st.session_state.get("caliper_context") != context:
        st.session_state["caliper_context"] = context
        clear_calipers(point)
        return
    kept = st.session_state.get(CALIPER_KEY, [])
    if point is not None and point != st.session_state.get("caliper_ignore") and (not kept or kept[-1] != point):
        st.session_state[CALIPER_KEY] = (kept + [point])[-2:]


def clear_calipers(selected=None) -> None:
    """Forget the caliper points; the point still selected on the chart is not taken again."""
    st.session_state[CALIPER_KEY] = []
    st.session_state["caliper_ignore"] = selected
