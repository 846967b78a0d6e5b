"""Tests of bpcourse.explorers.bptt: gradient norms over time and truncation windows."""

import matplotlib
import numpy as np
import pytest

from bpcourse.explorers import bptt
from bpcourse.explorers.bptt import (
    INPUT_SCALES,
    RADII,
    SEQUENCE_LENGTHS,
    bptt_explorer,
    describe_flow,
    draw_gradient_flow,
    gradient_flow,
    plot_gradient_flow,
    plot_truncation_windows,
    plot_unrolled,
    truncation_mask,
    truncation_similarity,
)
from bpcourse.interactive import FRAME_DPI
from bpcourse.rnn import RNN, gradient_norms_over_time, sine_sequences, truncated_gradients

matplotlib.use("Agg")


# --- gradient_flow ------------------------------------------------------------------


def test_flow_shapes():
    result = gradient_flow(T=25, rho=0.9, input_scale=1.0)
    assert result["t"].tolist() == list(range(1, 26))
    assert result["norm"].shape == (25,)
    assert result["bound"].shape == (25,)


def test_flow_agrees_with_package():
    result = gradient_flow(T=30, rho=1.25, input_scale=0.1)
    package = gradient_norms_over_time(30, 1.25, d_h=bptt.HIDDEN, input_scale=0.1)
    np.testing.assert_array_equal(result["norm"], package["norm"])


def test_flow_bound_by_hand():
    result = gradient_flow(T=4, rho=0.5)
    np.testing.assert_allclose(result["bound"], [0.125, 0.25, 0.5, 1.0])


def test_flow_per_step_is_geometric_mean():
    result = gradient_flow(T=10, rho=0.8)
    norm = result["norm"]
    assert result["per_step"] == pytest.approx((norm[0] / norm[-1]) ** (1 / 9))
    assert result["per_step"] <= 0.8 + 1e-12


def test_flow_of_one_step_has_no_rate():
    assert np.isnan(gradient_flow(T=1, rho=0.9)["per_step"])


@pytest.mark.parametrize("rho", RADII)
def test_every_slider_radius_stays_below_bound(rho):
    for T in SEQUENCE_LENGTHS:
        for scale in INPUT_SCALES:
            result = gradient_flow(T, rho, scale)
            assert np.all(result["norm"] <= result["bound"] * (1 + 1e-12))


def test_flow_is_deterministic():
    first = gradient_flow(50, 1.1, 1.0)
    second = gradient_flow(50, 1.1, 1.0)
    np.testing.assert_array_equal(first["norm"], second["norm"])


def test_describe_flow_names_the_settings():
    text = describe_flow(gradient_flow(10, 0.9, 0.1))
    assert "T = 10" in text
    assert "ρ = 0.9" in text


# --- truncation ---------------------------------------------------------------------


def test_truncation_mask_by_hand():
    window, losses = truncation_mask(12, 3, 5)
    assert window.shape == losses.shape == (4, 12)
    np.testing.assert_array_equal(np.flatnonzero(window[1]) + 1, [2, 3, 4, 5, 6])
    np.testing.assert_array_equal(np.flatnonzero(losses[1]) + 1, [4, 5, 6])


def test_truncation_mask_counts_each_loss_once():
    _, losses = truncation_mask(11, 4, 6)
    np.testing.assert_array_equal(losses.sum(axis=0), 1.0)


def test_losses_lie_inside_their_window():
    window, losses = truncation_mask(10, 3, 4)
    assert np.all(window[losses > 0] == 1.0)


def test_similarity_agrees_with_package():
    rnn = RNN(d_x=1, d_h=8, d_y=1, seed=0)
    X, Y = sine_sequences(N=4, T=12, seed=0)
    similarity = truncation_similarity(rnn, X, Y, [2, 12])
    full = rnn.gradients(X, Y).as_list()
    truncated = truncated_gradients(rnn, X, Y, 2, 2)
    a = np.concatenate([g.ravel() for g in truncated])
    b = np.concatenate([g.ravel() for g in full])
    assert similarity[0] == pytest.approx(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
    assert similarity[1] == pytest.approx(1.0)


# --- drawing and wiring -------------------------------------------------------------


def test_drawing_functions_return_axes():
    import matplotlib.pyplot as plt

    assert plot_gradient_flow(gradient_flow(10, 0.9)) is not None
    assert plot_truncation_windows(8, 2, 3) is not None
    assert plot_unrolled(3) is not None
    plt.close("all")


def test_draw_gradient_flow_returns_figure():
    import matplotlib.pyplot as plt

    figure = draw_gradient_flow(10, 1.0, 0.1)
    assert len(figure.axes) == 1
    assert figure.axes[0].get_yscale() == "log"
    plt.close(figure)


def test_explorer_has_three_sliders():
    widget = bptt_explorer()
    names = [child.description for child in widget.children[:-1]]
    assert names == ["sequence length T", "spectral radius ρ of W_hh", "input std"]


# --- frames without a kernel ----------------------------------------------------------


def test_frames_cover_every_slider_value():
    frames = bptt.bptt_frames()
    assert frames.num_frames == len(SEQUENCE_LENGTHS) * len(RADII) * len(INPUT_SCALES)
    assert frames.initial == {"T": bptt.DEFAULT_T, "rho": bptt.DEFAULT_RHO,
                              "input_scale": bptt.DEFAULT_INPUT_SCALE}


def test_frames_render_with_alt_text():
    frames = bptt.bptt_frames(lengths=(10,), radii=(0.5, 2.0), input_scales=(0.1,))
    rendered = frames.render()
    assert len(rendered) == 2
    for uri, alt in rendered.values():
        assert uri.startswith("data:image/png;base64,")
        assert "T = 10" in alt


def test_frame_alt_text_names_the_result():
    text = bptt.describe_flow_frame(gradient_flow(10, 0.5, 0.1))
    assert "ρ = 0.5" in text
    assert "step 1" in text


def _png(fig, dpi=FRAME_DPI):
    """The bytes ``FrameExplorer`` stores for a figure."""
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    from bpcourse.interactive import png_bytes

    buffer.write(png_bytes(fig, dpi))
    plt.close(fig)
    return buffer.getvalue()


def test_frames_grid():
    frames = bptt.bptt_frames()
    assert frames.num_frames == 64
    assert frames.params == {"T": [10, 25, 50, 100],
                             "rho": [0.5, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0],
                             "input_scale": [0.1, 1.0]}


def test_frame_alt_text_by_hand():
    # T = 4, ρ = 0.5: the norms come from the package's measurement, and the
    # factor per step back is their geometric mean over the 3 steps.
    norm = gradient_norms_over_time(4, 0.5, d_h=bptt.HIDDEN, input_scale=0.1)["norm"]
    assert norm[-1] == 1.0
    factor = (norm[0] / norm[-1]) ** (1 / 3)
    assert factor <= 0.5
    assert bptt.describe_flow_frame(gradient_flow(4, 0.5, 0.1)) == (
        "Gradient norm against time step for T = 4 steps, spectral radius ρ = 0.5 "
        "and inputs of standard deviation 0.1: the norm goes from 1 at step 4 to "
        f"{norm[0]:.2g} at step 1, a factor of {factor:.3g} per step back, below the "
        "bound ρ^(T−t)."
    )


def test_frames_differ_and_match_the_live_functions():
    import base64

    import matplotlib.pyplot as plt

    explorer = bptt.bptt_frames(lengths=(25,), radii=(0.9, 1.5),
                                input_scales=(0.1, 1.0))
    frames = explorer.render()
    assert len(frames) == 4
    assert frames["0_0_0"][0] != frames["0_1_0"][0]
    assert frames["0_0_0"][0] != frames["0_0_1"][0]
    assert frames["0_0_1"][1] != frames["0_1_1"][1]
    # The frame of (25, 1.5, 1) is what the live widget draws for that setting.
    fig, ax = plt.subplots(figsize=(6, 3.4))
    plot_gradient_flow(gradient_flow(25, 1.5, 1.0), ax=ax)
    fig.tight_layout()
    assert base64.b64decode(frames["0_1_1"][0].split(",", 1)[1]) == _png(fig)
    assert frames["0_1_1"][1] == bptt.describe_flow_frame(gradient_flow(25, 1.5, 1.0))
