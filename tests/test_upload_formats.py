"""Issue 14: uploads in the forms people have them. CinC/PhysioNet WFDB with `.mat`, header + several
signal files, extra signals set aside, header comments as metadata (SNOMED CT names), CSV variants
(lead-name prefixes/units, preamble, trailing separators, ';'/tab, decimal commas, time column), and
the heart-rate check of the stated sampling rate.

Real inputs: PTB-XL records (rewritten in each form here, in memory or under tmp_path) and, when
present, the 40 CinC 2021 records in ../shared/external_ecg (compared with `wfdb.rdrecord`).
"""
from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.io
import wfdb

from ecgcore.io import readers
from ecgcore.fuzz.seeds import cinc_mat
from ecgcore.signal.quality import assess_quality
from ecgcore.io.rate_check import heart_rate, rate_warning
from ecgcore.io.readers import UploadError, read_upload
from ecgcore.signal.record import LEADS, normalize_lead_name, split_lead_label
from ecgcore.io.snomed import SNOMED_CT, dx_text
from ecgcore.io.wfdb_header import header_metadata

from conftest import REPO

EXTERNAL = REPO.parent / "shared" / "external_ecg"
EXTERNAL_STEMS = sorted(p.stem for p in EXTERNAL.glob("*.hea")) if EXTERNAL.is_dir() else []
NAMES = ["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]


@pytest.fixture(scope="module")
def real(ptbxl_dir):
    """PTB-XL record 1 at 100 Hz (raw .hea/.dat bytes and mV signal) and record 2 at 500 Hz."""
    from ecgcore.io.ptbxl import load_record
    stem = Path(ptbxl_dir) / "records100" / "00000" / "00001_lr"
    return {"hea": stem.with_suffix(".hea").read_bytes(), "dat": stem.with_suffix(".dat").read_bytes(),
            "x": load_record(1, fs=100).signal, "x500": load_record(2, fs=500).signal}


def _pair(r):
    return [("00001_lr.hea", r["hea"]), ("00001_lr.dat", r["dat"])]


def _csv(x, names, sep=",", decimal=".", index=False, **kw) -> str:
    return pd.DataFrame(x, columns=names).to_csv(sep=sep, decimal=decimal, index=index, **kw)


def _ptb_diagnostic(x: np.ndarray, fs: int, xyz_fmt: str = "16") -> list[tuple[str, bytes]]:
    """PTB Diagnostic's layout: 12 leads (lower-case names) in s0010_re.dat and the Frank leads
    vx, vy, vz in s0010_re.xyz, one header naming both (15 signals)."""
    frank = np.c_[x[:, 0], x[:, 5], 0.5 * x[:, 7]]
    with tempfile.TemporaryDirectory() as d:
        wfdb.wrsamp("s0010_re", fs=fs, units=["mV"] * 12, sig_name=[n.lower() for n in NAMES],
                    p_signal=x.astype(np.float64), fmt=["16"] * 12, write_dir=d)
        wfdb.wrsamp("xyz", fs=fs, units=["mV"] * 3, sig_name=["vx", "vy", "vz"],
                    p_signal=frank, fmt=[xyz_fmt] * 3, write_dir=d)
        hea = Path(d, "s0010_re.hea").read_text().splitlines()
        extra = [ln.replace("xyz.dat", "s0010_re.xyz") for ln in Path(d, "xyz.hea").read_text().splitlines()[1:]]
        head = hea[0].split()
        head[1] = "15"
        text = "\n".join([" ".join(head)] + hea[1:13] + extra) + "\n"
        return [("s0010_re.hea", text.encode()), ("s0010_re.dat", Path(d, "s0010_re.dat").read_bytes()),
                ("s0010_re.xyz", Path(d, "xyz.dat").read_bytes())]


# ---------------------------------------------------------------- the real CinC records

@pytest.mark.skipif(not EXTERNAL_STEMS, reason="../shared/external_ecg not found")
@pytest.mark.parametrize("stem", EXTERNAL_STEMS or ["none"])
def test_external_cinc_record_matches_rdrecord(stem):
    hea, mat = EXTERNAL / f"{stem}.hea", EXTERNAL / f"{stem}.mat"
    rec = read_upload([(hea.name, hea.read_bytes()), (mat.name, mat.read_bytes())])
    ref = wfdb.rdrecord(str(EXTERNAL / stem))
    assert [normalize_lead_name(n) for n in ref.sig_name] == list(LEADS)
    assert rec.fs == ref.fs and rec.signal.shape == ref.p_signal.shape
    assert np.abs(rec.signal - ref.p_signal).max() <= 1e-6
    assert rec.meta["format"] == "WFDB" and rec.meta["sex"] in ("male", "female")
    assert isinstance(rec.meta["age"], int) and rec.meta["dx"]
    assert all(name for _, name in rec.meta["dx"]), rec.meta["dx"]      # every code named
    quality = assess_quality(rec.signal, rec.fs)
    zero = [LEADS[j] for j in range(12) if not rec.signal[:, j].any()]
    if stem in ("JS20004", "JS20008"):
        assert zero == ["V2", "V4", "V6"]
        assert quality.problems("missing") == ("V2", "V4", "V6") and not quality.assessable
        assert any("leads V2, V4, V6 hold no signal" in n for n in rec.notes)
    else:
        assert zero == [] and not any("no signal" in n for n in rec.notes)
    assert rec.warnings == ()


# ---------------------------------------------------------------- "What was seen", case by case

def _seen_mat(r):
    rec = read_upload(cinc_mat(_pair(r)))
    np.testing.assert_array_equal(rec.signal, r["x"])
    assert rec.meta["dx"] == [("426783006", "sinus rhythm")] and rec.meta["age"] == 56
    assert "format 16 ('00001_lr.mat')" in " ".join(rec.notes)


def _seen_uploader_type_filter(r):
    assert "mat" in readers.UPLOAD_TYPES
    page = (REPO / "pages" / "upload.py").read_text()
    assert "type=list(readers.UPLOAD_TYPES)" in page


def _seen_mat_renamed_dat(r):
    (hn, hea), (_, mat) = cinc_mat(_pair(r))
    rec = read_upload([(hn, hea), ("00001_lr.dat", mat)])
    np.testing.assert_array_equal(rec.signal, r["x"])
    assert "the uploaded '00001_lr.dat' (same name, other extension) was read" in " ".join(rec.notes)


def _seen_extra_frank_leads(r):
    rec = read_upload(_ptb_diagnostic(r["x500"], 500))
    np.testing.assert_allclose(rec.signal, r["x500"], atol=0.5 / 1000 + 1e-6)
    notes = " ".join(rec.notes)
    assert "set aside (not one of the standard 12 leads): 'vx', 'vy', 'vz'" in notes
    assert rec.meta["set_aside"] == ["vx", "vy", "vz"]


def _seen_extra_file_not_uploaded(r):
    files = _ptb_diagnostic(r["x500"], 500)
    rec = read_upload(files[:2])
    np.testing.assert_allclose(rec.signal, r["x500"], atol=0.5 / 1000 + 1e-6)
    assert "'s0010_re.xyz' (vx, vy, vz) holds no standard lead: set aside (not needed)" in " ".join(rec.notes)


def _seen_csv_lead_prefix(r):
    rec = read_upload([("e.csv", _csv(r["x"], [f"Lead {n}" for n in LEADS]).encode())], fs=100)
    np.testing.assert_allclose(rec.signal, r["x"], atol=1e-6)
    assert "Lead aVR->aVR" in " ".join(rec.notes)


@pytest.mark.parametrize("fmt", ["{} (mV)", "{}_mV", "{} [mV]", "ECG {}"])
def test_csv_unit_and_prefix_styles(real, fmt):
    rec = read_upload([("e.csv", _csv(real["x"], [fmt.format(n) for n in LEADS]).encode())], fs=100)
    np.testing.assert_allclose(rec.signal, real["x"], atol=1e-6)


def _seen_csv_units(r):
    names = [f"{n} (mV)" for n in LEADS[:6]] + [f"{n.lower()}_uV" for n in LEADS[6:]]
    x = np.c_[r["x"][:, :6], r["x"][:, 6:] * 1000]
    rec = read_upload([("e.csv", _csv(x, names).encode())], fs=100)
    np.testing.assert_allclose(rec.signal, r["x"], atol=1e-5)
    assert "units mV/uV from the column names (converted to mV from uV)" in " ".join(rec.notes)


PREAMBLE = "Patient ID: 0001\nSampling Rate (Hz): 100\nDevice: ACME 12\n"


def _seen_csv_preamble(r):
    text = PREAMBLE + _csv(r["x"], list(LEADS))
    rec = read_upload([("e.csv", text.encode())], fs=None)          # rate from the preamble
    np.testing.assert_allclose(rec.signal, r["x"], atol=1e-6)
    notes = " ".join(rec.notes)
    assert "lines 1-3 before the header row (line 4) skipped" in notes
    assert "sampling rate 100 Hz read from the line 'Sampling Rate (Hz): 100'" in notes


def _seen_csv_preamble_unknown_names(r):
    text = PREAMBLE + _csv(r["x"], [f"ch{k}" for k in range(12)])
    with pytest.raises(UploadError, match=r"\(header row: line 4\): unknown lead names 'ch0'"):
        read_upload([("e.csv", text.encode())], fs=100)


def _seen_csv_trailing_delimiter(r):
    lines = _csv(r["x"], list(LEADS)).splitlines()
    rec = read_upload([("e.csv", "\n".join(ln + "," for ln in lines).encode())], fs=100)
    np.testing.assert_allclose(rec.signal, r["x"], atol=1e-6)
    assert "empty last column ignored" in " ".join(rec.notes)
    rows_only = "\n".join([lines[0]] + [ln + "," for ln in lines[1:]])
    rec = read_upload([("e.csv", rows_only.encode())], fs=100)
    np.testing.assert_allclose(rec.signal, r["x"], atol=1e-6)


def _seen_record_line_mat(r):
    files = cinc_mat(_pair(r))
    hea = files[0][1].replace(b"00001_lr 12", b"E00009.mat 12", 1)
    rec = read_upload([(files[0][0], hea), files[1]])
    assert "record name 'E00009.mat' read as 'E00009'" in " ".join(rec.notes)
    assert rec.meta["record_name"] == "E00009"


def _seen_no_length_message(r):
    hea = re.sub(rb"^(00001_lr 12 100) 1000", rb"\1", r["hea"])
    rec = read_upload([("00001_lr.hea", hea), ("00001_lr.dat", r["dat"])])
    assert "signal length not in the header: 1000 samples" in " ".join(rec.notes)
    with pytest.raises(UploadError) as err:
        read_upload([("00001_lr.hea", hea), ("00001_lr.dat", r["dat"] + b"\0" * 7)])
    msg = str(err.value)
    assert "declares" not in msg and "5000" not in msg
    assert "the header gives no signal length, so it was taken from this file's size" in msg
    assert "7 bytes are left over" in msg


def _seen_rate_500_as_250(r):
    rec = read_upload([("e.csv", _csv(r["x500"], list(LEADS)).encode())], fs=250)
    assert rec.seconds == 20.0 and len(rec.warnings) == 1
    w = rec.warnings[0]
    assert "At the stated 250 Hz the heart rate is about" in w and "500 Hz" in w
    assert read_upload([("e.csv", _csv(r["x500"], list(LEADS)).encode())], fs=500).warnings == ()


SEEN = {
    "1: .mat signal file (CinC 16+24) accepted": _seen_mat,
    "1: the uploader's type filter takes .mat": _seen_uploader_type_filter,
    "1: .mat renamed to .dat accepted": _seen_mat_renamed_dat,
    "2: Frank vx vy vz in .xyz set aside": _seen_extra_frank_leads,
    "2: the .xyz need not be uploaded": _seen_extra_file_not_uploaded,
    "3: Lead aVR ... Lead V6": _seen_csv_lead_prefix,
    "3: units in the names": _seen_csv_units,
    "3: preamble before the header row": _seen_csv_preamble,
    "3: preamble, header row named in the message": _seen_csv_preamble_unknown_names,
    "3: rows ending in a delimiter": _seen_csv_trailing_delimiter,
    "4: record line 'E00009.mat'": _seen_record_line_mat,
    "4: header without a length": _seen_no_length_message,
    "5: 500 Hz CSV entered as 250 Hz": _seen_rate_500_as_250,
}


@pytest.mark.parametrize("case", list(SEEN))
def test_what_was_seen(real, case):
    SEEN[case](real)


# ---------------------------------------------------------------- CSV variants

@pytest.mark.parametrize("sep, decimal", [(";", ","), ("\t", ","), ("\t", "."), (";", ".")])
def test_csv_separators_and_decimal_commas(real, sep, decimal):
    text = _csv(real["x"], list(LEADS), sep=sep, decimal=decimal)
    rec = read_upload([("e.csv", text.encode())], fs=100)
    np.testing.assert_allclose(rec.signal, real["x"], atol=1e-6)
    assert ("decimal commas read as decimal points" in " ".join(rec.notes)) == (decimal == ",")


@pytest.mark.parametrize("name, scale, fs", [("time", 1, 500), ("Time (s)", 1, 500), ("time_ms", 1000, 500),
                                             ("t", 1000, 100), ("Time [s]", 1, 100)])
def test_csv_rate_from_a_regular_time_column(real, name, scale, fs):
    x = real["x500"] if fs == 500 else real["x"]
    df = pd.DataFrame(x, columns=list(LEADS))
    df.insert(0, name, np.round(np.arange(len(x)) / fs * scale, 6))
    rec = read_upload([("e.csv", df.to_csv(index=False).encode())], fs=None)
    assert rec.fs == fs and rec.signal.shape == x.shape
    assert f"sampling rate {fs} Hz read from the time column" in " ".join(rec.notes)
    with pytest.raises(UploadError, match=f"the time column .* gives {fs} Hz but {fs // 2} Hz was given"):
        read_upload([("e.csv", df.to_csv(index=False).encode())], fs=fs // 2)


def test_csv_irregular_time_column_needs_a_rate(real):
    df = pd.DataFrame(real["x"], columns=list(LEADS))
    df.insert(0, "time", np.sort(np.random.default_rng(0).uniform(0, 10, len(real["x"]))))
    with pytest.raises(UploadError, match="no sampling rate"):
        read_upload([("e.csv", df.to_csv(index=False).encode())], fs=None)
    assert read_upload([("e.csv", df.to_csv(index=False).encode())], fs=100).fs == 100


def test_csv_extra_columns_are_set_aside(real):
    x = np.c_[real["x"], real["x"][:, :2]]
    rec = read_upload([("e.csv", _csv(x, list(LEADS) + ["V4R", "Marker"]).encode())], fs=100)
    np.testing.assert_allclose(rec.signal, real["x"], atol=1e-6)
    assert "set aside (not one of the standard 12 leads): 'V4R', 'Marker'" in " ".join(rec.notes)


@pytest.mark.parametrize("raw, lead, unit", [("Lead V1", "V1", None), ("V1 (mV)", "V1", "mV"),
                                             ("v1_mV", "v1", "mV"), ("I [uV]", "I", "uV"),
                                             ("ECG aVR", "aVR", None), ("\"V6\"", "V6", None)])
def test_split_lead_label(raw, lead, unit):
    assert split_lead_label(raw) == (lead, unit)
    assert normalize_lead_name(raw) == normalize_lead_name(lead)


# ---------------------------------------------------------------- WFDB refusals and metadata

WFDB_BAD = {
    "multi-segment record line": (lambda r: [("a.hea", b"rec/2 12 500 5000\n"), ("a.dat", b"0")],
                                  r"declares a multi-segment record \(NAME/SEGMENTS\)"),
    "record name is a path": (lambda r: [("a.hea", b"../../x 12 500\n"), ("a.dat", b"0")],
                              r"record name '../../x' is a path"),
    "needed signal file missing": (lambda r: _ptb_diagnostic(r["x500"], 500)[::2],
                                   r"signal line 1 names 's0010_re.dat' but the uploaded signal file is "
                                   r"'s0010_re.xyz'"),
    "file not named by the header": (lambda r: _pair(r) + [("other.mat", b"x" * 10)],
                                     r"'other.mat' is not named by the header"),
    "mat compressed (MATLAB v5)": (lambda r: [cinc_mat(_pair(r))[0],
                                              ("00001_lr.mat", _mat(np.ones((12, 1000), np.int16), 5))],
                                   r"'00001_lr.mat' is MATLAB v5, not the PhysioNet/CinC .mat form: a "
                                   r"MATLAB v4 file"),
    "mat shape differs": (lambda r: [cinc_mat(_pair(r))[0],
                                     ("00001_lr.mat", _mat(np.zeros((1000, 12), np.int16)))],
                          r"'00001_lr.mat' holds 'val' 1000x12 int16, but the header declares 12 "
                          r"signals x 1000 samples"),
    "mat offset differs": (lambda r: [(cinc_mat(_pair(r))[0][0], cinc_mat(_pair(r))[0][1].replace(b"+24", b"+0")),
                                      cinc_mat(_pair(r))[1]],
                           r"its samples start at byte 24, but the header's format field says \+0: use "
                           r"'16\+24'"),
    "mat truncated": (lambda r: [cinc_mat(_pair(r))[0], ("00001_lr.mat", cinc_mat(_pair(r))[1][1][:-10])],
                      r"'00001_lr.mat' is truncated: the header declares 1000 samples x 12 signals in "
                      r"format 16 after a 24-byte offset = 24024 bytes"),
    "mat not MATLAB": (lambda r: [cinc_mat(_pair(r))[0], ("00001_lr.mat", b"\x07" * 24024)],
                       r"'00001_lr.mat' is not a MATLAB file, not the PhysioNet/CinC .mat form"),
    "lone .mat": (lambda r: cinc_mat(_pair(r))[1:], r"'00001_lr.mat': WFDB signal file without its .hea"),
    "two headers": (lambda r: _pair(r) + [("b.hea", r["hea"])], "upload one record at a time"),
}


def _mat(val: np.ndarray, version: int = 4) -> bytes:
    buf = io.BytesIO()
    scipy.io.savemat(buf, {"val": val}, format=str(version), do_compression=version == 5)
    return buf.getvalue()


@pytest.mark.parametrize("case", list(WFDB_BAD))
def test_wfdb_refusals_name_file_problem_and_fix(real, case):
    build, message = WFDB_BAD[case]
    with pytest.raises(UploadError, match=message):
        read_upload(build(real))


def test_header_comments_become_metadata():
    meta = header_metadata(["Age: 78", "Sex: F", "Dx: 426783006,164865005, 999999999", "Rx: Unknown",
                            "garbage without a colon"])
    assert meta["age"] == 78 and meta["sex"] == "female"
    assert meta["dx"] == [("426783006", "sinus rhythm"), ("164865005", "myocardial infarction"),
                          ("999999999", None)]
    assert "rx" not in meta["comments"] and meta["comments"]["age"] == "78"
    assert dx_text(meta["dx"][1:]) == "164865005 myocardial infarction, 999999999 (name not in the table)"
    assert header_metadata([]) == {} and len(SNOMED_CT) >= 50


# ---------------------------------------------------------------- the rate check

def test_heart_rate_plausible_at_the_true_rate_and_flagged_at_others(real):
    for x, fs in ((real["x"], 100), (real["x500"], 500)):
        assert 40 <= heart_rate(x, fs) <= 100 and rate_warning(x, fs) is None
    w = rate_warning(real["x500"], 125)          # 4x off: far outside 30-220 bpm
    assert "outside 30-220 bpm: the sampling rate is probably wrong" in w and "500 Hz" in w
    assert rate_warning(np.zeros((5000, 12)), 500) is None        # no beats: no claim


@pytest.mark.skipif(not EXTERNAL_STEMS, reason="../shared/external_ecg not found")
def test_every_external_record_gets_predictions_from_every_model():
    from ecgcore.models.registry import WEIGHTS_DIR, load_model
    from ecgcore.signal.record import model_input
    if not (WEIGHTS_DIR / "fused.pt").is_file():
        pytest.skip("trained weights not in weights/")
    x = np.stack([model_input(read_upload([(f"{s}.hea", (EXTERNAL / f"{s}.hea").read_bytes()),
                                           (f"{s}.mat", (EXTERNAL / f"{s}.mat").read_bytes())]))
                  for s in EXTERNAL_STEMS])
    probs = load_model("fused").predict_all(x)
    assert len(EXTERNAL_STEMS) == 40 and set(probs) == {"signal", "spectrum", "scalogram", "fused"}
    for name, p in probs.items():
        assert p.shape == (40, 5) and np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all(), name
