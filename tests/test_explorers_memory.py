"""Tests of bpcourse.explorers.memory: checkpoint segments against memory and time."""

import matplotlib
import numpy as np
import pytest

from bpcourse.checkpoint import cache_bytes, flop_counts, memory_model, segment_boundaries
from bpcourse.explorers.memory import (
    FRAME_SIZE,
    MB,
    NUM_CLASSES,
    NUM_EXAMPLES,
    NUM_LAYERS,
    WIDTH,
    describe_schedule,
    describe_schedule_frame,
    draw_schedule_frame,
    explorer_problem,
    explorer_sizes,
    memory_explorer,
    memory_frames,
    plot_schedule,
    schedule_costs,
    segments_curve,
)
from bpcourse.interactive import FRAME_DPI

matplotlib.use("Agg")

#: A problem small enough for a whole curve in a fraction of a second.
SMALL = {"num_layers": 6, "width": 16, "N": 64}


@pytest.fixture(scope="module")
def curve():
    return segments_curve(**SMALL)


def test_sizes_and_problem():
    assert explorer_sizes() == [WIDTH] * NUM_LAYERS + [NUM_CLASSES]
    net, X, Y = explorer_problem()
    assert net.sizes == explorer_sizes()
    assert X.shape == (WIDTH, NUM_EXAMPLES)
    assert Y.shape == (NUM_EXAMPLES,)
    assert explorer_problem() is explorer_problem()
    with pytest.raises(ValueError):
        net.weights[0][0, 0] = 1.0
    assert explorer_problem(dtype="float32")[1].dtype == np.float32


def test_one_segment_is_ordinary_backpropagation():
    run = schedule_costs(1, **SMALL)
    sizes = explorer_sizes(SMALL["num_layers"], SMALL["width"])
    assert run["boundaries"] == [0, SMALL["num_layers"]]
    assert run["model_bytes"] == cache_bytes(sizes, SMALL["N"])
    assert run["recompute"] == 0
    assert run["recomputed_layers"] == 0
    counts = flop_counts(sizes, SMALL["N"])
    assert run["time"] == (counts["forward"] + counts["backward"]) / counts["forward"]


def test_costs_by_hand():
    # 6 layers of 16 units on 64 examples, k = 3: boundaries [0, 2, 4, 6]; layers
    # 1 … 4 are recomputed, 4 · 2 · 16 · 16 · 64 FLOPs.
    run = schedule_costs(3, **SMALL)
    assert run["boundaries"] == [0, 2, 4, 6]
    assert run["recompute"] == 4 * 2 * 16 * 16 * 64
    assert run["recomputed_layers"] == 4


def test_peak_memory_repeats_up_to_python_small_objects():
    # The arrays are the same bytes on every run; Python's free lists for small
    # objects can change what tracemalloc records by some tens of bytes.
    peaks = [schedule_costs(2, **SMALL)["peak_bytes"] for _ in range(3)]
    assert max(peaks) - min(peaks) < 1_000


def test_curve_matches_the_model(curve):
    L = SMALL["num_layers"]
    np.testing.assert_array_equal(curve["k"], np.arange(1, L + 1))
    sizes = explorer_sizes(L, SMALL["width"])
    for k, model, boundaries in zip(curve["k"], curve["model_bytes"], curve["boundaries"]):
        assert boundaries == segment_boundaries(L, k)
        assert model == memory_model(sizes, SMALL["N"], boundaries)["total"]
    assert curve["cache_bytes"] == cache_bytes(sizes, SMALL["N"])
    assert curve["sqrt_k"] == 2
    assert np.all(np.diff(curve["time"]) >= 0)


def test_checkpointing_saves_measured_memory(curve):
    assert curve["peak_bytes"].min() < 0.7 * curve["peak_bytes"][0]
    assert np.argmin(curve["peak_bytes"]) > 0


def test_default_sqrt_schedule_halves_memory():
    run1, run4 = schedule_costs(1), schedule_costs(4)
    assert run4["peak_bytes"] < 0.5 * run1["peak_bytes"]
    assert run4["time"] == pytest.approx(3.73, abs=0.01)


def test_describe_and_plot(curve):
    text = describe_schedule(curve, 2)
    assert text.startswith("k = 2 segments: peak ")
    assert "forward passes" in text
    fig = plot_schedule(curve, 2)
    ax_layers, ax_curve = fig.axes[:2]
    assert len(ax_layers.patches) >= SMALL["num_layers"] + 1
    assert ax_curve.get_ylim()[1] >= curve["peak_bytes"].max() / MB


def test_plot_title_shortens_long_boundaries():
    import matplotlib.pyplot as plt

    curve = segments_curve(num_layers=10, width=8, N=16)
    fig = plot_schedule(curve, 10)
    assert fig.axes[0].get_title() == "k = 10: boundaries [0, 1, 2, …, 9, 10]"
    plt.close(fig)
    fig = plot_schedule(curve, 5)
    assert fig.axes[0].get_title() == "k = 5: boundaries [0, 2, 4, 6, 8, 10]"
    plt.close(fig)


def test_explorer_slider_runs_over_k(curve):
    widget = memory_explorer(curve)
    slider = widget.children[0]
    assert list(slider.options) == list(range(1, SMALL["num_layers"] + 1))
    assert slider.value == curve["sqrt_k"]


# --- frames without a kernel ----------------------------------------------------------


def _png(fig, dpi=FRAME_DPI):
    """The bytes ``FrameExplorer`` stores for a figure."""
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    from bpcourse.interactive import png_bytes

    buffer.write(png_bytes(fig, dpi))
    plt.close(fig)
    return buffer.getvalue()


def test_frames_grid_and_start(curve):
    explorer = memory_frames(curve)
    assert explorer.num_frames == SMALL["num_layers"] == 6
    assert explorer.params == {"k": [1, 2, 3, 4, 5, 6]}
    assert explorer.initial == {"k": curve["sqrt_k"]} == {"k": 2}


def test_frames_measure_the_curve_when_none_is_given():
    explorer = memory_frames(num_layers=4, width=8, N=16)
    assert explorer.params == {"k": [1, 2, 3, 4]}
    assert explorer.initial == {"k": 2}


def test_frame_alt_text_by_hand(curve):
    # 6 layers, k = 3: the boundaries are [0, 2, 4, 6], so a^0, a^2 and a^4 are
    # stored, layers 5 and 6 are the last segment and layers 1 … 4 run again.
    text = describe_schedule_frame(curve, 3)
    peak, model = curve["peak_bytes"] / MB, curve["model_bytes"] / MB
    assert text == (
        "3 checkpoint segments of the 6-layer network, boundaries [0, 2, 4, 6]: the "
        "forward pass stores the 3 segment inputs a^0, a^2, a^4 and keeps the cache "
        "of the last segment, layers 5 to 6, and the backward pass runs layers 1 to "
        f"4 forward again. The peak memory is {peak[2]:.2f} MB measured and "
        f"{model[2]:.2f} MB of activations in the model, against {peak[0]:.2f} MB "
        f"measured for one segment, and a step costs {curve['time'][2]:.2f} forward "
        f"passes, against {curve['time'][0]:.2f} for one segment."
    )
    # Without checkpoints, and with one layer per segment.
    assert describe_schedule_frame(curve, 1).startswith(
        "1 checkpoint segment of the 6-layer network, ordinary backpropagation: "
    )
    last = describe_schedule_frame(curve, 6)
    assert "the 6 segment inputs a^0, a^1, a^2, a^3, a^4, a^5 and" in last
    assert "the last segment, layer 6," in last
    # Past six segment inputs, the list is shortened.
    eight = segments_curve(num_layers=8, width=8, N=16)
    text = describe_schedule_frame(eight, 8)
    assert "the 8 segment inputs a^0, a^1, …, a^7 and" in text


def test_frames_differ_and_match_the_live_functions(curve):
    frames = memory_frames(curve).render()
    assert len(frames) == 6
    assert len({uri for uri, _ in frames.values()}) == 6
    assert len({alt for _, alt in frames.values()}) == 6
    assert frames["2"][1] == describe_schedule_frame(curve, 3)

    # The frame of k = 3 is the live widget's plot_schedule(curve, 3), drawn on
    # axes of the frame's size with its title on two lines.
    import base64

    import matplotlib.pyplot as plt

    live = plot_schedule(curve, 3)
    fig, axes = plt.subplots(1, 2, figsize=FRAME_SIZE,
                             gridspec_kw={"width_ratios": [1.1, 1]})
    plot_schedule(curve, 3, axes=axes)
    for mine, theirs in zip(fig.axes, live.axes):
        assert mine.get_title() == theirs.get_title()
        for a, b in zip(mine.lines, theirs.lines):
            np.testing.assert_array_equal(a.get_xydata(), b.get_xydata())
    plt.close(live)
    fig.suptitle(describe_schedule(curve, 3).replace("; ", ";\n", 1), fontsize=9)
    fig.tight_layout()
    assert base64.b64decode(frames["2"][0].split(",", 1)[1]) == _png(fig)


def test_frame_fits_the_text_column(curve):
    import matplotlib.pyplot as plt

    fig = draw_schedule_frame(curve, 2)
    assert fig.get_size_inches()[0] <= 7
    title = describe_schedule(curve, 2).replace("; ", ";\n", 1)
    assert fig.texts[0].get_text() == title
    plt.close(fig)
