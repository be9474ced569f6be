"""`ecgcore.io.readers.read_upload`: round trips of real PTB-XL records and every refusal.

Fixtures are the real PTB-XL bytes of record 1 (100 Hz) and 2 (500 Hz), files written by
`wfdb.wrsamp` into tmp_path from those signals, and CSV/NPY exports of them; the bad files
are crafted from these. Nothing is written outside pytest's tmp_path.
"""
from __future__ import annotations

import io
import os
import pickle
import re
import sys
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import wfdb

from ecgcore.io.readers import MAX_UPLOAD_MB, UploadError, read_upload
from ecgcore.signal.record import LEADS, MODEL_SAMPLES, model_input

FILE_NAMES = ["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]


@pytest.fixture(scope="module")
def real(ptbxl_dir):
    """Raw bytes and signals of PTB-XL record 1 (100 Hz) and record 2 (500 Hz)."""
    from ecgcore.io.ptbxl import load_record
    out = {}
    for key, ecg_id, fs, sub in (("lr", 1, 100, "records100/00000/00001_lr"),
                                 ("lr2", 2, 100, "records100/00000/00002_lr"),
                                 ("hr", 2, 500, "records500/00000/00002_hr")):
        stem = Path(ptbxl_dir) / sub
        out[key] = {"hea": stem.with_suffix(".hea").read_bytes(),
                    "dat": stem.with_suffix(".dat").read_bytes(),
                    "name": stem.name, "x": load_record(ecg_id, fs=fs).signal, "fs": fs}
    return out


def npy(x, **kw) -> bytes:
    buf = io.BytesIO()
    np.save(buf, x, **kw)
    return buf.getvalue()


def npy_shape(x, shape) -> bytes:
    """A .npy whose header declares `shape` over the bytes of x (float32)."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f4", "fortran_order": False, "shape": shape})
    return buf.getvalue() + x.astype("<f4").tobytes()


def csv(x, names=FILE_NAMES, sep=",", index=True) -> bytes:
    return pd.DataFrame(x, columns=names).to_csv(sep=sep, index=index).encode()


def wfdb_pair(x, fs, fmt="16", names=FILE_NAMES, units="mV", tmp=None) -> list[tuple[str, bytes]]:
    with tempfile.TemporaryDirectory(dir=tmp) as d:
        wfdb.wrsamp("rec", fs=fs, units=[units] * 12, sig_name=list(names),
                    p_signal=np.asarray(x, np.float64), fmt=[fmt] * 12, write_dir=d)
        return [("rec.hea", Path(d, "rec.hea").read_bytes()), ("rec.dat", Path(d, "rec.dat").read_bytes())]


def pair(r, hea=None, dat=None, hea_name=None, dat_name=None):
    return [(hea_name or r["name"] + ".hea", r["hea"] if hea is None else hea),
            (dat_name or r["name"] + ".dat", r["dat"] if dat is None else dat)]


# ---------------------------------------------------------------- known truths

def test_wfdb_real_ptbxl_bytes_equal_load_record(real):
    for r in real.values():
        rec = read_upload(pair(r))
        assert rec.signal.dtype == np.float32 and rec.signal.shape == r["x"].shape
        np.testing.assert_array_equal(rec.signal, r["x"])
        assert rec.fs == r["fs"] and rec.source == "upload" and rec.ecg_id is None and rec.labels is None
        assert rec.meta["format"] == "WFDB" and rec.meta["original_fs"] == r["fs"]
        assert rec.meta["filename"] == r["name"] + ".hea"
        assert any("AVR->aVR" in n for n in rec.notes)
        assert model_input(rec).shape == (MODEL_SAMPLES, 12)


@pytest.mark.parametrize("fmt", ["16", "212", "80", "24", "32"])
def test_wfdb_wrsamp_round_trip_within_quantisation(real, fmt, tmp_path):
    x = real["hr"]["x"]
    files = wfdb_pair(x, 500, fmt, tmp=tmp_path)
    gains = np.array(wfdb.rdheader(str(_write(tmp_path, files))).adc_gain)
    rec = read_upload(files)
    err = np.abs(rec.signal - x).max(axis=0)
    assert (err <= 0.5 / gains + 1e-6).all(), (fmt, err, 0.5 / gains)
    assert f"WFDB format {fmt}" in " ".join(rec.notes)


def _write(folder: Path, files) -> Path:
    for name, data in files:
        (folder / name).write_bytes(data)
    return folder / Path(files[0][0]).stem


@pytest.mark.parametrize("fmt", ["61", "160"])
def test_wfdb_formats_61_160_same_samples_as_16(real, fmt):
    """61 = big-endian 16 bit, 160 = offset binary: re-encoded bytes must read identically."""
    r = real["lr"]
    d = np.frombuffer(r["dat"], "<i2")
    dat = d.astype(">i2").tobytes() if fmt == "61" else (d.astype(np.int32) + 32768).astype("<u2").tobytes()
    hea = re.sub(rb"(?m)^(\S+\.dat) 16 ", rb"\1 " + fmt.encode() + b" ", r["hea"])
    np.testing.assert_array_equal(read_upload(pair(r, hea, dat)).signal, r["x"])


def test_wfdb_microvolts_converted_and_leads_reordered(real, tmp_path):
    x, perm = real["hr"]["x"], [11, 3, 0, 7, 1, 2, 4, 5, 6, 8, 9, 10]
    names = [FILE_NAMES[j].lower() for j in perm]
    rec = read_upload(wfdb_pair(x[:, perm] * 1000, 500, names=names, units="uV", tmp=tmp_path))
    np.testing.assert_allclose(rec.signal, x, atol=1e-3)
    notes = " ".join(rec.notes)
    assert "units converted from uV to mV" in notes and "reordered" in notes and "avr->aVR" in notes


def test_wfdb_rate_argument_must_agree(real):
    assert read_upload(pair(real["lr"]), fs=100.0).fs == 100
    with pytest.raises(UploadError, match="header says 100 Hz but 500 Hz was given"):
        read_upload(pair(real["lr"]), fs=500)


def test_csv_round_trip_with_index_reordered_lowercase_semicolon_crlf(real):
    x = real["hr"]["x"]
    rec = read_upload([("ecg.csv", csv(x))], fs=500)
    np.testing.assert_allclose(rec.signal, x, atol=1e-6)
    assert rec.meta["format"] == "CSV" and rec.fs == 500 and rec.meta["original_fs"] == 500
    perm = list(range(11, -1, -1))
    text = csv(x[:, perm], [FILE_NAMES[j].lower() for j in perm], sep=";", index=False)
    rec = read_upload([("ecg.csv", text.replace(b"\n", b"\r\n"))], fs=500)
    np.testing.assert_allclose(rec.signal, x, atol=1e-6)
    assert any("reordered" in n for n in rec.notes)


def test_csv_time_column_is_ignored_even_if_not_numeric(real):
    x = real["lr"]["x"]
    df = pd.DataFrame(x, columns=FILE_NAMES)
    df.insert(0, "time", [f"00:00:{i / 100:05.2f}" for i in range(len(x))])
    rec = read_upload([("ecg.csv", df.to_csv(index=False).encode())], fs=100)
    np.testing.assert_allclose(rec.signal, x, atol=1e-6)
    assert "first column 'time' ignored" in rec.notes[0]


def test_npy_round_trip_both_orientations_and_int(real):
    x = real["lr"]["x"]
    rec = read_upload([("ecg.npy", npy(x))], fs=100)
    np.testing.assert_array_equal(rec.signal, x)
    assert rec.meta["format"] == "NPY" and "no lead names" in " ".join(rec.notes)
    rec = read_upload([("ecg.npy", npy(x.T.astype(np.float64)))], fs=100)
    np.testing.assert_array_equal(rec.signal, x)
    assert "transposed" in rec.notes[0]
    ints = np.round(x * 1000).astype(np.int16)
    assert read_upload([("e.npy", npy(ints / 1000))], fs=100).signal.shape == x.shape


def test_short_upload_is_padded_for_the_models(real):
    x = real["hr"]["x"][:3000]              # 6 s at 500 Hz
    rec = read_upload([("e.npy", npy(x))], fs=500)
    assert rec.seconds == 6.0 and rec.fs == 500
    assert model_input(rec).shape == (MODEL_SAMPLES, 12)


# ---------------------------------------------------------------- refusals

def _set_line(hea: bytes, k: int, field: int, value: str) -> bytes:
    lines = hea.decode().splitlines()
    tok = lines[k].split(" ")
    tok[field] = value
    lines[k] = " ".join(tok)
    return ("\n".join(lines) + "\n").encode()


def _with(x, j, value):
    y = x.copy()
    y[:, j] = value
    return y


def _nan_run(x):
    y = x.copy()
    y[100:150, 7] = np.nan           # V2
    return y


def _flat_run(x):
    y = x.copy()
    y[200:500, 6] = y[200, 6]        # V1, 3 s at 100 Hz
    return y


def _csv_edit(x, row, col, cell):
    lines = csv(x).decode().splitlines()
    cells = lines[row].split(",")
    cells[col] = cell
    lines[row] = ",".join(cells)
    return [("e.csv", "\n".join(lines).encode())]


def _semicolon_edit(x, row, col, cell):
    """A ';' CSV with decimal points and one cell replaced (a decimal comma among points)."""
    lines = csv(x, sep=";").decode().splitlines()
    cells = lines[row].split(";")
    cells[col] = cell
    lines[row] = ";".join(cells)
    return [("e.csv", "\n".join(lines).encode())]


class Evil:
    """Unpickling this creates a folder: proves whether a pickle was ever loaded."""
    marker = ""

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


BAD = {
    # leads
    "missing lead": (lambda r: ([("e.csv", csv(np.delete(r["x"], 8, 1), np.delete(FILE_NAMES, 8)))], 100),
                     r"missing lead V3\."),
    "extra lead, one missing": (lambda r: ([("e.csv", csv(np.c_[r["x"][:, 1:], r["x"][:, :1]],
                                                          FILE_NAMES[1:] + ["V4R"]))], 100),
                                "extra lead V4R .*set aside only when all 12 are present.*missing lead I"),
    "unknown lead": (lambda r: ([("e.csv", csv(r["x"], FILE_NAMES[:8] + ["foo"] + FILE_NAMES[9:]))], 100),
                     "unknown lead name 'foo'; missing lead V3"),
    "duplicated lead": (lambda r: (pair(r, _set_line(r["hea"], 10, 8, "V3")), None),
                        "lead V3 appears 2 times.*missing lead V4"),
    "1 column": (lambda r: ([("e.csv", csv(r["x"][:, :1], ["I"], index=False))], 100),
                 "missing leads II, III, aVR"),
    # signal content
    "nan run": (lambda r: ([("e.npy", npy(_nan_run(r["x"])))], 100),
                r"lead V2 has 50 missing/non-finite samples \(longest run 50 from 1.00 s\)"),
    "inf cell": (lambda r: (_csv_edit(r["x"], 5, 2, "inf"), 100), "lead II has 1 missing/non-finite"),
    "wfdb nan run": (lambda r: (pair(r, *_wfdb_invalid(r)), None), "lead I has 30 missing/non-finite"),
    "flat lead": (lambda r: ([("e.npy", npy(_with(r["x"], 10, 0.004 * np.sin(np.arange(1000)))))], 100),
                  "lead V5 is a flat line"),
    "every lead constant": (lambda r: ([("e.npy", npy(np.zeros_like(r["x"])))], 100),
                            "every lead is constant"),
    "flat stretch": (lambda r: ([("e.npy", npy(_flat_run(r["x"])))], 100),
                     r"lead V1 is flat \(constant\) for 3.00 s from 2.00 s"),
    "uV as mV": (lambda r: ([("e.npy", npy(r["x"] * 1000))], 100), "suggest microvolts.*divide by 1000"),
    "V as mV": (lambda r: ([("e.npy", npy(r["x"] / 1000))], 100), "units are wrong"),
    "huge sample": (lambda r: ([("e.npy", npy(_spike(r["x"])))], 100),
                   "lead aVF has a sample of 1e\\+30 mV"),
    # length and rate
    "too short": (lambda r: ([("e.npy", npy(r["x"][:480]))], 100),
                 r"too short: 480 samples at 100 Hz = 4.80 s"),
    "too long": (lambda r: ([("e.npy", npy(np.tile(r["x"], (7, 1))))], 100),
                "too long: .* 70 s; at most 60 s"),
    "rate missing": (lambda r: ([("e.csv", csv(r["x"]))], None), "no sampling rate"),
    "rate too low": (lambda r: ([("e.npy", npy(r["x"]))], 20), "sampling rate 20 Hz is impossible"),
    "rate too high": (lambda r: ([("e.npy", npy(r["x"]))], 20000), "20000 Hz is impossible"),
    "rate not a number": (lambda r: ([("e.npy", npy(r["x"]))], "fast"), "'fast' is not a number"),
    "header rate 0": (lambda r: (pair(r, _set_line(r["hea"], 0, 2, "0")), None),
                     "sampling rate 0 Hz is impossible"),
    "header rate missing": (lambda r: (pair(r, b"00001_lr 12\n" + r["hea"].split(b"\n", 1)[1]), None),
                            "no sampling frequency"),
    "header length 1e9": (lambda r: (pair(r, _set_line(r["hea"], 0, 3, "1000000000")), None),
                          "too long: 1000000000 samples"),
    # WFDB pair
    "truncated dat": (lambda r: (pair(r, dat=r["dat"][:-100]), None), "truncated.*100 bytes missing"),
    "padded dat": (lambda r: (pair(r, dat=r["dat"] + b"\0" * 24), None), "too long.*24 bytes extra"),
    "mismatched pair sizes": (lambda r: (pair(r, dat=r["other"]["dat"]), None), "too long"),
    "mismatched pair checksum": (lambda r: (pair(r, dat=r["dat2"]), None), "checksum mismatch"),
    "bit flip": (lambda r: (pair(r, dat=_flip(r["dat"], 5001)), None), "checksum mismatch for lead"),
    "hea without dat": (lambda r: (pair(r)[:1], None), "without its .dat"),
    "dat without hea": (lambda r: (pair(r)[1:], None), "without its .hea"),
    "hea names other dat": (lambda r: (pair(r, dat_name="other.dat"), None),
                            "names '00001_lr.dat' but the uploaded signal file is 'other.dat'"),
    "hea points elsewhere": (lambda r: (pair(r, r["hea"].replace(b"00001_lr.dat", b"../../x.dat")), None),
                             "points to '../../x.dat'"),
    "record name is a path": (lambda r: (pair(r, b"../x" + r["hea"][8:]), None),
                             "not a plain WFDB record name"),
    "signal count": (lambda r: (pair(r, _set_line(r["hea"], 0, 1, "11")), None),
                    "declares 11 signals but has 12"),
    "gain 0": (lambda r: (pair(r, _set_line(r["hea"], 3, 2, "0(0)/mV")), None), "ADC gain 0"),
    "format 508": (lambda r: (pair(r, r["hea"].replace(b" 16 1000", b" 508 1000")), None),
                   "format 508 is not accepted"),
    "mixed formats": (lambda r: (pair(r, _set_line(r["hea"], 4, 1, "80")), None),
                      r"different WFDB formats \(16, 80\)"),
    "units mmHg": (lambda r: (pair(r, _set_line(r["hea"], 1, 2, "1000.0(0)/mmHg")), None), "units 'mmHg'"),
    "header not utf8": (lambda r: (pair(r, r["hea"].replace(b"V6", b"V\xe96")), None),
                        r"not UTF-8 text \(byte 0xe9"),
    "csv utf16": (lambda r: ([("e.csv", csv(r["x"]).decode().encode("utf-16"))], 100), "UTF-16"),
    # files
    "no files": (lambda r: ([], None), "no file uploaded"),
    "empty file": (lambda r: ([("e.csv", b"")], 100), "is empty"),
    "unsupported ext": (lambda r: ([("e.docx", b"0" * 100)], 100), "unsupported file type '.docx'"),
    "edf not edf": (lambda r: ([("e.edf", b"0" * 100)], None), "'e.edf' is not an EDF file"),
    "over size cap": (lambda r: ([("e.csv", b"0" * (MAX_UPLOAD_MB * 2**20 + 1))], 100), "limit is 50 MB"),
    "total over cap": (lambda r: ([("a.hea", b"0" * 2**25), ("a.dat", b"0" * 2**25)], None),
                      "in total; the limit is 50 MB"),
    "two records": (lambda r: ([("a.csv", b"I"), ("b.npy", b"x")], 100), "one record at a time"),
    "path name": (lambda r: ([("../../x.npy", npy(r["x"]))], 100), "not a plain file name"),
    # CSV / NPY contents
    "csv not utf8": (lambda r: ([("e.csv", b"I,II\n\xe9\n")], 100), r"not UTF-8 text \(byte 0xe9"),
    "csv binary": (lambda r: ([("e.csv", b"I,II\x00\n")], 100), "NUL bytes"),
    "csv no header": (lambda r: ([("e.csv", csv(r["x"], index=False).split(b"\n", 1)[1])], 100),
                     "no header row"),
    "csv ragged": (lambda r: (_csv_edit(r["x"], 4, 12, "1,2"), 100),
                  "line 5 has 14 cells but the header has 13"),
    "csv blank line": (lambda r: (_csv_edit(r["x"], 4, 12, "1\n"), 100), "line 6 is empty"),
    "csv text cell": (lambda r: (_csv_edit(r["x"], 7, 8, "abc"), 100),
                     "line 8, column 'V2': 'abc' is not a number"),
    "csv one decimal comma": (lambda r: (_semicolon_edit(r["x"], 5, 3, "1,5"), 100),
                              r"line 6, column 'III': '1,5' is not a number \(use '.' as the decimal"),
    "npy pickle": (lambda r: ([("e.npy", pickle.dumps(r["x"]))], 100), "pickle"),
    "npy object": (lambda r: ([("e.npy", npy(np.array([r["x"], 1], dtype=object),
                                             allow_pickle=True))], 100),
                   "object arrays hold pickles"),
    "npy shape": (lambda r: ([("e.npy", npy(r["x"][:, :10]))], 100), r"shape \(1000, 10\) is not accepted"),
    "npy header 1e9": (lambda r: ([("e.npy", npy(r["x"]).replace(b"(1000, 12)", b"(10**9, 12)"))], 100),
                       "not a readable .npy header"),
    "npy shape 1e9": (lambda r: ([("e.npy", npy_shape(r["x"], (10**9, 12)))], 100),
                      "too long: 1000000000 samples"),
    "npy truncated": (lambda r: ([("e.npy", npy(r["x"])[:-10])], 100), "truncated"),
    "npy complex": (lambda r: ([("e.npy", npy(r["x"].astype(np.complex64)))], 100), "dtype 'complex64'"),
}


def _wfdb_invalid(r):
    d = np.frombuffer(r["dat"], "<i2").reshape(-1, 12).copy()
    d[10:40, 0] = -32768                        # WFDB 'no sample' value of format 16
    cs = int(d[:, 0].astype(np.int64).sum() % 65536)
    return _set_line(r["hea"], 1, 6, str(cs)), d.tobytes()


def _spike(x):
    y = x.astype(np.float64)
    y[10, 5] = 1e30
    return y


def _flip(b: bytes, at: int) -> bytes:
    a = bytearray(b)
    a[at] ^= 0x10
    return bytes(a)


@pytest.mark.parametrize("case", list(BAD))
def test_refusals_name_the_problem(real, case):
    r = {**real["lr"], "other": real["hr"], "dat2": real["lr2"]["dat"]}
    files, fs = BAD[case][0](r)
    with pytest.raises(UploadError, match=BAD[case][1]):
        read_upload(files, fs)


def test_absurd_lengths_are_refused_before_allocating(real):
    r = real["lr"]
    cases = [(pair(r, _set_line(r["hea"], 0, 3, "1000000000")), None),
             ([("e.npy", npy_shape(r["x"], (10**9, 12)))], 100)]
    for files, fs in cases:
        tracemalloc.start()
        with pytest.raises(UploadError, match="too long"):
            read_upload(files, fs)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 2**20, peak


# ---------------------------------------------------------------- upload safety

_OPENED: list | None = None


def _audit(event, args):
    if _OPENED is not None and event in ("open", "os.mkdir", "os.remove", "os.rename", "shutil.rmtree"):
        _OPENED.append((event, str(args[0]), args[1:]))


_HOOKED: list[bool] = []


def _writes(fn):
    """Runs fn(); returns (result or exception, [(event, path, args)] of file writes/creations).

    Uses a Python audit hook (installed once, on first use; it cannot be removed, and does
    nothing outside this function).
    """
    global _OPENED
    if not _HOOKED:
        sys.addaudithook(_audit)
        _HOOKED.append(True)
    _OPENED = []
    try:
        try:
            out = fn()
        except UploadError as err:
            out = err
        return out, [e for e in _OPENED if e[0] != "open" or _is_write(e[2])]
    finally:
        _OPENED = None


def _is_write(rest: tuple) -> bool:
    """From an 'open' audit event's (mode, flags)."""
    mode, flags = (tuple(rest) + (None, None))[:2]
    if isinstance(mode, str) and any(c in mode for c in "wax+"):
        return True
    return isinstance(flags, int) and bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))


def test_traversal_names_and_pickles_touch_no_disk(real, tmp_path, monkeypatch):
    r = real["lr"]
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    Evil.marker = str(tmp_path / "pwned")
    evil = npy(np.array([Evil()], dtype=object), allow_pickle=True)
    attempts = [
        pair(r, hea_name="../../x.hea", dat_name="../../x.dat"),
        pair(r, hea_name="..\\..\\x.hea", dat_name="..\\..\\x.dat"),
        pair(r, r["hea"].replace(b"00001_lr.dat", b"../../x.dat")),
        pair(r, r["hea"].replace(b"00001_lr.dat", b"/tmp/x.dat")),
        [("e.npy", evil)], [("e.npy", pickle.dumps(Evil()))],
    ]
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    for files in attempts:
        out, writes = _writes(lambda: read_upload(files, fs=None if len(files) == 2 else 100))
        assert isinstance(out, UploadError) and writes == [], (files[0][0], out, writes)
    assert not Path(Evil.marker).exists()
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_wfdb_is_read_from_a_private_temp_folder_that_is_removed(real, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    out, writes = _writes(lambda: read_upload(pair(real["lr"])))
    assert not isinstance(out, UploadError)
    created = [Path(p) for e, p, m in writes if e == "open"]
    assert sorted(p.name for p in created) == ["upload.dat", "upload.hea"]
    assert all(p.parent.parent == tmp_path / "tmp" and p.parent.name.startswith("ecg_upload_")
               for p in created)
    assert list((tmp_path / "tmp").iterdir()) == []          # removed afterwards
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmp"]


def test_csv_and_npy_never_touch_disk(real):
    x = real["lr"]["x"]
    for files in ([("e.csv", csv(x))], [("e.npy", npy(x))]):
        out, writes = _writes(lambda: read_upload(files, fs=100))
        assert not isinstance(out, UploadError) and writes == []


def test_lead_names_normalised():
    from ecgcore.io.checks import lead_order
    names = ["v6", "AVR", " aVl ", "I", "ii", "D3", "avf", "V1", "V2", "V3", "V4", "v5"]
    order, notes = lead_order(names, "f")
    assert [names[i] for i in order] == ["I", "ii", "D3", "AVR", " aVl ", "avf",
                                         "V1", "V2", "V3", "V4", "v5", "v6"]
    assert "AVR->aVR" in notes[0] and "reordered" in notes[1]
    assert LEADS[0] == "I"
