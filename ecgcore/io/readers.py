"""Read an uploaded ECG into a `Record`, or refuse it with a specific `UploadError`.

Accepted (one record per upload):
- WFDB: a `.hea` uploaded with the signal files it names (`.dat`; `.mat` as distributed by the
  PhysioNet/CinC Challenges, format 16+24; other files such as `.xyz`), formats 8, 16, 24, 32,
  61, 80, 160, 212, 310, 311; units mV, uV or V. The header's rate and length are authoritative;
  signals beyond the 12 leads are set aside; comment lines (age, sex, Dx) become metadata
  (`ecgcore.io.readers_wfdb`).
- CSV: a header row naming the 12 leads ('I', 'Lead V1', 'V1 (mV)', any order/case), one row per
  sample; ',' ';' or tab; decimal commas; metadata lines before the header row; a time column
  (gives the rate when regular); `fs` otherwise required (`ecgcore.io.readers_csv`).
- DICOM (.dcm): a 12-lead ECG waveform file; the multiplex group holding the 12 leads is read at
  its rate, scaled by channel sensitivity and baseline (`ecgcore.io.readers_dicom`, pydicom).
- HL7 aECG (.xml): the FDA annotated ECG; the rhythm series' MDC_ECG_LEAD_* sequences, origin +
  scale x digits; DTDs and entities refused (`ecgcore.io.readers_aecg`, defusedxml).
- EDF / EDF+C (.edf): the 12 lead signals in uV/mV/V at one rate, others set aside
  (`ecgcore.io.readers_edf`, a strict own parser).
  DICOM, aECG and EDF carry their rate: `fs` must be None or equal to it.
- NPY: a plain numeric array (T, 12) in mV, columns in the order I, II, III, aVR, aVL, aVF,
  V1-V6; a (12, T) array is transposed (T != 12); `fs` required. Pickles are refused.
Recordings must be 5-60 s long (longer ones are refused, not cropped). Every size,
length and shape is checked against the bytes present BEFORE anything is allocated.
Uploaded names are never used as paths: WFDB files are rewritten under a private
temporary folder as `upload.hea` / `upload.dat` and the folder is removed afterwards.
A heart rate that implies another sampling rate gives a warning on the Record (`Record.warnings`).
"""
from __future__ import annotations

import io

import numpy as np

from .checks import (LEADS_TEXT, MAX_UPLOAD_MB, UploadError, check_duration, check_name, check_rate,
                     check_size, listing, show, upload_record)
from .readers_aecg import read_aecg
from .readers_csv import read_csv
from .readers_dicom import read_dicom
from .readers_edf import read_edf
from .readers_wfdb import read_wfdb
from ..signal.record import LEADS, Record

__all__ = ["UploadError", "MAX_UPLOAD_MB", "ACCEPTED", "UPLOAD_TYPES", "read_upload", "read_aecg",
           "read_csv", "read_dicom", "read_edf", "read_npy", "read_wfdb"]

ACCEPTED = ("a WFDB record (the .hea with the .dat or .mat signal files it names, together), a "
            ".csv with a header row of lead names, a DICOM ECG (.dcm), an HL7 aECG (.xml), an EDF "
            "(.edf), or a .npy array")
SIGNAL_EXTS = ("dat", "mat", "xyz")           # WFDB signal files (named by the header)
SINGLE = {"csv": read_csv, "npy": None, "dcm": read_dicom, "xml": read_aecg, "edf": read_edf}
UPLOAD_TYPES = ("hea", *SIGNAL_EXTS, *SINGLE)


def read_upload(files: list[tuple[str, bytes]], fs: float | None = None) -> Record:
    """One uploaded ECG -> Record (signal (T, 12) float32 mV, original rate), or UploadError.

    files: (uploaded name, raw bytes) pairs. fs: sampling rate in Hz, required for NPY and for
    CSV without a time column or stated rate; for WFDB, DICOM, aECG and EDF leave it None (the
    file's rate is used; a different value is refused).
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
        if ext not in UPLOAD_TYPES:
            raise UploadError(f"{show(name)}: unsupported file type {show('.' + ext if ext else '')}; "
                              f"accepted: {ACCEPTED}")
        by_ext.setdefault(ext, []).append((name, data))
    total = sum(len(d) for _, d in files)
    if total > MAX_UPLOAD_MB * 2**20:
        raise UploadError(f"the upload is {total / 2**20:.1f} MB in total; the limit is "
                          f"{MAX_UPLOAD_MB} MB: upload one record at a time")
    if len({n.lower() for n, _ in files}) < len(files):
        raise UploadError(f"the same file name appears twice in the upload "
                          f"({listing([show(n) for n, _ in files])}): upload each file once")
    kinds = set(by_ext)
    if kinds == {"hea"} | (kinds & set(SIGNAL_EXTS)) and len(by_ext["hea"]) == 1:
        (hea_name, hea), = by_ext["hea"]
        signals = [f for f in files if f[0] != hea_name]
        if not signals:
            raise UploadError(f"{show(hea_name)} is a WFDB header without its .dat (or .mat) signal "
                              "file: select the .hea and the signal files it names and upload them "
                              "together")
        return read_wfdb(hea_name, hea, signals, fs)
    if len(files) == 1 and kinds <= set(SINGLE):
        name, data = files[0]
        return (SINGLE[next(iter(kinds))] or read_npy)(name, data, fs)
    if kinds <= set(SIGNAL_EXTS):
        raise UploadError(f"{listing([show(n) for n, _ in files])}: WFDB signal "
                          f"file{'s' * (len(files) > 1)} without its .hea header: select the .hea "
                          "and the .dat (or .mat) files together and upload them at once")
    names = listing([show(n) for n, _ in files])
    raise UploadError(f"upload one record at a time: got {names}; accepted: {ACCEPTED}")


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
    return upload_record(x, rate, "NPY", name, notes + [
        f"read {n} samples x 12 leads at {rate:g} Hz"], original_leads=list(LEADS))
