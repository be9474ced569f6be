"""Record, lead names, resampling, crop/pad."""
from __future__ import annotations

import numpy as np
import pytest

from ecgcore.signal.record import LEADS, Record, fit_length, model_input, model_input_notes, normalize_lead_name, resample


@pytest.mark.parametrize("raw, canonical", [("AVR", "aVR"), ("avr", "aVR"), (" aVL ", "aVL"), ("v1", "V1"),
                                            ("II", "II"), ("D2", "II"), ("X", None), ("V7", None)])
def test_normalize_lead_name(raw, canonical):
    assert normalize_lead_name(raw) == canonical


def test_resample_keeps_a_sine():
    t = np.arange(5000) / 500
    x = np.repeat(np.sin(2 * np.pi * 5 * t)[:, None], 12, 1)
    y = resample(x, 500, 100)
    assert y.shape == (1000, 12) and y.dtype == np.float32
    assert np.allclose(y[100:-100, 0], np.sin(2 * np.pi * 5 * np.arange(1000) / 100)[100:-100], atol=0.02)


def test_fit_length_crop_and_pad_are_stated():
    x = np.ones((1200, 12), np.float32)
    y, note = fit_length(x, 1000)
    assert y.shape == (1000, 12) and "cropped" in note
    y, note = fit_length(x[:700], 1000)
    assert y.shape == (1000, 12) and "padded" in note and y[700:].sum() == 0
    assert fit_length(x[:1000], 1000)[1] is None


def test_model_input_from_500hz_record():
    rec = Record(signal=np.zeros((6000, 12), np.float32), fs=500, source="upload")
    assert model_input(rec).shape == (1000, 12)
    notes = " ".join(model_input_notes(rec))
    assert "resampled from 500 Hz" in notes and "cropped" in notes


def test_record_validates_shape():
    with pytest.raises(ValueError, match="T, 12"):
        Record(signal=np.zeros((1000, 11), np.float32), fs=100)
    assert Record(signal=np.zeros((1000, 12), np.float32), fs=100).leads == LEADS
