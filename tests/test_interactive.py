import json
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from bpcourse.interactive import MAX_FRAMES, FrameExplorer  # noqa: E402


def _draw(slope, offset):
    figure, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [offset, offset + slope])
    ax.set_ylim(-3, 3)
    return figure


def _explorer():
    return FrameExplorer(
        _draw,
        {"slope": [-1.0, 0.0, 1.0], "offset": [0, 1]},
        alt=lambda slope, offset: f"a line of slope {slope} through {offset}",
        labels={"slope": "slope of the line"},
    )


def test_every_combination_has_a_frame():
    frames = _explorer().render()
    assert sorted(frames) == ["0_0", "0_1", "1_0", "1_1", "2_0", "2_1"]
    assert len({uri for uri, _ in frames.values()}) == 6
    assert frames["2_1"][1] == "a line of slope 1.0 through 1"


def test_html_has_sliders_image_and_data():
    page = _explorer()._repr_html_()
    assert page.count('type="range"') == 2
    assert 'aria-label="slope of the line"' in page
    assert page.count("<img") == 1
    data = re.search(r'class="bp-frames-data">(.*?)</script>', page, re.S).group(1)
    data = json.loads(data)
    assert data["values"] == [["-1", "0", "1"], ["0", "1"]]
    assert len(data["frames"]) == 6
    assert data["alts"]["0_0"] == "a line of slope -1.0 through 0"


def test_initial_frame_is_middle_by_default():
    explorer = _explorer()
    page = explorer._repr_html_()
    middle_uri = explorer.render()["1_1"][0]
    assert f'src="{middle_uri}"' in page


def test_output_is_deterministic():
    assert _explorer()._repr_html_() == _explorer()._repr_html_()


def test_too_many_frames_rejected():
    with pytest.raises(ValueError, match="MAX_FRAMES"):
        FrameExplorer(_draw, {"slope": list(range(MAX_FRAMES)), "offset": [0, 1]})


def test_bad_initial_value_rejected():
    with pytest.raises(ValueError, match="not among its values"):
        FrameExplorer(_draw, {"slope": [0, 1], "offset": [0]}, initial={"slope": 5})


def test_repr_counts_frames():
    assert repr(_explorer()) == "FrameExplorer(slope: 3 values, offset: 2 values; 6 frames)"


def _outputs(notebook_path):
    notebook = json.loads(notebook_path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        yield from cell.get("outputs", [])


def test_each_widget_has_stored_frames():
    """The static book cannot run a live widget, so its chapter must also store frames."""
    from pathlib import Path

    book = Path(__file__).resolve().parent.parent / "book"
    missing = []
    for path in sorted(book.glob("*.ipynb")):
        outputs = list(_outputs(path))
        widgets = sum("application/vnd.jupyter.widget-view+json" in o.get("data", {})
                      for o in outputs)
        explorers = sum('class="bp-frames"' in "".join(o.get("data", {}).get("text/html", ""))
                        for o in outputs)
        if explorers < widgets:
            missing.append(f"{path.name}: {widgets} live widget(s), "
                           f"{explorers} FrameExplorer output(s)")
    assert not missing, "\n".join(missing)


def test_frames_are_palette_pngs_smaller_than_full_colour():
    import io

    from PIL import Image

    from bpcourse.interactive import FRAME_COLOURS, png_bytes

    figure = _draw(1.0, 0)
    data = png_bytes(figure, dpi=90)
    assert png_bytes(figure, dpi=90) == data  # the same figure, the same bytes
    full = io.BytesIO()
    figure.savefig(full, format="png", dpi=90)
    plt.close(figure)
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "P"
        assert image.size == (180, 180)  # 2 inches at 90 dpi
        assert len(image.getcolors()) <= FRAME_COLOURS
    assert len(data) < len(full.getvalue())


def test_html_has_a_hidden_zoom_button():
    page = _explorer()._repr_html_()
    button = re.search(r'<button [^>]*class="bp-frames-zoom"[^>]*>([^<]*)</button>', page)
    assert button is not None
    assert "hidden" in button.group(0)
    assert 'aria-pressed="false"' in button.group(0)
    assert button.group(1) == "Show at full size"
    assert 'class="bp-frames-view" style="overflow-x:auto"' in page


def test_zoom_button_style_keeps_it_hidden():
    # An inline display value would override the hidden attribute.
    page = _explorer()._repr_html_()
    button = re.search(r'<button [^>]*class="bp-frames-zoom"[^>]*>', page).group(0)
    assert "display" not in button
