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
    INITS,
    LOSS_YLIM,
    NORM_BATCH,
    NORM_YLIM,
    NUM_TRAIN,
    RESIDUAL,
    STEPS,
    WIDTH,
    depth_explorer,
    depth_run,
    describe_depth_run,
    digits_subset,
    make_network,
    plot_depth_run,
)

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
