"""One median beat per lead, aligned on R, with its own fiducials.

    mb = median_beats(signal, fs)               # or median_beats(signal, fs, delineation=d)
    mb.signal (L, 12) mV (band-passed as delineation reads it); mb.r_index; mb.n_beats of mb.n_total
    mb.fiducials["qrs_on"] (12,) samples in the window; mb.fiducials["g_qrs_on"] global (float)

Beats averaged: all detected beats except premature ones (RR before < 85 % of the median RR) and
beats whose QRS (R +- 60 ms, 8 independent leads) correlates < 0.8 with the first median
(ectopics, artefacts). The median (not the mean) over beats keeps one noisy beat out.
The window runs from R - clip(0.55 RR, 0.25, 0.5) s to R + clip(0.85 RR, 0.3, 0.7) s.
The median beat is delineated like one beat (`delineate_beats`), with its own QRS thresholds
MEDIAN_QRS_FRACS (the noise is lower than in one beat): (0.06, 0.10) puts the synthetic QRS of
tests/test_measure.py within 10 ms, between the LUDB-tuned per-beat (0.05, 0.09) and the wider
QRS that PTB-XL's BBB codes prefer (see docs/measurements.md). Below T_FS (500 Hz) the T end is
read on the median beat linearly upsampled to T_FS: at 100 Hz the area method otherwise reads
the T end 7-10 ms early (LUDB) to 20 ms early (synthetic).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .delineate import FIELDS, SV_LEADS, Delineation, _check, band_pass, delineate_beats, delineate_record

MEDIAN_QRS_FRACS = (0.06, 0.10)
T_FS = 500.0    # below this rate the T end of the median beat is read on it upsampled to T_FS


@dataclass(frozen=True)
class MedianBeats:
    """signal (L, 12) mV; r_index: sample of R in it; n_beats averaged of n_total detected;
    fiducials: name -> (12,) samples in the window (NaN = not found), plus the global
    "g_qrs_on", "g_qrs_off", "g_t_off" (floats)."""
    signal: np.ndarray
    fs: float
    r_index: int
    n_beats: int
    n_total: int
    fiducials: dict = field(default_factory=dict)

    def ms(self, name: str) -> np.ndarray | float:
        """A fiducial in ms from the window start."""
        return np.asarray(self.fiducials[name], dtype=float) * 1000.0 / self.fs


def _window(rr_s: float) -> tuple[float, float]:
    before = float(np.clip(0.55 * rr_s, 0.25, 0.5))
    after = float(np.clip(0.85 * rr_s, 0.3, 0.7))
    return before, after


def select_beats(x: np.ndarray, fs: float, r_peaks: np.ndarray, before: int, after: int) -> np.ndarray:
    """Indices into r_peaks of the beats to average (see module docstring)."""
    r = np.asarray(r_peaks, dtype=int)
    inside = np.nonzero((r - before >= 0) & (r + after < x.shape[0]))[0]
    if inside.size == 0:
        return inside
    rr = np.diff(r)
    if rr.size:
        med = np.median(rr)
        premature = np.concatenate([[False], rr < 0.85 * med])
        inside = inside[~premature[inside]] if (~premature[inside]).any() else inside
    w = int(0.06 * fs)
    qrs = np.stack([x[r[k] - w:r[k] + w + 1][:, SV_LEADS].ravel() for k in inside])
    ref = np.median(qrs, axis=0)
    qc = qrs - qrs.mean(axis=1, keepdims=True)
    rc = ref - ref.mean()
    den = np.sqrt((qc ** 2).sum(axis=1) * (rc ** 2).sum()) + 1e-12
    corr = qc @ rc / den
    keep = inside[corr >= 0.8]
    return keep if keep.size else inside


def median_beats(signal: np.ndarray, fs: float, delineation: Delineation | None = None,
                 filtered: np.ndarray | None = None) -> MedianBeats | None:
    """The median beat of each lead of a (T, 12) mV record, delineated; None if no beat fits.
    `filtered`: the record already band-passed by `band_pass` (saves one filtering)."""
    raw = _check(signal, fs)
    x = filtered if filtered is not None else band_pass(raw, fs)
    d = delineation if delineation is not None else delineate_record(raw, fs, filtered=x)
    r = d.r_peaks
    if r.size == 0:
        return None
    rr_s = float(np.median(np.diff(r))) / fs if r.size > 1 else 0.8
    b_s, a_s = _window(rr_s)
    before, after = int(round(b_s * fs)), int(round(a_s * fs))
    keep = select_beats(x, fs, r, before, after)
    if keep.size == 0:
        return None
    stack = np.stack([x[r[k] - before:r[k] + after + 1] for k in keep])
    med = np.median(stack, axis=0)
    md = delineate_beats(med, fs, np.array([before]), bounds=(0, med.shape[0]), qrs_fracs=MEDIAN_QRS_FRACS)
    fid = {f: md.per_lead[f][0].copy() for f in FIELDS}
    fid.update(g_qrs_on=float(md.qrs_on[0]), g_qrs_off=float(md.qrs_off[0]), g_t_off=float(md.t_off[0]))
    up = int(round(T_FS / fs))
    if up > 1:      # T end on the median beat linearly upsampled: the area method needs the resolution
        grid = np.arange((med.shape[0] - 1) * up + 1) / up
        fine = np.stack([np.interp(grid, np.arange(med.shape[0]), med[:, i]) for i in range(med.shape[1])], 1)
        mf = delineate_beats(fine, fs * up, np.array([before * up]), bounds=(0, fine.shape[0]),
                             qrs_fracs=MEDIAN_QRS_FRACS)
        fid.update(t_peak=mf.per_lead["t_peak"][0] / up, t_off=mf.per_lead["t_off"][0] / up,
                   g_t_off=float(mf.t_off[0]) / up)
    return MedianBeats(signal=med.astype(np.float32), fs=float(fs), r_index=before,
                       n_beats=int(keep.size), n_total=int(r.size), fiducials=fid)
