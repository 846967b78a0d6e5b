"""Figures shared by several chapters: the colours and the network diagram.

Colour conventions, used throughout the book: signed quantities (weights, δ,
gradients) use the diverging map ``DIVERGING`` centred at 0; non-negative ones
use ``SEQUENTIAL``. Lines, bars and markers take their colours from
``COLOURS``, in that order. All three stay distinguishable for the common
forms of colour blindness (``tests/test_colours.py`` simulates them), and
every diagram also prints the values as text so no reading depends on colour
alone.
"""

import numpy as np

#: Diverging colour map for signed values (blue negative, red positive).
DIVERGING = "RdBu_r"
#: Sequential colour map for non-negative values.
SEQUENTIAL = "viridis"

#: Colours for lines, bars and markers, in the order a figure uses them: the
#: Okabe–Ito palette, chosen for readers with any of the three forms of
#: dichromacy. ``COLOURS[0]`` is blue, ``[1]`` orange, ``[2]`` bluish green,
#: ``[3]`` vermillion (the colour of a warning: divergence, a failed check).
COLOURS = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, YELLOW, BLACK = COLOURS


def _layer_positions(sizes):
    """Return per layer the (x, y) positions of its units, centred vertically."""
    positions = []
    for layer, width in enumerate(sizes):
        ys = np.arange(width)[::-1] - (width - 1) / 2
        positions.append([(float(layer), float(y)) for y in ys])
    return positions


def draw_network(
    sizes,
    node_values=None,
    edge_values=None,
    ax=None,
    vmax=None,
    layer_labels=None,
    value_format="{:.2f}",
    highlight_layer=None,
    title=None,
):
    """Draw a fully connected network, units coloured by a value per unit.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths ``[d_0, …, d_L]``.
    node_values : list of (array of shape (d_ℓ,) or None), optional
        A value per unit for every layer ℓ = 0 … L, such as a^ℓ or δ^ℓ of one
        example; None leaves that layer grey.
    edge_values : list of ndarray of shape (d_ℓ, d_{ℓ−1}), optional
        A value per connection into layers 1 … L, such as W^ℓ or ∂L/∂W^ℓ; the
        line width grows with the magnitude and the colour shows the sign.
    ax : matplotlib Axes, optional
    vmax : float, optional
        The magnitude mapped to the ends of the colour map; by default the
        largest magnitude among ``node_values``.
    layer_labels : list of str, optional
        One label under each layer; defaults to "input", "layer 1", …
    value_format : str
        How each unit's value is printed inside its circle.
    highlight_layer : int, optional
        A layer to outline, such as the one a backward pass has just reached.
    title : str, optional

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    sizes = [int(s) for s in sizes]
    if node_values is not None and len(node_values) != len(sizes):
        raise ValueError(
            f"node_values has {len(node_values)} layers but sizes {sizes} has "
            f"{len(sizes)}: give one entry (or None) for every layer 0 … L"
        )
    if edge_values is not None and len(edge_values) != len(sizes) - 1:
        raise ValueError(
            f"edge_values has {len(edge_values)} matrices but sizes {sizes} needs "
            f"{len(sizes) - 1}, one W-shaped array per layer 1 … L"
        )
    if ax is None:
        width = 1.8 * len(sizes) + 1
        height = 0.8 * max(sizes) + 1.2
        _, ax = plt.subplots(figsize=(width, height))
    positions = _layer_positions(sizes)
    values = [] if node_values is None else [
        np.asarray(v, dtype=float).reshape(-1) for v in node_values if v is not None
    ]
    if vmax is None:
        vmax = max([np.max(np.abs(v)) for v in values if v.size] + [1e-12])
    norm = Normalize(-vmax, vmax)
    cmap = colormaps[DIVERGING]

    if edge_values is not None:
        largest = max(float(np.max(np.abs(e))) for e in edge_values) or 1.0
    for layer in range(1, len(sizes)):
        edges = None if edge_values is None else np.asarray(edge_values[layer - 1])
        if edges is not None and edges.shape != (sizes[layer], sizes[layer - 1]):
            raise ValueError(
                f"edge_values[{layer - 1}] has shape {edges.shape} but layer {layer} "
                f"needs ({sizes[layer]}, {sizes[layer - 1]}), that is (d_ℓ, d_ℓ−1)"
            )
        for i, (x1, y1) in enumerate(positions[layer]):
            for j, (x0, y0) in enumerate(positions[layer - 1]):
                if edges is None:
                    color, lw = "0.75", 0.8
                else:
                    w = edges[i, j]
                    color = cmap(0.85 if w > 0 else 0.15)
                    lw = 0.4 + 3.0 * abs(w) / largest
                ax.plot([x0, x1], [y0, y1], color=color, lw=lw, zorder=1)

    for layer, units in enumerate(positions):
        layer_values = None
        if node_values is not None and node_values[layer] is not None:
            layer_values = np.asarray(node_values[layer], dtype=float).reshape(-1)
            if layer_values.size != sizes[layer]:
                raise ValueError(
                    f"node_values[{layer}] has {layer_values.size} entries but "
                    f"layer {layer} has d = {sizes[layer]} units"
                )
        for k, (x, y) in enumerate(units):
            if layer_values is None:
                face, text = "0.9", ""
            else:
                face = cmap(norm(layer_values[k]))
                text = value_format.format(layer_values[k])
            edge = "black" if highlight_layer == layer else "0.3"
            lw = 2.5 if highlight_layer == layer else 1.0
            ax.add_patch(
                plt.Circle((x, y), 0.28, facecolor=face, edgecolor=edge, lw=lw,
                           zorder=2)
            )
            if text:
                light = abs(norm(layer_values[k]) - 0.5) > 0.3
                ax.text(x, y, text, ha="center", va="center", fontsize=8,
                        color="white" if light else "black", zorder=3)
    labels = layer_labels or ["input"] + [f"layer {l}" for l in range(1, len(sizes))]
    bottom = -(max(sizes) - 1) / 2 - 0.8
    for layer, label in enumerate(labels):
        ax.text(layer, bottom, label, ha="center", va="top", fontsize=9)
    ax.set_xlim(-0.6, len(sizes) - 0.4)
    ax.set_ylim(bottom - 0.5, (max(sizes) - 1) / 2 + 0.6)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax
