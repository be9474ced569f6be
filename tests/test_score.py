"""Archive scoring (ecgcore.score): exactly one row per record, on Dask, through a worker crash and a resume."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgcore.io.ptbxl import load_record
from ecgcore.models.registry import load_model
from ecgcore.score import folder_source, ptbxl_source, score
from ecgcore.score.batch import MODELS
from ecgcore.score import run as run_module
from ecgcore.score.run import done_keys, parts_dir
from ecgcore.score.sources import group_files
from ecgcore.signal.record import CLASSES, model_input

REPO = Path(__file__).resolve().parents[1]
BROKEN = {"broken/trunc.hea": "refused", "broken/garbage.csv": "refused", "broken/lonely.dat": "refused",
          "broken/pickle.npy": "refused", "broken/notes.txt": "refused", "broken/empty.csv": "refused"}


def _cluster(n=2):
    from distributed import Client
    cluster = run_module.local_cluster(n)
    return cluster, Client(cluster)


@pytest.fixture(scope="module")
def upload_folder(tmp_path_factory, index, ptbxl_dir):
    """200 PTB-XL records as WFDB uploads (.hea + .dat) and a few broken files."""
    root = tmp_path_factory.mktemp("uploads")
    ids = [int(i) for i in index.index[index["has_100"]][:200]]
    for i in ids:
        stem = ptbxl_dir / index.loc[i, "filename_lr"]
        for ext in (".hea", ".dat"):
            shutil.copy(stem.with_suffix(ext), root / (stem.name + ext))
    (root / "broken").mkdir()
    first = ptbxl_dir / index.loc[ids[0], "filename_lr"]
    shutil.copy(first.with_suffix(".hea"), root / "broken" / "trunc.hea")
    (root / "broken" / "trunc.dat").write_bytes(first.with_suffix(".dat").read_bytes()[:5000])
    (root / "broken" / "garbage.csv").write_bytes(b"\x00\xff not, an, ecg\n1,2\n")
    (root / "broken" / "lonely.dat").write_bytes(first.with_suffix(".dat").read_bytes())
    (root / "broken" / "pickle.npy").write_bytes(b"\x93NUMPY\x01\x00v\x00{'descr': '|O', 'fortran_order': False, "
                                                 b"'shape': (1,), }" + b" " * 60 + b"\n" + b"\x80\x04N.")
    (root / "broken" / "notes.txt").write_text("not an ECG")
    (root / "broken" / "empty.csv").write_bytes(b"")
    return root, ids


@pytest.fixture(scope="module")
def models():
    return {m: load_model(m) for m in MODELS}


def test_group_files_keeps_a_header_with_its_signal_files():
    groups = group_files(["a/x.hea", "a/x.mat", "a/y.csv", "b/x.dat", "z.dat"])
    assert groups == {"a/x.hea": ("a/x.hea", "a/x.mat"), "a/y.csv": ("a/y.csv",), "b/x.dat": ("b/x.dat",),
                      "z.dat": ("z.dat",)}


def test_score_on_two_dask_workers_gives_one_row_per_file_and_predict_proba(upload_folder, models, index, tmp_path):
    root, ids = upload_folder
    source, keys = folder_source(root, fs=100)
    assert len(keys) == 200 + 6                    # trunc.hea+dat is one record
    cluster, client = _cluster(2)
    try:
        environ = client.run(lambda: (os.environ.get("MALLOC_TRIM_THRESHOLD_"), os.environ.get("OMP_NUM_THREADS")))
        table = score(source, keys, tmp_path / "s.parquet", client=client, batch_size=25, progress=False)
    finally:
        client.close(), cluster.close()
    # workers: one thread each, glibc's malloc left adaptive (see run.local_cluster)
    assert sorted(environ.values()) == [(None, "1"), (None, "1")], environ
    assert sorted(table["path"]) == sorted(keys) and table["path"].is_unique
    assert not parts_dir(tmp_path / "s.parquet").exists()
    bad = table.set_index("path").loc[list(BROKEN)]
    assert (bad["status"] == "refused").all(), bad[["status", "reason"]]
    for path, reason in bad["reason"].items():
        assert Path(path).name.split(".")[0] in reason or "upload" in reason, (path, reason)
    ok = table[table["status"] == "ok"].set_index("path")
    assert len(ok) == 200
    x = np.stack([model_input(load_record(i, 100)) for i in ids])
    names = [Path(index.loc[i, "filename_lr"]).name + ".hea" for i in ids]
    from ecgcore.signal.measure import measure_record
    first = measure_record(load_record(ids[0], 100).signal, 100.0).as_row()
    row = ok.loc[names[0]]
    for k in ("hr_bpm", "qrs_ms", "qtc_bazett_ms", "qrs_axis_deg"):
        assert (pd.isna(row[k]) and first[k] is None) or row[k] == pytest.approx(first[k]), k
    assert row["measure_note"] == first["measure_note"]
    for m in MODELS:
        expect = models[m].predict_proba(x)
        got = ok.loc[names, [f"p_{m}_{c}" for c in CLASSES]].to_numpy()
        np.testing.assert_allclose(got, expect, atol=1e-5, err_msg=m)


def test_a_worker_killed_mid_run_still_gives_every_record_once(index, tmp_path):
    source, keys = ptbxl_source(None, (9, 10))
    keys = keys[:200]
    out = tmp_path / "k.parquet"
    cluster, client = _cluster(2)
    result = {}
    pids = client.run(os.getpid)                       # worker address -> its process id
    try:
        run = threading.Thread(target=lambda: result.update(
            t=score(source, keys, out, client=client, batch_size=10, progress=False)))
        run.start()
        while not list(parts_dir(out).glob("part-*.parquet")) and run.is_alive():
            time.sleep(0.1)
        assert run.is_alive(), "the run finished before a worker could be killed"
        os.kill(pids[sorted(pids)[0]], signal.SIGKILL)   # a crash, not a clean close
        run.join(timeout=300)
    finally:
        client.close(), cluster.close()
    table = result["t"]
    assert sorted(table["ecg_id"]) == sorted(keys) and table["ecg_id"].is_unique
    assert (table["status"] == "ok").all(), table.loc[table["status"] != "ok", "reason"].head()


def test_an_interrupted_run_resumes_without_rescoring(index, ptbxl_dir, tmp_path, monkeypatch):
    out = tmp_path / "r.parquet"
    cmd = [sys.executable, "-m", "ecgcore.score", str(ptbxl_dir), "--folds", "10", "--out", str(out),
           "--workers", "0", "--batch-size", "16"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while len(list(parts_dir(out).glob("part-*.parquet"))) < 2 and time.time() < deadline:
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert not out.exists()
    before = done_keys(out, "ecg_id")
    assert len(before) >= 32
    source, keys = ptbxl_source(ptbxl_dir, (10,))
    assert len(before) < len(keys)
    first = pd.read_parquet(sorted(parts_dir(out).glob("part-*.parquet"))[0])
    scored = []
    real = run_module.score_batch
    monkeypatch.setattr(run_module, "score_batch", lambda s, k, *a, **kw: scored.extend(k) or real(s, k, *a, **kw))
    table = score(source, keys, out, workers=0, batch_size=64, progress=False)
    assert sorted(scored) == sorted(set(keys) - before)              # nothing scored twice
    assert sorted(table["ecg_id"]) == sorted(keys) and table["ecg_id"].is_unique
    kept = table.set_index("ecg_id").loc[first["ecg_id"], "p_fused_MI"].to_numpy()
    np.testing.assert_array_equal(kept, first["p_fused_MI"].to_numpy())    # rows of the first run kept


def test_score_cli_refuses_a_missing_folder(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ecgcore.score", str(tmp_path / "nope"), "--out",
                           str(tmp_path / "o.parquet")], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 2 and "not a folder" in proc.stderr and "Traceback" not in proc.stderr
