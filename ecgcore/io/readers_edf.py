"""EDF / EDF+ uploads -> Record (the EDF part of `ecgcore.io.readers`).

Accepted: an EDF or continuous EDF+ (EDF+C) file whose signals include the 12 leads, labelled
'I', 'ECG I', 'EKG V1', 'Lead aVR' ... (any case), 16-bit samples, physical dimension uV, mV or V,
all 12 at one rate (samples per data record / record duration). Other signals (EDF+ annotations,
respiration, leads beyond the 12) are set aside. Discontinuous EDF+D is refused.

A small strict parser, not a library reader: measured on 3,000 damaged copies of an EDF written
from a PTB-XL record, edfio (0.4.18) read 94% of them without an error: it silently drops missing
or partial data records, rewrites the record count and returns uncalibrated samples when a
digital or physical range is empty, each only as a Python warning. An upload must be refused with
the reason instead, so every header field is checked here against the bytes present, and the
samples (little-endian int16 in data records) are then decoded with numpy in one pass. edfio is
used to write EDF (`ecgcore.io.writers`), so round-trip tests cross two implementations.
"""
from __future__ import annotations

import math
import re

import numpy as np

from .checks import (UploadError, check_duration, check_given_rate, check_rate, lead_order, listing,
                     show, upload_record)
from .lead_codes import derive_missing
from .wfdb_header import UNITS_TO_MV
from ..signal.record import Record, normalize_lead_name

MAX_SIGNALS = 64
ACCEPTED_EDF = ("an EDF or EDF+C file (.edf) with the 12 leads as 16-bit signals labelled I ... V6 "
                "(or 'ECG I' ...), in uV, mV or V, at one rate")
_FIELDS = (("label", 16), ("transducer", 80), ("dimension", 8), ("pmin", 8), ("pmax", 8),
           ("dmin", 8), ("dmax", 8), ("prefilter", 80), ("spr", 8), ("reserved", 32))
_RX_INT = re.compile(r"^[+-]?\d{1,8}$")


def read_edf(name: str, data: bytes, fs: float | None) -> Record:
    """An EDF/EDF+C file -> Record; fs None or equal to the leads' rate."""
    where = show(name)
    head = parse_edf_header(where, data)
    sigs, n_rec, dur = head["signals"], head["records"], head["duration"]
    names = [s["label"] for s in sigs]
    canon = [normalize_lead_name(n) for n in names]
    lead_idx = [k for k, c in enumerate(canon) if c]
    rates = {sigs[k]["spr"] / dur for k in lead_idx}
    if len(rates) > 1:
        shown = listing([f"{names[k]} {sigs[k]['spr'] / dur:g} Hz" for k in lead_idx], 12)
        raise UploadError(f"{where}: the leads have different rates ({shown}); accepted: all 12 "
                          "leads at one rate")
    if not lead_idx:
        raise UploadError(f"{where}: none of its signals is an ECG lead (labels: "
                          f"{listing([show(n, 20) for n in names], 8)}): upload {ACCEPTED_EDF}")
    rate = check_rate(rates.pop(), where)
    check_given_rate(fs, rate, where, "EDF")
    n = n_rec * sigs[lead_idx[0]]["spr"]
    check_duration(n, rate, where)
    frame = sum(s["spr"] for s in sigs)
    raw = np.frombuffer(data, "<i2", count=n_rec * frame, offset=head["header_bytes"]).reshape(n_rec, frame)
    cols, units, starts = [], set(), np.cumsum([0] + [s["spr"] for s in sigs])
    for k in lead_idx:
        s = sigs[k]
        d = raw[:, starts[k]:starts[k + 1]].reshape(-1).astype(np.float64)
        gain = (s["pmax"] - s["pmin"]) / (s["dmax"] - s["dmin"]) * UNITS_TO_MV[s["dimension"].lower()]
        cols.append((d - s["dmin"]) * gain + s["pmin"] * UNITS_TO_MV[s["dimension"].lower()])
        units.add(s["dimension"])
    lead_names, cols, derived = derive_missing([names[k] for k in lead_idx], cols)
    order, lead_notes = lead_order(lead_names, where)
    x = np.empty((n, 12), np.float64)
    for i, k in enumerate(order):
        x[:, i] = cols[k]
    del cols, raw
    notes = list(head["notes"]) + derived
    other = sorted(u for u in units if u.lower() != "mv")
    if other:
        notes.append(f"units converted from {'/'.join(other)} to mV")
    notes.append(f"read {n} samples x 12 leads at {rate:g} Hz from {head['kind']} "
                 f"({n_rec} data records of {dur:g} s)")
    aside = [names[k] for k in range(len(sigs)) if k not in lead_idx] + \
        [lead_names[k] for k in range(len(lead_names)) if k not in order]
    return upload_record(x, rate, "EDF", name, notes + lead_notes, original_leads=names,
                         set_aside=aside)


def _ascii(where: str, raw: bytes, what: str) -> str:
    if any(b < 32 or b > 126 for b in raw):
        bad = next(b for b in raw if b < 32 or b > 126)
        raise UploadError(f"{where}: EDF header field {what} holds byte 0x{bad:02x}; EDF headers are "
                          f"printable ASCII: the file is damaged or not EDF. Upload {ACCEPTED_EDF}")
    return raw.decode("ascii").strip()


def _num(where: str, text: str, what: str, integer: bool = False) -> float:
    try:
        if integer and not _RX_INT.match(text):
            raise ValueError
        v = int(text) if integer else float(text)
    except ValueError:
        raise UploadError(f"{where}: EDF header field {what} is {show(text, 20)}, not "
                          f"{'a whole number' if integer else 'a number'}") from None
    if not math.isfinite(v):
        raise UploadError(f"{where}: EDF header field {what} is {show(text, 20)}, not finite")
    return v


def parse_edf_header(where: str, data: bytes) -> dict:
    """Every field of the EDF header, checked against the file size before any sample is read:
    {'kind', 'header_bytes', 'records', 'duration', 'signals': [{label, dimension, pmin, pmax,
    dmin, dmax, spr}], 'notes'}."""
    if len(data) < 256 or data[:8] != b"0       ":
        raise UploadError(f"{where} is not an EDF file (it does not start with the EDF version "
                          f"'0' and 7 spaces){' or is truncated' if len(data) < 256 else ''}: "
                          f"upload {ACCEPTED_EDF}")
    reserved = _ascii(where, data[192:236], "reserved (EDF+ type)")
    ns = int(_num(where, _ascii(where, data[252:256], "number of signals"), "number of signals", True))
    if not 1 <= ns <= MAX_SIGNALS:
        raise UploadError(f"{where}: the EDF header declares {ns} signals; accepted: 1-{MAX_SIGNALS}")
    hb = int(_num(where, _ascii(where, data[184:192], "header bytes"), "header bytes", True))
    if hb != 256 * (ns + 1) or len(data) < hb:
        raise UploadError(f"{where}: the EDF header declares {hb} header bytes for {ns} signals "
                          f"(must be 256 x {ns + 1} = {256 * (ns + 1)}) and the file has {len(data)} "
                          "bytes: the header is damaged or the file truncated")
    if reserved.startswith("EDF+D"):
        raise UploadError(f"{where} is a discontinuous EDF+ (EDF+D) recording: it has gaps; accepted: "
                          "EDF or EDF+C (export one continuous segment)")
    kind = "EDF+C" if reserved.startswith("EDF+C") else "EDF"
    n_rec = int(_num(where, _ascii(where, data[236:244], "number of data records"),
                     "number of data records", True))
    dur = _num(where, _ascii(where, data[244:252], "data record duration"), "data record duration")
    if not 0 < dur <= 3600:
        raise UploadError(f"{where}: data record duration {dur:g} s is not accepted (0 < d <= 3600 s)")
    fields = {}
    at = 256
    for key, width in _FIELDS:
        fields[key] = [_ascii(where, data[at + k * width: at + (k + 1) * width], f"{key} of signal {k + 1}")
                       for k in range(ns)]
        at += ns * width
    sigs = []
    for k in range(ns):
        label = fields["label"][k]
        w = f"signal {k + 1} ({label or 'unlabelled'})"
        s = {"label": label, "dimension": fields["dimension"][k],
             "spr": int(_num(where, fields["spr"][k], f"samples per record of {w}", True))}
        for key in ("pmin", "pmax", "dmin", "dmax"):
            s[key] = _num(where, fields[key][k], f"{key} of {w}", key in ("dmin", "dmax"))
        if s["spr"] < 1:
            raise UploadError(f"{where}: {w} has {s['spr']} samples per data record; at least 1")
        if label != "EDF Annotations" and normalize_lead_name(label):
            if not -32768 <= s["dmin"] < s["dmax"] <= 32767 or s["pmin"] == s["pmax"]:
                raise UploadError(f"{where}: {w} has digital range {s['dmin']:g}..{s['dmax']:g} and "
                                  f"physical range {s['pmin']:g}..{s['pmax']:g}: a calibration needs "
                                  "-32768 <= digital min < max <= 32767 and two different physical values")
            if s["dimension"].lower() not in UNITS_TO_MV:
                raise UploadError(f"{where}: {w} is in {show(s['dimension'] or 'no unit')}; accepted: "
                                  "uV, mV or V")
        sigs.append(s)
    frame = 2 * sum(s["spr"] for s in sigs)
    body = len(data) - hb
    notes = []
    if n_rec == -1:
        if body % frame:
            raise UploadError(f"{where}: the number of data records is -1 (unknown) and the "
                              f"{body} bytes after the header are not whole records of {frame} bytes")
        n_rec = body // frame
        notes.append(f"number of data records not in the header: {n_rec} from the file size")
    if n_rec < 1 or n_rec * frame != body:
        what = "truncated" if n_rec * frame > body else "longer than declared"
        raise UploadError(f"{where} is {what}: the EDF header declares {n_rec} data records of {frame} "
                          f"bytes = {n_rec * frame} bytes after the {hb}-byte header, the file has "
                          f"{body}: upload the complete file")
    return {"kind": kind, "header_bytes": hb, "records": n_rec, "duration": dur, "signals": sigs,
            "notes": notes}
