"""Read an uploaded ECG into a `Record`, or refuse it with a specific `UploadError`.

Accepted (one record per upload):
- WFDB: a `.hea` and its `.dat` uploaded together (formats 8, 16, 24, 32, 61, 80, 160,
  212, 310, 311; units mV, uV or V). The header's rate and length are authoritative.
- CSV: a header row naming the 12 leads (any order/case; an optional first time/index
  column is ignored), one row per sample, in mV; `fs` required.
- NPY: a plain numeric array (T, 12) in mV, columns in the order I, II, III, aVR, aVL, aVF,
  V1-V6; a (12, T) array is transposed (T != 12); `fs` required. Pickles are refused.
Recordings must be 5-60 s long (longer ones are refused, not cropped). Every size,
length and shape is checked against the bytes present BEFORE anything is allocated.
Uploaded names are never used as paths: WFDB files are rewritten under a private
temporary folder as `upload.hea` / `upload.dat` and the folder is removed afterwards.
"""
from __future__ import annotations

import io
import math
import re
import tempfile
from pathlib import Path

import numpy as np

from .checks import (LEADS_TEXT, MAX_UPLOAD_MB, UploadError, check_duration, check_name, check_rate,
                     check_signal, check_size, check_text, lead_order, listing, show)
from .record import LEADS, Record
from .wfdb_header import WFDB_FORMATS, WFDB_INVALID, check_wfdb_signals, dat_bytes, parse_header

__all__ = ["UploadError", "MAX_UPLOAD_MB", "read_upload"]

ACCEPTED = "a WFDB pair (.hea + .dat together), a .csv with a header row of lead names, or a .npy array"
MAX_CSV_HEADER = 64 * 1024     # characters in the header row
TIME_COLUMNS = {"", "time", "t", "time_s", "time (s)", "seconds", "sample", "samples", "index"}


def read_upload(files: list[tuple[str, bytes]], fs: float | None = None) -> Record:
    """One uploaded ECG -> Record (signal (T, 12) float32 mV, original rate), or UploadError.

    files: (uploaded name, raw bytes) pairs. fs: sampling rate in Hz, required for CSV and
    NPY; for WFDB leave it None (the header's rate is used; a different value is refused).
    """
    files = list(files)
    for item in files:
        if not (isinstance(item, tuple) and len(item) == 2
                and isinstance(item[1], (bytes, bytearray, memoryview))):
            raise TypeError("read_upload takes a list of (name: str, data: bytes) pairs")
    files = [(name, bytes(data)) for name, data in files]
    if not files:
        raise UploadError(f"no file uploaded: upload {ACCEPTED}")
    by_ext: dict[str, list[tuple[str, bytes]]] = {}
    for name, data in files:
        ext = check_name(name)
        check_size(name, len(data))
        if ext not in ("hea", "dat", "csv", "npy"):
            raise UploadError(f"{show(name)}: unsupported file type {show('.' + ext if ext else '')}; "
                              f"accepted: {ACCEPTED}")
        by_ext.setdefault(ext, []).append((name, data))
    total = sum(len(d) for _, d in files)
    if total > MAX_UPLOAD_MB * 2**20:
        raise UploadError(f"the upload is {total / 2**20:.1f} MB in total; the limit is "
                          f"{MAX_UPLOAD_MB} MB: upload one record at a time")
    kinds = sorted(by_ext)
    counts = {k: len(v) for k, v in by_ext.items()}
    if kinds == ["dat", "hea"] and counts == {"dat": 1, "hea": 1}:
        (hea_name, hea), (dat_name, dat) = by_ext["hea"][0], by_ext["dat"][0]
        return read_wfdb(hea_name, hea, dat_name, dat, fs)
    if kinds in (["csv"], ["npy"]) and len(files) == 1:
        name, data = files[0]
        return read_csv(name, data, fs) if kinds == ["csv"] else read_npy(name, data, fs)
    if kinds == ["hea"] and len(files) == 1:
        raise UploadError(f"{show(files[0][0])} is a WFDB header without its .dat signal file: "
                          "select both the .hea and the .dat and upload them together")
    if kinds == ["dat"] and len(files) == 1:
        raise UploadError(f"{show(files[0][0])} is a WFDB signal file without its .hea header: "
                          "select both the .hea and the .dat and upload them together")
    names = listing([show(n) for n, _ in files])
    raise UploadError(f"upload one record at a time: got {names}; accepted: {ACCEPTED}")


def _record(x: np.ndarray, fs: float, fmt: str, filename: str, notes: list[str],
            **meta) -> Record:
    """Runs the signal checks on x (T, 12) canonical mV and builds the upload Record."""
    check_signal(x, fs, show(filename))
    signal = np.ascontiguousarray(x, dtype=np.float32)
    meta = {"filename": filename, "format": fmt, "original_fs": fs,
            "n_samples": int(signal.shape[0]), "seconds": signal.shape[0] / fs, **meta}
    return Record(signal=signal, fs=fs, ecg_id=None, labels=None, meta=meta, source="upload",
                  notes=tuple(notes))


# ---------------------------------------------------------------- WFDB

def read_wfdb(hea_name: str, hea: bytes, dat_name: str, dat: bytes, fs: float | None) -> Record:
    """A WFDB pair -> Record. Every header field is checked against the .dat before reading."""
    where = show(hea_name)
    header = parse_header(hea_name, hea)
    sigs, notes = header["signals"], []
    order, lead_notes = lead_order([s["name"] for s in sigs], where)
    fmt, offset, factors = check_wfdb_signals(where, dat_name, sigs)
    rate = check_rate(header["fs"], where)
    given = None if fs is None else check_rate(fs, "the given rate")
    if given is not None and not math.isclose(given, rate, rel_tol=1e-6):
        raise UploadError(f"{where}: the header says {rate:g} Hz but {given:g} Hz was given: "
                          "leave the rate empty for WFDB uploads (the header's rate is used)")
    sig_len = header["sig_len"]
    if sig_len is None:
        sig_len = int(max(len(dat) - offset, 0) // (12 * WFDB_FORMATS[fmt]))
        notes.append(f"signal length not in the header: {sig_len} samples from the .dat size")
    check_duration(sig_len, rate, where)
    need = offset + dat_bytes(fmt, 12 * sig_len)
    if len(dat) != need:
        what = "truncated" if len(dat) < need else "too long"
        raise UploadError(f"{show(dat_name)} is {what}: the header declares {sig_len} samples x 12 "
                          f"leads in format {fmt} = {need} bytes, the file has {len(dat)} "
                          f"({abs(len(dat) - need)} bytes {'missing' if len(dat) < need else 'extra'}): "
                          "upload the matching, complete pair")
    d = _rdrecord(where, header, fmt, dat, sig_len)
    sums = d.sum(axis=0, dtype=np.int64) % 65536
    bad = [LEADS[order.index(j)] for j, s in enumerate(sigs) if (sums[j] - s["checksum"]) % 65536]
    if bad:
        raise UploadError(f"{show(dat_name)}: checksum mismatch for lead {listing(bad, 12)}: the .dat "
                          "is corrupted or belongs to another header. Upload the original pair")
    x = np.empty(d.shape, np.float64)      # canonical order, filled lead by lead
    for i, j in enumerate(order):
        col = x[:, i]
        col[:] = d[:, j]
        if fmt in WFDB_INVALID:
            col[d[:, j] == WFDB_INVALID[fmt]] = np.nan
        col -= sigs[j]["baseline"]
        col *= factors[j]
    del d
    units = sorted({s["units"] for s in sigs if s["units"].lower() != "mv"})
    if units:
        notes.append(f"units converted from {'/'.join(units)} to mV")
    if not all(s["units_given"] for s in sigs):
        notes.append("units not stated in the header: WFDB's default mV used")
    notes.append(f"read {sig_len} samples x 12 leads at {rate:g} Hz from WFDB format {fmt}")
    return _record(x, rate, "WFDB", hea_name, notes + lead_notes,
                   files=[hea_name, dat_name], original_leads=[s["name"] for s in sigs])


def _rdrecord(where: str, header: dict, fmt: str, dat: bytes, sig_len: int) -> np.ndarray:
    """Digital samples (sig_len, 12) via wfdb, from a rewritten header in a private temp folder."""
    import wfdb
    lines = [f"upload 12 {header['fs_text']} {sig_len}"]
    for s in header["signals"]:
        off = f"+{s['offset']}" if s["offset"] else ""
        lines.append(f"upload.dat {fmt}{off} {s['gain_text']}({s['baseline']})/mV "
                     f"{s['res']} {s['zero']} {s['init']} {s['checksum']} {s['block']} lead")
    with tempfile.TemporaryDirectory(prefix="ecg_upload_") as tmp:
        (Path(tmp) / "upload.hea").write_text("\n".join(lines) + "\n", encoding="ascii")
        (Path(tmp) / "upload.dat").write_bytes(dat)
        try:
            rec = wfdb.rdrecord(str(Path(tmp) / "upload"), physical=False, return_res=32)
        except Exception as err:  # third-party decoder: any failure is a refusal
            raise UploadError(f"{where}: wfdb could not read the pair ({type(err).__name__}: "
                              f"{show(err, 120)})") from None
    d = rec.d_signal
    if d is None or d.shape != (sig_len, 12):
        raise UploadError(f"{where}: wfdb read {None if d is None else d.shape} samples, "
                          f"expected ({sig_len}, 12): the pair does not match")
    return d


# ---------------------------------------------------------------- CSV

def read_csv(name: str, data: bytes, fs: float | None) -> Record:
    """A CSV (header row of lead names, one row per sample, mV) -> Record.

    Works on the bytes (validated as UTF-8 first) so a large file is not copied as text.
    """
    where = show(name)
    check_text(name, data, "CSV text")
    start = re.match(rb"(\xef\xbb\xbf)?[\r\n]*", data).end()
    end = len(data)
    while end > start and data[end - 1] in b" \t\r\n":
        end -= 1
    if end == start:
        raise UploadError(f"{where} holds no text: expected a header row naming the leads")
    nl = data.find(b"\n", start, min(end, start + MAX_CSV_HEADER))
    if nl < 0 and end - start > MAX_CSV_HEADER:
        raise UploadError(f"{where}: the first line is over {MAX_CSV_HEADER // 1024} KB long: "
                          "expected a header row naming the leads, then one row per sample "
                          "(line breaks missing?)")
    header = data[start:nl if nl >= 0 else end].decode("utf-8").rstrip("\r")
    delim = next((d for d in ",;\t" if d in header), None)
    names = [c.strip().strip("\"'").strip() for c in (header.split(delim) if delim else [header])]
    if all(_is_number(c) for c in names):
        raise UploadError(f"{where} has no header row: the first line {show(header)} holds numbers. "
                          f"Add a first line naming the leads, e.g. {LEADS_TEXT.replace(' ', '')}")
    notes, skip = [], 0
    if len(names) > 1 and names[0].lower() in TIME_COLUMNS:
        notes.append(f"first column {show(names[0])} ignored (time/index, not a lead)")
        skip = 1
    order, lead_notes = lead_order(names[skip:], where)
    rate = check_rate(fs, where)
    n_rows = data.count(b"\n", nl + 1, end) + 1 if nl >= 0 else 0
    check_duration(n_rows, rate, where)
    x = _parse_rows(where, data, (nl + 1, end), n_rows, delim, names, skip)
    notes.append(f"read {n_rows} rows x 12 leads at {rate:g} Hz; CSV carries no units: mV assumed "
                 "(amplitudes checked)")
    return _record(x[:, order], rate, "CSV", name, notes + lead_notes, original_leads=names[skip:])


def _is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def _parse_rows(where: str, data: bytes, span: tuple[int, int], n_rows: int, delim: str,
                names: list[str], skip: int) -> np.ndarray:
    """(n_rows, len(names) - skip) float64 of the lead columns of data[span]; UploadError naming
    the first bad line or cell. Fast path: numpy's parser when every row has the right number
    of delimiters; otherwise (or on failure) a row-by-row scan that names the problem.
    """
    hint = None
    if data.count(delim.encode(), *span) == n_rows * (len(names) - 1):
        fp = io.BytesIO(data)
        fp.seek(span[0])
        try:
            x = np.loadtxt(fp, delimiter=delim, dtype=np.float64, ndmin=2, comments=None,
                           quotechar='"', usecols=range(skip, len(names)), max_rows=n_rows,
                           encoding="utf-8")
            if x.shape == (n_rows, len(names) - skip):
                return x
        except ValueError as err:
            m = re.search(r"at row (\d+)", str(err))
            hint = int(m.group(1)) if m else None
    rows = data[span[0]:span[1]].decode("utf-8").split("\n")
    near = range(max(hint - 3, 0), min(hint + 3, len(rows))) if hint else range(0)
    for i in [*near, *range(len(rows))]:
        if rows[i].count(delim) != len(names) - 1:
            what = "is empty" if not rows[i].strip() else f"has {rows[i].count(delim) + 1} cells"
            raise UploadError(f"{where}: line {i + 2} {what} but the header has {len(names)} "
                              "columns: every row needs one value per column, no blank lines")
        for col, cell in zip(names[skip:], rows[i].rstrip("\r").split(delim)[skip:]):
            if not _is_number(cell.strip().strip('"')):
                tip = " (use '.' as the decimal point)" if re.fullmatch(r"\s*-?\d+,\d+\s*", cell) else ""
                raise UploadError(f"{where}: line {i + 2}, column {show(col, 24)}: {show(cell, 30)} is "
                                  f"not a number{tip}: every cell must be a value in mV")
    raise UploadError(f"{where}: the rows could not be read as numbers (quotes or line breaks "
                      "inside cells?): one row per sample, one plain number per lead")


# ---------------------------------------------------------------- NPY

def read_npy(name: str, data: bytes, fs: float | None) -> Record:
    """A plain numeric .npy (T, 12) or unambiguous (12, T), columns in LEADS order -> Record."""
    where = show(name)
    if not data.startswith(b"\x93NUMPY"):
        kind = "a Python pickle (refused: pickles can run code)" if data[:1] == b"\x80" else \
            "not a .npy file (no NumPy header)"
        raise UploadError(f"{where} is {kind}: save a plain numeric array with numpy.save")
    fp = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(fp)
        read = {(1, 0): np.lib.format.read_array_header_1_0,
                (2, 0): np.lib.format.read_array_header_2_0}.get(version)
        if read is None:
            raise ValueError(f".npy format version {version} is not accepted (1.0 or 2.0)")
        shape, fortran, dtype = read(fp)
    except Exception as err:  # numpy's header parser: any failure is a refusal
        raise UploadError(f"{where}: not a readable .npy header ({show(err, 120)})") from None
    if dtype.hasobject or dtype.fields is not None or dtype.kind not in "iuf":
        extra = " (object arrays hold pickles, which can run code)" if dtype.hasobject else ""
        raise UploadError(f"{where}: array dtype {show(dtype)} is not accepted{extra}; "
                          "accepted: a plain integer or float array in mV")
    notes = ["NPY carries no lead names: columns taken in the order " + LEADS_TEXT,
             "NPY carries no units: mV assumed (amplitudes checked)"]
    if len(shape) == 2 and shape[1] == 12:
        n = shape[0]
    elif len(shape) == 2 and shape[0] == 12:
        n = shape[1]
        notes.insert(0, f"array of shape {shape} read as 12 leads x {n} samples (transposed)")
    else:
        raise UploadError(f"{where}: array shape {shape} is not accepted; accepted: (T, 12) "
                          f"samples x leads, or (12, T), leads in the order {LEADS_TEXT}")
    rate = check_rate(fs, where)
    check_duration(n, rate, where)
    need = 12 * n * dtype.itemsize
    have = len(data) - fp.tell()
    if have != need:
        what = "truncated" if have < need else "padded"
        raise UploadError(f"{where}: the header declares {shape} {dtype} = {need} bytes of data "
                          f"but the file holds {have}: the file is {what}")
    try:
        arr = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as err:
        raise UploadError(f"{where}: numpy could not load it ({show(err, 120)})") from None
    x = arr.T if shape[0] == 12 and shape[1] != 12 else arr
    if x.dtype.kind in "iu" or x.dtype.itemsize < 4:
        x = x.astype(np.float32)       # exact for int16; no abs() overflow on ints
    return _record(x, rate, "NPY", name, notes + [
        f"read {n} samples x 12 leads at {rate:g} Hz"], original_leads=list(LEADS))
