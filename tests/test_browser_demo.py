"""A fresh clone opens the demo set, in a real browser (Playwright + headless Debian Chromium).

    python -m pytest -q -m browser tests/test_browser_demo.py

Copies what a clone holds (`git ls-files`: tracked files plus new ones that are not ignored, so no
data/ptb-xl, runs/ or .cache/) into a temporary folder, starts `streamlit run app.py` there with no
PTBXL_DIR, and checks what a first visitor sees: the Records page on the demo set saying so, then a
demo record's 12-lead grid with the models' calls, and its Predictions page.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
from _browser import REPO, app_url, bt, chromium_page  # noqa: E402,F401

MODELS = ("signal", "spectrum", "scalogram", "fused")


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """The repository's files as a fresh clone has them (uncommitted work included), nothing ignored."""
    if not shutil.which("git") or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    names = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=REPO, capture_output=True, check=True).stdout.decode().split("\0")
    dst = tmp_path_factory.mktemp("fresh_clone") / "repo"
    for name in filter(None, names):
        if (REPO / name).is_file():
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dst / name)
    assert not (dst / "data").exists() and (dst / "demo" / "ptb-xl" / "ptbxl_database.csv").is_file()
    return dst


@pytest.fixture(scope="module")
def server(clone, tmp_path_factory):
    with app_url(tmp_path_factory, {"PTBXL_DIR": "", "PYTHONPATH": ""}, cwd=clone) as url:
        yield url


def test_a_fresh_clone_opens_the_demo_set_with_a_record_and_its_predictions(server, clone):
    from ecgcore.io.ptbxl import load_index
    demo = load_index(str(clone / "demo" / "ptb-xl"))
    first = int(demo.index[0])
    weights = all((clone / "weights" / f"{n}.pt").is_file() for n in MODELS)
    with chromium_page() as page:

        bt.open_page(page, server)
        page.get_by_role("heading", name="Records", exact=True).first.wait_for(timeout=60_000)
        side = page.locator("[data-testid=stSidebar]")
        notice = f"Demo set: {len(demo)} real PTB-XL records"
        side.get_by_text(notice).wait_for()
        main = page.locator("[data-testid=stMain]").text_content()
        assert notice in main and "python -m ecgcore.io.download" in main and "PTBXL_DIR" in main
        assert f"{len(demo)} of {len(demo)} records with signals match" in main

        page.get_by_role("button", name="next ▶").click()           # a first visitor's way in
        side.get_by_text(f"PTB-XL #{first}").wait_for(timeout=60_000)
        bt.wait_idle(page)
        page.locator("[data-testid=stSidebarNav] a", has_text="Waveform").first.click()
        page.get_by_role("heading", name="Waveform", exact=True).first.wait_for(timeout=60_000)
        grid = page.locator(".st-key-ecg_grid")
        grid.locator(".main-svg").first.wait_for(timeout=60_000)
        bt.wait_idle(page)
        assert f"#{first}" in bt.chart_title(page)
        labels = [t.text_content() for t in grid.locator(".annotation-text").all()]
        assert labels == ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6", "II"]
        assert grid.locator(".scatterlayer .trace").count() >= 13
        if weights:
            summary = page.locator(".st-key-model_summary")
            summary.get_by_text(re.compile(r"fused model: .* status: ")).wait_for(timeout=120_000)
            page.locator("[data-testid=stSidebarNav] a", has_text="Predictions").first.click()
            page.get_by_text("Calibrated probabilities").first.wait_for(timeout=120_000)
            bt.wait_idle(page, 120_000)
            assert "is unavailable" not in page.locator("[data-testid=stMain]").text_content()
        assert not page.locator("[data-testid=stException]").count()
    assert weights, "the clone has no trained weights: predictions could not be checked"
    assert page.problems == []
