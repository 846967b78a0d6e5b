"""Tests of bpcourse.explorers.pitfalls: bugs injected into a small network."""

import math

import matplotlib
import numpy as np
import pytest

from bpcourse.explorers import pitfalls
from bpcourse.explorers.pitfalls import (
    PITFALLS,
    BuggyNetwork,
    buggy_network,
    describe_symptom,
    gradient_norms,
    pitfall_explorer,
    pitfall_symptom,
    plot_symptom,
    train_losses,
    xor_points,
)
from bpcourse.network import Network

matplotlib.use("Agg")

GRADIENT_BUGS = [
    "sigma_prime_missing",
    "sigma_prime_of_a",
    "cache_overwritten_in_place",
    "db_averaged_twice",
]


@pytest.fixture(scope="module")
def symptoms():
    return {name: pitfall_symptom(name) for name in PITFALLS}


def test_unknown_pitfall_is_rejected():
    with pytest.raises(ValueError, match="unknown pitfall"):
        BuggyNetwork([2, 3, 2], pitfall="typo")


def test_xor_points_shapes():
    X, y = xor_points()
    assert X.shape == (2, pitfalls.NUM_POINTS)
    assert y.shape == (pitfalls.NUM_POINTS,)


def test_correct_network_matches_the_package():
    X, y = xor_points()
    buggy = buggy_network("none")
    plain = Network([2, pitfalls.HIDDEN, 2], activation="sigmoid", seed=0)
    ours, theirs = buggy.gradients(X, y), plain.gradients(X, y)
    for a, b in zip(ours.as_list(), theirs.as_list()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["sigma_prime_missing", "sigma_prime_of_a"])
def test_sigma_prime_bugs_spoil_the_first_layer_only(name):
    X, y = xor_points()
    right = buggy_network("none").gradients(X, y)
    wrong = buggy_network(name).gradients(X, y)
    np.testing.assert_allclose(wrong.dW[1], right.dW[1], rtol=1e-12)
    assert not np.allclose(wrong.dW[0], right.dW[0])


def test_sigma_prime_missing_by_hand():
    X, y = xor_points()
    net = buggy_network("sigma_prime_missing")
    right = buggy_network("none").gradients(X, y)
    wrong = net.gradients(X, y)
    np.testing.assert_allclose(
        wrong.delta[0], net.weights[1].T @ right.delta[1], rtol=1e-12
    )


def test_in_place_bug_spoils_W2_and_the_cache():
    X, y = xor_points()
    net = buggy_network("cache_overwritten_in_place")
    _, cache = net.forward(X)
    a1 = cache.a[1].copy()
    grads = net.backward(cache, y)
    np.testing.assert_allclose(cache.a[1], a1 * (1 - a1), rtol=1e-12)
    right = buggy_network("none").gradients(X, y)
    np.testing.assert_allclose(grads.delta[0], right.delta[0], rtol=1e-12)
    assert not np.allclose(grads.dW[1], right.dW[1])


def test_db_averaged_twice_is_the_sum_over_N():
    X, y = xor_points()
    right = buggy_network("none").gradients(X, y)
    wrong = buggy_network("db_averaged_twice").gradients(X, y)
    N = X.shape[1]
    for r, w in zip(right.db, wrong.db):
        np.testing.assert_allclose(w, r / N, rtol=1e-12)


def test_rounded_hidden_zero_gradient():
    X, y = xor_points()
    net = buggy_network("rounded_hidden")
    _, cache = net.forward(X)
    assert set(np.unique(cache.a[1])) <= {0.0, 1.0}
    norms = gradient_norms(net, X, y)
    assert norms[0] == 0.0
    assert norms[1] > 0


def test_gradient_norms_shape_and_values():
    X, y = xor_points()
    net = buggy_network("none")
    norms = gradient_norms(net, X, y)
    grads = net.gradients(X, y)
    assert norms.shape == (2,)
    assert norms[1] == pytest.approx(np.linalg.norm(grads.dW[1]))


def test_correct_network_passes_and_learns(symptoms):
    s = symptoms["none"]
    assert s["passed"]
    assert s["diverged_epoch"] is None
    assert s["accuracy"] == 1.0
    assert s["loss"].shape == (pitfalls.EPOCHS + 1,)
    assert s["loss"][-1] < 0.1 * s["loss"][0]


@pytest.mark.parametrize("name", GRADIENT_BUGS)
def test_gradient_bugs_fail_the_gradient_check(symptoms, name):
    s = symptoms[name]
    assert not s["passed"]
    assert max(s["worst"].values()) > 1e-2


def test_worst_array_names_the_layer(symptoms):
    def worst(name):
        w = symptoms[name]["worst"]
        return max(w, key=w.get)

    assert worst("sigma_prime_missing") in ("W1", "b1")
    assert worst("cache_overwritten_in_place") == "W2"
    assert symptoms["db_averaged_twice"]["worst"]["W1"] < 1e-5


def test_large_learning_rate_passes_the_check_and_diverges(symptoms):
    s = symptoms["learning_rate_too_large"]
    assert s["passed"]
    assert s["lr"] == pitfalls.LARGE_LR
    assert s["diverged_epoch"] is not None
    assert math.isnan(s["accuracy"])
    assert "diverges" in describe_symptom(s)


def test_rounded_hidden_passes_the_check(symptoms):
    s = symptoms["rounded_hidden"]
    assert s["passed"]
    assert s["grad_norms"][0] == 0.0


def test_symptom_is_reproducible():
    a, b = pitfall_symptom("sigma_prime_of_a"), pitfall_symptom("sigma_prime_of_a")
    np.testing.assert_array_equal(a["loss"], b["loss"])
    assert a["worst"] == b["worst"]


def test_train_losses_reports_divergence():
    X, y = xor_points()
    losses, diverged = train_losses(buggy_network("none"), X, y, lr=1e4, epochs=3)
    assert diverged == 1
    assert losses.shape == (1,)


def test_plot_symptom_draws_three_panels(symptoms):
    fig = plot_symptom(symptoms["sigma_prime_missing"])
    assert len(fig.axes) == 3
    assert "sigma_prime_missing" in fig._suptitle.get_text()
    matplotlib.pyplot.close(fig)


def test_explorer_offers_every_pitfall():
    widget = pitfall_explorer()
    dropdown = widget.children[0]
    assert [value for _, value in dropdown.options] == list(PITFALLS)
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
    frames = pitfalls.pitfalls_frames()
    assert frames.num_frames == len(PITFALLS) == 7
    assert frames.params == {"pitfall": list(PITFALLS)}
    assert frames.initial == {"pitfall": "none"}


def test_frame_alt_text_names_the_numbers(symptoms):
    symptom = symptoms["db_averaged_twice"]
    text = pitfalls.describe_symptom_frame(symptom)
    assert text.startswith("Pitfall db_averaged_twice (∂L/∂b^ℓ as the mean of δ^ℓ")
    assert "the gradient check fails" in text
    # The biases are N = 64 times too small: relative error (1 − 1/64)/(1 + 1/64).
    assert f"b1 {63 / 65:.1e}" in text
    assert f"‖∂L/∂W2‖ = {symptom['grad_norms'][1]:.2g}" in text
    assert "the accuracy ends at 100%" in text
    diverged = pitfalls.describe_symptom_frame(symptoms["learning_rate_too_large"])
    assert "with η = 300 the loss diverges at epoch 1." in diverged


def test_frames_differ_and_match_the_widget_drawing(symptoms):
    frames = pitfalls.pitfalls_frames(pitfalls=("none", "sigma_prime_missing"), dpi=40)
    rendered = frames.render()
    assert rendered["0"][0] != rendered["1"][0]
    figure = plot_symptom(symptoms["sigma_prime_missing"])
    assert rendered["1"][0] == _frame_uri(figure, 40)
    assert rendered["1"][1] == pitfalls.describe_symptom_frame(
        symptoms["sigma_prime_missing"])
