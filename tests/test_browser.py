"""The dashboard in a real browser: `streamlit run app.py` + headless Debian Chromium (Playwright).

    PTBXL_DIR=../shared/ptbxl python -m pytest -q -m browser tests/test_browser.py
    ECG_SCREENSHOTS=docs/screenshots ...   # also refresh the screenshots in the docs

Opens a record by deep link, checks the 12-lead grid, switches record, opens every page, runs
one LIME and one SHAP explanation, uploads one good and one bad file, and asserts that the
browser console shows no errors. Screenshots of each page go to pytest's tmp folder (or to
$ECG_SCREENSHOTS). Explanations need trained weights (weights/ or $ECGCORE_WEIGHTS_DIR).
"""
from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.browser
from _browser import app_url, bt, chromium_page, have_weights  # noqa: E402

RECORD = 9
PAGES = ["Records", "Upload", "Waveform", "Spectrum", "Scalogram", "Predictions", "Explain", "Model cards"]


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    out = os.environ.get("ECG_SCREENSHOTS")
    path = Path(out) if out else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def server(ptbxl_dir, tmp_path_factory, request):
    env = {"PTBXL_DIR": str(ptbxl_dir)}
    if have_weights():        # the score file of fold 10, for browsing by outcome on the Records page
        env["ECGCORE_CACHE"] = str(request.getfixturevalue("scored_cache"))
    with app_url(tmp_path_factory, env) as url:
        yield url


@pytest.fixture(scope="module")
def browser_page(server):
    with chromium_page() as page:
        yield page


def heading(page, text: str, timeout: float = 60_000) -> None:
    page.get_by_role("heading", name=text, exact=True).first.wait_for(timeout=timeout)


def nav(page, title: str) -> None:
    page.locator("[data-testid=stSidebarNav] a", has_text=title).first.click()
    heading(page, {"Upload": "Upload an ECG"}.get(title, title))
    bt.wait_idle(page)


def shot(page, shots: Path, name: str) -> None:
    """Screenshot the window down to the end of the page's content (at least 900 px)."""
    page.wait_for_timeout(400)
    bottom = page.evaluate("document.querySelector('[data-testid=stMainBlockContainer]')"
                           ".getBoundingClientRect().bottom")
    size = page.viewport_size
    height = int(min(size["height"], max(900, bottom + 20)))
    page.screenshot(path=str(shots / f"{name}.png"), clip={"x": 0, "y": 0, "width": size["width"], "height": height})


def pick(page, label: str, option: str) -> None:
    """Choose `option` in the st.selectbox labelled `label`."""
    box = page.locator("[data-testid=stSelectbox]", has=page.get_by_text(label, exact=True))
    box.locator("input").first.click()
    page.get_by_role("option", name=option, exact=True).click()
    bt.wait_idle(page)


def test_deep_link_shows_the_12_lead_grid(server, browser_page, shots):
    page = browser_page
    bt.open_page(page, server, "waveform", f"ecg_id={RECORD}")
    heading(page, "Waveform")
    grid = page.locator(".st-key-ecg_grid")
    grid.locator(".main-svg").first.wait_for(timeout=60_000)
    title = bt.chart_title(page)
    assert f"#{RECORD}" in title and "25 mm/s" in title and "10 mm/mV" in title and "500 Hz" in title
    labels = [t.text_content() for t in grid.locator(".annotation-text").all()]
    assert labels == ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6", "II"]
    assert grid.locator("path.xgrid").count() > 40          # large boxes every 0.2 s
    assert grid.locator(".scatterlayer .trace").count() >= 13  # 12 segments + rhythm strip (+ pulses)
    assert grid.locator("canvas").count() == 0               # SVG, no WebGL
    assert f"PTB-XL #{RECORD}" in page.locator("[data-testid=stSidebar]").text_content()
    shot(page, shots, "waveform")


def test_switching_record_redraws_and_updates_the_address(server, browser_page):
    page = browser_page
    seconds, title = bt.switch_and_time(page, timeout_ms=60_000)
    new_id = re.search(r"#(\d+)", title).group(1)
    assert new_id != str(RECORD)
    assert f"ecg_id={new_id}" in page.url
    assert f"PTB-XL #{new_id}" in page.locator("[data-testid=stSidebar]").text_content()


def test_every_page_opens(server, browser_page, shots):
    page = browser_page
    bt.open_page(page, server, "", f"ecg_id={RECORD}")
    for title in PAGES:
        nav(page, title)
        assert not page.locator("[data-testid=stException]").count(), title
        assert f"ecg_id={RECORD}" in page.url, (title, page.url)   # the record stays in the address
        if title == "Spectrum":
            page.locator(".st-key-spectrum .main-svg").first.wait_for()
        if title == "Scalogram":
            page.locator(".st-key-scalogram .main-svg").first.wait_for()
        if title == "Predictions" and have_weights():
            page.get_by_text("Calibrated probabilities").wait_for()
        name = {"Model cards": "models", "Records": "records"}.get(title, title.lower())
        if title not in ("Waveform", "Explain", "Upload"):
            shot(page, shots, name)


def _click_trace(page, key: str, x: float, y: float) -> None:
    """Click the point of the plotly chart with streamlit key `key` at data coordinates (x, y)."""
    page.wait_for_function(f"() => {{ const g = document.querySelector('.st-key-{key} .js-plotly-plot');"
                           " return g && g._fullLayout && g._fullLayout.xaxis; }", timeout=30_000)
    page.wait_for_timeout(800)                                 # drawn, listeners attached
    gd = page.locator(f".st-key-{key} .js-plotly-plot").first
    px = gd.evaluate("(gd, p) => { const L = gd._fullLayout, r = gd.getBoundingClientRect();"
                     " return [r.left + L.xaxis._offset + L.xaxis.d2p(p[0]),"
                     " r.top + L.yaxis._offset + L.yaxis.d2p(p[1])]; }", [x, y])
    page.mouse.move(px[0], px[1])
    page.wait_for_timeout(150)
    page.mouse.click(px[0], px[1])
    bt.wait_idle(page)


def test_calipers_read_the_interval_between_two_clicked_points(server, browser_page, ptbxl_dir, shots):
    from ecgcore.io.ptbxl import load_record
    rec = load_record(RECORD, 500)
    page = browser_page
    bt.open_page(page, server, "waveform", f"ecg_id={RECORD}")
    page.get_by_text("Calipers", exact=True).click()
    bt.wait_idle(page)
    page.get_by_text("click a point on a trace (0 of 2 chosen)").wait_for()
    page.wait_for_timeout(1500)                                # the chart redrawn with clickable samples
    rhythm = -9.0                                              # lead II rhythm strip: row 4, spacing 3 mV
    for t in (2.0, 3.0):
        _click_trace(page, "ecg_grid", t, float(rec.signal[int(t * rec.fs), 1]) + rhythm)
    box = page.locator(".st-key-caliper_box")
    box.get_by_text("Δt").wait_for(timeout=30_000)
    text = box.text_content()
    m = re.search(r"II at ([\d.]+) s → II at ([\d.]+) s: Δt (\d+) ms \((\d+) bpm.*ΔV ([+-][\d.]+) mV", text)
    assert m, text
    t1, t2, dt, bpm, dv = float(m[1]), float(m[2]), int(m[3]), int(m[4]), float(m[5])
    assert abs(t1 - 2.0) < 0.03 and abs(t2 - 3.0) < 0.03, text     # the samples nearest the clicks
    assert dt == round((t2 - t1) * 1000) and bpm == round(60000 / dt)
    want = rec.signal[int(round(t2 * rec.fs)), 1] - rec.signal[int(round(t1 * rec.fs)), 1]
    assert abs(dv - want) <= 0.006, (dv, want)                     # shown to 0.01 mV
    shot(page, shots, "waveform_calipers")


@pytest.mark.skipif(not have_weights(), reason="scoring needs trained weights")
def test_records_filtered_to_mi_false_negatives_open_one(server, browser_page, ptbxl_dir, scored_cache, shots):
    import pandas as pd
    from ecgcore.score.outcomes import scores_path
    scores = pd.read_parquet(scores_path(ptbxl_dir, scored_cache))
    fn = scores[(scores["status"] == "ok") & scores["y_MI"].fillna(False).astype(bool) & ~scores["call_MI"].astype(bool)]
    page = browser_page
    bt.open_page(page, server, "", "")
    nav(page, "Records")
    pick(page, "Fused vs cardiologists", "MI")                   # outcome defaults to false negatives
    page.get_by_text(f"**{len(fn):,}** of".replace("**", ""), exact=False).first.wait_for()
    pick(page, "Sort by", "fused P(MI) high first")
    first = int(fn.sort_values("p_fused_MI", ascending=False, kind="stable")["ecg_id"].iloc[0])
    grid = page.locator("[data-testid=stDataFrame]").first
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)           # the first row's selection box
    page.get_by_role("heading", name=f"Open: PTB-XL #{first}").wait_for(timeout=30_000)
    assert f"ecg_id={first}" in page.url
    shot(page, shots, "records_outcomes")


@pytest.mark.skipif(not have_weights(), reason="explanations need trained weights")
def test_lime_and_shap_explanations_run(server, browser_page, shots):
    page = browser_page
    bt.open_page(page, server, "explain", f"ecg_id={RECORD}")
    heading(page, "Explain")
    for method, model in (("LIME", "spectrum"), ("SHAP", "signal")):
        pick(page, "Model", model)
        page.locator("[data-testid=stRadio]").get_by_text(method, exact=True).click()
        bt.wait_idle(page)
        page.get_by_role("button", name="Explain").click()
        page.get_by_text(re.compile(rf"^{method} · {model} model")).wait_for(timeout=240_000)
        bt.wait_idle(page, 240_000)
        assert page.get_by_text("Faithfulness").count() >= 1
        assert not page.locator("[data-testid=stException]").count()
    page.locator(".st-key-expl_signal .main-svg").first.wait_for()
    assert page.locator(".st-key-expl_signal .heatmaplayer image, .st-key-expl_signal .hm image").count() >= 1
    shot(page, shots, "explain")


def csv_of(ecg_id: int) -> bytes:
    from ecgcore.io.ptbxl import load_record
    rec = load_record(ecg_id, 100)
    buf = io.StringIO()
    buf.write(",".join(rec.leads) + "\n")
    np.savetxt(buf, rec.signal, delimiter=",", fmt="%.5f")
    return buf.getvalue().encode()


def test_upload_one_good_and_one_bad_file(server, browser_page, shots, tmp_path):
    page = browser_page
    bt.open_page(page, server, "upload")
    heading(page, "Upload an ECG")
    rate = page.get_by_label("Sampling rate (Hz), for CSV and .npy")
    rate.fill("100")
    rate.press("Enter")
    bt.wait_idle(page)
    good = tmp_path / "my_ecg.csv"
    good.write_bytes(csv_of(RECORD))
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(str(good))
    page.get_by_text(re.compile(r"^Accepted Upload: my_ecg.csv")).wait_for(timeout=60_000)
    bt.wait_idle(page)
    assert "Upload: my_ecg.csv" in page.locator("[data-testid=stSidebar]").text_content()
    shot(page, shots, "upload")
    nav(page, "Waveform")
    page.locator(".st-key-ecg_grid .main-svg").first.wait_for()
    assert "Upload: my_ecg.csv" in bt.chart_title(page)
    nav(page, "Upload")
    bad = tmp_path / "broken.npy"
    bad.write_bytes(b"this is not a numpy array")
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(str(bad))
    refusal = page.get_by_text(re.compile("^Not accepted:"))
    refusal.wait_for(timeout=60_000)
    assert "broken.npy" in refusal.text_content()
    shot(page, shots, "upload_refused")


def test_the_console_shows_no_errors(browser_page):
    assert browser_page.problems == []
