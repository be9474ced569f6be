"""End to end on a small slice of a PTB-XL folder in the official layout: the full-data recipe
(train the three networks, fit the fusion, write the cards) runs through the same commands that
made the shipped weights, on a few hundred real records, in CI (no expanded full folder needed)."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

PER_FOLD = {"train": 30, "val": 100, "test": 100}   # records per train fold (x 8), fold 9, fold 10


def make_slice(src, dst) -> dict:
    """A PTB-XL folder at dst: all metadata of src, the 100 Hz files of a few records per fold
    (linked, not copied). Returns {'train': n, 'val': n, 'test': n} records with a superclass."""
    from ecgcore.io.ptbxl import load_index
    index = load_index(src)
    dst.mkdir()
    for name in ("ptbxl_database.csv", "scp_statements.csv"):
        shutil.copy(src / name, dst / name)
    counts = {"train": 0, "val": 0, "test": 0}
    rng = np.random.default_rng(0)
    for fold in range(1, 11):
        split = "train" if fold <= 8 else "val" if fold == 9 else "test"
        ids = index.index[(index["fold"] == fold) & index["has_100"] & index["has_superclass"]].to_numpy()
        for ecg_id in rng.permutation(ids)[:PER_FOLD[split]]:
            rel = index.at[int(ecg_id), "filename_lr"]
            for ext in (".hea", ".dat"):
                target = dst / (rel + ext)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(src / (rel + ext))
            counts[split] += 1
    return counts


def test_full_recipe_runs_end_to_end_on_a_slice(ptbxl_dir, tmp_path):
    from ecgcore.models import evaluate, fusion, train
    from ecgcore.models.registry import REGISTRY, load_model
    data, out = tmp_path / "ptb-xl", tmp_path / "weights"
    counts = make_slice(ptbxl_dir, data)
    assert counts == {"train": 240, "val": 100, "test": 100}
    for name in REGISTRY:                                        # the registry recipes, one epoch each
        assert train.main([name, "--data", str(data), "--out", str(out), "--epochs", "1", "--threads", "2"]) == 0
        ck = load_model(name, out).ckpt                         # hash-checked against out/SHA256SUMS
        assert ck["train"]["n_train"] == 240 and ck["train"]["n_val"] == 100
        assert ck["train"]["command"].startswith(f"python -m ecgcore.models.train {name} --data {data}")
    assert fusion.main(["fit", "--data", str(data), "--weights", str(out), "--joint-repeats", "1"]) == 0
    assert evaluate.main(["--data", str(data), "--weights", str(out)]) == 0
    for name in list(REGISTRY) + ["fused"]:
        card = json.loads((out / f"{name}.json").read_text())
        assert card["fold10"]["n_records"] == 100 and card["fold9"]["n_records"] == 100
        assert 0.0 <= card["fold10"]["macro_auc"] <= 1.0
        assert "fold10_untouched" not in card or card["fold10_untouched"]["n_records"] < 100
        assert (out / f"{name}.md").read_text().startswith("# Model card")
    fused = json.loads((out / "fused.json").read_text())
    singles = fused["fit"]["single_fold9_macro_auc"]
    assert set(singles) == set(REGISTRY) and fused["fit"]["best_single_fold9"] in REGISTRY
    d = fused["fused_minus_best_fold10"]
    assert d["best_single"] in REGISTRY and d["ci95"][0] <= d["difference"] <= d["ci95"][1]


def test_read_before_ids_are_the_partial_copys_fold_10(index):
    from ecgcore.models.evaluate import read_before_ids, untouched_mask
    from ecgcore.io.ptbxl import split_ids
    seen = read_before_ids()
    assert len(seen) == 256 and (np.diff(seen) > 0).all()
    assert set(seen) <= set(index.index[index["fold"] == 10])
    if index["has_100"].sum() < 5000:                           # on the partial copy: exactly its fold 10
        assert (seen == split_ids(index, 10)).all()
    assert not untouched_mask(seen).any() and untouched_mask(np.array([seen.max() + 100_000])).all()
