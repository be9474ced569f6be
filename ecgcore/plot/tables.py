"""Tables the pages show, as pandas DataFrames built from ecgcore results (no Streamlit).

Records (filter + display columns), a record's predictions (`ecgcore.models.predict.Assessment`), its
per-lead quality (`ecgcore.signal.quality.QualityReport`) and model cards (dicts from `ecgcore.models.cards`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..io.ptbxl import QUALITY_COLUMNS
from ..score.outcomes import disagreement
from ..signal.record import CLASS_NAMES, CLASSES


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
        keep &= (idx[list(QUALITY_COLUMNS)] == "").all(axis=1)
    return idx[keep]


def join_flags(frame: pd.DataFrame, names: list[str] | tuple[str, ...], empty: str = "") -> np.ndarray:
    """Per row, the names whose column is truthy, joined by ', ' (vectorised: ~10 ms for 21,799 rows)."""
    text = np.full(len(frame), "", dtype=object)
    for name in names:
        on = frame[name].to_numpy().astype(bool)
        text = np.where(on, np.where(text == "", name, text + ", " + name), text)
    return np.where(text == "", empty, text)


def records_table(sub: pd.DataFrame) -> pd.DataFrame:
    """The columns the Records page shows, one row per record."""
    flags = join_flags(sub[list(QUALITY_COLUMNS)] != "", QUALITY_COLUMNS)
    rates = np.where(sub["has_500"], np.where(sub["has_100"], "100 + 500", "500"), "100")
    return pd.DataFrame({"ecg_id": sub.index, "labels": join_flags(sub, CLASSES, "-"), "fold": sub["fold"].values,
                         "age": sub["age"].values, "sex": sub["sex"].map({0: "M", 1: "F"}).values,
                         "validated": sub["validated_by_human"].values, "Hz": rates,
                         "quality flags": flags, "report": sub["report"].values})


def outcome_columns(scores: pd.DataFrame) -> pd.DataFrame:
    """Records-table columns from a score table (indexed by ecg_id): fused calls, status, disagreement."""
    ok = (scores["status"] == "ok").to_numpy()
    calls = pd.DataFrame({c: scores[f"call_{c}"].fillna(False).astype(bool) for c in CLASSES})
    return pd.DataFrame({"fused calls": np.where(ok, join_flags(calls, CLASSES, "-"), ""),
                         "model status": np.where(ok, scores["abstention"].fillna(""), scores["status"]),
                         "models disagree on": np.where(ok, join_flags(disagreement(scores), CLASSES), "")},
                        index=scores.index)


def probability_table(a) -> pd.DataFrame:
    """Rows = classes; columns = each model's calibrated probability, the fused threshold and
    call, and the cardiologists' label (PTB-XL only). `a`: an ecgcore.models.predict.Assessment."""
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


def quality_table(q) -> pd.DataFrame:
    """One row per lead from an ecgcore.signal.quality.QualityReport: usable, and the problems in words."""
    return pd.DataFrame({"lead": [lq.lead for lq in q.leads], "usable": [lq.ok for lq in q.leads],
                         "problems": ["; ".join(lq.details or lq.problems) for lq in q.leads]})


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
