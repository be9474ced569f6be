"""The Upload page with the clinical formats (issue #14), through AppTest as in test_pages.py: DICOM,
HL7 aECG and EDF uploads, the upload's metadata in the sidebar, and the 10 s window slider for
longer recordings (the window is what every page's models read)."""
from __future__ import annotations

import numpy as np
import pytest

from ecgcore.io import writers
from ecgcore.signal.record import Record
from test_pages import RECORD, app, page, texts


def sidebar(at) -> str:
    return "\n".join(m.value for m in at.sidebar.markdown)


def test_upload_page_lists_every_accepted_format():
    at = page(app(), "upload")
    shown = texts(at)
    for fmt in ("WFDB", "DICOM ECG", "HL7 aECG", "EDF", "CSV", "NumPy",
                "GE MUSE XML and SCP-ECG are not read yet"):
        assert fmt in shown, fmt
    types = at.get("file_uploader")[0].proto.type
    assert {".dcm", ".xml", ".edf", ".hea", ".mat", ".csv"} <= set(types), types


def test_pydicom_ecg_upload_shows_its_metadata_in_the_sidebar():
    from pydicom.data import get_testdata_file
    path = get_testdata_file("waveform_ecg.dcm")
    if path is None:
        pytest.skip("pydicom's waveform_ecg.dcm is not installed (it would need a download)")
    with open(path, "rb") as fh:
        data = fh.read()
    at = page(app(), "upload")
    at.number_input[0].set_value(250.0).run()          # ignored: the DICOM file gives 1000 Hz
    at.file_uploader[0].set_value(("waveform_ecg.dcm", data, "application/dicom")).run()
    assert not at.error, [e.value for e in at.error]
    assert any("(DICOM): 1000 Hz, 10.0 s" in s.value for s in at.success)
    side = sidebar(at)
    for part in ("Upload: waveform_ecg.dcm", "DICOM file", "1000 Hz, 10.0 s", "leads in the file: 12 (I, II",
                 "set aside: none", "patient: 42, female"):
        assert part in side, (part, side)
    assert not at.slider                                # 10 s: nothing to choose


@pytest.mark.parametrize("ext, fmt", [("xml", "aECG"), ("edf", "EDF")])
def test_aecg_and_edf_uploads_are_accepted(ptbxl_dir, ext, fmt):
    from ecgcore.io.ptbxl import load_record
    rec = load_record(RECORD, 500)
    data = {"xml": writers.write_aecg, "edf": writers.write_edf}[ext](rec)
    at = page(app(), "upload")
    at.file_uploader[0].set_value((f"mine.{ext}", data, "application/octet-stream")).run()
    assert not at.error, [e.value for e in at.error]
    assert any(f"({fmt}): 500 Hz, 10.0 s" in s.value for s in at.success)
    assert f"{fmt} file `mine.{ext}`" in sidebar(at)


def test_a_bomb_is_refused_with_the_reason():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
            b"<AnnotatedECG>&b;</AnnotatedECG>")
    at = page(app(), "upload")
    at.file_uploader[0].set_value(("bomb.xml", bomb, "text/xml")).run()
    errs = [e.value for e in at.error]
    assert any("bomb.xml" in e and "DTD or entities" in e for e in errs), errs


def test_a_longer_upload_gets_a_window_slider_and_the_models_read_that_window(ptbxl_dir):
    """A 30 s EDF: the first 10 s open by default; moving the slider to 12 s opens 12-22 s, which is
    what the sidebar, the notes and the model input then say and hold."""
    import ui
    from ecgcore.io.ptbxl import load_record
    from ecgcore.signal.record import model_input
    base = load_record(RECORD, 100).signal
    long = np.concatenate([base, base[::-1], base])              # 30 s, no constant stretch
    data = writers.write_edf(Record(signal=long, fs=100.0))
    at = page(app(), "upload")
    at.file_uploader[0].set_value(("long.edf", data, "application/octet-stream")).run()
    assert not at.error, [e.value for e in at.error]
    assert any("100 Hz, 30.0 s" in s.value for s in at.success)
    (slider,) = at.slider
    assert slider.value == 0.0 and slider.max == 20.0
    assert "models read 0-10 s" in sidebar(at)
    slider.set_value(12.0).run()
    assert not at.exception, [e.value for e in at.exception]
    opened = at.session_state[ui.UPLOAD_KEY]
    np.testing.assert_allclose(opened.signal, long[1200:2200], atol=1e-5)
    np.testing.assert_allclose(model_input(opened), long[1200:2200], atol=1e-5)
    assert opened.meta["window_s"] == (12.0, 22.0)
    assert "models read 12-22 s" in sidebar(at) and "100 Hz, 30.0 s" in sidebar(at)
    assert any("12-22 s" in c.value for c in at.caption)
    assert any("the models read 12-22 s of the 30.0 s recording" in c.value for c in at.caption)


def test_upload_window_helper_clamps_and_leaves_short_records_alone(ptbxl_dir):
    import ui
    from ecgcore.io.ptbxl import load_record
    rec = load_record(RECORD, 100)
    assert ui.upload_window(rec, 5.0) is rec
    long = rec.replace(signal=np.concatenate([rec.signal] * 2))
    w = ui.upload_window(long, 99.0)
    assert w.meta["window_s"] == (10.0, 20.0) and w.signal.shape == (1000, 12)
