"""Signal quality per lead: is this ECG fit to be read (by a model or a clinician)?

    report = assess_quality(record.signal, record.fs)   # (T, 12) mV, canonical lead order
    report.assessable, report.bad_leads, report.reasons, report.summary

Per-lead problem codes (thresholds are the constants below, set on the real PTB-XL records
without any PTB-XL quality flag: at 100 Hz 98.2 % of their leads pass every check):
  nan       samples that are NaN or infinite
  missing   the lead is constant over the whole record (all zeros, unplugged)
  flat      peak-to-peak < FLAT_MV (10 uV) in every 0.1 s block for >= FLAT_S (2 s)
  clipping  >= CLIP_RUNS (2) separate runs of >= CLIP_RUN_S (10 ms, and >= 2 samples) sitting
            exactly at the lead's max or min (saturation cuts several beats the same way)
  wander    baseline (< 0.7 Hz) swings more than WANDER_MV (1.5 mV) peak to peak
  noise     broadband noise > NOISE_RATIO (0.6) x the QRS-band (5-15 Hz) power, the noise
            floor read from the spectrum above 40 Hz (works at 100 Hz and 500 Hz; white
            noise at SNR 0 dB reads 0.8-3, clean leads 99 % below 0.4)

Whole-record rule: `assessable` is False when MAX_BAD_LEADS (3) or more leads have any
problem, or when the rhythm lead II has a problem together with at least one other limb
lead (I, III, aVR, aVL, aVF). Otherwise it is True, with the bad leads listed.
Runs in about 1 ms for 10 s x 12 leads at 100 Hz.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, sosfiltfilt

from .record import LEADS

FLAT_MV, FLAT_S = 0.01, 2.0          # mV peak-to-peak per 0.1 s block; seconds
CLIP_RUN_S, CLIP_RUNS = 0.01, 2      # s a run at the extreme lasts at least; runs needed
WANDER_HZ, WANDER_MV = 0.7, 1.5      # Hz; mV peak to peak
QRS_BAND, NOISE_LO, NOISE_RATIO = (5.0, 15.0), 40.0, 0.6
BLOCK_S = 0.1
MAX_BAD_LEADS = 3                    # this many leads with a problem: not assessable
LIMB = ("I", "III", "aVR", "aVL", "aVF")
PROBLEM_WORDS = {"nan": "missing samples (NaN)", "missing": "no signal (constant)",
                 "flat": "flat line", "clipping": "clipped (saturated)",
                 "wander": "baseline wander", "noise": "high-frequency noise"}


class QualityInputError(ValueError):
    """The signal is not (T, 12) with a positive sampling rate and at least 1 s."""


@dataclass(frozen=True)
class LeadQuality:
    lead: str
    ok: bool
    problems: tuple[str, ...]          # codes, see module docstring
    details: tuple[str, ...] = ()      # plain words, one per problem


@dataclass(frozen=True)
class QualityReport:
    leads: tuple[LeadQuality, ...]
    assessable: bool
    reasons: tuple[str, ...]           # e.g. "lead V3: flat line (no signal for 4.2 s)"

    @property
    def bad_leads(self) -> tuple[str, ...]:
        return tuple(q.lead for q in self.leads if not q.ok)

    @property
    def ok(self) -> bool:
        return not self.bad_leads

    def problems(self, code: str) -> tuple[str, ...]:
        """Leads with problem `code`."""
        return tuple(q.lead for q in self.leads if code in q.problems)

    @property
    def summary(self) -> str:
        if self.ok:
            return "Signal quality: all 12 leads look usable."
        head = "Signal quality: " + ("usable with caution" if self.assessable else "NOT assessable")
        return f"{head}; problems in {len(self.bad_leads)} lead(s): {', '.join(self.bad_leads)}."


def _check_input(signal: np.ndarray, fs: float) -> np.ndarray:
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(LEADS):
        raise QualityInputError(f"signal must be (T, 12) mV in canonical lead order, got {x.shape}")
    if not fs or fs <= 0 or not np.isfinite(fs):
        raise QualityInputError(f"fs must be a positive number of Hz, got {fs!r}")
    if x.shape[0] < fs:
        raise QualityInputError(f"need at least 1 s of signal, got {x.shape[0]} samples at {fs:g} Hz")
    return x


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Runs of True along axis 0 of a (n, C) bool array: (column of each run, its length)."""
    n, c = mask.shape
    padded = np.zeros((c, n + 2), dtype=np.int8)
    padded[:, 1:-1] = mask.T
    edges = np.flatnonzero(np.diff(padded.ravel()))
    starts, stops = edges[::2], edges[1::2]
    return starts // (n + 2), stops - starts


def _longest_run(mask: np.ndarray) -> np.ndarray:
    """(n, C) bool -> (C,) length of the longest run of True in each column."""
    cols, lengths = _runs(mask)
    out = np.zeros(mask.shape[1], dtype=np.int64)
    np.maximum.at(out, cols, lengths)
    return out


@functools.lru_cache(maxsize=8)
def _wander_filter(block_s: float) -> np.ndarray:
    return butter(2, WANDER_HZ, fs=1 / block_s, output="sos")


def _blocks(x: np.ndarray, fs: float) -> tuple[np.ndarray, float]:
    """(T, C) -> (n_blocks, block, C) over whole BLOCK_S blocks, and the block length in s."""
    b = max(1, int(round(BLOCK_S * fs)))
    n = x.shape[0] // b
    return x[: n * b].reshape(n, b, x.shape[1]), b / fs


def _clip_metrics(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs sitting at each lead's max or min: (seconds in runs >= CLIP_RUN_S, number of such runs,
    the extreme value with more samples)."""
    lo, hi = x.min(axis=0), x.max(axis=0)
    at_hi, at_lo = x >= hi - 1e-4, x <= lo + 1e-4
    cols, lengths = _runs(at_hi | at_lo)
    long = lengths >= max(2, round(CLIP_RUN_S * fs))
    n = x.shape[1]
    seconds = np.bincount(cols[long], weights=lengths[long], minlength=n) / fs
    value = np.where(at_hi.sum(axis=0) >= at_lo.sum(axis=0), hi, lo)
    return seconds, np.bincount(cols[long], minlength=n), value


def _noise_ratio(x: np.ndarray, fs: float) -> np.ndarray:
    """Broadband noise power over QRS-band power, (C,); NaN below fs = 90 Hz.

    The noise floor is the mean power density at the top of the spectrum (>= 40 Hz and
    >= 60 % of Nyquist, where an ECG has next to no power) times the whole bandwidth, so
    white noise reads the same at 100 and 500 Hz. QRS band: 5-15 Hz."""
    if fs / 2 < NOISE_LO + 5:
        return np.full(x.shape[1], np.nan)
    win = np.hanning(x.shape[0])[:, None]
    power = np.abs(np.fft.rfft((x - x.mean(axis=0)) * win, axis=0)) ** 2
    f = np.fft.rfftfreq(x.shape[0], 1 / fs)
    qrs = power[(f >= QRS_BAND[0]) & (f < QRS_BAND[1])].mean(axis=0) * np.ptp(QRS_BAND)
    floor = power[f >= max(NOISE_LO, 0.6 * fs / 2)].mean(axis=0) * (fs / 2)
    return floor / np.maximum(qrs, 1e-12)


def lead_metrics(signal: np.ndarray, fs: float) -> dict[str, np.ndarray]:
    """The numbers behind the checks, each (12,): nan (count), range_mv, flat_s, clip_s,
    clip_runs, clip_mv, wander_mv (baseline < 0.7 Hz, peak to peak), noise_ratio."""
    x = _check_input(signal, fs)
    bad = ~np.isfinite(x)
    nan = bad.sum(axis=0)
    if nan.any():                      # fill with the lead's median so the other checks still run
        fill = np.nan_to_num(np.nanmedian(np.where(bad, np.nan, x), axis=0))
        x = np.where(bad, fill[None, :], x)
    blocks, block_s = _blocks(x, fs)
    flat_s = _longest_run(blocks.max(axis=1) - blocks.min(axis=1) < FLAT_MV) * block_s
    clip_s, clip_runs, clip_mv = _clip_metrics(x, fs)
    wander = np.ptp(sosfiltfilt(_wander_filter(block_s), blocks.mean(axis=1), axis=0), axis=0)
    return {"nan": nan, "range_mv": np.ptp(x, axis=0), "flat_s": flat_s, "clip_s": clip_s,
            "clip_runs": clip_runs, "clip_mv": clip_mv, "wander_mv": wander,
            "noise_ratio": _noise_ratio(x, fs)}


def _lead_problems(m: dict[str, np.ndarray], j: int, n: int) -> list[tuple[str, str]]:
    """(code, words) for lead j of metrics m; n = samples in the record."""
    found = []
    if m["nan"][j]:
        found.append(("nan", f"{int(m['nan'][j])} of {n} samples missing (NaN)"))
    if m["range_mv"][j] < 1e-6:
        found.append(("missing", "no signal (constant over the whole record)"))
    elif m["flat_s"][j] >= FLAT_S and not m["nan"][j]:
        found.append(("flat", f"flat line (no signal for {m['flat_s'][j]:.1f} s)"))
    if m["clip_runs"][j] >= CLIP_RUNS and m["range_mv"][j] >= 1e-6:
        found.append(("clipping", f"clipped at {m['clip_mv'][j]:.2f} mV "
                                  f"({int(m['clip_runs'][j])} runs, {m['clip_s'][j]:.2f} s)"))
    if m["wander_mv"][j] > WANDER_MV:
        found.append(("wander", f"baseline wander ({m['wander_mv'][j]:.1f} mV swing below "
                                f"{WANDER_HZ} Hz)"))
    if m["noise_ratio"][j] > NOISE_RATIO:
        found.append(("noise", f"high-frequency noise (noise {m['noise_ratio'][j]:.1f} x the "
                               "QRS-band power)"))
    return found


def assess_quality(signal: np.ndarray, fs: float) -> QualityReport:
    """Check each lead of `signal` (T, 12) mV at `fs` Hz; see the module docstring for the rules.

    Raises QualityInputError for a wrong shape, fs, or less than 1 s of signal."""
    m = lead_metrics(signal, fs)
    leads, reasons = [], []
    for j, name in enumerate(LEADS):
        found = _lead_problems(m, j, len(signal))
        leads.append(LeadQuality(name, not found, tuple(c for c, _ in found),
                                 tuple(w for _, w in found)))
        reasons += [f"lead {name}: {words}" for _, words in found]
    bad = [q.lead for q in leads if not q.ok]
    limb_bad = [lead for lead in bad if lead in LIMB]
    verdict = []
    if len(bad) >= MAX_BAD_LEADS:
        verdict.append(f"{len(bad)} of 12 leads have problems (limit {MAX_BAD_LEADS - 1})")
    if "II" in bad and limb_bad:
        verdict.append(f"rhythm lead II and limb lead(s) {', '.join(limb_bad)} have problems")
    return QualityReport(tuple(leads), not verdict, tuple(verdict + reasons))
