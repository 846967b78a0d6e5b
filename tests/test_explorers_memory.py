"""Tests of bpcourse.explorers.memory: checkpoint segments against memory and time."""

import matplotlib
import numpy as np
import pytest

from bpcourse.checkpoint import cache_bytes, flop_counts, memory_model, segment_boundaries
from bpcourse.explorers.memory import (
    MB,
    NUM_CLASSES,
    NUM_EXAMPLES,
    NUM_LAYERS,
    WIDTH,
    describe_schedule,
    explorer_problem,
    explorer_sizes,
    memory_explorer,
    plot_schedule,
    schedule_costs,
    segments_curve,
)

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


def test_explorer_slider_runs_over_k(curve):
    widget = memory_explorer(curve)
    slider = widget.children[0]
    assert list(slider.options) == list(range(1, SMALL["num_layers"] + 1))
    assert slider.value == curve["sqrt_k"]
