"""The computations behind chapter 1's figures and network widget."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from bpcourse.examples import hand_worked_network
from bpcourse.explorers import forward
from bpcourse.explorers.forward import XOR_SOLUTION


def test_activation_curves_shapes():
    curves = forward.activation_curves(num=11)
    assert curves["z"].shape == (11,)
    assert list(curves["sigma"]) == forward.ACTIVATION_NAMES
    for name in forward.ACTIVATION_NAMES:
        assert curves["sigma"][name].shape == (11,)
        assert curves["sigma_prime"][name].shape == (11,)


def test_activation_curves_values_at_zero():
    curves = forward.activation_curves(z_min=-1, z_max=1, num=3)
    sigma, sigma_prime = curves["sigma"], curves["sigma_prime"]
    assert sigma["sigmoid"][1] == pytest.approx(0.5)
    assert sigma_prime["sigmoid"][1] == pytest.approx(0.25)
    assert sigma_prime["tanh"][1] == pytest.approx(1.0)
    np.testing.assert_allclose(sigma["relu"], [0, 0, 1])
    np.testing.assert_allclose(sigma_prime["relu"], [0, 0, 1])
    np.testing.assert_allclose(sigma["leaky_relu"], [-0.01, 0, 1])
    np.testing.assert_allclose(sigma_prime["identity"], [1, 1, 1])


def test_activation_curves_reject_softmax():
    with pytest.raises(ValueError, match="not elementwise"):
        forward.activation_curves(names=["softmax"])


def test_draw_activation_curves_one_panel_each():
    axes = forward.draw_activation_curves(forward.activation_curves(num=21))
    assert len(axes) == len(forward.ACTIVATION_NAMES)
    assert len(axes[0].figure.axes) == 6
    assert not axes[0].figure.axes[5].get_visible()
    assert [ax.get_title() for ax in axes] == forward.ACTIVATION_NAMES
    plt.close(axes[0].figure)


def test_parameters_to_arrays_layout():
    W1, b1, W2, b2 = forward.parameters_to_arrays(1, 2, 3, 4, 5, 6, 7, 8, 9)
    np.testing.assert_array_equal(W1, [[1, 2], [3, 4]])
    np.testing.assert_array_equal(b1, [[5], [6]])
    np.testing.assert_array_equal(W2, [[7, 8]])
    np.testing.assert_array_equal(b2, [[9]])


def test_build_network_matches_hand_worked_network():
    reference, x, _ = hand_worked_network()
    net = forward.build_network(
        reference.weights[0], reference.biases[0],
        reference.weights[1], reference.biases[1], activation="relu",
    )
    _, cache = net.forward(x)
    np.testing.assert_allclose(cache.z[0], [[0.1], [1.05]], atol=1e-12)
    np.testing.assert_allclose(cache.z[1], [[-0.225]], atol=1e-12)
    expected_output = 1 / (1 + np.exp(0.225))
    np.testing.assert_allclose(cache.a[2], [[expected_output]], atol=1e-12)


def test_build_network_three_hidden_units():
    W1 = np.arange(6.0).reshape(3, 2)
    net = forward.build_network(W1, np.zeros((3, 1)), np.ones((1, 3)), 0.0)
    assert net.sizes == [2, 3, 1]


def test_build_network_rejects_wrong_w2_shape():
    with pytest.raises(ValueError, match=r"needs \(1, 2\)"):
        forward.build_network(np.eye(2), np.zeros((2, 1)), np.ones((2, 1)), 0.0)


@pytest.mark.parametrize(
    "corner, z1, z2",
    [
        ((0, 0), [0, -1], -1),
        ((1, 0), [1, 0], 1),
        ((0, 1), [1, 0], 1),
        ((1, 1), [2, 1], -1),
    ],
)
def test_xor_solution_by_hand(corner, z1, z2):
    data = forward.explore_network(**XOR_SOLUTION, x1=corner[0], x2=corner[1])
    np.testing.assert_allclose(data["z"][0][:, 0], z1, atol=1e-12)
    np.testing.assert_allclose(data["a"][1][:, 0], np.maximum(z1, 0), atol=1e-12)
    np.testing.assert_allclose(data["z"][1], [[z2]], atol=1e-12)
    np.testing.assert_allclose(data["a"][2], [[1 / (1 + np.exp(-z2))]], atol=1e-12)


def test_xor_solution_classifies_every_point():
    data = forward.explore_network(**XOR_SOLUTION)
    assert data["X"].shape == (2, 40)
    assert data["accuracy"] == 1.0


def test_explore_network_shapes():
    data = forward.explore_network(**XOR_SOLUTION, activation="tanh", num=7)
    assert data["activation"] == "tanh"
    assert [a.shape for a in data["a"]] == [(2, 1), (2, 1), (1, 1)]
    assert [z.shape for z in data["z"]] == [(2, 1), (1, 1)]
    assert [W.shape for W in data["W"]] == [(2, 2), (1, 2)]
    assert [b.shape for b in data["b"]] == [(2, 1), (1, 1)]
    x1, x2, probability = data["grid"]
    assert x1.shape == (7,)
    assert x2.shape == (7,)
    assert probability.shape == (7, 7)


def test_probability_grid_layout():
    # ŷ depends on x₁ only, so each row of the grid (fixed x₂) must vary.
    net = forward.build_network(
        np.array([[1.0, 0.0], [0.0, 0.0]]), np.zeros((2, 1)),
        np.array([[3.0, 0.0]]), 0.0, activation="identity",
    )
    x1, x2, probability = forward.probability_grid(net, limits=(-1, 1), num=5)
    expected_row = 1 / (1 + np.exp(-3 * x1))
    for i in range(5):
        np.testing.assert_allclose(probability[i], expected_row, atol=1e-12)


def test_probability_grid_matches_forward():
    net = forward.build_network(
        *forward.parameters_to_arrays(**XOR_SOLUTION), activation="relu"
    )
    x1, x2, probability = forward.probability_grid(net, num=9)
    output, _ = net.forward(np.array([[x1[2]], [x2[6]]]))
    assert probability[6, 2] == pytest.approx(output[0, 0], abs=1e-12)


def test_draw_network_explorer_panels():
    fig = forward.draw_network_explorer(forward.explore_network(**XOR_SOLUTION, num=11))
    titles = [ax.get_title() for ax in fig.axes]
    assert "activations for the chosen x" in titles
    assert "ŷ over the plane, accuracy 100%" in titles
    plt.close(fig)


def test_network_widget_controls():
    import ipywidgets as widgets

    box = forward.network_widget(activation="tanh")
    sliders = [
        w for column in box.children[0].children for w in column.children
        if isinstance(w, widgets.FloatSlider)
    ]
    assert len(sliders) == 11
    assert {s.description for s in sliders} >= {"W¹₁₁", "b²", "x₁"}
    menus = [
        w for column in box.children[0].children for w in column.children
        if isinstance(w, widgets.Dropdown)
    ]
    assert [m.value for m in menus] == ["tanh"]
    assert isinstance(box.children[1], widgets.Output)
    plt.close("all")


def test_forward_frames_count_and_start():
    explorer = forward.forward_frames()
    assert explorer.num_frames == 45
    assert explorer.initial == {"activation": "relu", "x1": 1.0, "x2": 0.0}


def test_forward_frames_differ_and_alt_matches_computation():
    explorer = forward.forward_frames(activations=["relu", "tanh"], inputs=[0.0, 1.0])
    frames = explorer.render()
    assert len(frames) == 8
    assert frames["0_1_0"][0] != frames["1_1_0"][0]
    assert frames["0_0_0"][0] != frames["0_1_0"][0]
    data = forward.explore_network(**XOR_SOLUTION, activation="tanh", x1=1.0, x2=0.0)
    alt = frames["1_1_0"][1]
    hidden = data["a"][1][:, 0]
    assert f"a¹ = ({hidden[0]:.2f}, {hidden[1]:.2f})" in alt
    assert f"ŷ = {data['a'][2][0, 0]:.2f}" in alt
    assert f"accuracy {data['accuracy']:.0%}" in alt
    assert "tanh hidden layer at x = (1, 0)" in alt
    # The ReLU network solves XOR: (1, 0) is class 1 with ŷ = σ(1).
    assert "ŷ = 0.73, so class 1; accuracy 100%" in frames["0_1_0"][1]
