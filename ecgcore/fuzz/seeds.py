"""Fuzz seeds: valid uploads (WFDB in several formats and as CinC .mat, CSV, NPY) made from real
PTB-XL records, and the hostile values the mutations draw from."""
from __future__ import annotations

import io
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CSV_NAMES = ["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]
FS_POOL = [None, 0, -1, 1e-3, 49.9, 50, 100, 100.0, 250, 257.3, 500, 1000, 10000, 10001, 1e9,
           float("nan"), float("inf"), "500", "abc", True]
TOKENS = ["0", "-1", "1", "11", "12", "13", "15", "1000000000", "99999999999999999999999", "1e9",
          "nan", "inf", "abc", "../../x.dat", "/etc/passwd", "x.dat", "8", "16", "61", "80", "160",
          "212", "310", "311", "508", "16x2", "16:3", "16+100", "16+24", "0(0)/mV", "200",
          "1000.0(0)/uV", "1000.0(0)/µV", "1000.0(0)/V", "1000.0(0)/NU", "1000(0)", "-1000.0(5)/mV",
          "1e-30(0)/mV", "1e300(0)/mV", "rec/2", "100/1000(0)", "0.5", "10000", "10001",
          "12:00:00", "99:99:99", "01/01/2000", "AVR", "avr", "V4R", "X", "foo", "aVR aVL", "µV",
          "\u202e", "\x00", "é"]
CELLS = ["abc", "", "nan", "inf", "-inf", "1e309", "0x10", "1,5", '"1.0"', " ", "1_0", "١٢", "∞",
         "None", "--1", "1e5", "1e-300", "+.5", "'", '"', "#"]
NAMES = ["../../x.hea", "/etc/passwd", "a\\b.csv", "x\x00.csv", "", ".", "..", "x.txt", "x.edf",
         "x.HEA", "x.DAT", "X.CSV", "x.dcm", "x.XML",
         "x.npz", "noext", ".csv", "é.csv", "x" * 300 + ".csv", "x.csv.npy"]


@dataclass
class Case:
    """One upload: files as the app passes them, fs, the mutations applied, the seed signal."""
    files: list[tuple[str, bytes]]
    fs: object = None
    label: str = ""
    base: np.ndarray | None = field(default=None, repr=False)   # (T, 12) mV of the seed

    @property
    def kind(self) -> str:
        exts = {n.rpartition(".")[2].lower() for n, _ in self.files}
        if exts & {"hea", "dat"}:
            return "wfdb"
        return next((e for e in ("csv", "dcm", "xml", "edf") if e in exts), "npy")


def _csv_bytes(x: np.ndarray, fs: float) -> bytes:
    buf = io.StringIO()
    t = np.arange(len(x)) / fs
    np.savetxt(buf, np.column_stack([t, x]), fmt="%.4f", delimiter=",",
               header=",".join(["time"] + CSV_NAMES), comments="")
    return buf.getvalue().encode()


def _npy_bytes(x: np.ndarray, **kw) -> bytes:
    buf = io.BytesIO()
    np.save(buf, x, **kw)
    return buf.getvalue()


def _wrsamp_pair(x: np.ndarray, fs: float, fmt: str) -> list[tuple[str, bytes]]:
    """A real signal written by wfdb.wrsamp in `fmt`, as upload bytes."""
    import wfdb
    with tempfile.TemporaryDirectory() as tmp:
        wfdb.wrsamp("rec", fs=fs, units=["mV"] * 12, sig_name=CSV_NAMES, p_signal=x.astype(np.float64),
                    fmt=[fmt] * 12, write_dir=tmp)
        return [("rec.hea", (Path(tmp) / "rec.hea").read_bytes()),
                ("rec.dat", (Path(tmp) / "rec.dat").read_bytes())]


def _refmt16(files: list[tuple[str, bytes]], fmt: str) -> list[tuple[str, bytes]]:
    """A format-16 pair re-encoded as 61 (big-endian) or 160 (offset binary): same samples."""
    (hn, hea), (dn, dat) = files
    d = np.frombuffer(dat, "<i2")
    out = d.astype(">i2") if fmt == "61" else (d.astype(np.int32) + 32768).astype("<u2")
    hea = re.sub(rb"(?m)^(\S+\.dat) 16 ", rb"\1 " + fmt.encode() + b" ", hea)
    return [(hn, hea), (dn, out.tobytes())]


def cinc_mat(files: list[tuple[str, bytes]], comments: str = "# Age: 56\n# Sex: Female\n"
             "# Dx: 426783006\n") -> list[tuple[str, bytes]]:
    """A format-16 WFDB pair rewritten in the PhysioNet/CinC Challenge form: NAME.hea whose signal
    lines name NAME.mat in format 16x1+24, and NAME.mat holding the int16 array 'val' (signals x
    samples) as a MATLAB v4 file (24-byte header, then the same frames as the .dat)."""
    import scipy.io
    (hn, hea), (dn, dat) = files
    stem = hn.rpartition(".")[0]
    text = hea.decode()
    n_sig = int(text.split()[1])
    val = np.frombuffer(dat, "<i2").reshape(-1, n_sig).T
    buf = io.BytesIO()
    scipy.io.savemat(buf, {"val": val}, format="4")
    text = re.sub(rf"(?m)^{re.escape(dn)} 16 ", f"{stem}.mat 16x1+24 ", text)
    return [(hn, (text.rstrip("\n") + "\n" + comments).encode()), (f"{stem}.mat", buf.getvalue())]


def load_seeds(n_records: int = 2) -> list[Case]:
    """Valid uploads made from real PTB-XL records (needs PTBXL_DIR)."""
    from ..io.ptbxl import load_index, load_record
    index = load_index()
    ids = index.index[index["has_100"] & index["has_500"]][:n_records]
    root, seeds = Path(index.attrs["root"]), []
    for ecg_id in ids:
        for fs, col in ((100, "filename_lr"), (500, "filename_hr")):
            stem = root / index.loc[ecg_id, col]
            raw = [(stem.name + ".hea", stem.with_suffix(".hea").read_bytes()),
                   (stem.name + ".dat", stem.with_suffix(".dat").read_bytes())]
            x = load_record(int(ecg_id), fs=fs).signal
            if fs == 100:
                lr_raw = raw
            seeds += [Case(raw, None, f"wfdb16@{fs}", x),
                      Case([("ecg.csv", _csv_bytes(x, fs))], fs, f"csv@{fs}", x),
                      Case([("ecg.npy", _npy_bytes(x if fs == 100 else x.T.astype(np.float64)))],
                           fs, f"npy@{fs}", x)]
        x = load_record(int(ecg_id), fs=100).signal
        seeds += [Case(_wrsamp_pair(x, 100, f), None, f"wfdb{f}@100", x) for f in ("212", "80", "24")]
        seeds += [Case(_refmt16(lr_raw, f), None, f"wfdb{f}@100", x) for f in ("61", "160")]
        seeds += [Case(cinc_mat(lr_raw), None, "wfdb-mat@100", x)]
        seeds += format_seeds(x, 100)
    return seeds


def format_seeds(x: np.ndarray, fs: float) -> list[Case]:
    """The signal x (T, 12) mV as DICOM ECG, HL7 aECG and EDF uploads (`ecgcore.io.writers`)."""
    from ..io import writers
    from ..signal.record import Record
    rec = Record(signal=np.asarray(x, np.float32), fs=float(fs), source="upload")
    return [Case([("ecg.dcm", writers.write_dicom_ecg(rec))], None, f"dicom@{fs:g}", x),
            Case([("ecg.xml", writers.write_aecg(rec))], None, f"aecg@{fs:g}", x),
            Case([("ecg.edf", writers.write_edf(rec))], None, f"edf@{fs:g}", x)]


