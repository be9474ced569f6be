"""Saliency in clinical terms: evidence aggregated onto the P wave, PR segment, QRS, ST, T and
baseline of each lead.

    labels = wave_labels(delineate_record(x, 100), 1000)     # (1000, 12) wave index per sample
    table = evidence_by_wave(band, labels)                   # 12 leads x 6 waves, shares of + evidence
    evidence_sentence(table, "MI")  -> "evidence for MI: QRS in II, III, aVF"

Waves per lead and beat, from the delineation of the model input (100 Hz, 10 s): P = P onset to
offset (that lead's); PR segment = P offset to the global QRS onset; QRS = global onset to offset;
T = from t_peak - (T end - t_peak) to the global T end (a T wave taken as symmetric about its
peak); ST = QRS offset (J) to the T start; every other sample is baseline. A map's evidence
for the class is its positive part; each cell's share is its positive sum over the total.
Resolution: SHAP maps are per element (signal: 10 ms; scalogram summed over frequency: 40 ms), so
their wave shares carry information. LIME scores whole segments (signal: one second per lead;
scalogram: two-second tiles), spreading each score evenly over its segment: within a lead, a LIME
map's wave shares follow the waves' durations, and only its lead shares carry information.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..signal.delineate import Delineation, delineate_record
from ..signal.record import LEADS, MODEL_FS
from .mapping import saliency_on_view

WAVES = ("P", "PR", "QRS", "ST", "T", "baseline")
_BASE = WAVES.index("baseline")


def _paint(lab: np.ndarray, a: float, b: float, lead: int, wave: int) -> None:
    if np.isfinite(a) and np.isfinite(b) and b > a:
        lo, hi = max(int(round(a)), 0), min(int(round(b)) + 1, lab.shape[0])
        if hi > lo:
            lab[lo:hi, lead] = wave


def wave_labels(delineation, n_samples: int) -> np.ndarray:
    """(n_samples, 12) int8: index into WAVES for every sample and lead (baseline where unknown)."""
    lab = np.full((n_samples, len(LEADS)), _BASE, np.int8)
    p_on, p_off = delineation.lead("p_on"), delineation.lead("p_off")
    t_peak = delineation.lead("t_peak")
    for b in range(delineation.n_beats):
        on, off, t_end = delineation.qrs_on[b], delineation.qrs_off[b], delineation.t_off[b]
        for k in range(len(LEADS)):
            t_start = 2 * t_peak[b, k] - t_end if np.isfinite(t_peak[b, k]) else np.nan
            if np.isfinite(t_start) and np.isfinite(off):
                t_start = max(t_start, off + 1)
            _paint(lab, p_on[b, k], p_off[b, k], k, WAVES.index("P"))
            _paint(lab, p_off[b, k] + 1, on - 1, k, WAVES.index("PR"))
            _paint(lab, off + 1, t_start - 1, k, WAVES.index("ST"))
            _paint(lab, t_start, t_end, k, WAVES.index("T"))
            _paint(lab, on, off, k, WAVES.index("QRS"))
    return lab


def evidence_by_wave(saliency: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """Share of the map's positive evidence in each lead x wave (12 x 6, sums to 1; zeros when the
    map has no positive part). saliency: (12, T) on the model input's time axis; labels (T, 12)."""
    sal = np.asarray(saliency, np.float64)
    if sal.shape != labels.T.shape:
        raise ValueError(f"saliency {sal.shape} and wave labels {labels.T.shape} must be (12, T) alike")
    pos = np.clip(sal, 0.0, None)
    total = pos.sum()
    cells = np.zeros((len(LEADS), len(WAVES)))
    for w in range(len(WAVES)):
        cells[:, w] = np.where(labels.T == w, pos, 0.0).sum(axis=1)
    return pd.DataFrame(cells / total if total > 0 else cells, index=list(LEADS), columns=list(WAVES))


def uniform_shares(labels: np.ndarray) -> pd.DataFrame:
    """The shares a uniform map would give (each cell's share of the samples): the chance level."""
    return evidence_by_wave(np.ones(labels.T.shape), labels)


def evidence_sentence(table: pd.DataFrame, class_name: str, k: int = 3) -> str:
    """'evidence for MI: QRS in II, III, aVF' from the wave with most evidence and its top leads."""
    if float(table.to_numpy().sum()) <= 0:
        return f"no part of the record raises the probability of {class_name}"
    wave = str(table.sum(axis=0).idxmax())
    leads = table[wave].sort_values(ascending=False, kind="stable")
    leads = [lead for lead, v in leads.items() if v > 0][:k]
    return (f"evidence for {class_name}: {wave} in {', '.join(leads)} "
            f"({table[wave].sum():.0%} of the positive evidence lies in {wave})")


def lead_share(table: pd.DataFrame, leads: tuple[str, ...]) -> float:
    """Share of the positive evidence in these leads (all waves)."""
    return float(table.loc[list(leads)].to_numpy().sum())


def wave_share(table: pd.DataFrame, wave: str) -> float:
    """Share of the positive evidence in this wave (all leads)."""
    return float(table[wave].sum())


@dataclass(frozen=True)
class WaveEvidence:
    """A map's evidence by lead and wave. table: 12 x 6 shares (`evidence_by_wave`), or None with
    `why` when the map cannot be placed on waves; labels: (T, 12) wave index per sample."""
    table: pd.DataFrame | None
    labels: np.ndarray | None
    n_beats: int
    why: str = ""


def wave_evidence(expl, delineation: Delineation | None = None) -> WaveEvidence:
    """The lead x wave table of an Explanation's map on the signal, its model input delineated at
    100 Hz (or `delineation`, already computed on that input)."""
    band, why = saliency_on_view(expl, "signal")
    if band is None:
        return WaveEvidence(None, None, 0, f"No lead x wave table for this map: {why}.")
    d = delineation if delineation is not None else delineate_record(expl.signal, MODEL_FS)
    if d.n_beats == 0:
        return WaveEvidence(None, None, 0, "No lead x wave table: no beats were found in the model input, "
                                           "so its waves are unknown.")
    labels = wave_labels(d, expl.signal.shape[0])
    return WaveEvidence(evidence_by_wave(band, labels), labels, d.n_beats)
