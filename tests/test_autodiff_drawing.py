"""draw_graph: a layered drawing of the graph with every value and gradient."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from bpcourse.autodiff import Tensor, draw_graph, mlp_loss, topological_order
from bpcourse.network import Network


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _texts(ax):
    return [text.get_text() for text in ax.texts]


def test_small_graph_shows_values_and_gradients():
    a, b, d = Tensor(2.0, name="a"), Tensor(-3.0, name="b"), Tensor(4.0, name="d")
    e = (a + b) * d
    e.name = "e"
    e.backward()
    ax = draw_graph(e)
    texts = _texts(ax)
    assert len(texts) == 5
    node_a = next(t for t in texts if t.startswith("a\n"))
    assert "value 2" in node_a
    assert "grad  4" in node_a
    assert any(t.startswith("e = mul") and "grad  1" in t for t in texts)


def test_gradient_missing_before_backward():
    x = Tensor([1.0, 2.0, 3.0], name="x")
    y = x * 2
    texts = _texts(draw_graph(y))
    node_x = next(t for t in texts if t.startswith("x\n"))
    assert "(3,)" in node_x
    assert "grad  —" in node_x
    assert any(t.startswith("const") for t in texts)


def test_repeated_input_labelled():
    a = Tensor(1.0, name="a")
    b = a + a
    b.backward()
    assert "×2" in _texts(draw_graph(b))


def test_layers_run_left_to_right():
    net = Network([3, 4, 2], activation="tanh", seed=0)
    loss, _ = mlp_loss(net, np.ones((3, 2)), [0, 1])
    loss.backward()
    ax = draw_graph(loss, direction="right")
    x_of = {}
    for text in ax.texts:
        if "\n" in text.get_text():
            x_of[text.get_text().split("\n")[0]] = text.get_position()[0]
    assert x_of["X"] < x_of["z1 = add"] < x_of["a1 = tanh"] < x_of["z2 = add"]
    assert max(x_of.values()) == x_of["L = softmax_cross_e…"]


def test_thirty_nodes_fit():
    x = Tensor([0.5, -0.5], name="x")
    y = x
    for step in range(14):
        y = (y * 0.9).tanh() if step % 2 else y + x
    loss = y.sum()
    loss.backward()
    nodes = topological_order(loss, constants=True)
    assert 25 <= len(nodes) <= 45
    ax = draw_graph(loss)
    assert ax.figure.get_size_inches()[0] <= 10
    sizes = {text.get_fontsize() for text in ax.texts if "\n" in text.get_text()}
    assert min(sizes) >= 6
    ax.figure.canvas.draw()


def test_given_axes_returned():
    x = Tensor(1.0)
    _, ax = plt.subplots(figsize=(4, 3))
    assert draw_graph(x * 2, ax=ax) is ax


def test_direction_down_puts_root_at_bottom():
    a, b = Tensor(1.0, name="a"), Tensor(2.0, name="b")
    c = a * b
    c.name = "c"
    ax = draw_graph(c, direction="down")
    y_of = {t.get_text().split("\n")[0]: t.get_position()[1] for t in ax.texts}
    assert y_of["c = mul"] < y_of["a"]
    with pytest.raises(ValueError, match="direction"):
        draw_graph(c, direction="up")


def test_too_many_nodes():
    x = Tensor(1.0)
    y = x
    for _ in range(70):
        y = y + 1
    with pytest.raises(ValueError, match="max_nodes=60"):
        draw_graph(y)
