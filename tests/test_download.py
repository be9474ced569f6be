"""`ecgcore.io.download` against a small PTB-XL tree served by http.server on 127.0.0.1.

The tree holds real bytes copied from the shared PTB-XL folder into tmp_path (3 records at
100 and 500 Hz, the two metadata CSVs cut to 5 rows, LICENSE.txt) and a SHA256SUMS.txt
computed here. The handler speaks HTTP Range, logs every request and can cut a response short.
"""
from __future__ import annotations

import hashlib
import re
import shutil
import socket
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgcore.io.download import (CHECKSUMS, download, main, parse_checksums, select_files)
from ecgcore.io.ptbxl import load_index, load_record

IDS = (1, 2, 3)


class RangeHandler(SimpleHTTPRequestHandler):
    """GET with `Range: bytes=N-` (206 / 416). server.cut[path] = n sends n bytes then hangs up."""

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        rel = self.path.lstrip("/")
        self.server.requests.append((rel, self.headers.get("Range")))
        file = Path(self.translate_path(self.path))
        if not file.is_file():
            self.send_error(404)
            return
        data, rng = file.read_bytes(), self.headers.get("Range")
        if rng:
            start = int(re.fullmatch(r"bytes=(\d+)-", rng).group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            data = data[start:]
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        cut = self.server.cut.pop(rel, None)
        self.wfile.write(data if cut is None else data[:cut])
        self.close_connection = True


def write_sums(root: Path) -> dict[str, str]:
    sums = {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != CHECKSUMS}
    (root / CHECKSUMS).write_text("".join(f"{h}  {p}\n" for p, h in sums.items()))
    return sums


@pytest.fixture
def tree(tmp_path, ptbxl_dir) -> Path:
    root = tmp_path / "server"
    root.mkdir()
    db = pd.read_csv(ptbxl_dir / "ptbxl_database.csv", index_col="ecg_id")
    db.loc[list(range(1, 6))].to_csv(root / "ptbxl_database.csv")
    for name in ("scp_statements.csv", "LICENSE.txt"):
        shutil.copyfile(ptbxl_dir / name, root / name)
    for ecg_id in IDS:
        for sub, suffix in (("records100", "lr"), ("records500", "hr")):
            for ext in ("hea", "dat"):
                rel = f"{sub}/00000/{ecg_id:05d}_{suffix}.{ext}"
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(ptbxl_dir / rel, root / rel)
    write_sums(root)
    return root


@pytest.fixture
def server(tree):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(RangeHandler, directory=str(tree)))
    httpd.requests, httpd.cut, httpd.root = [], {}, tree
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def url(httpd) -> str:
    return f"http://127.0.0.1:{httpd.server_address[1]}/"


def run(httpd, out: Path, **kw):
    kw = {"jobs": 2, "backoff": 0.0, "progress": False, **kw}
    return download(out, url(httpd), **kw)


def record_files(rate: str = "100", ids=IDS) -> list[str]:
    sub, suffix = {"100": ("records100", "lr"), "500": ("records500", "hr")}[rate]
    return [f"{sub}/00000/{i:05d}_{suffix}.{ext}" for i in ids for ext in ("dat", "hea")]


def assert_same(out: Path, root: Path, paths) -> None:
    for rel in paths:
        assert (out / rel).read_bytes() == (root / rel).read_bytes(), rel


def test_full_download_loads_as_ptbxl(server, tmp_path):
    out = tmp_path / "out"
    result = run(server, out)
    top = ["ptbxl_database.csv", "scp_statements.csv", "LICENSE.txt"]
    assert result.ok and sorted(result.downloaded) == sorted(top + record_files("100"))
    assert result.bytes == sum((server.root / p).stat().st_size for p in result.downloaded)
    assert_same(out, server.root, result.downloaded)
    assert (out / CHECKSUMS).is_file() and not list(out.rglob("*.part"))
    assert not (out / "records500").exists()
    index = load_index(out)
    assert len(index) == 5 and index.index[index["has_100"]].tolist() == list(IDS)
    rec = load_record(2, path=out)
    assert rec.signal.shape == (1000, 12)
    np.testing.assert_array_equal(rec.signal, load_record(2).signal)


def test_second_run_downloads_nothing(server, tmp_path):
    out = tmp_path / "out"
    first = run(server, out)
    server.requests.clear()
    second = run(server, out)
    assert second.ok and second.downloaded == [] and second.bytes == 0
    assert sorted(second.skipped) == sorted(first.downloaded)
    assert server.requests == [(CHECKSUMS, None)]


def test_resume_from_part_file_uses_range(server, tmp_path):
    out, rel = tmp_path / "out", "records100/00000/00002_lr.dat"
    data = (server.root / rel).read_bytes()
    (out / rel).parent.mkdir(parents=True)
    (out / (rel + ".part")).write_bytes(data[:1000])
    result = run(server, out)
    assert result.ok and rel in result.downloaded
    assert [r for p, r in server.requests if p == rel] == ["bytes=1000-"]
    assert (out / rel).read_bytes() == data and not (out / (rel + ".part")).exists()
    total = sum((server.root / p).stat().st_size for p in result.downloaded)
    assert result.bytes == total - 1000


def test_interrupted_transfer_resumes_with_range(server, tmp_path):
    out, rel = tmp_path / "out", "records100/00000/00001_lr.dat"
    server.cut[rel] = 5000                          # first response hangs up after 5000 bytes
    result = run(server, out)
    assert result.ok
    assert [r for p, r in server.requests if p == rel] == [None, "bytes=5000-"]
    assert_same(out, server.root, [rel])


def test_complete_part_file_gets_416_and_is_kept(server, tmp_path):
    out, rel = tmp_path / "out", "records100/00000/00003_lr.hea"
    (out / rel).parent.mkdir(parents=True)
    shutil.copyfile(server.root / rel, out / (rel + ".part"))
    assert run(server, out).ok
    assert_same(out, server.root, [rel])


def test_checksum_mismatch_is_refused(server, tmp_path, capsys):
    out, bad = tmp_path / "out", "records100/00000/00003_lr.dat"
    corrupt = bytearray((server.root / bad).read_bytes())
    corrupt[100] ^= 0xFF
    (server.root / bad).write_bytes(bytes(corrupt))  # the listed checksum is of the original
    result = run(server, out, retries=2)
    assert list(result.failed) == [bad] and "does not match" in result.failed[bad]
    assert not (out / bad).exists() and not (out / (bad + ".part")).exists()
    assert sum(p == bad for p, _ in server.requests) == 2       # retried once, then refused
    assert_same(out, server.root, [p for p in record_files("100") if p != bad])
    code = main(["--out", str(out), "--base-url", url(server), "--retries", "1", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and f"FAILED {bad}" in err and "Rerun the same command" in err


def test_corrupt_local_file_is_replaced(server, tmp_path):
    out, rel = tmp_path / "out", "records100/00000/00001_lr.hea"
    (out / rel).parent.mkdir(parents=True)
    (out / rel).write_text("not a header\n")
    result = run(server, out)
    assert result.ok and rel in result.downloaded
    assert_same(out, server.root, [rel])


def test_missing_file_on_server_is_reported(server, tmp_path):
    gone = "records100/00000/00002_lr.hea"
    (server.root / gone).unlink()
    result = run(server, tmp_path / "out")
    assert list(result.failed) == [gone] and "HTTP 404" in result.failed[gone]
    assert sum(p == gone for p, _ in server.requests) == 1     # a 404 is not retried


def test_rate_both_with_limit(server, tmp_path):
    out = tmp_path / "out"
    result = run(server, out, rate="both", limit=2)
    records = [p for p in result.downloaded if p.startswith("records")]
    assert sorted(records) == sorted(record_files("100", (1, 2)) + record_files("500", (1, 2)))
    index = load_index(out)
    assert index.index[index["has_500"]].tolist() == [1, 2]
    assert load_record(1, fs=500, path=out).signal.shape == (5000, 12)


def test_unreachable_server_exits_cleanly(tmp_path, capsys):
    with socket.socket() as s:                      # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = main(["--out", str(tmp_path / "out"), "--base-url", f"http://127.0.0.1:{port}/",
                 "--retries", "1", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot connect" in err and "Rerun the same command" in err
    assert "Traceback" not in err and CHECKSUMS in err


def test_select_files_order_rate_and_limit():
    h = "0" * 64
    sums = parse_checksums("".join(f"{h}  {p}\n" for p in [
        "LICENSE.txt", "records100/00000/00002_lr.dat", "records100/00000/00001_lr.hea",
        "records100/00000/00001_lr.dat", "records500/00000/00001_hr.dat", "scp_statements.csv",
        "records100/00000/00002_lr.hea", "ptbxl_database.csv", "example_physionet.py"]))
    files = select_files(sums, "100", limit=1)
    assert files == ["ptbxl_database.csv", "scp_statements.csv", "LICENSE.txt", "example_physionet.py",
                     "records100/00000/00001_lr.dat", "records100/00000/00001_lr.hea"]
    assert "records500/00000/00001_hr.dat" in select_files(sums, "both")
    assert len(select_files(sums, "500")) == 5
    with pytest.raises(ValueError, match="rate"):
        select_files(sums, "250")
    with pytest.raises(ValueError, match="line 1"):
        parse_checksums("nothash  file.txt\n")
