"""Uploads of real clinical files in a real browser (issue #14): a PhysioNet/CinC `.hea` + `.mat`
pair from ../shared/external_ecg and pydicom's 12-lead DICOM ECG, each followed to the Predictions
page, which must show the calibrated probabilities. Same server and browser set-up as
test_browser.py (`streamlit run app.py` + headless Debian Chromium through Playwright).

    PTBXL_DIR=../shared/ptbxl python -m pytest -q -m browser tests/test_browser_upload.py
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
from _browser import REPO, app_url, bt, chromium_page, have_weights  # noqa: E402,F401

EXTERNAL = REPO.parent / "shared" / "external_ecg"


@pytest.fixture(scope="module")
def server(ptbxl_dir, tmp_path_factory):
    if not have_weights():
        pytest.skip("predictions need trained weights")
    with app_url(tmp_path_factory, {"PTBXL_DIR": str(ptbxl_dir)}) as url:
        yield url


@pytest.fixture(scope="module")
def page(server):
    with chromium_page() as pg:
        yield pg


def upload_and_predict(page, server: str, files: list[Path], title: str, fmt: str) -> str:
    """Upload `files` on a fresh session's Upload page, check the acceptance and the sidebar, open
    Predictions and wait for the probabilities; returns the Predictions page's text."""
    bt.open_page(page, server, "upload")
    page.get_by_role("heading", name="Upload an ECG", exact=True).wait_for(timeout=60_000)
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files([str(f) for f in files])
    page.get_by_text(re.compile(rf"^Accepted Upload: {re.escape(title)}")).wait_for(timeout=60_000)
    bt.wait_idle(page)
    assert not page.get_by_text(re.compile("^Not accepted:")).count()
    side = page.locator("[data-testid=stSidebar]").text_content()
    assert f"Upload: {title}" in side and f"{fmt} file" in side, side
    page.locator("[data-testid=stSidebarNav] a", has_text="Predictions").first.click()
    page.get_by_text("Calibrated probabilities").wait_for(timeout=120_000)
    bt.wait_idle(page, 120_000)
    page.locator("[data-testid=stDataFrame]").first.wait_for(timeout=60_000)
    assert not page.locator("[data-testid=stException]").count()
    return page.locator("[data-testid=stMain]").text_content()


def test_cinc_hea_mat_pair_gets_predictions(server, page):
    hea, mat = EXTERNAL / "E07500.hea", EXTERNAL / "E07500.mat"
    if not (hea.is_file() and mat.is_file()):
        pytest.skip(f"{EXTERNAL} does not hold E07500.hea/.mat")
    text = upload_and_predict(page, server, [hea, mat], "E07500.hea", "WFDB")
    assert "Upload: E07500.hea" in text and "none (uploaded ECG)" in text
    assert "500 Hz, 10.0 s" in page.locator("[data-testid=stSidebar]").text_content()


def test_dicom_ecg_gets_predictions(server, page, tmp_path):
    from pydicom.data import get_testdata_file
    path = get_testdata_file("waveform_ecg.dcm")
    if path is None:
        pytest.skip("pydicom's waveform_ecg.dcm is not installed (it would need a download)")
    dcm = tmp_path / "waveform_ecg.dcm"
    dcm.write_bytes(Path(path).read_bytes())
    text = upload_and_predict(page, server, [dcm], "waveform_ecg.dcm", "DICOM")
    assert "Upload: waveform_ecg.dcm" in text and "none (uploaded ECG)" in text
    side = page.locator("[data-testid=stSidebar]").text_content()
    assert "1000 Hz, 10.0 s" in side and "leads in the file: 12" in side


def test_the_console_shows_no_errors(page):
    assert page.problems == []
