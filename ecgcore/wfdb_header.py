"""The strict WFDB header parser used for uploads: every field of a single-segment header is
validated before any signal byte is read. Raises `UploadError` naming the file, the line and what
would be accepted.
"""
from __future__ import annotations

import math
import re

import numpy as np

from .checks import UploadError, check_text, listing, show

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
