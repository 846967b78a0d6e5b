"""The backward-pass stepper: the δ it reveals, step by step."""

import matplotlib
import numpy as np
import pytest

from bpcourse.explorers import backward
from bpcourse.explorers.backward import backward_step, example_network, step_equation

matplotlib.use("Agg")


def test_step_zero_knows_no_delta():
    state = backward_step(0)
    assert state["delta"] == [None, None, None, None]
    assert state["layer"] is None


@pytest.mark.parametrize("step, known", [(1, [3]), (2, [2, 3]), (3, [1, 2, 3])])
def test_each_step_reveals_one_layer(step, known):
    state = backward_step(step)
    revealed = [l for l, d in enumerate(state["delta"]) if d is not None]
    assert revealed == known
    assert state["layer"] == known[0]


def test_input_layer_never_has_delta():
    assert backward_step(3)["delta"][0] is None


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_deltas_match_network_gradients(activation):
    net, x, y = example_network(activation=activation)
    grads = net.gradients(x, y)
    state = backward_step(3, activation=activation)
    for l in range(1, 4):
        np.testing.assert_allclose(state["delta"][l], grads.delta[l - 1][:, 0], atol=1e-15)
    assert state["loss"] == pytest.approx(grads.loss)


def test_shapes_follow_sizes():
    state = backward_step(2, sizes=(2, 5, 3))
    assert [None if d is None else d.shape for d in state["delta"]] == [None, (5,), (3,)]


def test_output_delta_is_yhat_minus_y():
    net, x, y = example_network()
    y_hat, _ = net.forward(x)
    onehot = np.eye(net.sizes[-1])[:, y]
    state = backward_step(1)
    np.testing.assert_allclose(state["delta"][3], (y_hat - onehot)[:, 0], atol=1e-15)


def test_relu_units_that_are_off_get_zero_delta():
    net, x, y = example_network(activation="relu")
    _, cache = net.forward(x)
    state = backward_step(3, activation="relu")
    for l in (1, 2):
        off = cache.z[l - 1][:, 0] <= 0
        assert off.any(), "the example should switch some ReLU units off"
        assert np.all(state["delta"][l][off] == 0)
        # Zeros are +0.0, so they print without a minus sign.
        assert not np.any(np.signbit(state["delta"][l][off]))


def test_vmax_is_the_same_for_every_step():
    vmaxes = {backward_step(k)["vmax"] for k in range(4)}
    assert len(vmaxes) == 1
    full = backward_step(3)
    largest = max(np.max(np.abs(d)) for d in full["delta"] if d is not None)
    assert vmaxes.pop() == pytest.approx(largest)


def test_same_arguments_same_state():
    first = backward_step(2, seed=7)
    second = backward_step(2, seed=7)
    for a, b in zip(first["delta"], second["delta"]):
        assert (a is None and b is None) or np.array_equal(a, b)


def test_equations_name_the_right_layers():
    assert step_equation(2, 3) == "δ² = (W³)ᵀ δ³ ⊙ σ′(z²)"
    assert step_equation(3, 3) == "δ¹ = (W²)ᵀ δ² ⊙ σ′(z¹)"
    assert step_equation(1, 3) == "δ³ = ŷ − y, from the loss"
    assert step_equation(0, 3).startswith("forward pass")


@pytest.mark.parametrize("step", [-1, 4])
def test_step_out_of_range_raises(step):
    with pytest.raises(ValueError, match="steps 0 … 3"):
        backward_step(step)


def test_step_of_wrong_type_raises():
    with pytest.raises(TypeError):
        backward_step(1.0)


def test_draw_shows_step_and_values():
    import matplotlib.pyplot as plt

    ax = backward.draw_backward_step(backward_step(2))
    assert ax.get_title() == "Step 2: δ² = (W³)ᵀ δ³ ⊙ σ′(z²)"
    values = [t.get_text() for t in ax.texts if t.get_text().startswith(("+", "-"))]
    # Two output units and four units of layer 2 are known after step 2.
    assert len(values) == 6
    assert "+0.07" in values
    outlined = [p for p in ax.patches if p.get_linewidth() > 2]
    assert len(outlined) == 4, "the four units of layer 2 should be outlined"
    plt.close(ax.figure)


def test_widget_builds():
    widget = backward.backward_widget()
    step, activation = widget.children[:2]
    assert (step.min, step.max, step.value) == (0, 3, 3)
    assert activation.value == "tanh"


def test_backward_frames_count_and_start():
    explorer = backward.backward_frames()
    assert explorer.num_frames == 12
    assert explorer.initial == {"step": 3, "activation": "tanh"}


def test_backward_frames_differ_and_alt_matches_computation():
    explorer = backward.backward_frames(activations=("tanh", "relu"))
    frames = explorer.render()
    assert len(frames) == 8
    assert frames["1_0"][0] != frames["2_0"][0]
    assert frames["2_0"][0] != frames["2_1"][0]
    state = backward_step(2, activation="relu")
    delta = ", ".join(f"{v:+.2f}" for v in state["delta"][2])
    alt = frames["2_1"][1]
    assert alt.startswith("Step 2 of the backward pass through a relu network 3-4-4-2")
    assert f"δ² = ({delta})" in alt
    assert f"L = {state['loss']:.3f}" in alt
    assert "δ² = (W³)ᵀ δ³ ⊙ σ′(z²)" in alt
    assert "no δ is known yet" in frames["0_0"][1]
