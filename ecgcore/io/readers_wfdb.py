"""WFDB uploads -> Record (the WFDB part of `ecgcore.io.readers`).

A header `.hea` uploaded with the signal files its signal lines name: `.dat`, or `.mat` in the
PhysioNet/CinC Challenge form (a MATLAB v4 file whose int16 array `val` holds the samples; WFDB
format `16+24`), and other files such as PTB Diagnostic's `.xyz`. Every header field is checked
against the bytes present before anything is read; the samples are then decoded by
`wfdb.rdrecord` from a rewritten header in a private temporary folder (uploaded names are never
used as paths). Signals beyond the 12 standard leads are set aside; a file holding only such
signals need not be uploaded. Comment lines (age, sex, SNOMED CT Dx codes) become metadata.
"""
from __future__ import annotations

import io
import math
import struct
import tempfile
from pathlib import Path

import numpy as np

from .checks import UploadError, check_duration, check_rate, lead_order, listing, show, upload_record
from ..signal.record import Record
from .wfdb_header import (WFDB_FORMATS, WFDB_INVALID, dat_bytes, header_metadata, lead_factors,
                          parse_header, signal_files)


def read_wfdb(hea_name: str, hea: bytes, files: list[tuple[str, bytes]], fs: float | None) -> Record:
    """A WFDB header and its signal files -> Record; fs None or equal to the header's rate."""
    where = show(hea_name)
    header = parse_header(hea_name, hea)
    sigs, notes = header["signals"], list(header["notes"])
    order, lead_notes = lead_order([s["name"] for s in sigs], where)
    groups, file_notes = signal_files(where, sigs, order, [n for n, _ in files])
    factors = lead_factors(where, [sigs[j] for j in order])
    rate = check_rate(header["fs"], where)
    given = None if fs is None else check_rate(fs, "the given rate")
    if given is not None and not math.isclose(given, rate, rel_tol=1e-6):
        raise UploadError(f"{where}: the header says {rate:g} Hz but {given:g} Hz was given: "
                          "leave the rate empty for WFDB uploads (the header's rate is used)")
    data = dict(files)
    sig_len = header["sig_len"]
    if sig_len is None:
        g = groups[0]
        frame = len(g["signals"]) * WFDB_FORMATS[g["fmt"]]
        sig_len = int(max(len(data[g["upload"]]) - g["offset"], 0) // frame)
        notes.append(f"signal length not in the header: {sig_len} samples from the size of "
                     f"{show(g['upload'])}")
    check_duration(sig_len, rate, where)
    for n, g in enumerate(groups):
        if g["upload"].lower().endswith(".mat"):
            _check_mat(g, data[g["upload"]], sig_len)
        _check_size(where, g, data[g["upload"]], sig_len, header["sig_len"] is None, n == 0)
    d, cols = _rdrecord(where, {**header, "leads": order}, groups, data, sig_len)
    sums = d.sum(axis=0, dtype=np.int64) % 65536
    bad = [sigs[k]["name"] for c, k in enumerate(cols) if (sums[c] - sigs[k]["checksum"]) % 65536]
    if bad:
        raise UploadError(f"{where}: checksum mismatch for lead {listing([show(b, 16) for b in bad], 12)}: "
                          "a signal file is corrupted or belongs to another header. Upload the "
                          "original files")
    x = np.empty((sig_len, 12), np.float64)      # canonical order, filled lead by lead
    for i, k in enumerate(order):
        c, fmt = cols.index(k), sigs[k]["fmt"]
        col = x[:, i]
        col[:] = d[:, c]
        if fmt in WFDB_INVALID:
            col[d[:, c] == WFDB_INVALID[fmt]] = np.nan
        col -= sigs[k]["baseline"]
        col *= factors[i]
    del d
    used = [sigs[k] for k in order]
    units = sorted({s["units"] for s in used if s["units"].lower() != "mv"})
    if units:
        notes.append(f"units converted from {'/'.join(units)} to mV")
    if not all(s["units_given"] for s in used):
        notes.append("units not stated in the header: WFDB's default mV used")
    fmts = "/".join(sorted({g["fmt"] for g in groups}))
    notes.append(f"read {sig_len} samples x 12 leads at {rate:g} Hz from WFDB format {fmts} "
                 f"({listing([show(g['upload']) for g in groups])})")
    aside = [s["name"] for k, s in enumerate(sigs) if k not in order]
    return upload_record(x, rate, "WFDB", hea_name, notes + file_notes + lead_notes,
                         files=[hea_name] + [n for n, _ in files], record_name=header["record"],
                         original_leads=[s["name"] for s in sigs], set_aside=aside,
                         **header_metadata(header["comments"]))


def _check_size(where: str, g: dict, blob: bytes, sig_len: int, inferred: bool, first: bool) -> None:
    """The signal file holds exactly offset + sig_len frames of its signals (sig_len inferred from
    the first file's size when the header gives none)."""
    n_sig, fmt, off = len(g["signals"]), g["fmt"], g["offset"]
    need = off + dat_bytes(fmt, n_sig * sig_len)
    if len(blob) == need:
        return
    gap = abs(len(blob) - need)
    name = show(g["upload"])
    if inferred and first and len(blob) > need and gap < dat_bytes(fmt, n_sig) + 1:
        raise UploadError(f"{name}: the header gives no signal length, so it was taken from this "
                          f"file's size: {len(blob)} bytes ({off}-byte offset) is not a whole number of "
                          f"frames of {n_sig} signals in format {fmt}; {gap} bytes are left over. "
                          "Upload the complete file, or add the length to the header's record line")
    what = "truncated" if len(blob) < need else "too long"
    said = ("the header gives no length, and the first signal file holds" if inferred
            else "the header declares")
    raise UploadError(f"{name} is {what}: {said} {sig_len} samples x {n_sig} signals in format "
                      f"{fmt}{f' after a {off}-byte offset' if off else ''} = {need} bytes, the "
                      f"file has {len(blob)} ({gap} bytes {'missing' if len(blob) < need else 'extra'}): "
                      "upload the matching, complete files")


MAT4_TYPES = {0: "float64", 1: "float32", 2: "int32", 3: "int16", 4: "uint16", 5: "uint8"}


def _mat4_header(blob: bytes) -> dict | None:
    """The first variable's header of a MATLAB v4 file (20 bytes: type, rows, columns, imaginary
    flag, name length; then the name), or None when the bytes are not one. scipy.io.whosmat is not
    used on uploads: on a v4 header with negative dimensions it loops without end."""
    for endian in "<>":
        if len(blob) < 20:
            return None
        mopt, rows, cols, imag, namlen = struct.unpack(endian + "5i", blob[:20])
        m, rest = divmod(mopt, 1000)
        if (m, endian) in ((0, "<"), (1, ">")) and 0 <= mopt and rest // 100 == 0 \
                and (rest // 10) % 10 in MAT4_TYPES and rest % 10 == 0 and rows >= 0 and cols >= 0 \
                and imag in (0, 1) and 1 <= namlen <= 64 and len(blob) >= 20 + namlen:
            name = blob[20:20 + namlen].rstrip(b"\0").decode("latin-1")
            return {"shape": (rows, cols), "dtype": MAT4_TYPES[(rest // 10) % 10], "name": name,
                    "data_at": 20 + namlen, "endian": "little" if endian == "<" else "big"}
    return None


def _check_mat(g: dict, blob: bytes, sig_len: int) -> None:
    """A .mat signal file in the CinC form: MATLAB v4, one array (signals x samples) whose data
    start at the header's byte offset."""
    import scipy.io.matlab
    name, n_sig = show(g["upload"]), len(g["signals"])
    head = _mat4_header(blob)
    if head is None:
        try:       # reads at most the first 128 bytes
            version = {0: "a MATLAB v4 file with a damaged header (type, size or name fields)",
                       1: "MATLAB v5", 2: "MATLAB v7.3 (HDF5)"}.get(
                scipy.io.matlab.matfile_version(io.BytesIO(blob))[0], "a MATLAB file of unknown version")
        except Exception:  # noqa: BLE001 - any failure: not a MATLAB file
            version = "not a MATLAB file"
        raise UploadError(f"{name} is {version}, not the PhysioNet/CinC .mat form: a MATLAB v4 file "
                          "holding one int16 array 'val' of signals x samples (scipy.io.savemat(f, "
                          "{'val': val}, format='4'))")
    if head["shape"] != (n_sig, sig_len):
        raise UploadError(f"{name} holds {show(head['name'], 20)} {head['shape'][0]}x{head['shape'][1]} "
                          f"{head['dtype']}, but the header declares {n_sig} signals x {sig_len} "
                          "samples in it: upload the .mat that belongs to this header")
    if head["data_at"] != g["offset"]:
        raise UploadError(f"{name}: its samples start at byte {head['data_at']}, but the header's "
                          f"format field says +{g['offset']}: use '{g['fmt']}+{head['data_at']}' "
                          "in the header's signal lines")


def _rdrecord(where: str, header: dict, groups: list[dict], data: dict[str, bytes],
              sig_len: int) -> tuple[np.ndarray, list[int]]:
    """Digital samples (sig_len, n) of the signals in `groups` via wfdb, from a rewritten header
    in a private temp folder; and which signal (index into the header) each column is."""
    import wfdb
    sigs = header["signals"]
    cols = [k for g in groups for k in g["signals"]]
    lines = [f"upload {len(cols)} {header['fs_text']} {sig_len}"]
    for n, g in enumerate(groups):
        g["temp"] = "upload.dat" if n == 0 else f"upload_{n + 1}.dat"
        off = f"+{g['offset']}" if g["offset"] else ""
        for k in g["signals"]:
            s = sigs[k]
            gain = s["gain_text"] if k in header["leads"] else "200"    # set-aside: any valid gain
            lines.append(f"{g['temp']} {g['fmt']}{off} {gain}({s['baseline']})/mV "
                         f"{s['res']} {s['zero']} {s['init']} {s['checksum']} {s['block']} s{k}")
    with tempfile.TemporaryDirectory(prefix="ecg_upload_") as tmp:
        (Path(tmp) / "upload.hea").write_text("\n".join(lines) + "\n", encoding="ascii")
        for g in groups:
            (Path(tmp) / g["temp"]).write_bytes(data[g["upload"]])
        try:
            rec = wfdb.rdrecord(str(Path(tmp) / "upload"), physical=False, return_res=32)
        except Exception as err:  # third-party decoder: any failure is a refusal
            raise UploadError(f"{where}: wfdb could not read the record ({type(err).__name__}: "
                              f"{show(err, 120)})") from None
    d = rec.d_signal
    if d is None or d.shape != (sig_len, len(cols)):
        raise UploadError(f"{where}: wfdb read {None if d is None else d.shape} samples, "
                          f"expected ({sig_len}, {len(cols)}): the files do not match the header")
    return d, cols

