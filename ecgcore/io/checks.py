"""Upload checks: names, sizes, rate, length, leads, signal sanity and text encoding (the strict
WFDB header parser is `ecgcore.io.wfdb_header`).

Each check raises `UploadError` whose message says which file, what is wrong and what
would be accepted. Limits are module constants so the app can quote them.
"""
from __future__ import annotations

import codecs
import math
import re
from collections import Counter

import numpy as np

from ..signal.record import LEADS, Record, normalize_lead_name

MAX_UPLOAD_MB = 50                  # per file and per upload in total (MiB)
MIN_FS, MAX_FS = 50.0, 10_000.0     # Hz
MIN_SECONDS, MAX_SECONDS = 5.0, 60.0
MAX_MV = 20.0                       # 99th percentile of |x| above this: not mV
HARD_MAX_MV = 1000.0                # any single sample above this: corrupted
FLAT_PTP_MV = 0.02                  # whole lead peak-to-peak below this: flat line
FLAT_RUN_SECONDS = 2.0              # constant this long inside a lead: flat stretch
LEADS_TEXT = "I, II, III, aVR, aVL, aVF, V1, V2, V3, V4, V5, V6"
# Real leads that are not part of the standard 12 (Frank, right-sided, posterior).
EXTRA_LEADS = {"X", "Y", "Z", "VX", "VY", "VZ", "V7", "V8", "V9", "V3R", "V4R", "V5R", "V6R"}
_PLAIN_NAME = re.compile(r"^[^/\\\x00-\x1f\x7f]{1,255}$")


class UploadError(ValueError):
    """An upload that cannot be read as a 12-lead ECG; the message says why and what works."""


def show(text: object, limit: int = 60) -> str:
    """A quoted, escaped, shortened form of untrusted text for messages."""
    s = repr(str(text))
    return s if len(s) <= limit else s[: limit - 4] + "...'"


def listing(items: list, limit: int = 6) -> str:
    """'a, b, c' or 'a, b, ... (+n more)' for messages."""
    items = [str(i) for i in items]
    head = ", ".join(items[:limit])
    return head if len(items) <= limit else f"{head}, ... (+{len(items) - limit} more)"


def check_name(name: object) -> str:
    """The lower-case extension of an uploaded file name; refuses paths and odd names."""
    if not isinstance(name, str) or not _PLAIN_NAME.match(name) or name.strip(" .") == "":
        raise UploadError(f"file name {show(name)} is not a plain file name (it contains a path "
                          "separator, a control character, or nothing): upload the file under "
                          "a plain name such as 'ecg.csv'")
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def check_size(name: str, size: int) -> None:
    """Refuses empty files and files over the size cap."""
    if size == 0:
        raise UploadError(f"{show(name)} is empty (0 bytes): upload the file with its content")
    if size > MAX_UPLOAD_MB * 2**20:
        raise UploadError(f"{show(name)} is {size / 2**20:.1f} MB; the limit is {MAX_UPLOAD_MB} MB "
                          f"per file (a 60 s 12-lead ECG at 500 Hz is under 1 MB)")


def check_rate(fs: object, where: str) -> float:
    """The sampling rate as a float in [MIN_FS, MAX_FS]; refuses missing or impossible rates."""
    if fs is None:
        raise UploadError(f"{where}: no sampling rate. Give the sampling rate in Hz (e.g. 500): "
                          "CSV and .npy files do not carry one")
    try:
        value = float(fs)
    except (TypeError, ValueError, OverflowError):
        raise UploadError(f"{where}: sampling rate {show(fs)} is not a number; give it in Hz, "
                          "e.g. 500") from None
    if not math.isfinite(value) or not MIN_FS <= value <= MAX_FS:
        shown = f"{value:g}" if isinstance(fs, (int, float)) else show(fs)
        raise UploadError(f"{where}: sampling rate {shown} Hz is impossible for an ECG; "
                          f"accepted: {MIN_FS:g} to {MAX_FS:g} Hz")
    return value


def check_given_rate(fs: object, rate: float, where: str, fmt: str) -> None:
    """Refuses a given rate that differs from the rate a self-describing file states."""
    if fs is None:
        return
    given = check_rate(fs, "the given rate")
    if not math.isclose(given, rate, rel_tol=1e-6):
        raise UploadError(f"{where}: the {fmt} file says {rate:g} Hz but {given:g} Hz was given: "
                          f"leave the rate empty for {fmt} uploads (the file's rate is used)")


def check_duration(n_samples: int, fs: float, where: str) -> None:
    """Refuses recordings shorter than MIN_SECONDS or longer than MAX_SECONDS (before reading)."""
    seconds = n_samples / fs
    if seconds < MIN_SECONDS:
        raise UploadError(f"{where}: too short: {n_samples} samples at {fs:g} Hz = {seconds:.2f} s; "
                          f"at least {MIN_SECONDS:g} s is needed (the models read 10 s)")
    if seconds > MAX_SECONDS:
        raise UploadError(f"{where}: too long: {n_samples} samples at {fs:g} Hz = {seconds:.6g} s; "
                          f"at most {MAX_SECONDS:g} s is accepted: upload the segment you want read "
                          "(the models read the first 10 s)")


def lead_order(names: list[str], where: str) -> tuple[list[int], list[str]]:
    """Column index of each canonical lead in `names`, plus notes on renaming/reordering.

    Columns beyond the 12 standard leads (Frank vx/vy/vz, V4R, other signals) are set aside and
    named in a note when all 12 are present once each; otherwise unknown, extra, duplicated and
    missing leads are refused, naming them.
    """
    canon = [normalize_lead_name(n) for n in names]
    unknown = [show(n, 24) for n, c in zip(names, canon) if c is None
               and str(n).strip().upper() not in EXTRA_LEADS]
    extra = [str(n).strip() for n, c in zip(names, canon) if c is None
             and str(n).strip().upper() in EXTRA_LEADS]
    dups = [c for c, k in Counter(c for c in canon if c).items() if k > 1]
    missing = [lead for lead in LEADS if lead not in canon]
    problems = []
    if dups or missing:
        if unknown:
            problems.append(f"unknown lead name{'s' * (len(unknown) > 1)} {listing(unknown)}")
        if extra:
            problems.append(f"extra lead{'s' * (len(extra) > 1)} {listing(extra)} (not one of the "
                            "standard 12; set aside only when all 12 are present)")
    for lead in dups:
        cols = [show(n, 24) for n, c in zip(names, canon) if c == lead]
        problems.append(f"lead {lead} appears {len(cols)} times ({listing(cols)})")
    if missing:
        problems.append(f"missing lead{'s' * (len(missing) > 1)} {listing(missing, 12)}")
    if problems:
        raise UploadError(f"{where}: {'; '.join(problems)}. Accepted: the 12 leads "
                          f"{LEADS_TEXT}, once each, any order and case (also D1-D3, MLII, "
                          "'Lead V1', 'V1 (mV)'); other signals are set aside")
    order = [canon.index(lead) for lead in LEADS]
    notes = []
    aside = [show(n, 24) for n, c in zip(names, canon) if c is None]
    if aside:
        notes.append(f"set aside (not one of the standard 12 leads): {listing(aside, 12)}")
    renamed = [f"{str(n).strip()}->{c}" for n, c in zip(names, canon) if c and str(n).strip() != c]
    if renamed:
        notes.append(f"lead names normalised: {listing(renamed, 12)}")
    if order != sorted(order):
        notes.append(f"leads reordered to the standard order {LEADS_TEXT} "
                     f"(file order: {listing([c for c in canon if c], 12)})")
    return order, notes


def _longest_run(mask: np.ndarray) -> tuple[int, int]:
    """(length, start) of the longest run of True in a 1-D bool array."""
    if not mask.any():
        return 0, 0
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    starts, ends = edges[::2], edges[1::2]
    i = int(np.argmax(ends - starts))
    return int(ends[i] - starts[i]), int(starts[i])


def lead_stats(col: np.ndarray, fs: float) -> dict:
    """Sanity figures of one lead (T,): non-finite count/run, peak, p99 of |x|, ptp, flat run."""
    bad = ~np.isfinite(col)
    if bad.any():
        run, start = _longest_run(bad)
        return {"nonfinite": int(bad.sum()), "run": run, "start": start / fs}
    ax = np.abs(col)
    k = int(np.argmax(ax))
    run, start = _longest_run(np.diff(col) == 0)
    return {"nonfinite": 0, "peak": float(col[k]), "p99": float(np.percentile(ax, 99)),
            "ptp": float(np.ptp(col)), "flat_s": (run + 1) / fs if run else 0.0,
            "flat_from": start / fs}


def check_signal(x: np.ndarray, fs: float, where: str) -> list[str]:
    """All signal checks, in order: finite, amplitude, flat. x (T, 12) float, canonical order, mV.

    A lead that is constant over the whole record (an empty channel, e.g. all zeros in the
    source) is kept and named in the returned notes: the quality check flags it. Works lead by
    lead, so temporaries stay at a few times one lead's size.
    """
    st = [lead_stats(x[:, j], fs) for j in range(x.shape[1])]
    bad = [f"lead {LEADS[j]} has {s['nonfinite']} missing/non-finite samples (longest run "
           f"{s['run']} from {s['start']:.2f} s)" for j, s in enumerate(st) if s["nonfinite"]]
    if bad:
        raise UploadError(f"{where}: {listing(bad, 4)}. Gaps are not filled in: upload a "
                          "recording without missing samples")
    bad = [f"lead {LEADS[j]} reaches {s['p99']:.4g} mV" for j, s in enumerate(st) if s["p99"] > MAX_MV]
    if bad:
        raise UploadError(f"{where}: {listing(bad, 4)} (99th percentile of |x|); a real ECG stays "
                          f"within about 10 mV, and {MAX_MV:g} mV is the limit. Values this large "
                          "suggest microvolts (uV) given as millivolts: divide by 1000 (for WFDB, "
                          "state the units uV in the header)")
    bad = [f"lead {LEADS[j]} has a sample of {s['peak']:.4g} mV" for j, s in enumerate(st)
           if abs(s["peak"]) > HARD_MAX_MV]
    if bad:
        raise UploadError(f"{where}: {listing(bad, 4)}; no ECG sample reaches {HARD_MAX_MV:g} mV: "
                          "the data are corrupted or not in mV")
    ptp = [s["ptp"] for s in st]
    empty = [LEADS[j] for j, p in enumerate(ptp) if p == 0]
    if len(empty) == len(LEADS):
        raise UploadError(f"{where}: every lead is constant ({st[0]['peak']:.4g} mV): the file "
                          "holds no signal. Upload a recording with signal in the leads")
    if max(ptp) < FLAT_PTP_MV:
        raise UploadError(f"{where}: all 12 leads are under {FLAT_PTP_MV:g} mV peak-to-peak "
                          f"(largest {max(ptp):.3g} mV): the units are wrong (volts given as mV, "
                          "or a header stating uV for mV data). Give the signal in mV")
    bad = [f"lead {LEADS[j]} is a flat line (peak-to-peak {p:.3g} mV)" for j, p in enumerate(ptp)
           if 0 < p < FLAT_PTP_MV]
    if bad:
        raise UploadError(f"{where}: {listing(bad, 4)}: electrode off or an empty channel "
                          "(volts given as millivolts also look flat). Every lead must carry signal "
                          "(a lead that is exactly constant is kept and flagged)")
    for j, s in enumerate(st):
        if ptp[j] > 0 and s["flat_s"] >= FLAT_RUN_SECONDS:
            raise UploadError(f"{where}: lead {LEADS[j]} is flat (constant) for {s['flat_s']:.2f} s "
                              f"from {s['flat_from']:.2f} s: electrode off or padding. Upload a "
                              f"recording with no constant stretch of {FLAT_RUN_SECONDS:g} s or more")
    if not empty:
        return []
    values = sorted({f"{st[LEADS.index(lead)]['peak']:.4g}" for lead in empty})
    return [f"lead{'s' * (len(empty) > 1)} {listing(empty, 12)} hold{'s' * (len(empty) == 1)} no "
            f"signal (constant {'/'.join(values)} mV over the whole record, as in the file): kept, "
            "and flagged by the quality check (3 or more such leads: not assessable)"]


# ---------------------------------------------------------------- text

def check_text(name: str, data: bytes, what: str) -> None:
    """Refuses NUL bytes and invalid UTF-8 (checked in 1 MB chunks: no full-size copy)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise UploadError(f"{show(name)} is UTF-16 text: save it as UTF-8 (expected {what})")
    if b"\x00" in data:
        raise UploadError(f"{show(name)} contains NUL bytes: it is binary, not {what}")
    decoder = codecs.getincrementaldecoder("utf-8")()
    for at in range(0, len(data), 2**20):
        try:
            decoder.decode(data[at:at + 2**20], final=at + 2**20 >= len(data))
        except UnicodeDecodeError as err:
            bad = min(at + max(err.start, 0), len(data) - 1)
            raise UploadError(f"{show(name)} is not UTF-8 text (byte 0x{data[bad]:02x} near "
                              f"offset {bad}): expected {what}") from None


# ---------------------------------------------------------------- the Record

def upload_record(x: np.ndarray, fs: float, fmt: str, filename: str, notes: list[str],
                  **meta) -> Record:
    """Runs the signal checks on x (T, 12) canonical mV and builds the upload Record, with a
    warning when the heart rate at `fs` suggests another sampling rate (`ecgcore.io.rate_check`)."""
    from .rate_check import rate_warning
    notes = notes + check_signal(x, fs, show(filename))
    signal = np.ascontiguousarray(x, dtype=np.float32)
    meta = {"filename": filename, "format": fmt, "original_fs": fs,
            "n_samples": int(signal.shape[0]), "seconds": signal.shape[0] / fs, **meta}
    warning = rate_warning(signal, fs)
    return Record(signal=signal, fs=fs, ecg_id=None, labels=None, meta=meta, source="upload",
                  notes=tuple(notes), warnings=(warning,) if warning else ())
