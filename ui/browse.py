"""The score file of the open PTB-XL folder (browse by outcome), and the clinical reading of a record."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from ecgcore.signal.record import Record

from .core import MODEL_ORDER, current_key, data_root, weights_dir


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
