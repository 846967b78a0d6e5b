"""A drawing of the computational graph, with the value and gradient of each node.

Nodes are laid out in layers: an operation sits one layer after its deepest
input, and a leaf sits just before its first consumer. Within a layer, nodes
are ordered by the mean position of their neighbours, which keeps most edges
short. Layers run from left to right like ``bpcourse.plots.draw_network``, or
from top to bottom when there are too many of them for the width of a page.
Only matplotlib is needed.

Colours follow ``bpcourse.plots``: a node whose gradient is a single number is
filled from the diverging map ``DIVERGING``, centred at 0. Every value is also
printed, so no reading depends on colour alone.
"""

import numpy as np

from bpcourse.autodiff.graph import topological_order
from bpcourse.plots import DIVERGING

#: Width and height of a node's box, in inches of a figure made by draw_graph.
BOX_WIDTH = 1.7
BOX_HEIGHT = 0.8
#: Distance between the centres of neighbouring boxes, across and along layers.
STEP_ACROSS = 2.0
STEP_ALONG = 1.1
#: Width of a book page, in inches: wider left-to-right drawings go top-down.
PAGE_WIDTH = 10.0
#: Largest font size of the node labels, in points.
MAX_FONT_SIZE = 8.0


def draw_graph(root, ax=None, direction="auto", max_nodes=60, title=None):
    """Draw the graph that ``root`` was computed from.

    Every node shows its name or operation, its shape, and the first entries of
    its value and of its gradient (``—`` before ``backward`` and for constants).
    Leaves have a thick border and constants a dashed one. An input used twice
    by one operation (``a + a``) has one arrow labelled ``×2``.

    Parameters
    ----------
    root : Tensor
        Usually the loss, after ``backward()``.
    ax : matplotlib Axes, optional
        By default a new figure sized to the graph. The labels' font shrinks to
        fit the boxes, so a small Axes gets small text.
    direction : {"auto", "right", "down"}
        Where the layers advance. ``"auto"`` takes ``"right"`` unless the
        drawing would be wider than ``PAGE_WIDTH`` inches.
    max_nodes : int
        Graphs with more nodes raise ``ValueError``, because a drawing of them
        is too large to read. About 30 nodes fit on a page.
    title : str, optional

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    if direction not in ("auto", "right", "down"):
        raise ValueError(
            f"direction={direction!r} is not one of 'auto', 'right' or 'down'"
        )
    nodes = topological_order(root, constants=True)
    if len(nodes) > max_nodes:
        raise ValueError(
            f"the graph has {len(nodes)} nodes, more than max_nodes={max_nodes} "
            "can show readably: draw an intermediate tensor instead of the loss, "
            "or raise max_nodes"
        )
    grid = _layout(nodes)
    layers = 1 + max(layer for layer, _ in grid.values())
    rows = 1 + max(row for _, row in grid.values())
    if direction == "auto":
        direction = "right" if STEP_ACROSS * layers <= PAGE_WIDTH else "down"

    # Centres in inches: x grows to the right, y downwards is negative.
    if direction == "right":
        centres = {
            key: (STEP_ACROSS * layer, -STEP_ALONG * row)
            for key, (layer, row) in grid.items()
        }
        width, height = STEP_ACROSS * (layers - 1), STEP_ALONG * (rows - 1)
    else:
        centres = {
            key: (STEP_ACROSS * row, -STEP_ALONG * layer)
            for key, (layer, row) in grid.items()
        }
        width, height = STEP_ACROSS * (rows - 1), STEP_ALONG * (layers - 1)
    if ax is None:
        figure_height = height + BOX_HEIGHT + 0.8
        figure, ax = plt.subplots(figsize=(width + BOX_WIDTH + 0.5, figure_height))
        # Half an inch at the top for the title.
        figure.subplots_adjust(
            left=0.01, right=0.99, bottom=0.01, top=1 - 0.5 / figure_height
        )
    margin = 0.2
    ax.set_xlim(-BOX_WIDTH / 2 - margin, width + BOX_WIDTH / 2 + margin)
    ax.set_ylim(-height - BOX_HEIGHT / 2 - margin, BOX_HEIGHT / 2 + margin)
    ax.set_aspect("equal")
    ax.axis("off")

    labels = {id(node): _node_text(node) for node in nodes}
    fontsize = _fitting_font_size(ax, labels.values())
    _draw_edges(ax, nodes, centres, direction, fontsize)
    _draw_boxes(ax, nodes, centres, labels, fontsize)
    if title:
        ax.set_title(title)
    return ax


def _draw_edges(ax, nodes, centres, direction, fontsize):
    from matplotlib.patches import FancyArrowPatch

    for node in nodes:
        child_x, child_y = centres[id(node)]
        for parent in dict.fromkeys(node.parents):
            parent_x, parent_y = centres[id(parent)]
            if direction == "right":
                start = (parent_x + BOX_WIDTH / 2, parent_y)
                end = (child_x - BOX_WIDTH / 2, child_y)
            else:
                start = (parent_x, parent_y - BOX_HEIGHT / 2)
                end = (child_x, child_y + BOX_HEIGHT / 2)
            ax.add_patch(
                FancyArrowPatch(
                    start,
                    end,
                    arrowstyle="-|>",
                    mutation_scale=9,
                    color="0.35",
                    lw=0.9,
                    zorder=1,
                )
            )
            uses = sum(p is parent for p in node.parents)
            if uses > 1:
                ax.text(
                    (start[0] + end[0]) / 2 + 0.05,
                    (start[1] + end[1]) / 2 + 0.05,
                    f"×{uses}",
                    ha="left",
                    va="bottom",
                    fontsize=fontsize,
                    zorder=3,
                )


def _draw_boxes(ax, nodes, centres, labels, fontsize):
    from matplotlib import colormaps
    from matplotlib.colors import Normalize
    from matplotlib.patches import FancyBboxPatch

    scalar_grads = [
        abs(float(node.grad.reshape(-1)[0]))
        for node in nodes
        if node.grad is not None and node.grad.size == 1
    ]
    vmax = max(scalar_grads + [1e-12])
    norm = Normalize(-vmax, vmax)
    cmap = colormaps[DIVERGING]
    for node in nodes:
        x, y = centres[id(node)]
        face, text_colour = "0.96", "black"
        if node.grad is not None and node.grad.size == 1:
            level = norm(float(node.grad.reshape(-1)[0]))
            face = cmap(level)
            if abs(level - 0.5) > 0.3:
                text_colour = "white"
        is_parameter = node.op is None and node.requires_grad
        ax.add_patch(
            FancyBboxPatch(
                (x - BOX_WIDTH / 2, y - BOX_HEIGHT / 2),
                BOX_WIDTH,
                BOX_HEIGHT,
                boxstyle="round,pad=0.02",
                facecolor=face,
                edgecolor="0.2",
                lw=1.8 if is_parameter else 0.9,
                linestyle="-" if node.requires_grad else "--",
                zorder=2,
            )
        )
        ax.text(
            x,
            y,
            labels[id(node)],
            ha="center",
            va="center",
            fontsize=fontsize,
            color=text_colour,
            zorder=3,
            family="monospace",
        )


def _fitting_font_size(ax, labels):
    """Return the largest font size, up to MAX_FONT_SIZE, whose labels fit a box."""
    ax.apply_aspect()
    origin, corner = ax.transData.transform([(0, 0), (BOX_WIDTH, BOX_HEIGHT)])
    width, height = np.abs(corner - origin) * 72 / ax.figure.dpi
    lines = [label.split("\n") for label in labels]
    widest = max(len(line) for label in lines for line in label)
    tallest = max(len(label) for label in lines)
    # A monospace character is about 0.6 em wide, and a line about 1.2 em high.
    return min(
        MAX_FONT_SIZE, 0.92 * width / (0.6 * widest), 0.9 * height / (1.2 * tallest)
    )


def _layout(nodes):
    """Return {id(node): (layer, row)} for nodes in topological order."""
    children = {id(node): [] for node in nodes}
    for node in nodes:
        for parent in node.parents:
            children[id(parent)].append(node)

    layer = {}
    for node in nodes:
        parent_layers = [layer[id(p)] for p in node.parents]
        layer[id(node)] = 1 + max(parent_layers) if parent_layers else 0
    for node in nodes:
        if not node.parents:
            consumers = [layer[id(c)] for c in children[id(node)]]
            layer[id(node)] = min(consumers) - 1 if consumers else 0
    first = min(layer.values())

    by_layer = {}
    for node in nodes:
        by_layer.setdefault(layer[id(node)] - first, []).append(node)
    row = {}
    for members in by_layer.values():
        for index, node in enumerate(members):
            row[id(node)] = index

    # Two sweeps that move each node towards the mean row of its neighbours.
    for _ in range(2):
        for position in sorted(by_layer):
            members = by_layer[position]
            keys = {}
            for node in members:
                neighbours = [row[id(p)] for p in node.parents]
                neighbours += [row[id(c)] for c in children[id(node)]]
                keys[id(node)] = np.mean(neighbours) if neighbours else row[id(node)]
            members.sort(key=lambda node: keys[id(node)])
            offset = max(0.0, min(keys.values()) - (len(members) - 1) / 2)
            for index, node in enumerate(members):
                row[id(node)] = index + round(offset)

    return {id(node): (layer[id(node)] - first, row[id(node)]) for node in nodes}


def _node_text(node):
    if node.name is not None and node.op is not None:
        title = f"{node.name} = {node.op}"
    elif node.name is not None:
        title = node.name
    elif node.op is not None:
        title = node.op
    else:
        title = "leaf" if node.requires_grad else "const"
    lines = [_shorten(title, 20)]
    if node.data.size != 1:
        lines.append(str(node.data.shape))
    lines.append("value " + _summary(node.data))
    lines.append("grad  " + ("—" if node.grad is None else _summary(node.grad)))
    return "\n".join(lines)


def _summary(array):
    """Format the first entries of an array, such as ``[0.13, -0.2, …]``."""
    flat = np.asarray(array).reshape(-1)
    if flat.size == 1:
        return f"{flat[0]:.4g}"
    first_two = ", ".join(f"{v:.2g}" for v in flat[:2])
    if flat.size == 2:
        return f"[{first_two}]"
    return f"[{first_two}, …]"


def _shorten(text, width):
    return text if len(text) <= width else text[: width - 1] + "…"
