"""Saliency aggregated onto waves: known labels from a known delineation, known shares."""
import numpy as np
import pytest

from ecgcore.explain.waves import (WAVES, evidence_by_wave, evidence_sentence, lead_share, uniform_shares,
                                   wave_labels, wave_share)
from ecgcore.signal.delineate import FIELDS, Delineation
from ecgcore.signal.record import LEADS


def one_beat() -> Delineation:
    """One beat at 100 Hz: P 10-20, QRS 30-40, T peak 60, T end 70 (every lead)."""
    per = {f: np.full((1, 12), np.nan) for f in FIELDS}
    per["p_on"][:], per["p_off"][:], per["t_peak"][:] = 10, 20, 60
    return Delineation(fs=100.0, r_peaks=np.array([35]), qrs_on=np.array([30.0]), qrs_off=np.array([40.0]),
                       t_off=np.array([70.0]), per_lead=per)


def test_wave_labels_follow_the_fiducials():
    lab = wave_labels(one_beat(), 100)[:, 0]
    name = [WAVES[i] for i in lab]
    assert name[10:21] == ["P"] * 11 and name[21:30] == ["PR"] * 9 and name[30:41] == ["QRS"] * 11
    assert name[41:50] == ["ST"] * 9 and name[50:71] == ["T"] * 21            # T from 2*60-70 = 50
    assert name[:10] == ["baseline"] * 10 and name[71:] == ["baseline"] * 29


def test_evidence_in_the_qrs_of_ii_is_all_there():
    lab = wave_labels(one_beat(), 100)
    sal = np.zeros((12, 100))
    sal[LEADS.index("II"), 30:41] = 2.0
    sal[LEADS.index("V1"), :] = -5.0                                    # evidence against: ignored
    table = evidence_by_wave(sal, lab)
    assert table.loc["II", "QRS"] == pytest.approx(1.0) and table.to_numpy().sum() == pytest.approx(1.0)
    assert evidence_sentence(table, "CD").startswith("evidence for CD: QRS in II")
    assert lead_share(table, ("II", "III", "aVF")) == pytest.approx(1.0)


def test_a_uniform_map_gives_each_wave_its_share_of_samples():
    lab = wave_labels(one_beat(), 100)
    u = uniform_shares(lab)
    assert wave_share(u, "QRS") == pytest.approx(11 / 100) and wave_share(u, "baseline") == pytest.approx(39 / 100)
    assert lead_share(u, ("II", "III", "aVF")) == pytest.approx(3 / 12)


def test_a_map_without_positive_evidence_says_so_and_shapes_are_checked():
    lab = wave_labels(one_beat(), 100)
    table = evidence_by_wave(-np.ones((12, 100)), lab)
    assert table.to_numpy().sum() == 0 and "no part" in evidence_sentence(table, "MI")
    with pytest.raises(ValueError, match="must be"):
        evidence_by_wave(np.ones((12, 99)), lab)
