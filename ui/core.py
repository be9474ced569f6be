"""Frame, data and the current record: the Streamlit-aware core every page uses.

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

from ecgcore.io import ptbxl
from ecgcore.signal.record import CLASSES, Record  # noqa: F401 - ui.CLASSES for the pages

MODEL_ORDER = ("signal", "spectrum", "scalogram", "fused")
QUALITY_FLAGS = ptbxl.QUALITY_COLUMNS
UPLOAD_KEY = "upload_record"          # the record the models read (a 10 s window of a longer upload)


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


APP_FILE = Path(__file__).resolve().parents[1] / "app.py"


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
