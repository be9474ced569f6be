"""Measure the dashboard in headless Chromium: first page after start, and record switches (warm).

    PTBXL_DIR=../shared/ptbxl python scripts/browser_timing.py [--switches 10]

Prints: seconds from `streamlit run` to the first page visible (target < 8 s), the median /
max seconds from clicking "next" in the sidebar until the new record's waveform grid and its
model summary are both drawn (target < 1.5 s), and the Records page: a visit from Waveform until its
table is drawn (target < 1.5 s), a filter and a sort (target < 1 s each). Also the helpers the browser test and the load
test share: `serve_app`, `launch_browser`, `wait_idle`, `open_page`.
"""
from __future__ import annotations

import argparse
import re
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
IDLE = ("[data-testid=stApp][data-test-connection-state=CONNECTED]"
        "[data-test-script-state=notRunning]")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_app(env: dict | None = None, timeout: float = 60.0, log: Path | None = None, cwd: Path | None = None):
    """`streamlit run app.py` (of the repository, or of the checkout at `cwd`) on 127.0.0.1:free port;
    yields (base_url, process, start_time)."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port),
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    out = open(log, "w") if log else subprocess.DEVNULL
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd or REPO, env={**os.environ, **(env or {})}, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {proc.returncode} (see {log})")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.perf_counter() - t0 > timeout:
                raise TimeoutError(f"streamlit did not answer /_stcore/health within {timeout} s")
            time.sleep(0.1)
        yield url, proc, t0
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if log:
            out.close()


# Streamlit's frontend probes <page>/_stcore/health and host-config relative to a deep link's
# path before it finds the server root: 404s of its own, not errors of the app.
STREAMLIT_PROBE = re.compile(r"/[a-z_]+/_stcore/(health|host-config)$")


def watch_console(page) -> list[str]:
    """Collect the page's console errors (Streamlit's own probes excepted) and page errors into
    `page.problems` (also returned), for tests that assert a clean console."""
    problems: list[str] = []

    def on_console(msg):
        if msg.type == "error" and not STREAMLIT_PROBE.search(msg.location.get("url", "")):
            problems.append(f"console: {msg.text} ({msg.location.get('url')})")

    page.on("console", on_console)
    page.on("pageerror", lambda err: problems.append(f"page error: {err}"))
    page.problems = problems
    return problems


def launch_browser(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def wait_idle(page, timeout_ms: float = 60_000) -> None:
    """Wait until the app is connected and no script run is in progress."""
    page.wait_for_selector(IDLE, timeout=timeout_ms)


def open_page(page, url: str, path: str = "", query: str = "", timeout_ms: float = 60_000) -> None:
    """Go to /path?query and wait until the page's script has finished (twice: a first visit
    can rerun once to enter app.py's frame)."""
    page.goto(f"{url}/{path}{('?' + query) if query else ''}")
    wait_idle(page, timeout_ms)
    page.wait_for_timeout(300)
    wait_idle(page, timeout_ms)


def chart_title(page, key: str = "ecg_grid") -> str:
    """Text of the first plotly title inside the chart with streamlit key `key` ('' if not drawn)."""
    loc = page.locator(f".st-key-{key} .gtitle")
    return loc.first.text_content() if loc.count() else ""


def switch_and_time(page, timeout_ms: float = 30_000) -> tuple[float, str]:
    """Click 'next ▶' in the sidebar; seconds until the new record's grid and summary are drawn."""
    before = chart_title(page)
    t0 = time.perf_counter()
    page.get_by_role("button", name="next ▶").click()
    page.wait_for_function(
        """(before) => {
            const t = document.querySelector('.st-key-ecg_grid .gtitle');
            const s = document.querySelector('.st-key-model_summary');
            if (!t || !s || t.textContent === before) return false;
            const id = (t.textContent.match(/#(\\d+)/) || [])[1];
            return id && s.textContent.includes('#' + id);
        }""", arg=before, timeout=timeout_ms)
    return time.perf_counter() - t0, chart_title(page)


def _rerun_done(page, timeout_ms: float = 60_000) -> None:
    """After an input changed: wait for the script run it starts (if not already over), then idle."""
    try:
        page.wait_for_selector("[data-testid=stApp][data-test-script-state=running]", timeout=500)
    except Exception:  # noqa: BLE001 - a run shorter than the poll
        pass
    wait_idle(page, timeout_ms)


def records_timing(page, visits: int = 3) -> dict[str, list[float]]:
    """Seconds to (a) open the Records page from Waveform, with its table drawn, (b) filter it by a
    report word, (c) sort it by the fused P(MI) when a score file exists (else by ecg_id)."""
    out: dict[str, list[float]] = {"visit": [], "filter": [], "sort": []}
    for k in range(visits):
        page.locator("[data-testid=stSidebarNav] a", has_text="Waveform").first.click()
        page.locator(".st-key-ecg_grid .main-svg").first.wait_for(timeout=120_000)
        wait_idle(page)
        t0 = time.perf_counter()
        page.locator("[data-testid=stSidebarNav] a", has_text="Records").first.click()
        page.get_by_text("records with signals match").first.wait_for(timeout=60_000)
        page.locator("[data-testid=stDataFrame] canvas").first.wait_for(timeout=60_000)
        wait_idle(page)
        out["visit"].append(time.perf_counter() - t0)
        box = page.get_by_placeholder("ecg_id or words of the report (e.g. infarkt)")
        before = page.get_by_text("records with signals match").first.text_content()
        t0 = time.perf_counter()
        box.fill(["infarkt", "hypertrophie", "block"][k % 3])
        box.press("Enter")
        page.wait_for_function("(b) => { const e = [...document.querySelectorAll('p')].find(p => "
                               "p.textContent.includes('records with signals match')); return e && "
                               "e.textContent !== b; }", arg=before, timeout=60_000)
        wait_idle(page)
        out["filter"].append(time.perf_counter() - t0)
        sort = page.locator("[data-testid=stSelectbox]", has=page.get_by_text("Sort by", exact=True))
        if sort.count():
            t0 = time.perf_counter()
            sort.locator("input").first.click()
            page.get_by_role("option", name=["fused P(MI) high first", "ecg_id"][k % 2], exact=True).click()
            _rerun_done(page)
            out["sort"].append(time.perf_counter() - t0)
        box.fill("")
        box.press("Enter")
        _rerun_done(page)
    return out


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--switches", type=int, default=10)
    parser.add_argument("--ecg-id", type=int, default=100)
    parser.add_argument("--records", type=int, default=3, help="Records page visits to time (0: none)")
    args = parser.parse_args(argv)
    with sync_playwright() as p:
        browser = launch_browser(p)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        with serve_app(log=Path("/tmp/browser_timing_streamlit.log")) as (url, _, t_start):
            page.goto(url)
            page.get_by_role("heading", name="Records").wait_for(timeout=60_000)
            page.locator("[data-testid=stDataFrame]").first.wait_for(timeout=60_000)
            first = time.perf_counter() - t_start
            print(f"first page (Records table) visible {first:.2f} s after `streamlit run` (target < 8 s)")
            open_page(page, url, "waveform", f"ecg_id={args.ecg_id}")
            page.locator(".st-key-model_summary").wait_for(timeout=120_000)
            for _ in range(2):                       # warm: models loaded, first figures drawn
                switch_and_time(page)
            times = [switch_and_time(page)[0] for _ in range(args.switches)]
            print(f"record switch -> waveform + predictions drawn, warm, {len(times)} switches: "
                  f"median {statistics.median(times):.2f} s, max {max(times):.2f} s (target < 1.5 s)")
            if args.records:
                rec = records_timing(page, args.records)
                for what, target in (("visit", 1.5), ("filter", 1.0), ("sort", 1.0)):
                    if rec[what]:
                        print(f"Records page {what}, warm, {len(rec[what])} times: median "
                              f"{statistics.median(rec[what]):.2f} s, max {max(rec[what]):.2f} s "
                              f"(target < {target} s)")
                    else:
                        print(f"Records page {what}: not timed (no score file for this folder)")
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
