"""Load test: N simultaneous browser users on one dashboard server for a bounded time.

    PTBXL_DIR=../shared/ptbxl python scripts/loadtest.py [--users 10] [--seconds 120] [--url URL]

One headless Chromium, one browser context per user (separate sessions). Each user opens its
own record on Predictions, then loops: switch to the next record (timed until that record's
predictions table is drawn), and every third switch (--explain-every) runs one explanation on Explain. Reports
errors (exceptions shown by the app, timeouts, console errors), p50/p95 record-switch-to-
predictions time, explanation times, and the server's RSS growth (from
/proc). Starts its own `streamlit run app.py` unless --url is given.
"""
from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]
import browser_timing as bt  # noqa: E402
from ecgcore.memory import rss_mb  # noqa: E402

EXPLAIN = ("spectrum", "SHAP")     # the model / method each user's explanation uses


def percentile(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))]


async def idle(page, timeout: float = 120_000) -> None:
    await page.wait_for_selector(bt.IDLE, timeout=timeout)


async def user(i: int, browser, url: str, start_id: int, deadline: float, stats: dict, every: int) -> None:
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1600})
    page = await ctx.new_page()
    page.on("console", lambda m: stats["console"].append(f"user {i}: {m.text}")
            if m.type == "error" and not re.search(r"/[a-z_]+/_stcore/", m.location.get("url", "")) else None)
    page.on("pageerror", lambda e: stats["console"].append(f"user {i}: {e}"))
    try:
        await page.goto(f"{url}/predictions?ecg_id={start_id}")
        await page.get_by_text("Calibrated probabilities").first.wait_for(timeout=180_000)
        await idle(page)
        n = 0
        while time.monotonic() < deadline:
            n += 1
            title = await page.locator("h3").first.text_content()
            t0 = time.perf_counter()
            await page.get_by_role("button", name="next ▶").click()
            await page.wait_for_function(
                """(before) => { const h = document.querySelector('h3');
                   return h && h.textContent !== before && document.querySelector('[data-testid=stDataFrame]'); }""",
                arg=title, timeout=120_000)
            await page.get_by_text("Calibrated probabilities").first.wait_for(timeout=120_000)
            stats["switch"].append(time.perf_counter() - t0)
            await idle(page)
            if await page.locator("[data-testid=stException]").count():
                stats["errors"].append(f"user {i}: exception on Predictions")
            if every and n % every == 0 and time.monotonic() < deadline:
                await explain_once(page, url, stats, i)
    except Exception as err:   # a timeout or a crash is a finding, not a reason to stop the others
        stats["errors"].append(f"user {i}: {type(err).__name__}: {str(err).splitlines()[0][:160]}")
    finally:
        await ctx.close()


async def explain_once(page, url: str, stats: dict, i: int) -> None:
    model, method = EXPLAIN
    await page.locator("[data-testid=stSidebarNav] a", has_text="Explain").first.click()
    await page.get_by_role("heading", name="Explain", exact=True).wait_for(timeout=60_000)
    await idle(page)
    box = page.locator("[data-testid=stSelectbox]", has=page.get_by_text("Model", exact=True))
    await box.locator("input").first.click()
    await page.get_by_role("option", name=model, exact=True).click()
    await idle(page)
    await page.locator("[data-testid=stRadio]").get_by_text(method, exact=True).click()
    await idle(page)
    t0 = time.perf_counter()
    await page.get_by_role("button", name="Explain").click()
    await page.get_by_text(re.compile(rf"^{method} · {model} model")).wait_for(timeout=300_000)
    stats["explain"].append(time.perf_counter() - t0)
    await idle(page, 300_000)
    if await page.locator("[data-testid=stException]").count():
        stats["errors"].append(f"user {i}: exception on Explain")
    await page.locator("[data-testid=stSidebarNav] a", has_text="Predictions").first.click()
    await page.get_by_text("Calibrated probabilities").first.wait_for(timeout=120_000)
    await idle(page)


async def run(url: str, pid: int | None, users: int, seconds: float, ids: list[int], every: int) -> dict:
    from playwright.async_api import async_playwright
    stats = {"switch": [], "explain": [], "errors": [], "console": [], "rss": []}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=bt.CHROMIUM, args=bt.CHROMIUM_ARGS, headless=True)
        warm = await browser.new_page()                # load torch, the index and the models once
        await warm.goto(f"{url}/predictions?ecg_id={ids[0]}")
        await warm.get_by_text("Calibrated probabilities").wait_for(timeout=300_000)
        await warm.close()
        rss0 = rss_mb(pid) if pid else float("nan")
        deadline = time.monotonic() + seconds
        tasks = [asyncio.create_task(user(i, browser, url, ids[(i * 37) % len(ids)], deadline, stats, every))
                 for i in range(users)]
        while not all(t.done() for t in tasks):
            if pid:
                stats["rss"].append(rss_mb(pid))
            await asyncio.sleep(1.0)
        await browser.close()
    stats["rss0"], stats["rss1"] = rss0, (rss_mb(pid) if pid else float("nan"))
    return stats


def report(stats: dict, users: int, seconds: float, wall: float) -> None:
    sw, ex = stats["switch"], stats["explain"]
    print(f"{users} users for {seconds:g} s (wall {wall:.0f} s): {len(sw)} record switches, {len(ex)} explanations")
    if sw:
        print(f"record switch -> predictions drawn: p50 {statistics.median(sw):.2f} s, "
              f"p95 {percentile(sw, 95):.2f} s, max {max(sw):.2f} s")
    if ex:
        print(f"explanation ({' '.join(EXPLAIN)}) click -> result: p50 {statistics.median(ex):.1f} s, "
              f"max {max(ex):.1f} s")
    if stats["rss"]:
        print(f"server RSS: {stats['rss0']:.0f} MB after warm-up, peak {max(stats['rss']):.0f} MB, "
              f"{stats['rss1']:.0f} MB at end (growth {stats['rss1'] - stats['rss0']:+.0f} MB)")
    print(f"errors: {len(stats['errors'])}; console errors: {len(stats['console'])}")
    for line in (stats["errors"] + stats["console"])[:20]:
        print("  ", line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--explain-every", type=int, default=3, help="an explanation every N switches (0: none)")
    parser.add_argument("--url", default=None, help="an already running dashboard (RSS then not measured)")
    args = parser.parse_args(argv)
    from ecgcore.io.ptbxl import load_index
    index = load_index()
    ids = index.index[index["has_100"]].tolist()
    t0 = time.monotonic()
    if args.url:
        stats = asyncio.run(run(args.url, None, args.users, args.seconds, ids, args.explain_every))
    else:
        with bt.serve_app(log=Path("/tmp/loadtest_streamlit.log")) as (url, proc, _):
            stats = asyncio.run(run(url, proc.pid, args.users, args.seconds, ids, args.explain_every))
    report(stats, args.users, args.seconds, time.monotonic() - t0)
    return 1 if stats["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
