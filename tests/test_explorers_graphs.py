"""The backward-pass stepper on expression graphs: which gradients are known when."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from bpcourse.autodiff import topological_order
from bpcourse.explorers import graphs
from bpcourse.explorers.graphs import (
    EXPRESSIONS,
    HIGHLIGHT,
    backward_step,
    build_expression,
    describe_step,
    draw_backward_step,
    num_steps,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_order_of_product_of_sum():
    assert backward_step("(a + b) · a", 0)["order"] == ["e", "c", "b", "a"]


def test_step_zero_knows_only_the_root():
    state = backward_step("(a + b) · a", 0)
    assert state["done"] == []
    assert state["pending"] == ["e"]
    assert state["grads"] == {"e": 1.0}
    assert state["current"] is None


def test_reused_input_sums_over_its_consumers():
    # a feeds both the product and the sum: −1 from e = c · a, then +2 via c.
    first = backward_step("(a + b) · a", 1)
    assert first["grads"]["a"] == -1.0
    assert "a" in first["pending"]
    second = backward_step("(a + b) · a", 2)
    assert second["grads"]["a"] == 1.0
    assert second["sent"] == {"a": 2.0, "b": 2.0}


def test_hand_numbers_of_neuron():
    state = backward_step("½ (σ(w x + b) − 1)²", num_steps("½ (σ(w x + b) − 1)²"))
    assert state["values"]["z"] == 0.0
    assert state["values"]["a"] == 0.5
    assert state["values"]["L"] == 0.125
    assert state["grads"]["z"] == pytest.approx(-0.125, abs=1e-15)
    assert state["grads"]["w"] == pytest.approx(-0.25, abs=1e-15)
    assert state["grads"]["b"] == pytest.approx(-0.125, abs=1e-15)


def test_constants_are_never_visited():
    state = backward_step("½ (σ(w x + b) − 1)²", 3)
    assert "x" not in state["order"]
    assert "x" in state["values"]


@pytest.mark.parametrize("expression", list(EXPRESSIONS))
def test_done_is_a_prefix_of_order(expression):
    for step in range(num_steps(expression) + 1):
        state = backward_step(expression, step)
        assert state["done"] == state["order"][:step]
        assert not set(state["done"]) & set(state["pending"])
        assert set(state["grads"]) == set(state["done"]) | set(state["pending"])


@pytest.mark.parametrize("expression", list(EXPRESSIONS))
def test_last_step_matches_backward(expression):
    root = build_expression(expression)
    root.backward()
    expected = {node.name: float(node.grad) for node in topological_order(root)}
    state = backward_step(expression, num_steps(expression))
    assert state["pending"] == []
    assert state["grads"].keys() == expected.keys()
    for name, value in expected.items():
        assert state["grads"][name] == pytest.approx(value, rel=1e-15, abs=1e-15)
    assert state["final"] == pytest.approx(expected, rel=1e-15, abs=1e-15)


@pytest.mark.parametrize("expression", list(EXPRESSIONS))
def test_done_gradients_are_final(expression):
    final = backward_step(expression, 0)["final"]
    for step in range(num_steps(expression) + 1):
        state = backward_step(expression, step)
        for name in state["done"]:
            assert state["grads"][name] == pytest.approx(final[name], abs=1e-15)


def test_num_steps_counts_nodes_with_gradients():
    assert num_steps("(a + b) · a") == 4
    assert num_steps("x · y + tanh(x)") == 5
    assert num_steps("½ (σ(w x + b) − 1)²") == 8


@pytest.mark.parametrize("step", [-1, 5])
def test_step_out_of_range_raises(step):
    with pytest.raises(ValueError, match=r"steps 0 … 4"):
        backward_step("(a + b) · a", step)


@pytest.mark.parametrize("step", [1.0, True, "1"])
def test_step_must_be_an_integer(step):
    with pytest.raises(TypeError, match="integer"):
        backward_step("(a + b) · a", step)


def test_unknown_expression_raises():
    with pytest.raises(ValueError, match="unknown expression"):
        backward_step("a · a", 0)


def test_describe_step():
    assert describe_step(backward_step("(a + b) · a", 0)) == "before the pass: ∂e/∂e = 1"
    assert describe_step(backward_step("(a + b) · a", 1)) == (
        "visit e (gradient 1): its VJP adds +2 to c, -1 to a"
    )
    assert describe_step(backward_step("(a + b) · a", 4)) == (
        "visit a: a leaf, its gradient 1 is final"
    )


def test_same_arguments_same_state():
    assert backward_step("x · y + tanh(x)", 3) == backward_step("x · y + tanh(x)", 3)


def _boxes_by_label(ax):
    from matplotlib.patches import FancyBboxPatch

    boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
    labels = ax.texts[-len(boxes):]
    return {label.get_text().split("\n")[0].split(" ")[0]: (box, label)
            for box, label in zip(boxes, labels)}


def test_drawing_highlights_done_and_pending_nodes():
    state = backward_step("(a + b) · a", 2)
    ax = draw_backward_step(state)
    boxes = _boxes_by_label(ax)
    highlight = matplotlib.colors.to_rgba(HIGHLIGHT)
    for name in ("e", "c"):
        assert boxes[name][0].get_edgecolor() == highlight
    assert boxes["c"][0].get_linewidth() > boxes["e"][0].get_linewidth()
    for name in ("a", "b"):
        box = boxes[name][0]
        assert box.get_edgecolor() == highlight
        assert box.get_linestyle() == "--"


def test_drawing_shows_gradients_so_far():
    ax = draw_backward_step(backward_step("(a + b) · a", 1))
    boxes = _boxes_by_label(ax)
    assert "grad  -1" in boxes["a"][1].get_text()
    assert "grad  —" in boxes["b"][1].get_text()
    assert ax.get_title() == describe_step(backward_step("(a + b) · a", 1))


def test_drawing_colours_fixed_across_steps():
    # c has gradient 2 at every step, so its fill is the same at every step.
    fills = set()
    for step in range(1, 5):
        boxes = _boxes_by_label(draw_backward_step(backward_step("(a + b) · a", step)))
        fills.add(boxes["c"][0].get_facecolor())
    assert len(fills) == 1


@pytest.mark.parametrize("expression", list(EXPRESSIONS))
def test_every_step_draws(expression):
    for step in range(num_steps(expression) + 1):
        ax = draw_backward_step(backward_step(expression, step))
        assert ax.get_title()
        plt.close(ax.figure)


def test_widget_slider_follows_expression():
    widget = graphs.graph_widget()
    menu, slider = widget.children[0], widget.children[1]
    assert slider.max == 4
    slider.value = 4
    menu.value = "½ (σ(w x + b) − 1)²"
    assert slider.max == 8
    menu.value = "(a + b) · a"
    assert slider.max == 4
    assert slider.value == 4


def test_root_gradient_is_one_array():
    root = build_expression("(a + b) · a")
    assert root.grad is None
    assert np.ndim(root.data) == 0


def test_graphs_frames_count_and_start():
    explorer = graphs.graphs_frames()
    assert explorer.num_frames == 27
    assert explorer.params["step"] == list(range(9))
    assert explorer.initial == {"expression": "(a + b) · a", "step": 0}


def test_graphs_frames_differ_and_alt_matches_computation():
    explorer = graphs.graphs_frames(expressions=("(a + b) · a", "x · y + tanh(x)"))
    frames = explorer.render()
    assert len(frames) == 12
    assert frames["0_1"][0] != frames["0_2"][0]
    assert frames["0_2"][0] != frames["1_2"][0]
    state = graphs.backward_step("(a + b) · a", 2)
    alt = frames["0_2"][1]
    assert alt.startswith("Backward pass through (a + b) · a, step 2 of 4: ")
    assert graphs.describe_step(state) in alt
    for name, g in state["grads"].items():
        assert f"∂e/∂{name} = {g:.4g}" in alt
    assert "visit c (gradient 2): its VJP adds +2 to a, +2 to b" in alt
    # Past the last step of (a + b) · a, the frame shows the finished pass.
    assert frames["0_5"][0] == frames["0_4"][0]
    assert "step 4 of 4" in frames["0_5"][1]
