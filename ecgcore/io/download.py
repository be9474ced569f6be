"""Download PTB-XL from PhysioNet: resumable, every file checked against SHA256SUMS.txt.

    python -m ecgcore.io.download                          # metadata + 100 Hz records into $PTBXL_DIR or data/ptb-xl
    python -m ecgcore.io.download --rate both --limit 50   # first 50 records at 100 and 500 Hz
    python -m ecgcore.io.download --out /data/ptb-xl --jobs 8

Order: SHA256SUMS.txt, the top-level files it lists (ptbxl_database.csv, scp_statements.csv, ...),
then `records100/` (and/or `records500/`) .hea + .dat. Files already present with the right
checksum are skipped; an interrupted file continues from its `.part` with an HTTP Range request;
a file whose checksum does not match is deleted and fetched again, and reported if it never matches.
Rerunning the same command is always safe. Standard library only (urllib) plus tqdm.
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import quote
from urllib.request import Request, urlopen

from tqdm import tqdm

from .ptbxl import ptbxl_dir

DEFAULT_BASE_URL = "https://physionet.org/files/ptb-xl/1.0.3/"
CHECKSUMS = "SHA256SUMS.txt"
RATES = {"100": ("records100",), "500": ("records500",), "both": ("records100", "records500")}
FIRST_FILES = ("ptbxl_database.csv", "scp_statements.csv")
USER_AGENT = "ecgcore-download/0.1 (PTB-XL; python-urllib)"
CHUNK = 1 << 16
_RECORD = re.compile(r"^(records100|records500)/\d+/(\d+)_(lr|hr)\.(hea|dat)$")


class DownloadError(RuntimeError):
    """One file could not be fetched (HTTP error such as 404); other files go on."""


class ChecksumError(DownloadError):
    """A fetched file never matched its SHA256SUMS.txt entry; it was deleted."""


class NetworkError(DownloadError):
    """The server could not be reached (or kept failing): the whole run stops."""


@dataclass
class DownloadResult:
    """What one run did. `failed` maps relative path -> reason."""
    out: Path
    downloaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    bytes: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed


def parse_checksums(text: str) -> dict[str, str]:
    """`sha256sum` output ('HASH  path' or 'HASH *path' per line) -> {path: hash}, in file order."""
    sums: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or not re.fullmatch(r"[0-9a-fA-F]{64}", parts[0]):
            raise ValueError(f"line {n} of {CHECKSUMS} is not 'SHA256  path': {line[:80]!r}")
        sums[parts[1].strip().lstrip("*")] = parts[0].lower()
    return sums


def select_files(sums: dict[str, str], rate: str = "100", limit: int | None = None) -> list[str]:
    """Paths to fetch, in order: top-level files (the two CSVs first), then record files.

    rate: '100', '500' or 'both'. limit: keep the records of the first `limit` ecg_ids
    (the same ids at both rates); None = all.
    """
    if rate not in RATES:
        raise ValueError(f"rate must be one of {', '.join(RATES)}, got {rate!r}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    top = [p for p in sums if "/" not in p]
    top.sort(key=lambda p: (p not in FIRST_FILES, FIRST_FILES.index(p) if p in FIRST_FILES else 0, p))
    records: list[tuple[int, str, str]] = []
    for path in sums:
        m = _RECORD.match(path)
        if m and m.group(1) in RATES[rate]:
            records.append((int(m.group(2)), m.group(1), path))
    records.sort()
    if limit is not None:
        keep = sorted({ecg_id for ecg_id, _, _ in records})[:limit]
        records = [r for r in records if r[0] in set(keep)]
    return top + [path for _, _, path in records]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch_into(url: str, part: Path, timeout: float, on_bytes) -> int:
    """One HTTP attempt: append to `part` (Range) or rewrite it. Returns bytes received.

    Raises OSError / HTTPException for network trouble, including a body cut short."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    with urlopen(Request(url, headers=headers), timeout=timeout) as resp:
        resumed = offset and resp.status == 206 and \
            resp.headers.get("Content-Range", "").startswith(f"bytes {offset}-")
        expected = resp.headers.get("Content-Length")
        received = 0
        with open(part, "ab" if resumed else "wb") as f:
            while chunk := resp.read(CHUNK):
                f.write(chunk)
                received += len(chunk)
                on_bytes(len(chunk))
    if expected is not None and received < int(expected):
        raise http.client.IncompleteRead(b"", int(expected) - received)
    return received


def fetch_file(url: str, dest: Path, sha256: str, *, retries: int = 3, backoff: float = 1.0,
               timeout: float = 30.0, on_bytes=lambda n: None) -> int | None:
    """Make `dest` hold the file at `url` with checksum `sha256`. Returns bytes fetched, None if it was there.

    Resumes from `dest.part`; retries `retries` times in all, sleeping backoff * 2**k between.
    Raises ChecksumError (mismatch every time; nothing left behind), DownloadError (HTTP 4xx),
    NetworkError (connection failures / 5xx every time; the .part is kept for next time).
    """
    if dest.is_file() and file_sha256(dest) == sha256:
        return None                        # a mismatching dest is replaced only by a verified copy
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    fetched, error = 0, None
    for attempt in range(max(1, retries)):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        try:
            fetched += _fetch_into(url, part, timeout, on_bytes)
        except HTTPError as err:
            if err.code != 416:            # 416: the .part already holds the whole file
                if 400 <= err.code < 500:
                    raise DownloadError(f"HTTP {err.code} {err.reason} for {url}") from None
                error = NetworkError(f"HTTP {err.code} {err.reason} for {url}")
                continue
        except (OSError, http.client.HTTPException) as err:
            error = NetworkError(f"{_reason(err)} while fetching {url}")
            continue
        if file_sha256(part) == sha256:
            part.replace(dest)
            return fetched
        part.unlink()
        error = ChecksumError(f"SHA-256 of {url} does not match {CHECKSUMS}; deleted it")
    raise error


def _reason(err: BaseException) -> str:
    if isinstance(err, URLError) and not isinstance(err, HTTPError):
        return f"cannot connect ({err.reason})"
    if isinstance(err, http.client.IncompleteRead):
        return "connection closed before the end of the file"
    return f"{type(err).__name__}: {err}"


def fetch_checksums(base_url: str, out: Path, *, retries: int = 3, backoff: float = 1.0,
                    timeout: float = 30.0) -> dict[str, str]:
    """Fetch SHA256SUMS.txt into `out` (written atomically) and parse it."""
    url = base_url.rstrip("/") + "/" + CHECKSUMS
    part = out / (CHECKSUMS + ".part")
    error: Exception | None = None
    for attempt in range(max(1, retries)):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        part.unlink(missing_ok=True)
        try:
            _fetch_into(url, part, timeout, lambda n: None)
            sums = parse_checksums(part.read_text())
            part.replace(out / CHECKSUMS)
            return sums
        except HTTPError as err:
            error = NetworkError(f"HTTP {err.code} {err.reason} for {url}")
            if 400 <= err.code < 500:
                break
        except (OSError, http.client.HTTPException) as err:
            error = NetworkError(f"{_reason(err)} while fetching {url}")
    part.unlink(missing_ok=True)
    raise error


def download(out: str | Path | None = None, base_url: str = DEFAULT_BASE_URL, rate: str = "100",
             limit: int | None = None, *, jobs: int = 4, retries: int = 3, backoff: float = 1.0,
             timeout: float = 30.0, progress: bool = True) -> DownloadResult:
    """Fetch PTB-XL into `out` (default `ptbxl_dir()`). Raises NetworkError if the server is unreachable."""
    out = ptbxl_dir(out)
    out.mkdir(parents=True, exist_ok=True)
    sums = fetch_checksums(base_url, out, retries=retries, backoff=backoff, timeout=timeout)
    files = select_files(sums, rate, limit)
    result, stop = DownloadResult(out=out), threading.Event()
    bar_files = tqdm(total=len(files), desc="files", unit="file", disable=not progress)
    bar_bytes = tqdm(desc="bytes", unit="B", unit_scale=True, unit_divisor=1024, disable=not progress)

    def one(path: str) -> tuple[str, int | None]:
        if stop.is_set():
            return path, -1                # cancelled: the network is gone
        url = base_url.rstrip("/") + "/" + quote(path)
        return path, fetch_file(url, out / path, sums[path], retries=retries, backoff=backoff,
                                timeout=timeout, on_bytes=bar_bytes.update)

    network_error: NetworkError | None = None
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(one, p): p for p in files}
        for future in as_completed(futures):
            path = futures[future]
            try:
                _, n = future.result()
            except NetworkError as err:
                stop.set()
                network_error = network_error or err
                continue
            except DownloadError as err:
                result.failed[path] = str(err)
                continue
            finally:
                bar_files.update(1)
            if n is None:
                result.skipped.append(path)
            elif n >= 0:
                result.downloaded.append(path)
                result.bytes += n
    bar_files.close()
    bar_bytes.close()
    if network_error is not None:
        raise NetworkError(f"{network_error} (after {len(result.downloaded)} files this run)")
    return result


RETRY_HINT = ("Rerun the same command to continue: files already checked are skipped and "
              "partial files resume.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecgcore.io.download", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=None, help="PTB-XL folder (default $PTBXL_DIR, else data/ptb-xl)")
    parser.add_argument("--base-url", default=DEFAULT_BASE_URL, help="default: %(default)s")
    parser.add_argument("--rate", default="100", choices=list(RATES), help="record rate(s) (default 100)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N records (by ecg_id)")
    parser.add_argument("--jobs", type=int, default=4, help="parallel downloads (default 4)")
    parser.add_argument("--retries", type=int, default=3, help="attempts per file (default 3)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default 30)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    try:
        result = download(args.out, args.base_url, args.rate, args.limit, jobs=args.jobs,
                          retries=args.retries, timeout=args.timeout, progress=not args.quiet)
    except NetworkError as err:
        print(f"Download of PTB-XL from {args.base_url} stopped: {err}.\n"
              f"Check that this machine can reach {args.base_url} (proxy, firewall, offline?). "
              + RETRY_HINT, file=sys.stderr)
        return 2
    except (ValueError, OSError) as err:
        print(f"Download of PTB-XL failed: {err}", file=sys.stderr)
        return 2
    print(f"PTB-XL in {result.out}: {len(result.downloaded)} files downloaded "
          f"({result.bytes / 1e6:.1f} MB), {len(result.skipped)} already present and verified, "
          f"{len(result.failed)} failed.")
    for path, reason in list(result.failed.items())[:10]:
        print(f"  FAILED {path}: {reason}", file=sys.stderr)
    if len(result.failed) > 10:
        print(f"  ... and {len(result.failed) - 10} more", file=sys.stderr)
    if result.failed:
        print(RETRY_HINT, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
