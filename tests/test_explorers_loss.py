"""The computations behind chapter 2's figures and softmax widget."""

import matplotlib

matplotlib.use("Agg")

import math
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest

from bpcourse.activations import softmax
from bpcourse.explorers import loss
from bpcourse.losses import softmax_cross_entropy


def test_naive_softmax_matches_stable_on_small_logits():
    z = np.random.default_rng(0).normal(size=(4, 6))
    np.testing.assert_allclose(loss.naive_softmax(z), softmax(z), rtol=1e-12)


def test_naive_softmax_overflows_float64():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = loss.naive_softmax(np.array([[1000.0], [0.0]]))
    assert np.isnan(result[0, 0])
    assert any("overflow" in str(w.message) for w in caught)


def test_naive_softmax_overflows_float32():
    z = np.array([[-431.0], [279.0], [427.0]], dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        result = loss.naive_softmax(z)
    assert result.dtype == np.float32
    assert np.isnan(result[1:, 0]).all()
    np.testing.assert_allclose(softmax(z)[:, 0], [0, 0, 1], atol=1e-7)


def test_one_hot_column():
    np.testing.assert_array_equal(loss.one_hot(2), [[0], [0], [1]])


def test_one_hot_rejects_out_of_range():
    with pytest.raises(ValueError, match="out of range"):
        loss.one_hot(3)


def test_explore_softmax_equal_logits():
    data = loss.explore_softmax(0, 0, 0, target=1)
    np.testing.assert_allclose(data["probabilities"], np.full((3, 1), 1 / 3))
    assert data["loss"] == pytest.approx(math.log(3))
    np.testing.assert_allclose(data["delta"][:, 0], [1 / 3, -2 / 3, 1 / 3])
    np.testing.assert_array_equal(data["y"][:, 0], [0, 1, 0])


def test_explore_softmax_hand_numbers():
    data = loss.explore_softmax(2, 1, -1, target=0)
    total = math.exp(2) + math.exp(1) + math.exp(-1)
    p0 = math.exp(2) / total
    assert data["probabilities"][0, 0] == pytest.approx(p0)
    assert data["loss"] == pytest.approx(-math.log(p0))
    assert data["delta"][0, 0] == pytest.approx(p0 - 1)
    assert data["delta"].sum() == pytest.approx(0, abs=1e-12)
    assert [a.shape for a in (data["z"], data["y"], data["probabilities"])] == [
        (3, 1), (3, 1), (3, 1)
    ]


def test_central_difference_matches_delta():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(3, 5))
    labels = rng.integers(0, 3, size=5)
    numerical = loss.central_difference_delta(z, labels)
    _, delta = softmax_cross_entropy(z, labels)
    np.testing.assert_allclose(numerical, delta, atol=1e-9)
    onehot = np.eye(3)[:, labels]
    np.testing.assert_allclose(numerical, (softmax(z) - onehot) / 5, atol=1e-9)


def test_central_difference_leaves_z_unchanged():
    z = np.array([[1.0], [2.0]])
    loss.central_difference_delta(z, np.array([0]))
    np.testing.assert_array_equal(z, [[1.0], [2.0]])


def test_loss_against_probability():
    curves = loss.loss_against_probability(num=50)
    assert curves["p"].shape == (50,)
    assert curves["p"][-1] == 1.0
    assert curves["cross_entropy"][-1] == 0.0
    assert curves["squared_error"][-1] == 0.0
    assert curves["cross_entropy"][0] == pytest.approx(math.log(50))
    assert np.all(np.diff(curves["cross_entropy"]) < 0)


def test_draw_softmax_explorer_titles():
    fig = loss.draw_softmax_explorer(loss.explore_softmax(0, 0, 0, target=2))
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["logits zᴸ", "ŷ = softmax(zᴸ), L = 1.099", "δᴸ = ŷ − y"]
    plt.close(fig)


def test_softmax_widget_controls():
    import ipywidgets as widgets

    box = loss.softmax_widget(z1=1.0, target=2)
    sliders = box.children[0].children[0].children
    assert [s.description for s in sliders] == ["z₁", "z₂", "z₃"]
    assert sliders[0].value == 1.0
    assert box.children[0].children[1].value == 2
    assert isinstance(box.children[1], widgets.Output)
    plt.close("all")


def test_loss_frames_count_and_start():
    explorer = loss.loss_frames()
    assert explorer.num_frames == 45
    assert explorer.initial == {"z1": 2.0, "z2": 1.0, "target": 0}


def test_loss_frames_differ_and_alt_matches_computation():
    explorer = loss.loss_frames(z1_values=[0.0, 2.0], z2_values=[1.0], targets=[0, 1])
    frames = explorer.render()
    assert len(frames) == 4
    assert frames["0_0_0"][0] != frames["1_0_0"][0]
    assert frames["1_0_0"][0] != frames["1_0_1"][0]
    z = np.array([[2.0], [1.0], [-1.0]])
    y = np.array([[0.0], [1.0], [0.0]])
    expected_loss, delta = softmax_cross_entropy(z, y)
    p = softmax(z)[:, 0]
    alt = frames["1_0_1"][1]
    assert alt.startswith("Logits zᴸ = (2, 1, -1) with target class 1")
    assert f"loss L = {expected_loss:.3f}" in alt
    assert f"ŷ = ({p[0]:.3f}, {p[1]:.3f}, {p[2]:.3f})" in alt
    assert f"δᴸ = ({delta[0, 0]:+.3f}, {delta[1, 0]:+.3f}, {delta[2, 0]:+.3f})" in alt
    assert "predicted class 0" in alt
    assert "loss L = 1.349" in alt  # −log(e / (e² + e + e⁻¹)) = 1.349
