"""Tests of bpcourse.explorers.depth: depth and initialisation against gradient norms."""

import matplotlib
import numpy as np
import pytest

from bpcourse.depth import DeepNetwork, layer_gradient_norms
from bpcourse.explorers.depth import (
    ACTIVATIONS,
    DEFAULTS,
    DEPTHS,
    EVAL_EVERY,
    FRAME_DEPTHS,
    FRAME_SIZE,
    INITS,
    LOSS_YLIM,
    NORM_BATCH,
    NORM_YLIM,
    NUM_TRAIN,
    RESIDUAL,
    STEPS,
    WIDTH,
    depth_explorer,
    depth_frames,
    depth_run,
    describe_depth_frame,
    describe_depth_run,
    digits_subset,
    draw_depth_frame,
    make_network,
    plot_depth_run,
)
from bpcourse.interactive import FRAME_DPI

matplotlib.use("Agg")


def test_digits_subset_is_standardized_and_read_only():
    X, y = digits_subset()
    assert X.shape == (64, NUM_TRAIN)
    assert y.shape == (NUM_TRAIN,)
    np.testing.assert_allclose(X.mean(axis=1), 0.0, atol=1e-12)
    with pytest.raises(ValueError):
        X[0, 0] = 1.0


def test_make_network_sizes_and_switches():
    net = make_network(4, "tanh", "xavier", True)
    assert isinstance(net, DeepNetwork)
    assert net.sizes == [64, WIDTH, WIDTH, WIDTH, 10]
    # The first layer goes from 64 to WIDTH units, so it cannot be residual.
    assert net.residual == [64 == WIDTH, True, True, False]


def test_defaults_are_slider_values():
    assert DEFAULTS["depth"] in DEPTHS
    assert DEFAULTS["activation"] in ACTIVATIONS
    assert DEFAULTS["init"] in INITS
    assert DEFAULTS["residual"] in RESIDUAL


def test_run_norms_and_initial_loss():
    run = depth_run(4, "tanh", "xavier", False)
    X, y = digits_subset()
    net = make_network(4, "tanh", "xavier", False)
    np.testing.assert_array_equal(
        run["grad_norm"], layer_gradient_norms(net, X[:, :NORM_BATCH], y[:NORM_BATCH])
    )
    np.testing.assert_array_equal(run["layer"], [1, 2, 3, 4])
    assert run["loss"][0] == net.loss(X, y)
    np.testing.assert_array_equal(run["step"], np.arange(0, STEPS + 1, EVAL_EVERY))
    assert run["diverged_step"] is None
    assert run["loss"][-1] < run["loss"][0]


def test_runs_are_deterministic():
    a = depth_run(8, "relu", "he", True)
    b = depth_run(8, "relu", "he", True)
    np.testing.assert_array_equal(a["grad_norm"], b["grad_norm"])
    np.testing.assert_array_equal(a["loss"], b["loss"])


def test_deep_sigmoid_vanishes_and_residual_layers_lift_it():
    plain = depth_run(16, "sigmoid", "xavier", False)
    residual = depth_run(16, "sigmoid", "xavier", True)
    assert plain["grad_norm"][0] < 1e-6 * plain["grad_norm"][-1]
    assert residual["grad_norm"][0] > 1e4 * plain["grad_norm"][0]


def test_small_init_vanishes_in_every_layer():
    run = depth_run(8, "relu", "small", False)
    assert np.all(run["grad_norm"] < 1e-6)


def test_deep_residual_relu_diverges():
    run = depth_run(32, "relu", "he", True)
    assert run["diverged_step"] is not None
    assert run["diverged_step"] <= STEPS
    text = describe_depth_run(run)
    assert "diverged at step" in text
    assert "residual" in text


def test_describe_a_run():
    run = depth_run(2, "tanh", "he", False)
    text = describe_depth_run(run)
    assert text.startswith("L = 2, tanh, he init:")
    assert "‖∂L/∂W¹‖ =" in text
    assert "loss" in text


def test_plot_has_two_fixed_log_axes():
    run = depth_run(4, "sigmoid", "small", False)
    fig = plot_depth_run(run)
    ax_norm, ax_loss = fig.axes[:2]
    assert ax_norm.get_yscale() == "log"
    assert ax_loss.get_yscale() == "log"
    assert ax_norm.get_ylim() == pytest.approx(NORM_YLIM)
    assert ax_loss.get_ylim() == pytest.approx(LOSS_YLIM)


def test_plot_marks_values_beyond_the_axes():
    run = depth_run(32, "sigmoid", "small", False)  # the first norms are below 1e-16
    fig = plot_depth_run(run)
    markers = [line for line in fig.axes[0].lines if line.get_marker() == "v"]
    assert markers
    assert len(markers[0].get_xdata()) >= 1


def test_explorer_has_four_controls_with_the_slider_values():
    widget = depth_explorer()
    controls = {child.description: child for child in widget.children[:-1]}
    assert list(controls["depth L"].options) == list(DEPTHS)
    assert list(controls["activation σ"].options) == list(ACTIVATIONS)
    assert list(controls["initialisation"].options) == list(INITS)
    assert controls["layers"].value is DEFAULTS["residual"]


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


def _decoded(uri):
    import base64

    return base64.b64decode(uri.split(",", 1)[1])


def test_frames_grid_and_start():
    explorer = depth_frames()
    assert explorer.num_frames == len(FRAME_DEPTHS) * 3 * 3 * 2 == 54
    assert explorer.params == {
        "depth": [2, 8, 32],
        "activation": ["sigmoid", "tanh", "relu"],
        "init": ["small", "xavier", "he"],
        "layers": ["plain", "residual"],
    }
    # The widget's depth, 16, is not in the grid: the frames start at the deepest.
    assert explorer.initial == {"depth": 32, "activation": "sigmoid", "init": "xavier",
                                "layers": "plain"}


def test_frames_start_at_widget_depth():
    assert depth_frames(depths=DEPTHS).initial["depth"] == DEFAULTS["depth"]


def test_frames_reject_unknown_layer_kinds():
    with pytest.raises(ValueError, match="invalid layer kinds"):
        depth_frames(layers=("plain", "dense"))


def test_frame_alt_text_by_hand():
    run = depth_run(2, "tanh", "xavier", False)
    # The same numbers from the network itself, before and after training.
    X, y = digits_subset()
    net = make_network(2, "tanh", "xavier", False)
    norms = layer_gradient_norms(net, X[:, :NORM_BATCH], y[:NORM_BATCH])
    assert f"{norms[0]:.1e}" == "1.1e+00"
    assert f"{norms[1]:.1e}" == "7.3e-01"
    assert f"{net.loss(X, y):.3g}" == "2.37"
    assert describe_depth_frame(run) == (
        "Depth L = 2, tanh activation, xavier initialisation, plain layers: before "
        "training ‖∂L/∂W^ℓ‖ is 1.1e+00 in layer 1 and 7.3e-01 in layer 2; in 40 SGD "
        f"steps the training loss goes from 2.37 to {run['loss'][-1]:.3g}."
    )


def test_frame_alt_text_of_a_diverged_run():
    run = depth_run(32, "relu", "he", True)
    text = describe_depth_frame(run)
    assert text.startswith("Depth L = 32, relu activation, he initialisation, "
                           "residual layers: ")
    assert f"{run['grad_norm'][0]:.1e} in layer 1" in text
    assert text.endswith(f"the run diverges at step {run['diverged_step']}.")


def test_frame_alt_text_of_overflowing_gradients():
    run = dict(depth_run(2, "relu", "he", False))
    run["grad_norm"] = np.array([np.inf, 1.0])
    assert "the gradient norms overflow" in describe_depth_frame(run)


def test_frames_differ_and_match_the_live_functions(monkeypatch):
    from bpcourse.explorers import depth as module

    calls = []
    original = module.depth_run

    def counted(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, "depth_run", counted)
    explorer = depth_frames(depths=(2,), activations=("tanh",), inits=("xavier", "he"))
    frames = explorer.render()
    assert explorer.num_frames == len(frames) == 4
    # Each setting is trained once, for its image and its alt text.
    assert len(calls) == 4
    # Keys index depth, activation, init and layers.
    assert frames["0_0_0_0"][0] != frames["0_0_1_0"][0]
    assert frames["0_0_0_0"][1] != frames["0_0_1_0"][1]
    assert frames["0_0_1_0"][0] != frames["0_0_1_1"][0]

    # The frame of (2, tanh, he, plain) is the live widget's plot of that run,
    # drawn on axes of the frame's size.
    import matplotlib.pyplot as plt

    run = original(2, "tanh", "he", False)
    fig, axes = plt.subplots(1, 2, figsize=FRAME_SIZE)
    plot_depth_run(run, axes=axes)
    assert _decoded(frames["0_0_1_0"][0]) == _png(fig)
    assert frames["0_0_1_0"][1] == describe_depth_frame(run)


def test_frame_fits_the_text_column():
    import matplotlib.pyplot as plt

    fig = draw_depth_frame(depth_run(2, "sigmoid", "he", False))
    assert fig.get_size_inches()[0] <= 7
    plt.close(fig)
