"""The live chapters: Voila on 127.0.0.1, where moving a slider recomputes the figure."""

import socket
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from bpcourse.live import voila_command, voila_environment, wait_for_port
from conftest import ROOT

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
# Voila runs the whole chapter before it shows it.
RENDER_TIMEOUT_MS = 180_000


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def voila():
    port = _free_port()
    process = subprocess.Popen(
        voila_command(ROOT / "book", port), env=voila_environment(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_live_slider_changes_figure(voila):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        elsewhere = []
        page.on("request", lambda request: elsewhere.append(request.url)
                if urlsplit(request.url).hostname != "127.0.0.1" else None)
        page.goto(f"{voila}/voila/render/02_loss.ipynb", timeout=RENDER_TIMEOUT_MS)
        handle = page.locator(".widget-slider .noUi-handle").first
        handle.wait_for(timeout=RENDER_TIMEOUT_MS)
        figure = page.locator(".widget-output img").first
        figure.wait_for(timeout=RENDER_TIMEOUT_MS)
        before = figure.get_attribute("src")
        handle.focus()
        for _ in range(5):
            page.keyboard.press("ArrowRight")
        page.wait_for_function(
            "(before) => { const img = document.querySelector('.widget-output img');"
            " return img && img.src !== before; }",
            arg=before, timeout=60_000,
        )
        after = page.locator(".widget-output img").first.get_attribute("src")
        artifacts = ROOT / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        page.screenshot(path=str(artifacts / "live-02_loss.png"))
        browser.close()
    assert after != before
    assert not elsewhere, f"requests to other hosts: {elsewhere}"


def test_live_command_help_names_loopback():
    done = subprocess.run([sys.executable, "-m", "bpcourse", "live", "--help"],
                          capture_output=True, text=True)
    assert done.returncode == 0
    assert "127.0.0.1" in done.stdout
