"""Tests of bpcourse.explorers.beyond: forward-gradient error against the number of directions."""

import matplotlib
import numpy as np
import pytest

from bpcourse.beyond.forward_gradient import forward_gradient
from bpcourse.beyond.vectors import flatten
from bpcourse.explorers import beyond
from bpcourse.explorers.beyond import (
    DEFAULT_DIRECTIONS,
    DIRECTIONS,
    SEEDS,
    error_curve,
    forward_gradient_explorer,
    gradient_frame,
    plot_frame,
    problem,
    true_gradient,
)

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def curve():
    return error_curve(DIRECTIONS, repetitions=10)


def test_problem_is_fixed():
    net_a, X_a, y_a = problem()
    net_b, X_b, y_b = problem()
    np.testing.assert_array_equal(X_a, X_b)
    np.testing.assert_array_equal(y_a, y_b)
    np.testing.assert_array_equal(flatten(net_a.parameters()), flatten(net_b.parameters()))
    assert X_a.shape == (beyond.SIZES[0], beyond.NUM_EXAMPLES)


def test_problem_uses_every_class():
    _, _, y = problem()
    assert set(np.unique(y)) == set(range(beyond.SIZES[-1]))


def test_true_gradient_is_backprop():
    net, X, y = problem()
    np.testing.assert_array_equal(true_gradient(), flatten(net.gradients(X, y).as_list()))
    assert not true_gradient().flags.writeable


def test_frame_matches_package():
    frame = gradient_frame(8, seed=2)
    net, X, y = problem()
    estimate, _ = forward_gradient(net, X, y, rng=2, num_directions=8)
    np.testing.assert_array_equal(frame["estimate"], flatten(estimate))
    assert frame["num_parameters"] == 51
    assert frame["expected_relative_error"] == pytest.approx(np.sqrt(52 / 8))


def test_frame_is_reproducible():
    a, b = gradient_frame(4, 1), gradient_frame(4, 1)
    np.testing.assert_array_equal(a["estimate"], b["estimate"])
    assert a["cosine"] == b["cosine"]


def test_frame_error_fields_agree():
    frame = gradient_frame(16, 0)
    g, e = frame["gradient"], frame["estimate"]
    assert frame["relative_error"] == pytest.approx(np.linalg.norm(e - g) / np.linalg.norm(g))
    assert frame["cosine"] == pytest.approx(e @ g / (np.linalg.norm(e) * np.linalg.norm(g)))


def test_more_directions_align_better():
    cosines = [np.mean([gradient_frame(k, s)["cosine"] for s in SEEDS]) for k in (1, 256)]
    assert cosines[1] > cosines[0] + 0.4


def test_curve_follows_theory(curve):
    ratio = curve["measured"] / curve["expected"]
    assert np.all((ratio > 0.4) & (ratio < 2.0))
    assert np.all(np.diff(curve["expected"]) < 0)


def test_curve_is_reproducible(curve):
    again = error_curve(DIRECTIONS, repetitions=10)
    np.testing.assert_array_equal(curve["measured"], again["measured"])


def test_invalid_directions_are_rejected():
    with pytest.raises(ValueError, match="positive integer"):
        gradient_frame(0)
    with pytest.raises(TypeError, match="positive integer"):
        gradient_frame(2.5)


def test_slider_values():
    assert DEFAULT_DIRECTIONS in DIRECTIONS
    assert list(DIRECTIONS) == sorted(DIRECTIONS)
    assert DIRECTIONS[-1] > 51


def test_plot_frame_draws_both_panels(curve):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2)
    plot_frame(gradient_frame(1, 0), curve, axes)
    assert axes[0].get_title().startswith("k = 1")
    assert axes[1].get_xscale() == "log"
    plt.close(fig)


def test_plot_frame_axis_is_fixed(curve):
    import matplotlib.pyplot as plt

    limits = []
    for k in (1, 256):
        fig, axes = plt.subplots(1, 2)
        plot_frame(gradient_frame(k, 0), curve, axes)
        limits.append(axes[0].get_ylim())
        plt.close(fig)
    assert limits[0] == limits[1]


def test_explorer_builds():
    widget = forward_gradient_explorer(directions=(1, 4), seeds=(0,))
    assert len(widget.children) == 3
    matplotlib.pyplot.close("all")


def _frame_uri(figure, dpi):
    """Return ``figure`` as the PNG data URI that ``FrameExplorer`` embeds."""
    import base64
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    from bpcourse.interactive import png_bytes

    buffer.write(png_bytes(figure, dpi))
    plt.close(figure)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return "data:image/png;base64," + encoded


def test_frames_grid_and_start():
    frames = beyond.beyond_frames()
    assert frames.num_frames == len(DIRECTIONS) * len(SEEDS) == 36
    assert frames.params == {"num_directions": list(DIRECTIONS), "seed": list(SEEDS)}
    assert frames.initial == {"num_directions": DEFAULT_DIRECTIONS, "seed": 0}


def test_frame_alt_text_names_the_numbers():
    frame = gradient_frame(8, seed=2)
    text = beyond.describe_gradient_frame(frame)
    assert text.startswith("Forward-gradient estimate from k = 8 random directions "
                           "(seed 2) against the 51 entries")
    assert f"cosine similarity {frame['cosine']:.2f}" in text
    assert f"relative error {frame['relative_error']:.2f}" in text
    # √((P + 1)/k) = √(52/8) = 2.55.
    assert "√((P + 1)/k) = 2.55 is expected" in text
    single = beyond.describe_gradient_frame(gradient_frame(1, seed=0))
    assert "k = 1 random direction (seed 0)" in single


def test_frame_alt_text_with_the_curve(curve):
    text = beyond.describe_gradient_frame(gradient_frame(4, 0), curve)
    index = list(DIRECTIONS).index(4)
    assert f"of 10 estimates at this k is {curve['measured'][index]:.3g}" in text
    assert "(P + 1)/k = 13." in text


def test_frames_differ_and_match_the_widget_drawing():
    import matplotlib.pyplot as plt

    frames = beyond.beyond_frames(directions=(1, 64), seeds=(0, 1), dpi=40)
    rendered = frames.render()
    assert len({uri for uri, _ in rendered.values()}) == 4
    # The live widget draws plot_frame on the same estimate and curve.
    fig, axes = plt.subplots(1, 2, figsize=(7, 3.2))
    plot_frame(gradient_frame(64, 1), error_curve((1, 64)), axes)
    fig.tight_layout()
    assert rendered["1_1"][0] == _frame_uri(fig, 40)
    assert "k = 64 random directions (seed 1)" in rendered["1_1"][1]
