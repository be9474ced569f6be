"""Upload checks: names, sizes, rate, length, leads, signal sanity, and the strict WFDB header parser.

Each check raises `UploadError` whose message says which file, what is wrong and what
would be accepted. Limits are module constants so the app can quote them.
"""
from __future__ import annotations

import codecs
import math
import re
from collections import Counter

import numpy as np

from .record import LEADS, normalize_lead_name

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
MAX_HEADER_BYTES = 256 * 1024
# WFDB format -> bytes per sample (uncompressed formats only) and the 'invalid sample' value.
WFDB_FORMATS = {"8": 1, "16": 2, "24": 3, "32": 4, "61": 2, "80": 1, "160": 2,
                "212": 1.5, "310": 4 / 3, "311": 4 / 3}
WFDB_INVALID = {"80": -2**7, "310": -2**9, "311": -2**9, "212": -2**11, "16": -2**15,
                "61": -2**15, "160": -2**15, "24": -2**23, "32": -2**31}
UNITS_TO_MV = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "v": 1e3}
_NUM = r"-?(?:\d+\.?\d*|\.\d+)"
_RX_FS = re.compile(rf"^(\d{{1,6}}(?:\.\d*)?|\.\d+)(?:/{_NUM}(?:\({_NUM}\))?)?$")
_RX_FILE = re.compile(r"^[-\w]+(?:\.\w+)?$")
_RX_FMT = re.compile(r"^(\d{1,3})(?:x(\d{1,6}))?(?::(\d{1,6}))?(?:\+(\d{1,12}))?$")
_RX_GAIN = re.compile(rf"^({_NUM}(?:e[-+]?\d{{1,3}})?)(?:\((-?\d{{1,12}})\))?(?:/(\S+))?$")
_RX_INT = re.compile(r"^-?\d{1,12}$")
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

    Refuses unknown, extra (real but not 12-lead), duplicated and missing leads, naming them.
    """
    canon = [normalize_lead_name(n) for n in names]
    unknown = [show(n, 24) for n, c in zip(names, canon) if c is None
               and str(n).strip().upper() not in EXTRA_LEADS]
    extra = [str(n).strip() for n, c in zip(names, canon) if c is None
             and str(n).strip().upper() in EXTRA_LEADS]
    dups = [c for c, k in Counter(c for c in canon if c).items() if k > 1]
    missing = [lead for lead in LEADS if lead not in canon]
    problems = []
    if unknown:
        problems.append(f"unknown lead name{'s' * (len(unknown) > 1)} {listing(unknown)}")
    if extra:
        problems.append(f"extra lead{'s' * (len(extra) > 1)} {listing(extra)} (not one of the "
                        "standard 12: remove them)")
    for lead in dups:
        cols = [show(n, 24) for n, c in zip(names, canon) if c == lead]
        problems.append(f"lead {lead} appears {len(cols)} times ({listing(cols)})")
    if missing:
        problems.append(f"missing lead{'s' * (len(missing) > 1)} {listing(missing, 12)}")
    if problems:
        raise UploadError(f"{where}: {'; '.join(problems)}. Accepted: exactly the 12 leads "
                          f"{LEADS_TEXT}, once each, any order and case (also D1-D3, MLII)")
    order = [canon.index(lead) for lead in LEADS]
    notes = []
    renamed = [f"{str(n).strip()}->{c}" for n, c in zip(names, canon) if str(n).strip() != c]
    if renamed:
        notes.append(f"lead names normalised: {listing(renamed, 12)}")
    if order != list(range(len(LEADS))):
        notes.append(f"leads reordered to the standard order {LEADS_TEXT} "
                     f"(file order: {listing([c for c in canon], 12)})")
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


def check_signal(x: np.ndarray, fs: float, where: str) -> None:
    """All signal checks, in order: finite, amplitude, flat. x (T, 12) float, canonical order, mV.

    Works lead by lead, so temporaries stay at a few times one lead's size.
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
    if max(ptp) < FLAT_PTP_MV and max(ptp) > 0:
        raise UploadError(f"{where}: all 12 leads are under {FLAT_PTP_MV:g} mV peak-to-peak "
                          f"(largest {max(ptp):.3g} mV): the units are wrong (volts given as mV, "
                          "or a header stating uV for mV data). Give the signal in mV")
    bad = [f"lead {LEADS[j]} is a flat line (peak-to-peak {p:.3g} mV)" for j, p in enumerate(ptp)
           if p < FLAT_PTP_MV]
    if bad:
        raise UploadError(f"{where}: {listing(bad, 4)}: electrode off or an empty channel "
                          "(volts given as millivolts also look flat). Every lead must carry signal")
    for j, s in enumerate(st):
        if s["flat_s"] >= FLAT_RUN_SECONDS:
            raise UploadError(f"{where}: lead {LEADS[j]} is flat (constant) for {s['flat_s']:.2f} s "
                              f"from {s['flat_from']:.2f} s: electrode off or padding. Upload a "
                              f"recording with no constant stretch of {FLAT_RUN_SECONDS:g} s or more")


# ---------------------------------------------------------------- WFDB header

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


def decode_text(name: str, data: bytes, what: str) -> str:
    """UTF-8 text (BOM dropped) or UploadError naming the first bad byte."""
    check_text(name, data, what)
    return data.decode("utf-8-sig")


def parse_header(name: str, data: bytes) -> dict:
    """Strictly parse a single-segment WFDB header into raw validated fields (no I/O)."""
    where = show(name)
    if len(data) > MAX_HEADER_BYTES:
        raise UploadError(f"{where} is {len(data)} bytes; a WFDB header is a few KB "
                          f"(limit {MAX_HEADER_BYTES // 1024} KB)")
    text = decode_text(name, data, "a WFDB header")
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if not lines:
        raise UploadError(f"{where} has no record line: expected e.g. 'rec 12 500 5000'")
    head = lines[0].split()
    if not re.fullmatch(r"[-\w]+", head[0]):
        raise UploadError(f"{where}: record name {show(head[0])} is not a plain WFDB record name "
                          "(a path, or a multi-segment record, which is not accepted)")
    if len(head) < 2 or not re.fullmatch(r"\d{1,4}", head[1]):
        raise UploadError(f"{where}: the record line {show(lines[0])} gives no signal count; "
                          "expected 'NAME 12 FS LENGTH'")
    n_sig = int(head[1])
    if n_sig != len(lines) - 1:
        raise UploadError(f"{where}: the header declares {n_sig} signals but has {len(lines) - 1} "
                          "signal lines; a 12-lead ECG has 12 of each")
    if len(head) < 3:
        raise UploadError(f"{where}: the header gives no sampling frequency (WFDB would assume "
                          "250 Hz; we do not guess): add it, e.g. 'rec 12 500 5000'")
    m = _RX_FS.match(head[2])
    if not m:
        raise UploadError(f"{where}: sampling frequency {show(head[2])} is not a number in Hz")
    fs = float(m.group(1))
    sig_len = None
    if len(head) > 3:
        if not re.fullmatch(r"\d{1,15}", head[3]):
            raise UploadError(f"{where}: signal length {show(head[3])} is not a sample count")
        sig_len = int(head[3])
    signals = [parse_signal_line(where, k + 1, ln) for k, ln in enumerate(lines[1:])]
    return {"fs": fs, "fs_text": m.group(1), "sig_len": sig_len, "signals": signals}


def parse_signal_line(where: str, k: int, line: str) -> dict:
    """One signal line: file fmt[+offset] gain(baseline)/units res zero init checksum block name."""
    tok = line.split(maxsplit=8)
    if len(tok) < 9:
        raise UploadError(f"{where}: signal line {k} {show(line)} has {len(tok)} fields; all 9 "
                          "are needed up to the lead name (file, format, gain, resolution, zero, "
                          "initial value, checksum, block size, lead name)")
    if not _RX_FILE.match(tok[0]):
        raise UploadError(f"{where}: signal line {k} points to {show(tok[0])}, not a plain file "
                          "name: the header must name the uploaded .dat file")
    fmt, gain = _RX_FMT.match(tok[1]), _RX_GAIN.match(tok[2])
    if not fmt:
        raise UploadError(f"{where}: signal line {k}: format {show(tok[1])} is not a WFDB format")
    if not gain:
        raise UploadError(f"{where}: signal line {k}: gain {show(tok[2])} is not "
                          "'GAIN(BASELINE)/UNITS'")
    bad = [t for t in tok[3:8] if not _RX_INT.match(t)]
    if bad:
        raise UploadError(f"{where}: signal line {k}: {show(bad[0])} is not an integer field")
    res, zero, init, checksum, block = (int(t) for t in tok[3:8])
    return {"file": tok[0], "fmt": fmt.group(1), "spf": int(fmt.group(2) or 1),
            "skew": int(fmt.group(3) or 0), "offset": int(fmt.group(4) or 0),
            "gain_text": gain.group(1), "gain": float(gain.group(1)),
            "baseline": int(gain.group(2)) if gain.group(2) is not None else zero,
            "units": gain.group(3) or "mV", "units_given": gain.group(3) is not None,
            "res": res, "zero": zero, "init": init, "checksum": checksum, "block": block,
            "name": tok[8].strip()}


def check_wfdb_signals(where: str, dat_name: str, sigs: list[dict]) -> tuple[str, int, np.ndarray]:
    """Checks that all signals share one supported layout in the uploaded .dat.

    Returns (format, byte offset, per-signal factor digital -> mV as (12,) float64).
    """
    for k, s in enumerate(sigs, 1):
        if s["file"].lower() != dat_name.lower():
            raise UploadError(f"{where}: signal line {k} names {show(s['file'])} but the uploaded "
                              f".dat is {show(dat_name)}: upload the .hea with its own .dat")
    fmts = {s["fmt"] for s in sigs}
    if len(fmts) > 1:
        raise UploadError(f"{where}: the signals use different WFDB formats ({listing(sorted(fmts))}); "
                          "accepted: one format for all 12 signals in one .dat")
    if not fmts <= set(WFDB_FORMATS):
        raise UploadError(f"{where}: WFDB format {fmts.pop()} is not accepted; accepted: one of "
                          f"{', '.join(WFDB_FORMATS)} (compressed 508/516/524 are not: rewrite the "
                          "record with wfdb.wrsamp in format 16)")
    layout = {(s["spf"], s["skew"], s["offset"]) for s in sigs}
    if layout != {(1, 0, sigs[0]["offset"])}:
        raise UploadError(f"{where}: signals use several samples per frame, skew or different byte "
                          "offsets; accepted: one sample per frame, no skew, one offset")
    factors = []
    for s in sigs:
        unit = UNITS_TO_MV.get(s["units"].lower())
        if unit is None:
            raise UploadError(f"{where}: lead {show(s['name'], 24)} is in units {show(s['units'])}; "
                              "accepted: mV, uV or V")
        if not math.isfinite(s["gain"]) or s["gain"] == 0:
            raise UploadError(f"{where}: lead {show(s['name'], 24)} has ADC gain {s['gain_text']} "
                              "(0 means uncalibrated): the amplitude in mV is unknown. Give the "
                              "real gain (digital units per physical unit)")
        factors.append(unit / s["gain"])
    return fmts.pop(), sigs[0]["offset"], np.array(factors)


def dat_bytes(fmt: str, n_samples: int) -> int:
    """Bytes a .dat holds for n_samples samples in total (all signals), as wfdb reads them."""
    if fmt in ("212", "310", "311"):
        return math.ceil(n_samples * WFDB_FORMATS[fmt])
    return n_samples * int(WFDB_FORMATS[fmt])
