"""Tests of bpcourse.explorers.architectures: the gradient that reaches a block's input."""

import matplotlib
import numpy as np
import pytest

from bpcourse.explorers import architectures as explorer
from bpcourse.layers import graph_conv, models, tasks

matplotlib.use("Agg")

FLOAT64_TOL = 1e-12


@pytest.fixture(scope="module")
def trained():
    """Small untrained models: the gradients' structure does not need training."""
    rng = np.random.default_rng(0)
    cnn = models.SmallCNN(channels=(3, 4), seed=0)
    images = rng.random((1, 8, 8, 6))
    y = np.arange(6) % 10
    task = tasks.reversal_task(6, length=4, symbols=5, seed=0)
    transformer = models.TinyTransformer(task.vocabulary, 8, d=8, heads=2, d_ff=8)
    graph = tasks.stochastic_block_model(block_size=10, features=4, seed=0)
    A_hat = graph_conv.normalized_adjacency(graph.A)
    gcn = models.GCN(4, hidden=5, classes=3, seed=0)
    return {
        "conv": (cnn, images, y),
        "attention": (transformer, task.tokens, task.targets),
        "graph": (gcn, graph, A_hat),
    }


def test_conv_layer1_is_image_gradient(trained):
    cnn, images, y = trained["conv"]
    frame = explorer.gradient_flow(trained, "conv", 1, 2)
    assert frame["gradient"].shape == (1, 8, 8)
    assert np.array_equal(frame["input"], images[..., 2])
    # Central difference of the loss of image 2 at one pixel.
    one, label, h = images[..., [2]].copy(), y[[2]], 1e-5
    one[0, 3, 4, 0] += h
    plus = cnn.loss_and_gradients(one, label)[0]
    one[0, 3, 4, 0] -= 2 * h
    minus = cnn.loss_and_gradients(one, label)[0]
    assert frame["gradient"][0, 3, 4] == pytest.approx((plus - minus) / (2 * h), abs=1e-8)


def test_conv_layer2_has_pooled_shape(trained):
    frame = explorer.gradient_flow(trained, "conv", 2, 0)
    assert frame["gradient"].shape == (3, 4, 4)
    assert frame["input"].shape == (3, 4, 4)


def test_attention_gradient_masked(trained):
    frame = explorer.gradient_flow(trained, "attention", 2, 1)
    T = frame["weights"].shape[0]
    below = ~np.triu(np.ones((T, T), dtype=bool))
    assert np.all(frame["gradient"][below] == 0)
    assert np.allclose(frame["weights"].sum(axis=0), 1.0)
    assert frame["separator"] == 5


def test_attention_gradient_matches_model(trained):
    transformer, tokens, targets = trained["attention"]
    frame = explorer.gradient_flow(trained, "attention", 1, 3)
    _, _, dS = transformer.loss_gradients_and_scores(tokens[[3]], targets[[3]])
    assert np.allclose(frame["gradient"], dS[0, 0], atol=FLOAT64_TOL)


def test_graph_gradient_reaches_neighbours(trained):
    _, graph, _ = trained["graph"]
    node = 0
    layer2 = explorer.gradient_flow(trained, "graph", 2, node)
    one_hop = (graph.A[node] > 0) | (np.arange(graph.num_nodes) == node)
    assert np.array_equal(layer2["norms"] > 0, one_hop)
    layer1 = explorer.gradient_flow(trained, "graph", 1, node)
    A_tilde = graph.A + np.eye(graph.num_nodes)
    two_hops = (A_tilde @ A_tilde)[node] > 0
    assert np.array_equal(layer1["norms"] > 0, two_hops)


def test_rejects_unknown_block(trained):
    with pytest.raises(ValueError, match="block"):
        explorer.gradient_flow(trained, "pooling", 1, 0)


def test_rejects_unknown_layer(trained):
    with pytest.raises(ValueError, match="layer"):
        explorer.gradient_flow(trained, "conv", 3, 0)


@pytest.mark.parametrize("block", explorer.BLOCKS)
@pytest.mark.parametrize("layer", explorer.LAYERS)
def test_every_frame_draws(trained, block, layer):
    import matplotlib.pyplot as plt

    fig = explorer.plot_gradient_flow(explorer.gradient_flow(trained, block, layer, 0))
    assert fig.axes
    plt.close(fig)


def test_circle_layout_groups_classes():
    position = explorer.circle_layout(np.array([1, 0, 1, 0]))
    assert position.shape == (2, 4)
    assert np.allclose(np.linalg.norm(position, axis=0), 1.0)


def test_widget_builds(trained):
    widget = explorer.architectures_explorer(trained)
    assert [child.description for child in widget.children[:3]] == [
        "block", "layer", "example"]


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


def test_frames_grid_and_start(trained):
    frames = explorer.architectures_frames(trained)
    assert frames.num_frames == 3 * 2 * 6
    assert frames.params == {"block": ["conv", "attention", "graph"], "layer": [1, 2],
                             "example": [0, 1, 2, 3, 4, 5]}
    assert frames.initial == {"block": "conv", "layer": 1, "example": 0}


def test_conv_alt_text_names_the_numbers(trained):
    result = explorer.gradient_flow(trained, "conv", 1, 2)
    text = explorer.describe_flow(result)
    gradient = result["gradient"]
    c, row, column = np.unravel_index(np.argmax(np.abs(gradient)), gradient.shape)
    assert text.startswith("Conv layer 1 reads the image. Example 2, a digit 2 ")
    assert "with respect to the 1×8×8 input" in text
    assert f"runs from {gradient.min():.2g} to {gradient.max():.2g}" in text
    assert f"channel {c + 1}, row {row}, column {column}" in text


def test_attention_alt_text_names_the_numbers(trained):
    result = explorer.gradient_flow(trained, "attention", 2, 1)
    text = explorer.describe_flow(result)
    assert text.startswith("Attention head 2 on sequence 1 (")
    assert "#" in text
    assert f"loss {result['loss']:.3g}" in text
    assert "zero below the diagonal" in text


def test_graph_alt_text_counts_the_nodes_reached(trained):
    _, graph, _ = trained["graph"]
    result = explorer.gradient_flow(trained, "graph", 2, 0)
    text = explorer.describe_flow(result)
    neighbours = int(np.sum(graph.A[0] > 0))
    assert text.startswith(
        f"GCN layer 2: the loss of node 0 reaches the input of {neighbours + 1} of "
        f"{graph.num_nodes} nodes, within 1 edge of it.")


def test_frames_differ_and_match_the_widget_drawing(trained):
    frames = explorer.architectures_frames(trained, blocks=("conv", "graph"),
                                           layers=(1,), examples=(0, 1), dpi=40)
    rendered = frames.render()
    assert len(rendered) == 4
    assert len({uri for uri, _ in rendered.values()}) == 4
    # The live widget draws plot_gradient_flow on the same gradient_flow.
    result = explorer.gradient_flow(trained, "graph", 1, 1)
    assert rendered["1_0_1"][0] == _frame_uri(explorer.plot_gradient_flow(result), 40)
    assert rendered["1_0_1"][1] == explorer.describe_flow(result)
