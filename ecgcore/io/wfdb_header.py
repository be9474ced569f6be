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
    """Strictly parse a single-segment WFDB header into raw validated fields (no I/O).

    Returns fs, fs_text, sig_len (None when the header gives none), signals, record (the name on
    the record line), comments (the '#' lines, without '#') and notes.
    """
    where = show(name)
    if len(data) > MAX_HEADER_BYTES:
        raise UploadError(f"{where} is {len(data)} bytes; a WFDB header is a few KB "
                          f"(limit {MAX_HEADER_BYTES // 1024} KB)")
    text = decode_text(name, data, "a WFDB header")
    lines = [ln.strip() for ln in text.splitlines()]
    comments = [ln[1:].strip() for ln in lines if ln.startswith("#")]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if not lines:
        raise UploadError(f"{where} has no record line: expected e.g. 'rec 12 500 5000'")
    head, notes = lines[0].split(), []
    record = _record_name(where, head[0], notes)
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
    return {"fs": fs, "fs_text": m.group(1), "sig_len": sig_len, "signals": signals,
            "record": record, "comments": comments, "notes": notes}


def _record_name(where: str, token: str, notes: list[str]) -> str:
    """The record name of the record line; 'E00009.mat' (CinC 2020 style) is read as 'E00009'."""
    if re.fullmatch(r"[-\w]+", token):
        return token
    m = re.fullmatch(r"([-\w]+)\.(mat|dat|hea)", token, re.IGNORECASE)
    if m:
        notes.append(f"record name {show(token)} read as {show(m.group(1))} (file extension dropped)")
        return m.group(1)
    if re.fullmatch(r"[-\w]+/\d+", token):
        raise UploadError(f"{where}: record line {show(token)} declares a multi-segment record "
                          "(NAME/SEGMENTS), which is not accepted: upload a single-segment record "
                          "(e.g. its segments joined with wfdb.wrsamp)")
    if "/" in token or "\\" in token or ".." in token:
        raise UploadError(f"{where}: record name {show(token)} is a path, not a plain WFDB record "
                          "name: the record line must start with a name such as 'rec'")
    raise UploadError(f"{where}: record name {show(token)} is not a plain WFDB record name "
                      "(letters, digits, '_' and '-'): the record line must start with e.g. 'rec'")


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


def signal_files(where: str, sigs: list[dict], wanted: list[int],
                 uploaded: list[str]) -> tuple[list[dict], list[str]]:
    """The signal files to read: every file holding one of the `wanted` signals (the 12 leads).

    uploaded: the uploaded signal file names. Returns ([{'file', 'upload', 'fmt', 'offset',
    'signals': [indices into sigs]}], notes). Files holding only set-aside signals are not read
    (named in a note). Refuses a needed file not uploaded, mixed formats or a frame layout
    (samples per frame, skew, offsets) that differs within one file, and unsupported formats.
    """
    notes, groups = [], {}
    for k, s in enumerate(sigs):
        groups.setdefault(s["file"].lower(), []).append(k)
    by_name = {n.lower(): n for n in uploaded}
    files = []
    for key, members in groups.items():
        first = sigs[members[0]]["file"]
        if not set(members) & set(wanted):
            state = "uploaded, not read" if key in by_name else "not needed"
            names = listing([sigs[k]["name"] for k in members], 12)
            notes.append(f"{show(first)} ({names}) holds no standard lead: set aside ({state})")
            continue
        upload = by_name.get(key)
        if upload is None and len(groups) == 1 and len(uploaded) == 1 \
                and _stem(first) == _stem(uploaded[0]):
            upload = uploaded[0]
            notes.append(f"the header names {show(first)}; the uploaded {show(upload)} (same name, "
                         "other extension) was read as that file")
        if upload is None:
            k = members[0] + 1
            raise UploadError(f"{where}: signal line {k} names {show(first)} but the uploaded "
                              f"signal file{'s are' if len(uploaded) > 1 else ' is'} "
                              f"{listing([show(n) for n in uploaded]) or 'missing'}: upload the .hea "
                              "together with every signal file it names")
        files.append({"file": first, "upload": upload, "signals": members,
                      **_file_layout(where, first, [sigs[k] for k in members])})
    used = {f["upload"].lower() for f in files} | {k for k in groups if k in by_name}
    stray = [show(n) for n in uploaded if n.lower() not in used]
    if stray:
        raise UploadError(f"{where}: {listing(stray)} {'is' if len(stray) == 1 else 'are'} not "
                          "named by the header: upload one record at a time (the .hea and the "
                          "signal files its signal lines name)")
    return files, notes


def _stem(name: str) -> str:
    return (name.rpartition(".")[0] or name).lower()


def _file_layout(where: str, file: str, sigs: list[dict]) -> dict:
    """{'fmt', 'offset'} shared by all signals of one signal file, or UploadError."""
    fmts = {s["fmt"] for s in sigs}
    if len(fmts) > 1:
        raise UploadError(f"{where}: the signals in {show(file)} use different WFDB formats "
                          f"({listing(sorted(fmts))}); accepted: one format per signal file")
    if not fmts <= set(WFDB_FORMATS):
        raise UploadError(f"{where}: WFDB format {fmts.pop()} is not accepted; accepted: one of "
                          f"{', '.join(WFDB_FORMATS)} (compressed 508/516/524 are not: rewrite the "
                          "record with wfdb.wrsamp in format 16)")
    layout = {(s["spf"], s["skew"], s["offset"]) for s in sigs}
    if layout != {(1, 0, sigs[0]["offset"])}:
        raise UploadError(f"{where}: signals in {show(file)} use several samples per frame, skew "
                          "or different byte offsets; accepted: one sample per frame, no skew, "
                          "one offset per file")
    return {"fmt": fmts.pop(), "offset": sigs[0]["offset"]}


def lead_factors(where: str, sigs: list[dict]) -> np.ndarray:
    """Per-signal factor digital -> mV, (n,) float64; refuses units other than mV/uV/V and gain 0."""
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
    return np.array(factors)


def check_wfdb_signals(where: str, dat_name: str, sigs: list[dict]) -> tuple[str, int, np.ndarray]:
    """All signals in the one uploaded signal file `dat_name`: (format, byte offset, factors)."""
    files, _ = signal_files(where, sigs, list(range(len(sigs))), [dat_name])
    if len(files) != 1:
        raise UploadError(f"{where}: the signals are spread over {len(files)} files; "
                          f"only {show(dat_name)} was given")
    return files[0]["fmt"], files[0]["offset"], lead_factors(where, sigs)


def header_metadata(comments: list[str]) -> dict:
    """Age, sex and diagnoses from header comment lines ('# Age: 78', '# Dx: 426783006,...').

    Returns {'age', 'sex', 'dx': [(code, name or None)], 'comments': {key: value}}, keys
    present only when found; SNOMED CT names from `ecgcore.io.snomed`.
    """
    from .snomed import snomed_name
    fields = {}
    for line in comments[:64]:
        m = re.fullmatch(r"([A-Za-z][\w ]{0,30}?)\s*[:=]\s*(.*)", line)
        if m and m.group(1).strip().lower() not in fields:
            fields[m.group(1).strip().lower()] = m.group(2).strip()[:500]
    out: dict = {}
    if fields:
        out["comments"] = {k: v for k, v in fields.items() if v and v.lower() != "unknown"}
    age = fields.get("age", "")
    if re.fullmatch(r"\d{1,3}(\.\d+)?", age):
        out["age"] = float(age) if "." in age else int(age)
    sex = fields.get("sex", "").lower()
    if sex in ("male", "m", "female", "f"):
        out["sex"] = "male" if sex.startswith("m") else "female"
    codes = re.findall(r"\d{6,18}", fields.get("dx", ""))
    if codes:
        out["dx"] = [(c, snomed_name(c)) for c in codes[:32]]
    return out


def dat_bytes(fmt: str, n_samples: int) -> int:
    """Bytes a .dat holds for n_samples samples in total (all signals), as wfdb reads them."""
    if fmt in ("212", "310", "311"):
        return math.ceil(n_samples * WFDB_FORMATS[fmt])
    return n_samples * int(WFDB_FORMATS[fmt])
