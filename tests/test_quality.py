"""`ecgcore.signal.quality` on real PTB-XL records (no PTB-XL quality flag) with synthetic corruptions."""
from __future__ import annotations


import numpy as np
import pytest

from ecgcore.io.ptbxl import load_record
from ecgcore.io.ptbxl_quality import PTBXL_FLAGS, validate_against_ptbxl
from ecgcore.signal.quality import QualityInputError, assess_quality, lead_metrics
from ecgcore.signal.record import LEADS

N_CORRUPT, N_CLEAN = 4, 60


def clean_ids(index, fs: int = 100) -> np.ndarray:
    """Records with signals at `fs` and none of PTB-XL's four quality flags, by ecg_id."""
    ok = index["has_100" if fs == 100 else "has_500"] & (index[list(PTBXL_FLAGS)] == "").all(axis=1)
    return index.index[ok].to_numpy()


def clip_peaks(y: np.ndarray) -> np.ndarray:
    """Saturate the larger deflection of a lead at half its height above the median."""
    m = np.median(y)
    up, down = y.max() - m, m - y.min()
    return np.minimum(y, m + 0.5 * up) if up >= down else np.maximum(y, m - 0.5 * down)


def corruptions(fs: float, n: int, rng: np.random.Generator) -> dict:
    t = np.arange(n) / fs
    a, b = int(3 * fs), int(7 * fs)
    return {
        "missing": lambda y: np.zeros_like(y),
        "flat": lambda y: np.concatenate([y[:a], np.full(b - a, y[a]), y[b:]]),
        "clipping": clip_peaks,
        "wander": lambda y: y + 1.0 * np.sin(2 * np.pi * 0.3 * t + rng.uniform(0, 2 * np.pi)),  # 2 mV p-p
        "noise": lambda y: y + rng.normal(0, y.std(), n),                                     # SNR 0 dB
    }


@pytest.mark.parametrize("fs", [100, 500])
def test_each_corruption_is_found_on_its_lead(index, fs):
    rng = np.random.default_rng(0)
    for ecg_id in clean_ids(index, fs)[:N_CORRUPT]:
        x = load_record(ecg_id, fs).signal.astype(np.float64)
        base = assess_quality(x, fs)
        for j, lead in enumerate(LEADS):
            for code, corrupt in corruptions(fs, len(x), rng).items():
                assert code not in base.leads[j].problems, (ecg_id, lead, code)
                y = x.copy()
                y[:, j] = corrupt(x[:, j])
                report = assess_quality(y, fs)
                assert code in report.leads[j].problems, (ecg_id, lead, code, report.leads[j])
                others = [q.lead for q in report.leads if code in q.problems and q.lead != lead]
                assert others == list(base.problems(code)), (ecg_id, lead, code)


def test_flat_stretch_is_described_in_words(index):
    ecg_id = clean_ids(index)[0]
    x = load_record(ecg_id).signal.copy()
    x[300:720, 8] = x[300, 8]                      # V3 holds one value for 4.2 s
    report = assess_quality(x, 100)
    assert report.bad_leads == ("V3",) and report.assessable
    assert "lead V3: flat line (no signal for 4.2 s)" in report.reasons
    assert "V3" in report.summary and "caution" in report.summary


def test_nan_samples_are_reported(index):
    x = load_record(clean_ids(index)[1]).signal.copy()
    x[100:150, 0] = np.nan
    report = assess_quality(x, 100)
    assert report.leads[0].problems == ("nan",) and report.bad_leads == ("I",)
    assert report.reasons == ("lead I: 50 of 1000 samples missing (NaN)",)


def test_assessable_rule(index):
    x = load_record(clean_ids(index)[2]).signal.copy()
    assert assess_quality(x, 100).ok

    def with_missing(*leads):
        y = x.copy()
        y[:, [LEADS.index(lead) for lead in leads]] = 0
        return assess_quality(y, 100)

    two_chest = with_missing("V1", "V2")
    assert two_chest.assessable and two_chest.bad_leads == ("V1", "V2")
    three = with_missing("V1", "V2", "V3")
    assert not three.assessable and three.reasons[0].startswith("3 of 12 leads have problems")
    rhythm = with_missing("II", "III")
    assert not rhythm.assessable and "rhythm lead II" in rhythm.reasons[0]
    assert "NOT assessable" in rhythm.summary


def test_clean_records_are_mostly_ok(index):
    reports = [assess_quality(load_record(i).signal, 100) for i in clean_ids(index)[:N_CLEAN]]
    leads_ok = np.mean([q.ok for r in reports for q in r.leads])
    assessable = np.mean([r.assessable for r in reports])
    print(f"\nclean PTB-XL records (first {N_CLEAN}): {leads_ok:.3f} of leads ok, "
          f"{assessable:.3f} of records assessable")
    assert leads_ok >= 0.95 and assessable >= 0.95


def test_validate_against_ptbxl_counts(index):
    have = index[index["has_100"]]
    drift = have.index[have["baseline_drift"] != ""][:25].tolist()
    clean = clean_ids(index)[:25].tolist()
    absent = index.index[~index["has_100"]][:2].tolist()
    res = validate_against_ptbxl(index, drift + clean + absent, fs=100)
    assert res["records"] == 50 and res["skipped_no_signal"] == 2
    groups = res["groups"]
    assert groups["unflagged"]["records"] == 25 and groups["baseline_drift"]["records"] == 25
    for g in groups.values():
        if g["records"]:
            assert g["flagged_rate"] == round(g["flagged"] / g["records"], 4)
            assert 0 <= g["not_assessable"] <= g["flagged"] <= g["records"]
    assert groups["baseline_drift"]["by_code"]["wander"] > groups["unflagged"]["by_code"]["wander"]
    with pytest.raises(KeyError, match="not in the PTB-XL index"):
        validate_against_ptbxl(index, [10**7])


def test_metrics_and_bad_input():
    x = np.zeros((1000, 12))
    m = lead_metrics(x, 100)
    assert set(m) >= {"flat_s", "clip_runs", "wander_mv", "noise_ratio"} and m["flat_s"][0] == 10.0
    assert np.isnan(lead_metrics(np.zeros((500, 12)), 50)["noise_ratio"]).all()  # Nyquist 25 Hz
    with pytest.raises(QualityInputError, match=r"\(T, 12\)"):
        assess_quality(np.zeros((1000, 8)), 100)
    with pytest.raises(QualityInputError, match="fs"):
        assess_quality(x, 0)
    with pytest.raises(QualityInputError, match="at least 1 s"):
        assess_quality(x[:50], 100)
