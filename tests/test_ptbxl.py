"""PTB-XL index, labels and load_record, checked against the CSVs by hand and independently."""
from __future__ import annotations

import ast
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from ecgcore.io.ptbxl import load_index, load_record, parse_codes, split_ids, superclass_counts
from ecgcore.signal.record import CLASSES, LEADS

# Checked by hand against scp_statements.csv (diagnostic == 1 -> diagnostic_class):
HAND_LABELS = {
    1: {"NORM"},             # NORM 100, LVOLT/SR are not diagnostic statements
    39: {"MI", "STTC"},      # IMI (MI, likelihood 15 still counts), LNGQT/NST_/DIG (STTC)
    106: {"MI", "HYP"},      # ASMI (MI), LVH (HYP)
    17: set(),               # AFLT, ABQRS, AFIB: rhythm/form only -> no superclass
}


@pytest.mark.parametrize("ecg_id, expected", HAND_LABELS.items())
def test_labels_match_hand_check(index, ecg_id, expected):
    row = index.loc[ecg_id]
    assert {c for c in CLASSES if row[c]} == expected
    assert bool(row["has_superclass"]) == bool(expected)


def test_index_shape_and_availability(index):
    assert len(index) == 21799
    assert int(index["has_100"].sum()) == 2015
    assert int(index["has_500"].sum()) == 530
    assert list(index.columns[index.columns.isin(CLASSES)]) == list(CLASSES)


def test_standard_split_sizes(index):
    assert len(split_ids(index, tuple(range(1, 9)))) == 1501
    assert len(split_ids(index, 9)) == 236
    assert len(split_ids(index, 10)) == 256


def test_counts_equal_independent_computation(ptbxl_dir, index):
    """Superclass counts recomputed from the raw CSVs with plain pandas + ast, nothing shared."""
    db = pd.read_csv(ptbxl_dir / "ptbxl_database.csv", index_col="ecg_id")
    st = pd.read_csv(ptbxl_dir / "scp_statements.csv", index_col=0)
    diag = st[st.diagnostic == 1]["diagnostic_class"].to_dict()
    present = [i for i, f in db["filename_lr"].items() if (ptbxl_dir / f"{f}.dat").exists()]
    counts = {c: 0 for c in CLASSES}
    for i in present:
        for c in {diag[k] for k in ast.literal_eval(db.at[i, "scp_codes"]) if k in diag}:
            counts[c] += 1
    ours = superclass_counts(index).loc["total"]
    assert {c: int(ours[c]) for c in CLASSES} == counts
    assert int(ours["records"]) == len(present) == 2015


def test_counts_command_prints_table(ptbxl_dir):
    out = subprocess.run([sys.executable, "-m", "ecgcore.io.ptbxl", "counts", "--data", str(ptbxl_dir)],
                         capture_output=True, text=True, check=True).stdout
    assert "2015 with 100 Hz signals" in out and "total" in out and "1067" in out


def test_parse_codes_agrees_with_literal_eval(index, ptbxl_dir):
    db = pd.read_csv(ptbxl_dir / "ptbxl_database.csv", usecols=["scp_codes"])
    for text in db["scp_codes"].iloc[::97]:
        assert parse_codes(text) == ast.literal_eval(text)


def test_load_record_typed_and_in_mv(ptbxl_dir):
    rec = load_record(1, 100)
    assert rec.signal.shape == (1000, 12) and rec.signal.dtype == np.float32
    assert rec.fs == 100 and rec.leads == LEADS and rec.ecg_id == 1
    assert rec.label_names == ["NORM"]
    assert rec.meta["age"] == 56 and rec.meta["sex"] == "female" and rec.meta["fold"] == 3
    assert rec.meta["validated_by_human"] is True and "static_noise" in rec.meta
    assert 0.1 < np.abs(rec.signal).max() < 10           # mV, not raw ADC units
    # Einthoven: III = II - I within quantisation
    assert np.allclose(rec.signal[:, 2], rec.signal[:, 1] - rec.signal[:, 0], atol=0.01)


def test_load_record_matches_wfdb(ptbxl_dir):
    import wfdb
    sig, fields = wfdb.rdsamp(str(ptbxl_dir / "records500/00000/00001_hr"))
    rec = load_record(1, 500)
    assert rec.fs == 500 and rec.signal.shape == (5000, 12)
    order = [f.upper() for f in fields["sig_name"]]
    assert np.allclose(rec.signal[:, LEADS.index("aVR")], sig[:, order.index("AVR")], atol=1e-6)


def test_missing_files_are_normal_conditions(index):
    absent = int(index.index[~index["has_100"]][0])
    with pytest.raises(FileNotFoundError, match="partial copy is normal"):
        load_record(absent, 100)
    with pytest.raises(KeyError, match="99999999"):
        load_record(99999999)
    with pytest.raises(ValueError, match="100 or 500"):
        load_record(1, fs=250)


def test_not_a_ptbxl_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="ptbxl_database.csv"):
        load_index(tmp_path)
