"""Uploads: the 10 s window the models read of a longer recording, and the sidebar summary."""
from __future__ import annotations

import numpy as np
import streamlit as st

from ecgcore.signal.record import Record

from .core import set_current_upload

UPLOAD_FULL_KEY = "upload_full"        # the whole accepted upload
UPLOAD_WINDOW_KEY = "upload_window"    # start (s) of the window, from the Upload page's slider


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
