"""The kernel-free explorers (``.bp-frames``) of the built book, in headless Chromium.

On every page that has one, each slider is moved with the keyboard and by
setting its value, and the image, its alt text and the slider's ``<output>``
must follow. The pages are served from 127.0.0.1 only, as in test_browser.py.
"""

from __future__ import annotations

import pytest
from test_browser import ARTIFACTS, browser, server, visit  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

#: The chapters whose live widget has a kernel-free version.
CHAPTERS_WITH_FRAMES = [
    "book/01_forward",
    "book/02_loss",
    "book/03_backward",
    "book/04_gradients",
    "book/05_training",
    "book/06_graphs",
    "book/07_depth",
    "book/08_memory",
    "book/09_bptt",
    "book/10_precision",
    "book/11_beyond",
    "book/12_pitfalls",
    "book/13_architectures",
]

# The explorer's frames, alt texts and slider values, from its JSON block.
DATA_JS = """
(root) => JSON.parse(root.querySelector("script.bp-frames-data").textContent)
"""

# What the explorer shows now: the image, its alt text, and each slider's
# position and readout.
STATE_JS = """
(root) => ({
  src: root.querySelector("img.bp-frames-image").getAttribute("src"),
  alt: root.querySelector("img.bp-frames-image").getAttribute("alt"),
  positions: [...root.querySelectorAll("input.bp-frames-slider")].map((s) => s.value),
  outputs: [...root.querySelectorAll("output")].map((o) => o.textContent),
})
"""

# Set a slider's value from a script and fire the input event that a move fires.
SET_VALUE_JS = """
(slider, value) => {
  slider.value = String(value);
  slider.dispatchEvent(new Event("input", { bubbles: true }));
}
"""


def frame_pages(book_html):
    """The docnames of the built pages with a kernel-free explorer, e.g. 'book/01_forward'."""
    pages = []
    for path in sorted(book_html.rglob("*.html")):
        relative = path.relative_to(book_html)
        if relative.parts[0].startswith("_"):
            continue
        if 'class="bp-frames"' in path.read_text(encoding="utf-8"):
            pages.append(str(relative.with_suffix("")))
    return pages


def expected(data, positions):
    """The frame, alt text and readouts that the slider positions select."""
    key = "_".join(positions)
    readouts = [data["values"][i][int(p)] for i, p in enumerate(positions)]
    return data["frames"][key], data["alts"][key], readouts


def assert_shows(root, data, before=None):
    state = root.evaluate(STATE_JS)
    src, alt, readouts = expected(data, state["positions"])
    assert state["src"] == src, f"the image is not frame {state['positions']}"
    assert state["alt"] == alt
    assert state["outputs"] == readouts
    if before is not None:
        assert state["src"] != before["src"], "the image did not change"
        assert state["alt"] != before["alt"], "the alt text did not change"
        assert state["outputs"] != before["outputs"], "the readout did not change"
    return state


def other_position(data, positions, index):
    """A position of slider ``index`` whose frame differs from the current one."""
    src, alt, _ = expected(data, positions)
    for candidate in reversed(range(len(data["values"][index]))):
        moved = list(positions)
        moved[index] = str(candidate)
        other_src, other_alt, _ = expected(data, moved)
        if other_src != src and other_alt != alt:
            return candidate
    raise AssertionError(f"slider {index} has no position with a different frame")


def test_widget_chapters_have_frames(book_html):
    assert set(CHAPTERS_WITH_FRAMES) <= set(frame_pages(book_html))


def test_sliders_switch_frames(visit, book_html):
    pages = frame_pages(book_html)
    assert pages, "no page has a kernel-free explorer"
    shot_taken = False
    for docname in pages:
        opened = visit(docname, 1280)
        page = opened.page
        explorers = page.locator(".bp-frames")
        assert explorers.count() >= 1
        for n in range(explorers.count()):
            root = explorers.nth(n)
            root.scroll_into_view_if_needed()
            data = root.evaluate(DATA_JS)
            sliders = root.locator("input.bp-frames-slider")
            assert sliders.count() == len(data["values"])
            state = assert_shows(root, data)
            for i in range(sliders.count()):
                slider = sliders.nth(i)
                # The keyboard: one step right, or left from the last position.
                at_end = int(state["positions"][i]) == len(data["values"][i]) - 1
                slider.focus()
                page.keyboard.press("ArrowLeft" if at_end else "ArrowRight")
                state = assert_shows(root, data, before=state)
                assert slider.get_attribute("aria-valuetext") == state["outputs"][i]

                # A value set by a script, with an input event.
                target = other_position(data, state["positions"], i)
                slider.evaluate(SET_VALUE_JS, target)
                state = assert_shows(root, data, before=state)
                assert state["positions"][i] == str(target)

                # Playwright's fill, which sets the value and fires input.
                target = other_position(data, state["positions"], i)
                slider.fill(str(target))
                state = assert_shows(root, data, before=state)
                assert state["positions"][i] == str(target)
            if not shot_taken:
                ARTIFACTS.mkdir(exist_ok=True)
                name = docname.replace("/", "_")
                root.screenshot(path=str(ARTIFACTS / f"{name}-frames.png"))
                shot_taken = True
        assert opened.errors == [], f"script errors on {docname}"
        assert opened.foreign == [], f"requests to another host from {docname}"


# The explorer's image and its box: rendered and natural widths, and whether
# the box scrolls; and the page's own widths.
SIZES_JS = """
(root) => {
  const image = root.querySelector("img.bp-frames-image");
  const view = root.querySelector(".bp-frames-view");
  return {
    rendered: image.clientWidth, natural: image.naturalWidth,
    viewScrolls: view.scrollWidth > view.clientWidth + 1,
    pageWidth: document.documentElement.scrollWidth,
    window: document.documentElement.clientWidth,
  };
}
"""


@pytest.mark.parametrize("docname", ["book/03_backward", "book/09_bptt"])
def test_zoom_shows_full_size_frame_on_a_phone(visit, docname):
    page = visit(docname, 375).page
    explorers = page.locator(".bp-frames")
    assert explorers.count() >= 1
    for n in range(explorers.count()):
        root = explorers.nth(n)
        root.scroll_into_view_if_needed()
        zoom = root.locator("button.bp-frames-zoom")
        fitted = root.evaluate(SIZES_JS)
        assert fitted["rendered"] < 0.9 * fitted["natural"]
        assert zoom.is_visible()
        assert zoom.get_attribute("aria-pressed") == "false"

        zoom.focus()
        page.keyboard.press("Enter")
        full = root.evaluate(SIZES_JS)
        assert full["rendered"] == full["natural"]
        assert full["viewScrolls"]
        assert full["pageWidth"] <= full["window"]
        assert zoom.get_attribute("aria-pressed") == "true"
        assert zoom.inner_text() == "Fit to the column"
        if n == 0:
            ARTIFACTS.mkdir(exist_ok=True)
            name = docname.replace("/", "_")
            root.screenshot(path=str(ARTIFACTS / f"{name}-375-full-size.png"))

        zoom.click()
        assert root.evaluate(SIZES_JS)["rendered"] == fitted["rendered"]
        assert zoom.get_attribute("aria-pressed") == "false"


def test_zoom_button_hidden_when_frame_fits(visit):
    page = visit("book/03_backward", 1280).page
    root = page.locator(".bp-frames").first
    root.scroll_into_view_if_needed()
    sizes = root.evaluate(SIZES_JS)
    button = root.locator("button.bp-frames-zoom")
    assert button.is_visible() == (sizes["rendered"] < 0.9 * sizes["natural"])


# True once the explorer's current frame has loaded.
LOADED_JS = """
(root) => { const image = root.querySelector("img.bp-frames-image");
            return image.complete && image.naturalWidth > 0; }
"""


def _settle(page, root):
    page.wait_for_function(LOADED_JS, arg=root.element_handle())
    page.wait_for_timeout(50)  # the load handler runs after complete turns true


def test_zoomed_frames_keep_their_own_width(visit):
    page = visit("book/13_architectures", 375).page
    widths_seen = set()
    explorers = page.locator(".bp-frames")
    for n in range(explorers.count()):
        root = explorers.nth(n)
        root.scroll_into_view_if_needed()
        zoom = root.locator("button.bp-frames-zoom")
        if not zoom.is_visible():
            continue
        zoom.click()
        data = root.evaluate(DATA_JS)
        sliders = root.locator("input.bp-frames-slider")
        for i in range(sliders.count()):
            for position in range(len(data["values"][i])):
                sliders.nth(i).evaluate(SET_VALUE_JS, position)
                _settle(page, root)
                sizes = root.evaluate(SIZES_JS)
                widths_seen.add(sizes["natural"])
                if zoom.get_attribute("aria-pressed") == "true":
                    assert sizes["rendered"] == sizes["natural"], (n, i, position)
                assert sizes["pageWidth"] <= sizes["window"]
    # The chapter's frames differ in width, which is what this test is about.
    assert len(widths_seen) >= 2


def test_widening_the_window_ends_the_zoom(visit):
    opened = visit("book/03_backward", 375)
    page = opened.page
    root = page.locator(".bp-frames").first
    root.scroll_into_view_if_needed()
    zoom = root.locator("button.bp-frames-zoom")
    zoom.click()
    assert zoom.get_attribute("aria-pressed") == "true"
    page.set_viewport_size({"width": 1400, "height": 900})
    page.wait_for_timeout(200)
    sizes = root.evaluate(SIZES_JS)
    assert sizes["rendered"] == sizes["natural"]
    assert zoom.get_attribute("aria-pressed") == "false"
    assert not zoom.is_visible()
