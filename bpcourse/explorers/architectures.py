"""The gradient that flows into a block's input, for the chapter on architectures.

``gradient_flow`` takes trained models of ``bpcourse.layers.models`` and a
block (a convolution, the attention scores, a graph convolution), a layer
and an example. It returns the loss gradient that reaches that layer's input
on that one example. For a convolution, that is a gradient image of its
input; for attention, ∂L/∂S of one head; for a graph convolution, how much
the loss of one node depends on the features of every other node. ``plot_gradient_flow`` draws the result
and ``architectures_explorer`` wires the two to a dropdown and two sliders.

All state is an argument: a frame is reproduced by the models and the three
printed values (block, layer, example).
"""

import numpy as np

from bpcourse.interactive import FRAME_DPI
from bpcourse.layers.models import _cross_entropy
from bpcourse.plots import DIVERGING, SEQUENTIAL, VERMILLION

#: The blocks of the dropdown, and the layers each offers.
BLOCKS = ("conv", "attention", "graph")
LAYERS = (1, 2)

#: Examples offered by the slider: images, sequences or nodes 0 … 5.
NUM_EXAMPLES = 6


def conv_gradient(model, images, y, layer, example):
    """Return ∂L/∂(input of conv ``layer``) for the loss of one image.

    Parameters
    ----------
    model : SmallCNN
    images : ndarray, shape (C, H, W, N)
    y : ndarray of int, shape (N,)
    layer : {1, 2}
        Conv 1 reads the image; conv 2 reads the pooled maps of conv 1.
    example : int

    Returns
    -------
    dict
        ``input`` and ``gradient``, arrays of shape (C_ℓ, H_ℓ, W_ℓ) of the
        layer's input and of ∂L/∂input; ``label``, ``predicted``.
    """
    _check_layer(layer)
    one = images[..., [example]]
    logits, cache = model.forward(one)
    _, delta = _cross_entropy(logits, y[[example]])
    _, inputs = model.backward(delta, cache)
    layer_input = one if layer == 1 else cache["m1"]
    return {
        "block": "conv",
        "layer": layer,
        "example": example,
        "input": layer_input[..., 0],
        "gradient": inputs[f"conv{layer}"][..., 0],
        "label": int(y[example]),
        "predicted": int(np.argmax(logits[:, 0])),
    }


def attention_gradient(model, tokens, targets, layer, example):
    """Return the weights A and the score gradient ∂L/∂S of one head, one sequence.

    Parameters
    ----------
    model : TinyTransformer
    tokens, targets : ndarray of int, shape (N, T)
    layer : int
        The head, 1 … heads (the model has one attention layer).
    example : int

    Returns
    -------
    dict
        ``weights`` and ``gradient`` are arrays of shape (T, T) indexed
        [key s, query t]. ``tokens`` is the sequence, and ``separator`` the
        last token of the vocabulary, which the plot draws as #, as it is
        the separator of ``tasks.reversal_task``.
    """
    _check_layer(layer, model.heads)
    one_tokens = tokens[[example]]
    loss, _, dS = model.loss_gradients_and_scores(one_tokens, targets[[example]])
    _, cache = model.forward(one_tokens)
    return {
        "block": "attention",
        "layer": layer,
        "example": example,
        "weights": cache["sa"]["A"][0, layer - 1],
        "gradient": dS[0, layer - 1],
        "tokens": one_tokens[0],
        "separator": model.params["E"].shape[1] - 1,
        "loss": loss,
    }


def graph_gradient(model, graph, A_hat, layer, example):
    """Return how the loss of node ``example`` depends on every node's layer input.

    Parameters
    ----------
    model : GCN
    graph : bpcourse.layers.tasks.Graph
    A_hat : ndarray, shape (n, n)
    layer : {1, 2}
    example : int
        The node whose cross-entropy is the loss.

    Returns
    -------
    dict
        ``gradient`` of shape (d_{ℓ−1}, n), ∂L/∂(layer input), and
        ``norms`` of shape (n,), the length of its column for every node:
        nonzero only within ``3 − layer`` hops of the node, because each
        layer mixes the features of direct neighbours.
    """
    _check_layer(layer)
    logits, cache = model.forward(graph.X, A_hat)
    _, delta_node = _cross_entropy(logits[:, [example]], graph.y[[example]])
    delta = np.zeros_like(logits)
    delta[:, [example]] = delta_node
    _, inputs = model.backward(delta, cache)
    gradient = inputs[f"layer{layer}"]
    return {
        "block": "graph",
        "layer": layer,
        "example": example,
        "gradient": gradient,
        "norms": np.linalg.norm(gradient, axis=0),
        "A": graph.A,
        "y": graph.y,
    }


def _check_layer(layer, top=2):
    if layer not in range(1, top + 1):
        raise ValueError(f"layer={layer!r} must be one of 1 … {top}")


def gradient_flow(models, block, layer, example):
    """Return the data of one frame: the gradient into a block's input.

    Parameters
    ----------
    models : dict
        ``"conv"``: (SmallCNN, images, y); ``"attention"``:
        (TinyTransformer, tokens, targets); ``"graph"``: (GCN, Graph, Â).
    block : {"conv", "attention", "graph"}
    layer : {1, 2}
    example : int
    """
    if block not in BLOCKS:
        raise ValueError(f"block={block!r} is not one of {', '.join(BLOCKS)}")
    if block not in models:
        raise ValueError(f"models has no entry {block!r}: pass one per block")
    function = {"conv": conv_gradient, "attention": attention_gradient,
                "graph": graph_gradient}[block]
    return function(*models[block], layer, example)


def _symmetric_limits(array):
    limit = float(np.max(np.abs(array)))
    return (-limit, limit) if limit > 0 else (-1.0, 1.0)


def _plot_conv(result, fig):
    inputs, gradient = result["input"], result["gradient"]
    channels = min(inputs.shape[0], 8)
    vmin, vmax = _symmetric_limits(gradient)
    if channels == 1:
        # One channel: the input and its gradient side by side.
        axes = np.array(fig.subplots(1, 2)).reshape(2, 1)
    else:
        axes = np.array(fig.subplots(2, channels)).reshape(2, channels)
    for c in range(channels):
        axes[0, c].imshow(inputs[c], cmap="gray_r")
        image = axes[1, c].imshow(gradient[c], cmap=DIVERGING, vmin=vmin, vmax=vmax)
        for ax in axes[:, c]:
            ax.set_xticks([])
            ax.set_yticks([])
        if channels > 1:
            # Short titles, so that eight of them fit side by side.
            axes[0, c].set_title(f"ch. {c + 1}", fontsize=7)
    if channels == 1:
        axes[0, 0].set_title("input", fontsize=9)
        axes[1, 0].set_title("∂L/∂input", fontsize=9)
    else:
        axes[0, 0].set_ylabel("input", fontsize=9)
        axes[1, 0].set_ylabel("∂L/∂input", fontsize=9)
    fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8)
    what = "the image" if result["layer"] == 1 else "the pooled maps of conv 1"
    fig.suptitle(
        f"conv {result['layer']} reads {what}: digit {result['label']}, "
        f"predicted {result['predicted']}",
        fontsize=10,
    )


def _plot_attention(result, fig):
    from matplotlib.ticker import FuncFormatter

    axes = fig.subplots(1, 2)
    labels = [str(token) for token in result["tokens"]]
    if "separator" in result:
        labels = ["#" if token == result["separator"] else label
                  for token, label in zip(result["tokens"], labels)]
    T = len(labels)
    panels = [
        (result["weights"], SEQUENTIAL, (0.0, 1.0), "weights A"),
        (result["gradient"], DIVERGING, _symmetric_limits(result["gradient"]),
         "score gradient ∂L/∂S"),
    ]
    for ax, (values, cmap, (vmin, vmax), title) in zip(axes, panels):
        image = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax)
        ax.set_xticks(range(T), labels, fontsize=7)
        ax.set_yticks(range(T), labels, fontsize=7)
        ax.set_xlabel("query t (token)", fontsize=8)
        ax.set_ylabel("key s (token)", fontsize=8)
        ax.set_title(title, fontsize=9)
        bar = fig.colorbar(image, ax=ax, shrink=0.75)
        # Each tick shows its own value, such as 5e-06, because the shared
        # factor that matplotlib would print above the bar overlaps the title.
        bar.formatter = FuncFormatter(lambda value, _: f"{value:.2g}")
        bar.ax.tick_params(labelsize=7)
    fig.suptitle(
        f"head {result['layer']}, sequence {result['example']}: "
        f"loss {result['loss']:.3g}",
        fontsize=10,
    )


def circle_layout(y):
    """Place the nodes on a circle, grouped by class, and return (2, n) positions."""
    order = np.argsort(y, kind="stable")
    angles = np.empty(len(y))
    angles[order] = 2 * np.pi * np.arange(len(y)) / len(y)
    return np.vstack([np.cos(angles), np.sin(angles)])


def _plot_graph(result, fig):
    from matplotlib.colors import LogNorm

    ax = fig.subplots()
    position = circle_layout(result["y"])
    rows, cols = np.nonzero(np.triu(result["A"]))
    for i, j in zip(rows, cols):
        ax.plot(position[0, [i, j]], position[1, [i, j]], color="0.88", lw=0.5,
                zorder=1)
    norms = result["norms"]
    reached = norms > 0
    # Nodes the gradient does not reach are drawn hollow: their gradient is
    # exactly 0, which a logarithmic colour scale cannot show.
    ax.scatter(position[0, ~reached], position[1, ~reached], s=22,
               facecolors="white", edgecolors="0.55", linewidths=0.6, zorder=2)
    scatter = ax.scatter(position[0, reached], position[1, reached],
                         c=norms[reached], cmap=SEQUENTIAL, s=30,
                         norm=LogNorm(), edgecolors="0.3", linewidths=0.4,
                         zorder=3)
    node = result["example"]
    ax.scatter(position[0, node], position[1, node], s=130, facecolors="none",
               edgecolors=VERMILLION, linewidths=1.5, zorder=4)
    for k in np.unique(result["y"]):
        middle = np.mean(position[:, result["y"] == k], axis=1)
        middle = 1.22 * middle / np.linalg.norm(middle)
        ax.text(middle[0], middle[1], f"class {k}", ha="center", va="center",
                fontsize=8, color="0.35")
    fig.colorbar(scatter, ax=ax, shrink=0.8, label="‖∂L/∂(input of node j)‖")
    ax.set_aspect("equal")
    ax.set_xlim(-1.4, 1.4)
    ax.set_ylim(-1.4, 1.4)
    ax.axis("off")
    fig.suptitle(
        f"GCN layer {result['layer']}: the loss of node {node} (ringed) "
        f"reaches {int(np.sum(reached))} nodes",
        fontsize=10,
    )


def plot_gradient_flow(result, fig=None):
    """Draw a frame of ``gradient_flow`` and return the figure."""
    import matplotlib.pyplot as plt

    if fig is None:
        if result["block"] == "conv" and result["input"].shape[0] == 1:
            size = (4.4, 2.4)
        else:
            size = {"conv": (7, 2.6), "attention": (7, 3.2), "graph": (5, 4.2)}[
                result["block"]
            ]
        # Constrained layout keeps the graph's colour bar label inside the
        # figure. It would cut off the axis labels under the attention maps.
        layout = "constrained" if result["block"] == "graph" else None
        fig = plt.figure(figsize=size, layout=layout)
    drawing = {"conv": _plot_conv, "attention": _plot_attention,
               "graph": _plot_graph}[result["block"]]
    drawing(result, fig)
    return fig


def architectures_explorer(models):
    """Return a widget: a block, a layer and an example above the gradient plot."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    block = widgets.Dropdown(options=list(BLOCKS), value="conv", description="block")
    layer = widgets.IntSlider(value=1, min=1, max=2, step=1, description="layer",
                              continuous_update=False)
    example = widgets.IntSlider(value=0, min=0, max=NUM_EXAMPLES - 1, step=1,
                                description="example", continuous_update=False)

    def show(block, layer, example):
        plot_gradient_flow(gradient_flow(models, block, layer, example))
        plt.show()

    return widgets.interactive(show, block=block, layer=layer, example=example)


# Frames for pages without a kernel ------------------------------------------------


def _largest(array):
    """Return the index and value of the entry of largest magnitude."""
    index = np.unravel_index(int(np.argmax(np.abs(array))), array.shape)
    return index, float(array[index])


def describe_flow(result):
    """Return one sentence for a frame of ``gradient_flow``, with its numbers."""
    layer, example = result["layer"], result["example"]
    if result["block"] == "conv":
        gradient = result["gradient"]
        (c, row, column), value = _largest(gradient)
        source = "the image" if layer == 1 else "the pooled maps of conv 1"
        shape = "×".join(str(n) for n in gradient.shape)
        return (
            f"Conv layer {layer} reads {source}. Example {example}, a digit "
            f"{result['label']} predicted as {result['predicted']}: the gradient of "
            f"its loss with respect to the {shape} input runs from "
            f"{float(gradient.min()):.2g} to {float(gradient.max()):.2g}, largest in "
            f"size at channel {c + 1}, row {row}, column {column} ({value:.2g})."
        )
    if result["block"] == "attention":
        (key, query), value = _largest(result["gradient"])
        tokens = " ".join(
            "#" if token == result.get("separator") else str(token)
            for token in result["tokens"]
        )
        below = np.tril(np.ones_like(result["gradient"], dtype=bool), -1)
        zero = "zero" if not np.any(result["gradient"][below]) else "not zero"
        return (
            f"Attention head {layer} on sequence {example} ({tokens}), loss "
            f"{result['loss']:.3g}: the weights A and the score gradient ∂L/∂S, "
            f"which is {zero} below the diagonal where the causal mask is; its "
            f"largest entry in size is {value:.2g}, at key s = {key} and query "
            f"t = {query}."
        )
    norms = result["norms"]
    reached = int(np.sum(norms > 0))
    others = norms.copy()
    others[example] = 0.0
    strongest = int(np.argmax(others))
    return (
        f"GCN layer {layer}: the loss of node {example} reaches the input of "
        f"{reached} of {len(norms)} nodes, within {3 - layer} "
        f"edge{'' if layer == 2 else 's'} of it. The gradient norm is "
        f"{norms[example]:.2g} at the node itself and, among the others, largest at "
        f"node {strongest} ({norms[strongest]:.2g})."
    )


def architectures_frames(models, blocks=BLOCKS, layers=LAYERS,
                         examples=tuple(range(NUM_EXAMPLES)), dpi=FRAME_DPI):
    """Return the widget as a ``FrameExplorer`` that needs no kernel.

    Sliders choose the block, the layer and the example, as the widget's
    dropdown and two sliders do. Each frame is ``plot_gradient_flow`` on
    ``gradient_flow(models, block, layer, example)``, computed once per setting.
    """
    from bpcourse.interactive import FrameExplorer

    blocks, layers, examples = list(blocks), list(layers), list(examples)
    results = {}

    def result_for(block, layer, example):
        key = (block, layer, example)
        if key not in results:
            results[key] = gradient_flow(models, block, layer, example)
        return results[key]

    def draw(block, layer, example):
        return plot_gradient_flow(result_for(block, layer, example))

    def alt(block, layer, example):
        return describe_flow(result_for(block, layer, example))

    return FrameExplorer(
        draw,
        {"block": blocks, "layer": layers, "example": examples},
        initial={"block": blocks[0], "layer": layers[0], "example": examples[0]},
        alt=alt,
        labels={"block": "block", "layer": "layer (the head, for attention)",
                "example": "example"},
        dpi=dpi,
    )
