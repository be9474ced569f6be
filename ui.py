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
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from ecgcore import ptbxl
from ecgcore.record import CLASSES, Record

MODEL_ORDER = ("signal", "spectrum", "scalogram", "fused")
QUALITY_FLAGS = ptbxl.QUALITY_COLUMNS
UPLOAD_KEY = "upload_record"


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


def data_status() -> dict:
    """Where PTB-XL is and what it holds: {'root', 'missing', 'rows', 'n100', 'n500'}."""
    root = ptbxl.ptbxl_dir()
    missing = ptbxl.missing_files(root)
    status = {"root": str(root), "missing": missing, "rows": 0, "n100": 0, "n500": 0}
    if not missing:
        idx = _index(str(root))
        status.update(rows=len(idx), n100=int(idx["has_100"].sum()), n500=int(idx["has_500"].sum()))
    return status


def index() -> pd.DataFrame | None:
    """The PTB-XL index, or None when there is no PTB-XL folder."""
    root = ptbxl.ptbxl_dir()
    return None if ptbxl.missing_files(root) else _index(str(root))


@st.cache_data(max_entries=128, show_spinner=False)
def ptbxl_record(ecg_id: int, fs: int) -> Record:
    return ptbxl.load_record(int(ecg_id), fs)


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
    from ecgcore import registry
    return registry.load_model(name, wdir)


def models() -> tuple[dict, dict[str, str]]:
    """({name: model} that loaded, {name: why not}) over signal, spectrum, scalogram, fused."""
    from ecgcore.registry import WeightsError
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


# ---------------------------------------------------------------- computed results (cached on plain ids)
@st.cache_data(max_entries=256, show_spinner=False)
def assessment(key: str, wdir: str | None, names: tuple[str, ...], _record: Record, _models: dict):
    """ecgcore.predict.assess for one record, keyed on the record id and the model names."""
    from ecgcore.predict import assess
    return assess(_record, _models)


@st.cache_resource(max_entries=64, show_spinner=False)
def explanation(key: str, wdir: str | None, model_name: str, method: str, class_index: int,
                _record: Record, _model):
    """ecgcore.explain.explain on the record's model input (seed 0), keyed on plain ids."""
    from ecgcore.explain import explain
    from ecgcore.record import model_input
    return explain(_model, model_input(_record), method, class_index, seed=0)


@st.cache_data(max_entries=32, show_spinner=False)
def view_of(key: str, view: str, _record: Record):
    """A view ('spectrum', 'scalogram', 'signal') of the record's model input (1, 12, ...)."""
    from ecgcore.record import model_input
    from ecgcore.views import compute_view
    return compute_view(view, model_input(_record))


# ---------------------------------------------------------------- records table
def filter_records(idx: pd.DataFrame, query: str = "", classes: list[str] | None = None,
                   folds: list[int] | None = None, sex: str = "any", age: tuple[int, int] | None = None,
                   validated: bool = False, flags: list[str] | None = None,
                   no_flags: bool = False) -> pd.DataFrame:
    """Records with signal files that match every filter. query: an ecg_id, or words of the report."""
    keep = idx["has_100"] | idx["has_500"]
    q = query.strip()
    if q.isdigit():
        keep &= idx.index == int(q)
    elif q:
        keep &= idx["report"].fillna("").str.contains(q, case=False, regex=False)
    if classes:
        keep &= idx[list(classes)].any(axis=1)
    if folds:
        keep &= idx["fold"].isin(folds)
    if sex in ("male", "female"):
        keep &= idx["sex"] == (0 if sex == "male" else 1)
    if age is not None:
        keep &= idx["age"].between(age[0], age[1])
    if validated:
        keep &= idx["validated_by_human"]
    if flags:
        keep &= (idx[list(flags)] != "").any(axis=1)
    if no_flags:
        keep &= (idx[list(QUALITY_FLAGS)] == "").all(axis=1)
    return idx[keep]


def records_table(sub: pd.DataFrame) -> pd.DataFrame:
    """The columns the Records page shows, one row per record."""
    labels = sub[list(CLASSES)].apply(lambda r: ", ".join(c for c in CLASSES if r[c]) or "-", axis=1)
    flags = sub[list(QUALITY_FLAGS)].apply(lambda r: ", ".join(f for f in QUALITY_FLAGS if r[f]) or "", axis=1)
    rates = np.where(sub["has_500"], np.where(sub["has_100"], "100 + 500", "500"), "100")
    return pd.DataFrame({"ecg_id": sub.index, "labels": labels.values, "fold": sub["fold"].values,
                         "age": sub["age"].values, "sex": sub["sex"].map({0: "M", 1: "F"}).values,
                         "validated": sub["validated_by_human"].values, "Hz": rates,
                         "quality flags": flags.values, "report": sub["report"].values})


# ---------------------------------------------------------------- predictions tables
def probability_table(a) -> pd.DataFrame:
    """Rows = classes; columns = each model's calibrated probability, the fused threshold and
    call, and the cardiologists' label (PTB-XL only). `a`: an ecgcore.predict.Assessment."""
    from ecgcore.record import CLASS_NAMES
    df = pd.DataFrame(index=pd.Index(list(CLASSES), name="class"))
    df["finding"] = [CLASS_NAMES[c] for c in CLASSES]
    if a.labels is not None:
        df["cardiologists"] = ["yes" if c in a.labels else "no" for c in CLASSES]
    for name, out in a.outputs.items():
        df[name] = np.asarray(out.proba, float)
    if "fused" in a.outputs:
        fused = a.outputs["fused"]
        df["fused threshold"] = np.asarray(fused.thresholds, float)
        df["fused call"] = np.where(fused.positive, "yes", "no")
    return df


def calls_table(a) -> pd.DataFrame:
    """Rows = models; columns = classes: 'yes' where the probability reaches that model's threshold."""
    return pd.DataFrame({n: np.where(o.positive, "yes", "no") for n, o in a.outputs.items()},
                        index=list(CLASSES)).T


# ---------------------------------------------------------------- model cards
@st.cache_data(show_spinner=False)
def card(name: str, wdir: str | None) -> dict:
    from ecgcore.cards import load_card
    return load_card(name, wdir)


def card_class_table(fold: dict) -> pd.DataFrame:
    """Per class: positives, AUC (95% CI), F1, sensitivity, specificity, threshold, TP/FP/FN/TN."""
    rows = {}
    for cls in CLASSES:
        c = fold["classes"][cls]
        lo, hi = c.get("auc_ci95", (np.nan, np.nan))
        rows[cls] = {"positives": c["positives"], "AUC": c["auc"], "95% CI": f"{lo:.2f}-{hi:.2f}",
                     "F1": c["f1"], "sensitivity": c["sensitivity"], "specificity": c["specificity"],
                     "threshold": c["threshold"], **{k.upper(): c["confusion"][k] for k in ("tp", "fp", "fn", "tn")}}
    return pd.DataFrame(rows).T


def card_auc_table(cards: dict[str, dict]) -> pd.DataFrame:
    """Rows = classes (+ macro), columns = models: fold-10 AUC with its 95% CI, as text."""
    out = {}
    for name, c in cards.items():
        t = c["fold10"]
        col = {cls: f"{t['classes'][cls]['auc']:.3f} ({t['classes'][cls]['auc_ci95'][0]:.2f}-"
                    f"{t['classes'][cls]['auc_ci95'][1]:.2f})" for cls in CLASSES}
        col["macro"] = f"{t['macro_auc']:.3f} ({t['macro_auc_ci95'][0]:.2f}-{t['macro_auc_ci95'][1]:.2f})"
        out[name] = col
    first = next(iter(cards.values()))["fold10"]
    df = pd.DataFrame(out)
    df.insert(0, "positives", [first["classes"][c]["positives"] for c in CLASSES] + [first["n_records"]])
    return df


def model_summary(rec: Record) -> None:
    """One line under a page title: the fused calls and the status for `rec` (or what is missing)."""
    with st.container(key="model_summary", border=True):
        predict, missing = optional("ecgcore.predict")
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


def quality_table(q) -> pd.DataFrame:
    """One row per lead from an ecgcore.quality.QualityReport: usable, and the problems in words."""
    return pd.DataFrame({"lead": [lq.lead for lq in q.leads], "usable": [lq.ok for lq in q.leads],
                         "problems": ["; ".join(lq.details or lq.problems) for lq in q.leads]})
