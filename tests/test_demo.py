"""The demo set shipped in demo/ptb-xl (built by scripts/make_demo.py) and the app's fallback to it.

Only the app opens the demo, when no PTB-XL folder is configured: PTBXL_DIR unset and data/ptb-xl
absent. The tests move the default (`ecgcore.io.ptbxl.DEFAULT_DIR`) to a missing folder so that they do
not depend on whether this machine has data/ptb-xl.
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ecgcore.io import demo, ptbxl
from ecgcore.signal.record import CLASSES

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import make_demo  # noqa: E402

DEMO = demo.DEMO_DIR
APP = str(REPO / "app.py")
FLAGS = ["baseline_drift", "static_noise", "burst_noise", "electrodes_problems"]
BUDGET = 5_000_000          # bytes on disk


@pytest.fixture(scope="module")
def idx():
    return ptbxl.load_index(str(DEMO))


def combos(idx) -> list[str]:
    return ["+".join(c for c, on in zip(CLASSES, row) if on) for row in idx[list(CLASSES)].to_numpy()]


# ------------------------------------------------------------------ the folder
def test_demo_covers_every_superclass_combinations_folds_rates_flags_and_patients(idx):
    assert 50 <= len(idx) <= 70
    assert idx["has_100"].all() and idx["has_superclass"].all()
    for cls in CLASSES:
        assert idx[cls].sum() >= 5, cls
    mixed = [c for c in combos(idx) if "+" in c]
    assert len(set(combos(idx))) >= 10 and len(mixed) >= 10          # common combinations, not only singles
    assert {"MI+CD", "STTC+HYP", "NORM+CD", "MI+STTC"} <= set(combos(idx))
    assert (idx["fold"] == 10).mean() >= 0.8                          # mostly the held-out test fold
    assert (idx["fold"] == 9).any() and (idx["fold"] <= 8).any()     # and a few the models saw
    assert 5 <= idx["has_500"].sum() <= 20
    assert 3 <= (idx[FLAGS] != "").any(axis=1).sum() < len(idx)
    per_patient = idx["patient_id"].value_counts()
    assert (per_patient >= 2).sum() >= 3


def test_demo_fits_the_size_budget():
    assert make_demo.disk_bytes(DEMO) <= BUDGET
    if shutil.which("du"):
        kib = int(subprocess.run(["du", "-sk", str(DEMO)], capture_output=True, text=True, check=True)
                  .stdout.split()[0])
        assert kib * 1024 <= BUDGET, f"du says {kib} KiB"


def test_demo_carries_the_licence_the_attribution_and_its_checksums():
    licence = (DEMO / "LICENSE.txt").read_text()
    assert "Creative Commons Attribution 4.0 International" in licence
    readme = (DEMO / "README.md").read_text()
    for words in ("Wagner P.", "Scientific Data 7:154 (2020)", "doi:10.13026/kfzx-aw45", "CC BY 4.0",
                  "python -m ecgcore.io.download", "PTBXL_DIR", "## Selection", "scripts/make_demo.py"):
        assert words in readme, words
    sums = (DEMO / "SHA256SUMS.txt").read_text().split("\n")
    listed = {}
    for line in filter(None, sums):
        digest, name = line.split("  ", 1)
        listed[name] = digest
    files = {p.relative_to(DEMO).as_posix() for p in DEMO.rglob("*") if p.is_file()} - {"SHA256SUMS.txt"}
    assert set(listed) == files
    for name, digest in listed.items():
        assert hashlib.sha256((DEMO / name).read_bytes()).hexdigest() == digest, name


def test_every_listed_record_reads_at_its_rates(idx):
    for ecg_id, row in idx.iterrows():
        rec = ptbxl.load_record(ecg_id, 100, DEMO)
        assert rec.signal.shape == (1000, 12) and np.isfinite(rec.signal).all(), ecg_id
        assert rec.labels.tolist() == [bool(row[c]) for c in CLASSES]
        if row["has_500"]:
            hr = ptbxl.load_record(ecg_id, 500, DEMO)
            assert hr.signal.shape == (5000, 12) and np.isfinite(hr.signal).all(), ecg_id


def test_demo_is_exactly_what_make_demo_builds_from_the_partial_copy(tmp_path, idx):
    source = make_demo.DEFAULT_SOURCE
    if not (source / "ptbxl_database.csv").is_file():
        pytest.skip(f"no PTB-XL source at {source}")
    ids, at_500 = make_demo.select(ptbxl.load_index(str(source)))
    assert ids == idx.index.tolist() and at_500 == idx.index[idx["has_500"]].tolist()
    make_demo.build(source, tmp_path / "ptb-xl")
    assert make_demo.same_tree(tmp_path / "ptb-xl", DEMO) == []
    header = (source / "ptbxl_database.csv").read_text().split("\n", 1)[0]
    assert (DEMO / "ptbxl_database.csv").read_text().split("\n", 1)[0] == header     # same columns


# ------------------------------------------------------------------ who falls back to it
def test_only_the_app_falls_back_to_the_demo(tmp_path, monkeypatch):
    absent = tmp_path / "absent"
    monkeypatch.delenv("PTBXL_DIR", raising=False)
    monkeypatch.setattr(ptbxl, "DEFAULT_DIR", absent)
    assert demo.app_data_dir() == (DEMO.resolve(), True)
    # every command reads ptbxl_dir(): it stays on the missing default and loading fails loudly
    assert ptbxl.ptbxl_dir() == absent.resolve()
    assert ptbxl.missing_files() == ["ptbxl_database.csv", "scp_statements.csv"]
    with pytest.raises(FileNotFoundError):
        ptbxl.load_index(str(ptbxl.ptbxl_dir()))
    # a configured folder wins, even a wrong one (the app then says what is missing)
    monkeypatch.setenv("PTBXL_DIR", str(tmp_path))
    assert demo.app_data_dir() == (tmp_path.resolve(), False)
    monkeypatch.setenv("PTBXL_DIR", str(DEMO))                      # named explicitly: still the demo
    assert demo.app_data_dir() == (DEMO.resolve(), True)
    # a default folder that holds PTB-XL wins over the demo
    monkeypatch.delenv("PTBXL_DIR")
    full = tmp_path / "ptb-xl"
    full.mkdir()
    for name in ("ptbxl_database.csv", "scp_statements.csv"):
        shutil.copyfile(DEMO / name, full / name)
    monkeypatch.setattr(ptbxl, "DEFAULT_DIR", full)
    assert demo.app_data_dir() == (full.resolve(), False)


# ------------------------------------------------------------------ the app (AppTest)
def test_with_no_ptbxl_folder_the_records_page_lists_the_demo_and_says_so(tmp_path, monkeypatch, idx):
    from streamlit.testing.v1 import AppTest
    monkeypatch.delenv("PTBXL_DIR", raising=False)
    monkeypatch.setattr(ptbxl, "DEFAULT_DIR", tmp_path / "absent")
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/records.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.dataframe[0].value["ecg_id"].tolist() == idx.index.tolist()
    n = len(idx)
    for where in (at.info, at.sidebar.info):
        words = "\n".join(i.value for i in where)
        assert f"Demo set: {n} real PTB-XL records" in words and "demo subset" in words
        assert "python -m ecgcore.io.download" in words and "PTBXL_DIR" in words
    assert f"**{n:,}** of {n:,} records with signals match." in "\n".join(m.value for m in at.markdown)
    assert not at.sidebar.warning                                   # not "no PTB-XL folder"
    at.sidebar.button(key="next_record").click().run()              # opens the first demo record
    first = int(idx.index[0])
    assert f"PTB-XL #{first}" in "\n".join(m.value for m in at.sidebar.markdown)
    assert f"Open: PTB-XL #{first}" in "\n".join(m.value for m in at.markdown)


def _have_weights() -> bool:
    import os
    from ecgcore.models.registry import WEIGHTS_DIR
    wdir = Path(os.environ.get("ECGCORE_WEIGHTS_DIR") or WEIGHTS_DIR)
    return all((wdir / f"{n}.pt").is_file() for n in ("signal", "spectrum", "scalogram", "fused"))


@pytest.mark.skipif(not _have_weights(), reason="needs trained weights")
def test_in_the_demo_a_network_explanation_runs(tmp_path, monkeypatch, idx):
    """SHAP's background comes from the pool shipped in weights/, so a network's explanation runs on
    the demo set although it holds almost no training-fold records."""
    from streamlit.testing.v1 import AppTest
    monkeypatch.delenv("PTBXL_DIR", raising=False)
    monkeypatch.setattr(ptbxl, "DEFAULT_DIR", tmp_path / "absent")
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["ecg_id"] = str(int(idx.index[idx["fold"] == 10][0]))
    at.run()
    at.switch_page("pages/explain.py").run()
    at.selectbox(key="expl_model").set_value("spectrum").run()
    at.radio(key="expl_method").set_value("shap").run()
    at.button(key="expl_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert any(c.proto.spec for c in at.get("plotly_chart"))
