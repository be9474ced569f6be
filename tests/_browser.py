"""What the browser tests share: the app served by `streamlit run app.py` and a headless Debian
Chromium page (Playwright) that records console errors (scripts/browser_timing.py does both)."""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
playwright_api = pytest.importorskip("playwright.sync_api")
import browser_timing as bt  # noqa: E402

VIEWPORT = {"width": 1500, "height": 2000}


def have_weights() -> bool:
    from ecgcore.models.registry import WEIGHTS_DIR
    wdir = Path(os.environ.get("ECGCORE_WEIGHTS_DIR") or WEIGHTS_DIR)
    return all((wdir / f"{n}.pt").is_file() for n in ("signal", "spectrum", "scalogram", "fused"))


@contextmanager
def app_url(tmp_path_factory, env: dict, cwd: Path | None = None) -> Iterator[str]:
    """The app's address while it runs (skips without Chromium); asserts it is still alive after."""
    if not Path(bt.CHROMIUM).is_file():
        pytest.skip(f"no Chromium at {bt.CHROMIUM}")
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    kwargs = {"cwd": cwd} if cwd is not None else {}
    with bt.serve_app(env=env, log=log, **kwargs) as (url, proc, _):
        yield url
        assert proc.poll() is None, f"streamlit died; see {log}"


@contextmanager
def chromium_page() -> Iterator[object]:
    """A 1500 x 2000 page in headless Chromium whose console errors are collected (bt.watch_console)."""
    with playwright_api.sync_playwright() as p:
        browser = bt.launch_browser(p)
        page = browser.new_page(viewport=VIEWPORT)
        bt.watch_console(page)
        yield page
        browser.close()
