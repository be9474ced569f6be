"""P and T waves, and shared low-level helpers, for ecgcore.signal.delineate (see its docstring).

Constants (tuned on LUDB records 1-100, see docs/measurements.md):
  P: template correlation P_CORR with shift up to P_SHIFT_S; onset/offset by P_LEVELS; a P needs a
     multi-lead deviation of P_MIN_MV per lead on average; search up to P_MAX_S before the QRS.
  T: per lead, T at least T_MIN_MV; area window T_AREA_S; T end within T_TAIL_S of its peak;
     global T end = T_GLOBAL_Q quantile over leads; leads without a T take the T_FALLBACK_Q one.
"""
from __future__ import annotations

import numpy as np

from .record import LEADS

SV_LEADS = (0, 1, 6, 7, 8, 9, 10, 11)      # I, II, V1-V6: the 8 independent leads
P_CORR, P_SHIFT_S = 0.5, 0.02               # template match needed; shift allowed (s)
P_LEVELS = (0.4, 0.8, 0.1)                  # two crossing levels, and the level extrapolated to
P_MIN_MV, P_MAX_S, P_LP_HZ, P_END_GAP_S = 0.025, 0.40, 25.0, 0.02
T_MIN_MV, T_AREA_S, T_TAIL_S = 0.08, 0.04, 0.14
T_GLOBAL_Q, T_FALLBACK_Q, T_LP_HZ = 0.85, 0.5, 15.0
T_TM_LEVEL = 0.0    # steepest T downslope sought before the T first falls below this share of its peak


def _cross(v: np.ndarray, i: int | None, thr: float, toward: int) -> float:
    """Sub-sample position where v crosses thr between low sample i and its neighbour i+toward
    (linear interpolation); NaN if i is None."""
    if i is None:
        return np.nan
    j = i + toward
    if not 0 <= j < v.size or v[j] <= v[i]:
        return float(i)
    return float(i + toward * (thr - v[i]) / (v[j] - v[i]))


def _t_ends(y: np.ndarray, pk: np.ndarray, amp: np.ndarray, fs: float) -> np.ndarray:
    """(12,) T ends (samples into y) by the area method, all leads at once; NaN where the T is
    under T_MIN_MV. y (n, 12) baseline-relative, pk (12,) T peaks, amp (12,) their values.
    Per lead: from the steepest slope back to baseline after the peak (within T_TAIL_S), the
    point i maximising the area between y and the horizontal line through y[i] over T_AREA_S."""
    n, nl = y.shape
    ok = np.abs(amp) >= T_MIN_MV
    stop = np.minimum(n, pk + int(T_TAIL_S * fs))
    yy = y * np.sign(amp)[None, :]
    rows = np.arange(n)[:, None]
    dif = np.diff(yy, axis=0, append=yy[-1:])
    in_seg = (rows >= pk[None, :]) & (rows < stop[None, :] - 1)
    low = in_seg & (yy < T_TM_LEVEL * np.abs(amp)[None, :])
    first_low = np.where(low.any(axis=0), np.argmax(low, axis=0), n)
    in_tm = in_seg & ((rows < first_low[None, :]) | (first_low <= pk + 1)[None, :])
    tm = np.argmin(np.where(in_tm, dif, np.inf), axis=0)
    w = max(2, int(round(T_AREA_S * fs)))
    c = np.vstack([np.zeros((1, nl)), np.cumsum(yy, axis=0)])
    j = np.maximum(tm[None, :], rows - w)
    area = c[rows[:, 0] + 1] - np.take_along_axis(c, j, axis=0) - yy * (rows + 1 - j)
    valid = (rows > tm[None, :]) & (rows < stop[None, :])
    area = np.where(valid, area, -np.inf)
    best = np.argmax(area, axis=0)
    ends = best.astype(float)
    inner = (best > 0) & (best < n - 1)
    cols = np.nonzero(inner)[0]
    if cols.size:                                   # parabolic sub-sample peak of the area
        a0, a1, a2 = area[best[cols] - 1, cols], area[best[cols], cols], area[best[cols] + 1, cols]
        fine = np.isfinite(a0) & np.isfinite(a2)
        den = a0[fine] - 2 * a1[fine] + a2[fine]
        shift = np.where(den < 0, 0.5 * (a0[fine] - a2[fine]) / np.where(den < 0, den, -1.0), 0.0)
        ends[cols[fine]] += np.clip(shift, -0.5, 0.5)
    ends[~ok | ~valid.any(axis=0) | (stop - pk < 4)] = np.nan
    return ends


def _edges(mag: np.ndarray, pk: int, floor: float, levels: tuple[float, float, float]) -> tuple[float, float] | None:
    """Onset / offset of the bump of `mag` around `pk`: the line through its crossings of two
    levels (fractions of peak above floor), extended down to the floor (tangent-like; less
    noise-sensitive than a single low threshold)."""
    height = mag[pk] - floor
    res = []
    for side in (-1, 1):
        cross = []
        for lev in levels[:2]:
            thr = floor + lev * height
            idx = np.nonzero(mag[:pk] < thr)[0] if side < 0 else pk + np.nonzero(mag[pk:] < thr)[0]
            if idx.size == 0:
                return None
            cross.append(_cross(mag, int(idx[-1] if side < 0 else idx[0]), thr, -side))
        lo_t, hi_t = cross
        span = (hi_t - lo_t) / (levels[1] - levels[0])
        res.append(lo_t - span * (levels[0] - levels[2]))
    on, off = max(0.0, min(res[0], pk)), min(mag.size - 1.0, max(res[1], pk))
    return on, off


def _p_wave(xp: np.ndarray, fs: float, p_lo: int, p_hi: int, k: int, out: dict) -> None:
    """P onset / peak / offset of beat k in xp[p_lo:p_hi] (written into out) if a P is there."""
    seg = xp[p_lo:p_hi + 1]
    na = max(1, int(0.02 * fs))
    left, right = seg[:na].mean(axis=0), seg[-max(1, int(0.01 * fs)):].mean(axis=0)
    line = np.linspace(0, 1, seg.shape[0])[:, None] * (right - left) + left
    dev = seg - line
    mag = np.sqrt((dev[:, SV_LEADS] ** 2).sum(axis=1))
    a, b = na, mag.size - max(1, int(P_END_GAP_S * fs))
    if b - a < 2:
        return
    pk = a + int(np.argmax(mag[a:b]))
    floor = float(np.percentile(mag, 5))
    if mag[pk] - floor < P_MIN_MV * np.sqrt(len(SV_LEADS)) / 2:
        return
    edges = _edges(mag, pk, floor, P_LEVELS)
    if edges is not None:
        p_on, p_off = edges
        out["p_on"][k], out["p_off"][k] = p_lo + p_on, p_lo + p_off
        a, b = int(np.floor(p_on)), int(np.ceil(p_off)) + 1
        out["p_peak"][k] = p_lo + a + np.argmax(np.abs(dev[a:b]), axis=0)


def _p_by_template(xp: np.ndarray, fs: float, on: np.ndarray, p_start: np.ndarray, out: dict) -> None:
    """P waves from the median of the pre-QRS windows (aligned on QRS onset): delineate the
    template, then give each beat whose own window matches it (correlation >= P_CORR, best
    shift within +-P_SHIFT_S) the template's P, shifted. No P in the template: no P at all
    (atrial fibrillation, flutter waves and noise average out)."""
    ok = np.isfinite(on) & (p_start >= 0)
    if not ok.any():
        return
    length = int(np.median((on - p_start)[ok]))
    idx = [k for k in np.nonzero(ok)[0] if on[k] - length >= 0]
    if length < 0.08 * fs or not idx:
        return
    segs = np.stack([xp[int(on[k]) - length:int(on[k]) + 1] for k in idx])
    tmpl = np.median(segs, axis=0)
    t_out = {f: np.full((1, len(LEADS)), np.nan) for f in ("p_on", "p_peak", "p_off")}
    _p_wave(tmpl, fs, 0, length - max(1, int(0.01 * fs)), 0, t_out)
    if not np.isfinite(t_out["p_on"][0, 0]):
        return
    rel_on, rel_off = float(t_out["p_on"][0, 0]), float(t_out["p_off"][0, 0])
    rel_peak = t_out["p_peak"][0]
    m = int(0.02 * fs)
    a, b = max(0, int(rel_on) - m), min(length + 1, int(np.ceil(rel_off)) + m + 1)
    ref = tmpl[a:b][:, SV_LEADS]
    ref = (ref - ref.mean(axis=0)).ravel()
    shift = int(round(P_SHIFT_S * fs))
    for k in idx:
        base = int(on[k]) - length
        best, best_s = -1.0, 0
        for sh in range(-shift, shift + 1):
            lo_, hi_ = base + a + sh, base + b + sh
            if lo_ < 0 or hi_ > int(on[k]):
                continue
            seg = xp[lo_:hi_][:, SV_LEADS]
            seg = (seg - seg.mean(axis=0)).ravel()
            den = np.sqrt((seg ** 2).sum() * (ref ** 2).sum())
            c = float(seg @ ref / den) if den > 0 else -1.0
            if c > best:
                best, best_s = c, sh
        if best >= P_CORR:
            out["p_on"][k] = base + rel_on + best_s
            out["p_off"][k] = base + rel_off + best_s
            out["p_peak"][k] = base + rel_peak + best_s
