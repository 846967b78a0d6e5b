"""Forward propagation: the activation curves and a 2-2-1 network to set by hand.

The network explorer takes the nine parameters of a 2-2-1 classifier (W¹, b¹,
W², b²), a hidden activation and one input x. It returns the forward values for
x and the output probability over a grid of inputs, from which the decision
boundary on the XOR points is drawn. The output unit is a sigmoid, ŷ = σ(z²),
read as the probability of class 1.
"""

import numpy as np

from bpcourse.activations import get_activation
from bpcourse.data import xor
from bpcourse.interactive import FRAME_DPI
from bpcourse.network import Network
from bpcourse.plots import BLUE, ORANGE, VERMILLION

#: The activations that the chapter plots, in the order it shows them.
ACTIVATION_NAMES = ["sigmoid", "tanh", "relu", "leaky_relu", "identity"]

#: Parameters of the 2-2-1 ReLU network that classifies the four XOR corners.
#: Unit 1 computes x₁ + x₂ and unit 2 computes x₁ + x₂ − 1, both clipped at 0, so
#: the logit z² = 2a¹₁ − 4a¹₂ − 1 is −1 at (0, 0) and (1, 1) and +1 at the others.
XOR_SOLUTION = {
    "w1_11": 1.0, "w1_12": 1.0, "w1_21": 1.0, "w1_22": 1.0,
    "b1_1": 0.0, "b1_2": -1.0,
    "w2_1": 2.0, "w2_2": -4.0, "b2": -1.0,
}

#: A change of σ′ between two neighbouring grid points larger than this is
#: drawn as a gap, because the derivative jumps there.
JUMP_THRESHOLD = 0.5

#: Range and step of every parameter slider of the widget.
PARAMETER_RANGE = (-4.0, 4.0, 0.25)
#: Range and step of the two input sliders, and the extent of the plotted plane.
INPUT_RANGE = (-0.5, 1.5, 0.25)


def activation_curves(names=ACTIVATION_NAMES, z_min=-4.0, z_max=4.0, num=401):
    """Evaluate σ(z) and σ′(z) of each named activation on a grid of z.

    Returns
    -------
    dict
        ``"z"``: the grid, shape (num,); ``"sigma"`` and ``"sigma_prime"``: dicts
        mapping each name to an array of shape (num,).
    """
    z = np.linspace(z_min, z_max, num)
    sigma = {}
    sigma_prime = {}
    for name in names:
        activation = get_activation(name)
        if not activation.elementwise:
            raise ValueError(
                f"{name} is not elementwise, so it has no curve σ(z): choose from "
                f"{', '.join(ACTIVATION_NAMES)}"
            )
        sigma[name] = activation(z)
        sigma_prime[name] = activation.derivative(z)
    return {"z": z, "sigma": sigma, "sigma_prime": sigma_prime}


def draw_activation_curves(curves, axes=None, columns=3):
    """Plot each activation in its own panel: σ solid, σ′ dashed.

    The panels fill a grid with ``columns`` panels per row, and panels left
    over in the last row are hidden. Where σ′ jumps (ReLU and leaky ReLU at
    z = 0) the dashed line is broken instead of drawn as a vertical segment.

    Returns
    -------
    list of matplotlib Axes, one per activation
    """
    import matplotlib.pyplot as plt

    names = list(curves["sigma"])
    if axes is None:
        rows = -(-len(names) // columns)
        _, grid = plt.subplots(
            rows, columns, figsize=(2.6 * columns, 2.3 * rows), squeeze=False
        )
        grid = grid.ravel()
        for ax in grid[len(names):]:
            ax.set_visible(False)
        axes = grid[: len(names)]
    axes = list(np.atleast_1d(axes))
    z = curves["z"]
    for ax, name in zip(axes, names):
        derivative = np.array(curves["sigma_prime"][name], dtype=float)
        jumps = np.flatnonzero(np.abs(np.diff(derivative)) > JUMP_THRESHOLD)
        derivative[jumps] = np.nan
        ax.axhline(0, color="0.6", lw=0.8)
        ax.axvline(0, color="0.6", lw=0.8)
        ax.plot(z, curves["sigma"][name], color=BLUE, label="σ(z)")
        ax.plot(z, derivative, "--", color=ORANGE, label="σ′(z)")
        ax.set_title(name)
        ax.set_xlabel("z")
        ax.set_ylim(-1.5, 2.0)
        ax.grid(alpha=0.3)
    axes[0].legend(loc="upper left", fontsize=8)
    axes[0].figure.tight_layout()
    return axes


def parameters_to_arrays(w1_11, w1_12, w1_21, w1_22, b1_1, b1_2, w2_1, w2_2, b2):
    """Arrange the nine scalars of a 2-2-1 network as W¹, b¹, W², b².

    ``w1_ij`` is the entry in row i and column j of W¹, the weight from input j
    to hidden unit i.

    Returns
    -------
    W1 : ndarray, shape (2, 2)
    b1 : ndarray, shape (2, 1)
    W2 : ndarray, shape (1, 2)
    b2 : ndarray, shape (1, 1)
    """
    W1 = np.array([[w1_11, w1_12], [w1_21, w1_22]], dtype=float)
    b1 = np.array([[b1_1], [b1_2]], dtype=float)
    W2 = np.array([[w2_1, w2_2]], dtype=float)
    b2_column = np.array([[b2]], dtype=float)
    return W1, b1, W2, b2_column


def build_network(W1, b1, W2, b2, activation="relu"):
    """Return a ``Network`` [d_0, d_1, 1] with a sigmoid output and these parameters.

    W1 has shape (d_1, d_0), b1 (d_1, 1), W2 (1, d_1) and b2 (1, 1).
    """
    W1 = np.asarray(W1, dtype=float)
    W2 = np.asarray(W2, dtype=float)
    d1, d0 = W1.shape
    if W2.shape != (1, d1):
        raise ValueError(
            f"W2 has shape {W2.shape} but a network with d_1 = {d1} hidden units "
            f"and one output needs (1, {d1})"
        )
    net = Network(
        [d0, d1, 1], activation=activation, output="sigmoid",
        loss="binary_cross_entropy",
    )
    net.weights[0][...] = W1
    net.biases[0][...] = np.reshape(b1, (d1, 1))
    net.weights[1][...] = W2
    net.biases[1][...] = np.reshape(b2, (1, 1))
    return net


def probability_grid(net, limits=INPUT_RANGE[:2], num=81):
    """Evaluate ŷ = σ(z²) of a network with two inputs on a num × num grid.

    All grid points go through one forward pass, as the columns of a batch.

    Returns
    -------
    x1, x2 : ndarray, shape (num,)
        The grid's coordinates.
    probability : ndarray, shape (num, num)
        ``probability[i, j]`` is ŷ at (x1[j], x2[i]), the layout of
        ``matplotlib.pyplot.contourf``.
    """
    x1 = np.linspace(limits[0], limits[1], num)
    x2 = np.linspace(limits[0], limits[1], num)
    grid1, grid2 = np.meshgrid(x1, x2)
    X = np.vstack([grid1.ravel(), grid2.ravel()])
    output, _ = net.forward(X)
    return x1, x2, output.reshape(num, num)


def explore_network(
    w1_11, w1_12, w1_21, w1_22, b1_1, b1_2, w2_1, w2_2, b2,
    activation="relu", x1=1.0, x2=0.0, num=81, data_seed=0,
):
    """Compute what the network widget shows for one setting of its controls.

    Returns
    -------
    dict with
        ``"W"``, ``"b"``: lists [W¹, W²] and [b¹, b²];
        ``"x"``: the chosen input, shape (2, 1);
        ``"z"``, ``"a"``: the forward values for x, [z¹, z²] and [a⁰, a¹, a²];
        ``"grid"``: (x1, x2, probability) from ``probability_grid``;
        ``"X"``, ``"y"``: 40 XOR points and their labels;
        ``"accuracy"``: the fraction of those points with ŷ > 0.5 exactly when
        the label is 1;
        ``"activation"``: the hidden activation's name.
    """
    W1, b1_column, W2, b2_column = parameters_to_arrays(
        w1_11, w1_12, w1_21, w1_22, b1_1, b1_2, w2_1, w2_2, b2
    )
    net = build_network(W1, b1_column, W2, b2_column, activation)
    x = np.array([[x1], [x2]], dtype=float)
    _, cache = net.forward(x)
    X, y = xor(n=40, noise=0.1, seed=data_seed)
    return {
        "W": [W1, W2],
        "b": [b1_column, b2_column],
        "x": x,
        "z": cache.z,
        "a": cache.a,
        "grid": probability_grid(net, num=num),
        "X": X,
        "y": y,
        "accuracy": net.accuracy(X, y),
        "activation": net.activations[0].name,
    }


def draw_network_explorer(data, fig=None):
    """Draw the network diagram for the chosen x and the decision boundary.

    The left panel is ``bpcourse.plots.draw_network`` with a⁰, a¹, a² in the
    units and W¹, W² on the connections. The right panel colours ŷ over the
    plane, draws the boundary ŷ = 0.5 and marks the chosen x with a star.

    Returns
    -------
    matplotlib Figure
    """
    import matplotlib.pyplot as plt

    from bpcourse.plots import SEQUENTIAL, draw_network

    if fig is None:
        fig = plt.figure(figsize=(8.6, 3.6))
    ax_net, ax_plane = fig.subplots(
        1, 2, gridspec_kw={"width_ratios": [1.1, 1]}
    )
    sizes = [a.shape[0] for a in data["a"]]
    draw_network(
        sizes,
        node_values=[a[:, 0] for a in data["a"]],
        edge_values=data["W"],
        ax=ax_net,
        layer_labels=["x = a⁰", f"a¹ ({data['activation']})", "ŷ = a²"],
        title="activations for the chosen x",
    )

    x1, x2, probability = data["grid"]
    filled = ax_plane.contourf(
        x1, x2, probability, levels=np.linspace(0, 1, 11), cmap=SEQUENTIAL,
        alpha=0.85,
    )
    if probability.min() < 0.5 < probability.max():
        ax_plane.contour(x1, x2, probability, levels=[0.5], colors="white",
                         linewidths=2)
    X, y = data["X"], data["y"]
    for label, marker, colour in [(0, "o", "white"), (1, "s", "black")]:
        chosen = y == label
        ax_plane.scatter(X[0, chosen], X[1, chosen], marker=marker, s=28,
                         facecolor=colour, edgecolor="0.2", label=f"class {label}")
    ax_plane.scatter(data["x"][0], data["x"][1], marker="*", s=260,
                     facecolor=VERMILLION, edgecolor="white", label="chosen x")
    ax_plane.set_xlabel("x₁")
    ax_plane.set_ylabel("x₂")
    ax_plane.set_aspect("equal")
    ax_plane.set_title(f"ŷ over the plane, accuracy {data['accuracy']:.0%}")
    ax_plane.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=3,
                    fontsize=8, frameon=False)
    colorbar = fig.colorbar(filled, ax=ax_plane, shrink=0.8)
    colorbar.set_label("ŷ", rotation=0, labelpad=10)
    fig.tight_layout()
    return fig


def network_widget(**start):
    """Build the widget: sliders for W¹, b¹, W², b² and x, and the figure below.

    Keyword arguments override the starting values, which are
    ``XOR_SOLUTION``, a ReLU hidden layer and x = (1, 0).

    Returns
    -------
    ipywidgets.VBox
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    values = {**XOR_SOLUTION, "activation": "relu", "x1": 1.0, "x2": 0.0, **start}
    low, high, step = PARAMETER_RANGE
    labels = {
        "w1_11": "W¹₁₁", "w1_12": "W¹₁₂", "w1_21": "W¹₂₁", "w1_22": "W¹₂₂",
        "b1_1": "b¹₁", "b1_2": "b¹₂", "w2_1": "W²₁₁", "w2_2": "W²₁₂", "b2": "b²",
    }
    # Three columns of controls fit the book's text column (about 540 pixels).
    layout = widgets.Layout(width="178px")
    style = {"description_width": "34px"}
    controls = {
        name: widgets.FloatSlider(
            value=values[name], min=low, max=high, step=step,
            description=label, continuous_update=False, layout=layout,
            style=style,
        )
        for name, label in labels.items()
    }
    low, high, step = INPUT_RANGE
    for name, label in [("x1", "x₁"), ("x2", "x₂")]:
        controls[name] = widgets.FloatSlider(
            value=values[name], min=low, max=high, step=step,
            description=label, continuous_update=False, layout=layout,
            style=style,
        )
    controls["activation"] = widgets.Dropdown(
        options=["relu", "leaky_relu", "tanh", "sigmoid", "identity"],
        value=values["activation"], description="σ", layout=layout, style=style,
    )

    def show(**kwargs):
        fig = draw_network_explorer(explore_network(**kwargs))
        display(fig)
        plt.close(fig)

    output = widgets.interactive_output(show, controls)
    columns = [
        ["w1_11", "w1_12", "w1_21", "w1_22"],
        ["b1_1", "b1_2", "w2_1", "w2_2", "b2"],
        ["activation", "x1", "x2"],
    ]
    panel = widgets.HBox(
        [widgets.VBox([controls[name] for name in column]) for column in columns]
    )
    return widgets.VBox([panel, output])


#: The values of the kernel-free explorer's sliders: the hidden activation and
#: the chosen input x, with the network fixed at ``XOR_SOLUTION``.
FRAME_ACTIVATIONS = ["relu", "leaky_relu", "tanh", "sigmoid", "identity"]
FRAME_INPUTS = [0.0, 0.5, 1.0]


def _frame_data(activation, x1, x2):
    return explore_network(**XOR_SOLUTION, activation=activation, x1=x1, x2=x2, num=41)


def forward_frames(activations=FRAME_ACTIVATIONS, inputs=FRAME_INPUTS, dpi=FRAME_DPI):
    """Return the network widget as a ``FrameExplorer`` that needs no kernel.

    The network keeps the parameters of ``XOR_SOLUTION``; the sliders choose
    the hidden activation and the input x = (x₁, x₂). Each frame is drawn by
    ``draw_network_explorer(explore_network(...))``, as in the live widget.
    """
    from bpcourse.interactive import FrameExplorer

    import matplotlib.pyplot as plt

    def draw(activation, x1, x2):
        # The frames are saved without a tight bounding box, so the figure is
        # taller than the widget's and keeps room for the legend below the plane.
        fig = draw_network_explorer(
            _frame_data(activation, x1, x2), fig=plt.figure(figsize=(8.6, 4.0))
        )
        fig.subplots_adjust(bottom=0.2)
        return fig

    def alt(activation, x1, x2):
        data = _frame_data(activation, x1, x2)
        hidden = ", ".join(f"{value:.2f}" for value in data["a"][1][:, 0])
        return (
            f"The XOR network with {'an' if activation[0] in 'aeiou' else 'a'} "
            f"{activation} hidden layer at x = ({x1:g}, "
            f"{x2:g}): hidden activations a¹ = ({hidden}), output ŷ = "
            f"{data['a'][2][0, 0]:.2f}, so class {int(data['a'][2][0, 0] > 0.5)}; "
            f"accuracy {data['accuracy']:.0%} on the 40 XOR points."
        )

    params = {"activation": list(activations), "x1": list(inputs), "x2": list(inputs)}
    start = {"activation": "relu", "x1": 1.0, "x2": 0.0}
    return FrameExplorer(
        draw,
        params,
        initial={name: v for name, v in start.items() if v in params[name]},
        alt=alt,
        labels={"activation": "hidden activation σ", "x1": "input x₁", "x2": "input x₂"},
        dpi=dpi,
    )
