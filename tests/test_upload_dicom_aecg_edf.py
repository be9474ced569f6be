"""DICOM ECG, HL7 aECG and EDF uploads (issue #14): round trips of real PTB-XL records through
`ecgcore.io.writers` and `read_upload`, pydicom's own 12-lead ECG, and the specific refusals."""
from __future__ import annotations

import io

import numpy as np
import pytest

from ecgcore.io import writers
from ecgcore.io.readers import UPLOAD_TYPES, UploadError, read_upload
from ecgcore.signal.record import LEADS, Record

WRITERS = {"dcm": writers.write_dicom_ecg, "xml": writers.write_aecg, "edf": writers.write_edf}
FORMATS = {"dcm": "DICOM", "xml": "aECG", "edf": "EDF"}


@pytest.fixture(scope="module")
def records(ptbxl_dir):
    from ecgcore.io.ptbxl import load_index, load_record
    idx = load_index(ptbxl_dir)
    ecg_id = int(idx.index[idx["has_100"] & idx["has_500"]][0])
    return {fs: load_record(ecg_id, fs=fs) for fs in (100, 500)}


def test_new_extensions_are_accepted_types():
    assert {"dcm", "xml", "edf"} <= set(UPLOAD_TYPES)


@pytest.mark.parametrize("fs", [100, 500])
@pytest.mark.parametrize("ext", ["dcm", "xml", "edf"])
@pytest.mark.parametrize("resolution_uv", [1.0, 2.5])
def test_round_trip_same_samples_within_resolution(records, ext, fs, resolution_uv):
    src = records[fs]
    rec = read_upload([(f"ecg.{ext}", WRITERS[ext](src, resolution_uv=resolution_uv))])
    assert rec.fs == fs and rec.signal.shape == src.signal.shape and rec.signal.dtype == np.float32
    assert rec.meta["format"] == FORMATS[ext] and rec.meta["original_fs"] == fs
    assert rec.source == "upload" and rec.labels is None
    # the writer rounds to resolution_uv; the reader must give back exactly that (float32 epsilon)
    step = resolution_uv / 1000
    err = np.abs(rec.signal.astype(np.float64) - src.signal.astype(np.float64)).max()
    assert err <= step / 2 + 1e-5, err
    if resolution_uv == 1.0:         # PTB-XL is stored in 1 uV steps: the same samples
        assert err < 1e-5


def test_edf_reader_agrees_with_edfio(records):
    """Two implementations on the same bytes: the own strict parser and edfio's reader."""
    import edfio
    data = writers.write_edf(records[500])
    mine = read_upload([("ecg.edf", data)]).signal
    theirs = np.stack([s.data for s in edfio.read_edf(io.BytesIO(data)).signals], axis=1) / 1000
    np.testing.assert_allclose(mine, theirs, atol=1e-6)


def test_pydicom_own_ecg_test_file():
    """pydicom ships a real 12-lead ECG (two multiplex groups: RHYTHM 10 s, MEDIAN BEAT)."""
    from pydicom.data import get_testdata_file
    path = get_testdata_file("waveform_ecg.dcm")
    if path is None:
        pytest.skip("pydicom's waveform_ecg.dcm is not installed with this pydicom (it would need "
                    "a download); the PTB-XL round trips above still cover DICOM")
    import pydicom
    with open(path, "rb") as fh:
        data = fh.read()
    rec = read_upload([("waveform_ecg.dcm", data)])
    assert rec.fs == 1000 and rec.signal.shape == (10000, 12)
    assert rec.meta["original_leads"] == list(LEADS) and rec.meta["set_aside"] == []
    assert rec.meta["sex"] == "female" and rec.meta["age"] == 42
    assert any("MEDIAN BEAT" in n and "not used" in n for n in rec.notes)
    # the same values as pydicom's own conversion (sensitivity x correction + baseline, uV -> mV)
    ref = pydicom.dcmread(path).waveform_array(0) / 1000
    np.testing.assert_allclose(rec.signal, ref, atol=1e-6)


def _dicom_dataset(record, **kw):
    import pydicom
    return pydicom.dcmread(io.BytesIO(writers.write_dicom_ecg(record, **kw)))


def _save(ds) -> bytes:
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def test_dicom_picks_the_rhythm_group_at_its_rate(records):
    """A 100 Hz DERIVED median group placed first, the 500 Hz ORIGINAL rhythm second: the rhythm
    group is read at 500 Hz; mV units and a baseline are applied."""
    import copy
    ds = _dicom_dataset(records[500])
    rhythm = ds.WaveformSequence[0]
    median = copy.deepcopy(_dicom_dataset(records[100]).WaveformSequence[0])
    median.MultiplexGroupLabel, median.WaveformOriginality = "MEDIAN BEAT", "DERIVED"
    for ch in rhythm.ChannelDefinitionSequence:
        ch.ChannelSensitivityUnitsSequence[0].CodeValue = "mV"
        ch.ChannelSensitivity, ch.ChannelBaseline = "0.001", "0.05"
    ds.WaveformSequence = [median, rhythm]
    rec = read_upload([("two.dcm", _save(ds))])
    assert rec.fs == 500 and rec.signal.shape == (5000, 12)
    np.testing.assert_allclose(rec.signal, records[500].signal + 0.05, atol=1e-5)
    assert any("group 2 (RHYTHM) read" in n for n in rec.notes)


@pytest.mark.parametrize("edit, message", [
    (lambda ds: delattr(ds, "WaveformSequence"), "holds no waveform"),
    (lambda ds: setattr(ds.WaveformSequence[0], "WaveformSampleInterpretation", "MB"), "mu-law"),
    (lambda ds: setattr(ds.WaveformSequence[0], "NumberOfWaveformSamples", 2**31 - 1), "too long"),
    (lambda ds: setattr(ds.WaveformSequence[0], "NumberOfWaveformSamples", 1500), "Waveform Data holds"),
    (lambda ds: setattr(ds.WaveformSequence[0], "SamplingFrequency", "0"), "sampling rate 0 Hz"),
    (lambda ds: setattr(ds.WaveformSequence[0].ChannelDefinitionSequence[0]
                        .ChannelSensitivityUnitsSequence[0], "CodeValue", "mmHg"), "uV, mV or V"),
    (lambda ds: setattr(ds.WaveformSequence[0].ChannelDefinitionSequence[6]
                        .ChannelSourceSequence[0], "CodeValue", "5.6.3-9-2"), "no multiplex group"),
])
def test_dicom_refusals_name_the_problem(records, edit, message):
    ds = _dicom_dataset(records[100])
    edit(ds)
    with pytest.raises(UploadError, match=message) as err:
        read_upload([("bad.dcm", _save(ds))])
    assert "'bad.dcm'" in str(err.value)


def test_dicom_not_dicom_and_truncated(records):
    data = writers.write_dicom_ecg(records[100])
    with pytest.raises(UploadError, match="not a DICOM Part 10 file"):
        read_upload([("x.dcm", b"hello" * 100)])
    for cut in (200, len(data) // 2, len(data) - 7):
        with pytest.raises(UploadError, match="truncated|cannot read|Waveform"):
            read_upload([("x.dcm", data[:cut])])


def test_dicom_and_edf_refuse_another_given_rate(records):
    for ext in ("dcm", "xml", "edf"):
        with pytest.raises(UploadError, match="says 100 Hz but 250 Hz was given"):
            read_upload([(f"x.{ext}", WRITERS[ext](records[100]))], fs=250)
        assert read_upload([(f"x.{ext}", WRITERS[ext](records[100]))], fs=100).fs == 100


def test_aecg_eight_leads_are_completed_and_units_scaled(records):
    """An aECG with only I, II, V1-V6 (common in exports) gets III, aVR, aVL, aVF derived; an mV
    origin/scale is read as such."""
    import re
    text = writers.write_aecg(records[500]).decode()
    for lead in ("III", "AVR", "AVL", "AVF"):
        text = re.sub(rf'<component><sequence><code code="MDC_ECG_LEAD_{lead}".*?</component>', "",
                      text, count=1, flags=re.S)
    text = text.replace('<scale value="1" unit="uV"/>', '<scale value="0.001" unit="mV"/>')
    rec = read_upload([("eight.xml", text.encode())])
    src = records[500].signal.astype(np.float64)
    i, ii = src[:, 0], src[:, 1]
    np.testing.assert_allclose(rec.signal[:, 2], ii - i, atol=1e-5)
    np.testing.assert_allclose(rec.signal[:, 3], -(i + ii) / 2, atol=1e-5)
    np.testing.assert_allclose(rec.signal[:, 6:], src[:, 6:], atol=1e-5)
    assert any("derived from I and II" in n for n in rec.notes)


@pytest.mark.parametrize("xml, message", [
    ('<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
     '<AnnotatedECG>&b;</AnnotatedECG>', "DTD or entities"),
    ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
     '<AnnotatedECG>&e;</AnnotatedECG>', "DTD or entities"),
    ('<AnnotatedECG xmlns="urn:hl7-org:v3"><component>', "not well-formed XML"),
    ('<restingecgdata/>', "not AnnotatedECG"),
    ('<AnnotatedECG/>', "no sequenceSet"),
])
def test_aecg_refusals(xml, message):
    with pytest.raises(UploadError, match=message):
        read_upload([("x.xml", xml.encode())])


def test_aecg_bad_digits_and_increment(records):
    text = writers.write_aecg(records[100]).decode()
    with pytest.raises(UploadError, match="digits hold '1.5'"):
        read_upload([("x.xml", text.replace("<digits>", "<digits>1.5 ", 1).encode())])
    bad = text.replace('<increment value="0.01" unit="s"/>', '<increment value="0" unit="s"/>')
    with pytest.raises(UploadError, match="time increment 0"):
        read_upload([("x.xml", bad.encode())])


def _edf_field(data: bytes, at: int, width: int, value: str) -> bytes:
    return data[:at] + value.encode().ljust(width)[:width] + data[at + width:]


def test_edf_extra_signals_set_aside_and_labels(records):
    """Leads labelled 'EKG II', 'I' ...; a respiration signal and EDF+ annotations set aside."""
    import edfio
    src = records[100]
    sig = [edfio.EdfSignal(src.signal[:, j].astype(np.float64), 100, label=f"EKG {lead}",
                           physical_dimension="mV", physical_range=(-33, 33)) for j, lead in enumerate(LEADS)]
    sig.insert(3, edfio.EdfSignal(np.zeros(1000), 100, label="Resp", physical_range=(-1, 1)))
    edf = edfio.Edf(sig, annotations=[edfio.EdfAnnotation(1.0, None, "start")])
    buf = io.BytesIO()
    edf.write(buf)
    rec = read_upload([("x.edf", buf.getvalue())])
    assert rec.meta["set_aside"][:1] == ["Resp"] and "EDF Annotations" in rec.meta["set_aside"]
    assert np.abs(rec.signal - src.signal).max() <= 66 / 65535 / 2 + 1e-6


@pytest.mark.parametrize("field, value, message", [
    ((236, 8), "99999999", "truncated"), ((236, 8), "abc", "not a whole number"),
    ((252, 4), "9999", "declares 9999 signals"), ((184, 8), "256", "header bytes"),
    ((192, 44), "EDF+D", "discontinuous"), ((244, 8), "0", "duration 0"),
    ((0, 8), "1", "not an EDF file"), ((256, 16), "ECG V4R", "missing lead I"),
])
def test_edf_header_refusals(records, field, value, message):
    data = _edf_field(writers.write_edf(records[100]), *field, value)
    with pytest.raises(UploadError, match=message):
        read_upload([("x.edf", data)])


def test_edf_units_and_ranges(records):
    data = writers.write_edf(records[100])
    ns, dim_at = 12, 256 + 12 * (16 + 80)
    with pytest.raises(UploadError, match="'mmHg'; accepted: uV, mV or V"):
        read_upload([("x.edf", _edf_field(data, dim_at, 8, "mmHg"))])
    dmin_at = 256 + ns * (16 + 80 + 8 + 8 + 8)
    with pytest.raises(UploadError, match="digital range"):
        read_upload([("x.edf", _edf_field(data, dmin_at, 8, "32767"))])
    x = Record(signal=records[100].signal, fs=100.0)
    assert read_upload([("x.edf", writers.write_edf(x))]).fs == 100
