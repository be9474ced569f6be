"""Measurements: known truths (intervals, rate, axis) and 'not measurable' with its reason."""
from __future__ import annotations

import numpy as np
import pytest

from _synthetic import synthetic_ecg
from ecgcore.signal.measure import NAMES, frontal_axis, measure_record
from ecgcore.signal.median_beat import median_beats
from ecgcore.signal.record import LEADS

CASES = [dict(hr=75, pr=0.16, qrs=0.10, qt=0.40),
         dict(hr=60, pr=0.22, qrs=0.14, qt=0.46),                    # long PR, wide QRS, long QT
         dict(hr=100, pr=0.15, qrs=0.08, qt=0.34, p_dur=0.09, axis_deg=-45)]


@pytest.mark.parametrize("fs", [100, 500])
@pytest.mark.parametrize("case", CASES)
def test_intervals_within_10_ms(fs, case):
    row = measure_record(synthetic_ecg(fs, **case), fs).as_row()
    # known limit: at 100 Hz, 100 bpm with an 80 ms QRS the PR reads 11-12 ms short (P onset one
    # sample late, QRS onset half a sample early); docs/measurements.md states it
    pr_tol = 15 if (fs == 100 and case["hr"] == 100) else 10
    assert row["pr_ms"] == pytest.approx(case["pr"] * 1000, abs=pr_tol)
    assert row["qrs_ms"] == pytest.approx(case["qrs"] * 1000, abs=10)
    assert row["qt_ms"] == pytest.approx(case["qt"] * 1000, abs=10)
    rr = 60.0 / case["hr"]
    assert row["qtc_bazett_ms"] == pytest.approx(row["qt_ms"] / np.sqrt(rr), abs=0.2)
    assert row["qtc_fridericia_ms"] == pytest.approx(row["qt_ms"] / rr ** (1 / 3), abs=0.2)


@pytest.mark.parametrize("fs", [100, 500])
def test_75_bpm_gives_75_bpm(fs):
    m = measure_record(synthetic_ecg(fs, hr=75), fs)
    assert m.values["hr_bpm"].value == pytest.approx(75.0, abs=0.5)
    assert m.values["rr_ms"].value == pytest.approx(800.0, abs=5)


@pytest.mark.parametrize("i, avf, deg", [(1.0, 0.0, 0.0), (0.0, 1.0, 90.0), (1.0, np.sqrt(3) / 2, 45.0),
                                         (1.0, -np.sqrt(3) / 2, -45.0), (-1.0, 0.0, 180.0), (0.0, -1.0, -90.0)])
def test_axis_from_i_and_avf(i, avf, deg):
    assert frontal_axis(i, avf) == pytest.approx(deg, abs=1e-6)


@pytest.mark.parametrize("axis", [-70.0, -45.0, 15.0, 75.0, 105.0])
def test_axis_of_a_known_heart_vector(axis):
    row = measure_record(synthetic_ecg(500, axis_deg=axis), 500).as_row()
    for name in ("p_axis_deg", "qrs_axis_deg", "t_axis_deg"):
        assert row[name] == pytest.approx(axis, abs=3)


def test_flat_lead_is_not_measurable_with_its_reason():
    x = synthetic_ecg(100)
    x[:, LEADS.index("V3")] = 0.001 * np.random.default_rng(0).standard_normal(len(x))
    m = measure_record(x, 100)
    st = m.st_mv["V3"]
    assert st.value is None and "flat" in st.reason
    assert m.st_mv["V5"].ok and m.values["qrs_ms"].ok


def test_noisy_lead_is_not_measurable_with_its_reason():
    x = synthetic_ecg(500)
    x[:, LEADS.index("V2")] += 1.0 * np.random.default_rng(1).standard_normal(len(x))
    m = measure_record(x, 500)
    assert m.st_mv["V2"].value is None and "noise" in m.st_mv["V2"].reason


def test_flat_record_is_not_measurable():
    m = measure_record(np.zeros((1000, 12), np.float32), 100)
    row = m.as_row()
    assert all(row[n] is None for n in NAMES)
    assert "not assessable" in row["measure_note"]


def test_noise_record_is_not_measurable():
    x = np.random.default_rng(2).standard_normal((5000, 12)).astype(np.float32)
    row = measure_record(x, 500).as_row()
    assert row["qrs_ms"] is None and row["measure_note"]


def test_no_p_waves_gives_no_pr_with_reason():
    m = measure_record(synthetic_ecg(500, p_amp=0.0), 500)
    assert m.values["pr_ms"].value is None and "no P waves" in m.values["pr_ms"].reason
    assert m.values["p_axis_deg"].value is None
    assert m.values["qrs_ms"].ok and m.values["hr_bpm"].ok


def test_too_few_beats():
    x = synthetic_ecg(100, hr=30, seconds=3.0)
    m = measure_record(x, 100)
    assert m.values["hr_bpm"].value is None and "too few beats" in m.values["hr_bpm"].reason


def test_row_has_the_scorer_columns_and_st_levels():
    row = measure_record(synthetic_ecg(100), 100).as_row()
    for col in ("hr_bpm", "pr_ms", "qrs_ms", "qt_ms", "qtc_bazett_ms", "qtc_fridericia_ms",
                "qrs_axis_deg", "measure_note"):
        assert col in row
    assert all(isinstance(row[f"st_{lead}_mv"], float) for lead in LEADS)
    assert abs(row["st_II_mv"]) < 0.05                   # the synthetic ST segment is isoelectric


def test_median_beat_is_aligned_and_delineated():
    mb = median_beats(synthetic_ecg(500), 500)
    assert mb.signal.shape[1] == 12 and mb.n_beats == mb.n_total
    assert mb.fiducials["g_qrs_on"] < mb.r_index < mb.fiducials["g_qrs_off"] < mb.fiducials["g_t_off"]


def test_real_ptbxl_record(ptbxl_dir, index):
    from ecgcore.io.ptbxl import load_record
    ecg_id = int(index.index[index["has_100"] & index["NORM"]][0])
    row = measure_record(load_record(ecg_id, 100).signal, 100).as_row()
    assert 40 < row["hr_bpm"] < 110 and 60 <= row["qrs_ms"] < 130 and 300 < row["qt_ms"] < 500


@pytest.mark.parametrize("deg, cls", [(-100.0, "ARAD"), (-90.0, "ALAD"), (-31.0, "ALAD"), (-30.0, "LAD"),
                                      (-1.0, "LAD"), (0.0, "MID"), (89.0, "MID"), (90.0, "RAD"),
                                      (119.0, "RAD"), (120.0, "ARAD"), (180.0, "ARAD"), (None, None)])
def test_axis_classes_used_against_ptbxl(deg, cls):
    from ecgcore.signal.measure import axis_class
    assert axis_class(deg) == cls


def test_qrs_axis_is_the_net_deflection_not_the_area():
    """A tall narrow R with a wide shallow S: net area negative, net deflection positive."""
    from ecgcore.signal.measure import _net_deflection
    seg = np.zeros((20, 2))
    seg[2:4, 0] = 1.0                     # lead I: R 1.0 mV over 2 samples
    seg[4:16, 0] = -0.3                   # then S -0.3 mV over 12 samples (area -1.6)
    seg[:, 1] = 0.05                      # aVF: flat 0.05 mV above a 0.05 mV baseline
    net = _net_deflection(seg, np.array([0.0, 0.05]))
    assert net == pytest.approx([0.7, 0.0])
    assert frontal_axis(*net) == pytest.approx(0.0)
    assert seg[:, 0].sum() < 0           # the area would have pointed the other way
