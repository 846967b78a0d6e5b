"""Every page of the built book, in headless Chromium, served from 127.0.0.1 only.

Checks, at a phone width and a desktop width: no failed request and none to
another host, MathJax typeset every formula, images loaded, widgets rendered,
no script error or console error, nothing wider than the window.  Screenshots go to
test-artifacts/.
"""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import ROOT, toc_docnames

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDTHS = [375, 1280]
ARTIFACTS = ROOT / "test-artifacts"

# Text nodes outside code that still hold TeX delimiters were not typeset.
RAW_TEX_JS = r"""
() => {
  const skip = "pre, code, script, style, textarea, mjx-container, .highlight";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const left = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest(skip)) continue;
    const text = node.textContent;
    if (/\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{/.test(text)) left.push(text.trim().slice(0, 80));
  }
  return left;
}
"""

# Wait until every image has loaded or failed, then list the broken ones.
BROKEN_IMAGES_JS = """
async () => {
  const images = [...document.images];
  await Promise.all(images.map((img) => img.complete ? null :
    new Promise((done) => { img.onload = img.onerror = done; })));
  return images.filter((img) => img.naturalWidth === 0).map((img) => img.src);
}
"""

# Elements that reach past the window and can't be scrolled to.  An element
# wider than the window is fine inside a scrolling box (tables, code) whose
# own box fits.  Screen-reader-only MathML and hidden drawers are skipped.
OVERFLOW_JS = """
() => {
  const width = document.documentElement.clientWidth;
  const describe = (el) => {
    const r = el.getBoundingClientRect();
    const cls = typeof el.className === "string" && el.className ? "." + el.className.trim().split(/\\s+/).join(".") : "";
    return `${el.tagName.toLowerCase()}${cls} [${Math.round(r.left)}, ${Math.round(r.right)}]`;
  };
  const outside = (r) => r.right > width + 1 || r.left < -1;
  const reachable = (el) => {
    const r = el.getBoundingClientRect();
    if (!outside(r)) return true;
    for (let box = el.parentElement; box; box = box.parentElement) {
      const overflow = getComputedStyle(box).overflowX;
      if (overflow === "visible") continue;
      if (box === document.body || box === document.documentElement) return false;
      if (overflow === "auto" || overflow === "scroll") return reachable(box);
      const b = box.getBoundingClientRect();  // hidden or clip
      return r.left >= b.left - 1 && r.right <= b.right + 1 && reachable(box);
    }
    return false;
  };
  const bad = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (el.closest("mjx-assistive-mml")) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (!reachable(el)) bad.push(describe(el));
  }
  return {
    scrollWidth: document.documentElement.scrollWidth,
    width: width,
    elements: bad.slice(0, 10),
  };
}
"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def server(book_html):
    """The built book over HTTP on 127.0.0.1, on a free port."""
    handler = functools.partial(QuietHandler, directory=str(book_html))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run 'make browser-deps'")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class PageVisit:
    """One page opened in a fresh browser context, with the requests it made."""

    def __init__(self, browser, server: str, docname: str, width: int):
        self.origin = urlsplit(server).netloc
        self.foreign: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        self.console_errors: list[str] = []
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        # Generous, for a machine that is busy running other tests.
        self.context.set_default_timeout(60_000)
        # Nothing leaves 127.0.0.1: requests to other hosts are recorded and aborted.
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        self.page.on("response", self._response)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", self._console)
        self.page.goto(f"{server}/{docname}.html", wait_until="networkidle")

    def _route(self, route):
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in {"http", "https", "ws", "wss"} and parts.netloc != self.origin:
            self.foreign.append(url)
            route.abort()
        else:
            route.continue_()

    def _console(self, message):
        if message.type == "error":
            self.console_errors.append(message.text)

    def _response(self, response):
        if response.status >= 400:
            self.failed.append(f"{response.url} (HTTP {response.status})")

    def close(self):
        self.context.close()


@pytest.fixture
def visit(browser, server):
    visits = []

    def open_page(docname: str, width: int) -> PageVisit:
        opened = PageVisit(browser, server, docname, width)
        visits.append(opened)
        return opened

    yield open_page
    for opened in visits:
        opened.close()


def wait_for_mathjax(page):
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
    page.evaluate("() => MathJax.startup.promise")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("docname", toc_docnames())
def test_page_in_browser(visit, book_html, docname, width):
    opened = visit(docname, width)
    page = opened.page
    html = (book_html / f"{docname}.html").read_text(encoding="utf-8")

    if 'class="math' in html:
        wait_for_mathjax(page)
        assert page.locator("mjx-container").count() > 0, "MathJax typeset nothing"
    assert page.evaluate(RAW_TEX_JS) == [], "TeX left untypeset"

    assert page.evaluate(BROKEN_IMAGES_JS) == [], "images that did not load"

    widgets = html.count("application/vnd.jupyter.widget-view+json")
    if widgets:
        page.wait_for_selector(".jupyter-widgets.widget-inline-hbox, .jupyter-widgets", timeout=15_000)
        rendered = page.locator(".cell_output .jupyter-widgets:not(.widget-container *)")
        assert rendered.count() >= widgets, "not every saved widget was rendered"

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"{docname.replace('/', '_')}-{width}.png"
    page.screenshot(path=str(shot), full_page=True)

    overflow = page.evaluate(OVERFLOW_JS)
    assert overflow["scrollWidth"] <= overflow["width"], f"page wider than the window: {overflow}"
    assert overflow["elements"] == [], f"elements past the right edge: {overflow}"

    assert opened.foreign == [], "requests to another host"
    assert opened.failed == [], "failed requests"
    assert opened.errors == [], "script errors"
    # A fresh context has an empty localStorage, as on a reader's first visit.
    assert opened.console_errors == [], "errors logged to the console"


def test_formulas_are_not_tab_stops(visit):
    page = visit("book/01_forward", 1280).page
    wait_for_mathjax(page)
    counts = page.evaluate("""() => ({
        formulas: document.querySelectorAll("mjx-container").length,
        stops: document.querySelectorAll('mjx-container[tabindex="0"]').length,
    })""")
    assert counts["formulas"] > 50
    assert counts["stops"] == 0


def test_saved_widgets_are_marked_inert(visit, book_html):
    """Without a kernel a saved widget changes nothing, so it takes no clicks or focus."""
    pages = [
        d for d in toc_docnames()
        if "SliderModel" in (book_html / f"{d}.html").read_text(encoding="utf-8")
    ]
    if not pages:
        pytest.skip("no page shows a slider")
    page = visit(pages[0], 1280).page
    slider = page.locator(".widget-slider").first
    slider.locator(".noUi-handle").wait_for(timeout=15_000)
    snapshot = page.locator(".bp-widget-snapshot").first
    assert snapshot.get_attribute("inert") == ""
    assert page.locator(".bp-widget-note").first.inner_text().startswith(
        "Snapshot of the live widget")
    # Tabbing through the whole page never lands inside the snapshot.
    inside = page.evaluate("""() => {
        const snapshot = document.querySelector(".bp-widget-snapshot");
        const focusable = [...snapshot.querySelectorAll("[tabindex], input, button, select")];
        focusable.forEach((el) => el.focus());
        return focusable.some((el) => document.activeElement === el);
    }""")
    assert not inside
