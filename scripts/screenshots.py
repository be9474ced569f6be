"""Refresh the README's page screenshots from the running app, in headless Chromium.

    PTBXL_DIR=data/ptb-xl python scripts/screenshots.py [--ecg-id 9] [--pages predictions models]

Starts `streamlit run app.py` (browser_timing.serve_app), opens each page for one PTB-XL record
and writes docs/screenshots/PAGE.png (1500 x 2000 px: Streamlit scrolls inside the window). On Explain it presses Explain (the
default model, method and class). The pages' console errors are printed; the exit status is 1 when any page had one. Screenshots with an interaction (calipers,
records by outcome) are taken by hand or by the browser tests, not here.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import browser_timing as bt

REPO = Path(__file__).resolve().parents[1]
PAGES = {"records": "", "waveform": "waveform", "spectrum": "spectrum", "scalogram": "scalogram",
         "predictions": "predictions", "explain": "explain", "models": "models"}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ecg-id", type=int, default=9)
    p.add_argument("--pages", nargs="+", choices=sorted(PAGES), default=sorted(PAGES))
    p.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    p.add_argument("--height", type=int, default=2000, help="viewport height (Streamlit scrolls inside it)")
    p.add_argument("--settle-ms", type=int, default=3000, help="extra wait after a page is idle (plots drawing)")
    a = p.parse_args(argv)
    from playwright.sync_api import sync_playwright
    a.out.mkdir(parents=True, exist_ok=True)
    failed = False
    with bt.serve_app(timeout=120) as (url, _, _), sync_playwright() as pw:
        browser = bt.launch_browser(pw)
        page = browser.new_page(viewport={"width": 1500, "height": a.height})
        problems = bt.watch_console(page)
        for name in a.pages:
            problems.clear()
            bt.open_page(page, url, PAGES[name], f"ecg_id={a.ecg_id}", timeout_ms=180_000)
            if name == "explain":              # the page computes a map only when asked
                page.get_by_role("button", name="Explain", exact=True).click()
                page.wait_for_timeout(1000)
                bt.wait_idle(page, 180_000)
            page.wait_for_timeout(a.settle_ms)
            bt.wait_idle(page, 180_000)
            path = a.out / f"{name}.png"
            page.screenshot(path=str(path), full_page=True)
            print(f"{path}: {len(problems)} console errors", *problems, sep="\n  ")
            failed |= bool(problems)
        browser.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
