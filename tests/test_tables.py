"""ecgcore.plot.tables: the page tables, checked against the index and known records."""
from __future__ import annotations

import numpy as np
import pytest

from ecgcore.plot import tables
from ecgcore.io.ptbxl import QUALITY_COLUMNS
from ecgcore.signal.record import CLASSES


def test_filter_by_id_class_fold_and_flags(index):
    with_signals = index[index["has_100"] | index["has_500"]]
    assert len(tables.filter_records(index)) == len(with_signals)
    assert list(tables.filter_records(index, "39").index) == [39]         # an ecg_id
    assert len(tables.filter_records(index, "999999")) == 0
    norm10 = tables.filter_records(index, classes=["NORM"], folds=[10])
    assert len(norm10) == int((with_signals["NORM"] & (with_signals["fold"] == 10)).sum()) > 0
    clean = tables.filter_records(index, no_flags=True)
    assert (clean[list(QUALITY_COLUMNS)] == "").all().all()
    drift = tables.filter_records(index, flags=["baseline_drift"])
    assert len(drift) > 0 and (drift["baseline_drift"] != "").all()
    assert len(clean) + len(tables.filter_records(index, flags=list(QUALITY_COLUMNS))) == len(with_signals)
    women = tables.filter_records(index, sex="female", age=(40, 50))
    assert (women["sex"] == 1).all() and women["age"].between(40, 50).all()


def test_report_search_is_case_insensitive_text(index):
    hits = tables.filter_records(index, "SINUSRHYTHMUS")
    assert len(hits) > 0 and hits["report"].str.lower().str.contains("sinusrhythmus").all()


def test_records_table_shows_labels_and_rates(index):
    table = tables.records_table(index.loc[[39]])
    row = table.iloc[0]
    assert row["ecg_id"] == 39 and row["labels"] == "MI, STTC" and row["Hz"] in ("100", "100 + 500")


def test_card_tables_carry_every_class_and_macro():
    from ecgcore.models.cards import load_card
    try:
        cards = {n: load_card(n) for n in ("signal", "fused")}
    except FileNotFoundError:
        pytest.skip("model cards not built")
    auc = tables.card_auc_table(cards)
    assert list(auc.index) == list(CLASSES) + ["macro"] and list(auc.columns) == ["positives", "signal", "fused"]
    assert auc.loc["macro", "positives"] == cards["signal"]["fold10"]["n_records"]
    per_class = tables.card_class_table(cards["signal"]["fold10"])
    c = per_class.loc["MI"]
    assert c["TP"] + c["FN"] == c["positives"] and np.isclose(c["AUC"], cards["signal"]["fold10"]["classes"]["MI"]["auc"])
