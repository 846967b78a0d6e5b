r"""The backward pass one layer at a time, for the δ-recursion chapter.

A small network runs its forward pass on one example, and the backward pass then
fills in δ^ℓ = ∂L/∂z^ℓ from the output towards the input:

* step 0: the forward pass is done, so every z^ℓ and a^ℓ is cached and no δ is known;
* step 1: δᴸ comes from the loss;
* step k ≥ 2: δ^{L−k+1} = (W^{L−k+2})ᵀ δ^{L−k+2} ⊙ σ′(z^{L−k+1}).

:func:`backward_step` returns the state after a step, :func:`draw_backward_step`
draws it and :func:`backward_widget` wires the two to a slider.

>>> state = backward_step(1)
>>> state["layer"], [d is None for d in state["delta"]]
(3, [True, True, True, False])
"""

import numpy as np

from bpcourse.interactive import FRAME_DPI
from bpcourse.network import Network

#: The network of the figure: 3 inputs, two hidden layers of 4 units and 2 outputs.
DEFAULT_SIZES = (3, 4, 4, 2)


def example_network(sizes=DEFAULT_SIZES, activation="tanh", seed=0):
    """Build the explorer's classifier and its single example.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths ``[d_0, …, d_L]``.
    activation : str
        The hidden layers' activation; the output is a softmax with cross-entropy.
    seed : int
        Seeds both the weights and the example, so the same three arguments always
        give the same network, input and label.

    Returns
    -------
    net : Network
    x : ndarray, shape (d_0, 1)
    y : ndarray of int, shape (1,)
        The class label, in 0 … d_L − 1.
    """
    net = Network(list(sizes), activation=activation, loss="cross_entropy", seed=seed)
    rng = np.random.default_rng(seed + 1)
    # Small nonzero biases, so that ReLU units are not all switched on by x alone.
    for b in net.biases:
        b[...] = rng.uniform(-0.5, 0.5, size=b.shape)
    x = rng.standard_normal((net.sizes[0], 1))
    y = np.array([int(rng.integers(net.sizes[-1]))])
    return net, x, y


def step_equation(step, num_layers):
    """Return the equation that a step of the backward pass evaluates, as plain text.

    Step 0 is the forward pass, step 1 gives δᴸ from the loss (ŷ − y, because the
    example is a single column and the loss is softmax with cross-entropy) and
    step k ≥ 2 gives δ^{L−k+1} by the δ-recursion. The text uses Unicode
    superscripts, so matplotlib and a plain terminal both show it.
    """
    _check_step(step, num_layers)
    if step == 0:
        return "forward pass: every z and a cached"
    if step == 1:
        return f"δ{_superscript(num_layers)} = ŷ − y, from the loss"
    layer = _superscript(num_layers - step + 1)
    above = _superscript(num_layers - step + 2)
    return f"δ{layer} = (W{above})ᵀ δ{above} ⊙ σ′(z{layer})"


def backward_step(step, sizes=DEFAULT_SIZES, activation="tanh", seed=0):
    """Return the δ values known after ``step`` steps of the backward pass.

    Parameters
    ----------
    step : int
        0 … L, where L = ``len(sizes) − 1``. Step 0 is the forward pass alone and
        step k ≥ 1 has computed δᴸ, …, δ^{L−k+1}.
    sizes, activation, seed
        As for :func:`example_network`.

    Returns
    -------
    dict
        ``sizes``: the layer widths as a list.
        ``delta``: one entry per layer 0 … L, δ^ℓ of shape (d_ℓ,) once it is
        known and None before. Layer 0 is the input, which has no δ, so it is
        always None.
        ``layer``: the layer whose δ this step computed, or None at step 0.
        ``equation``: the step's equation as text (:func:`step_equation`).
        ``vmax``: the largest |δ| over all layers of the finished pass, so that
        every step is drawn on the same colour scale.
        ``loss``: the example's loss.
    """
    net, x, y = example_network(sizes, activation, seed)
    L = net.num_layers
    _check_step(step, L)
    _, cache = net.forward(x)
    grads = net.backward(cache, y)
    delta = [None] * (L + 1)
    for k in range(1, step + 1):
        layer = L - k + 1
        # Adding 0.0 turns the −0.0 of switched-off ReLU units into 0.0 for display.
        delta[layer] = grads.delta[layer - 1][:, 0] + 0.0
    vmax = max(float(np.max(np.abs(d))) for d in grads.delta)
    return {
        "sizes": list(net.sizes),
        "delta": delta,
        "layer": None if step == 0 else L - step + 1,
        "equation": step_equation(step, L),
        "vmax": vmax,
        "loss": grads.loss,
    }


def draw_backward_step(state, ax=None):
    """Draw a :func:`backward_step` state on the network diagram.

    Units are coloured by δ (blue negative, red positive, grey not yet known) on
    the colour scale of the finished pass, and the layer just computed is outlined.

    Returns
    -------
    matplotlib Axes
    """
    from bpcourse.plots import draw_network

    sizes = state["sizes"]
    labels = ["input"] + [f"δ{_superscript(l)}" for l in range(1, len(sizes))]
    layer = state["layer"]
    step = 0 if layer is None else len(sizes) - layer
    title = f"Step {step}: {state['equation']}"
    return draw_network(
        sizes,
        node_values=state["delta"],
        ax=ax,
        vmax=state["vmax"],
        layer_labels=labels,
        value_format="{:+.2f}",
        highlight_layer=layer,
        title=title,
    )


def backward_widget(sizes=DEFAULT_SIZES, seed=0):
    """Return a widget that steps the backward pass with a slider.

    The slider sets the step (0 … L) and a menu the hidden activation, and the
    figure, titled with the step's equation, is redrawn for each choice.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    L = len(sizes) - 1

    def show(step, activation):
        state = backward_step(step, sizes, activation, seed)
        fig, ax = plt.subplots(figsize=(6.0, 5.2))
        draw_backward_step(state, ax=ax)
        plt.show()
        plt.close(fig)

    return widgets.interactive(
        show,
        step=widgets.IntSlider(value=L, min=0, max=L, step=1, description="step"),
        activation=widgets.Dropdown(
            options=["tanh", "relu", "sigmoid"], value="tanh", description="σ"
        ),
    )


_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _superscript(number):
    return str(number).translate(_SUPERSCRIPTS)


def _check_step(step, num_layers):
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
        raise TypeError(f"step must be an integer in 0 … {num_layers}, got {step!r}")
    if not 0 <= step <= num_layers:
        raise ValueError(
            f"step={step} is out of range: a network with L = {num_layers} layers "
            f"has steps 0 … {num_layers}"
        )


#: The hidden activations of the widget's menu, in its order.
FRAME_ACTIVATIONS = ("tanh", "relu", "sigmoid")


def describe_backward_step(state, activation):
    """Return one sentence on a :func:`backward_step` state: the step, its δ and L."""
    layer = state["layer"]
    L = len(state["sizes"]) - 1
    if layer is None:
        return (
            f"Step 0 of the backward pass through a {activation} network "
            f"{'-'.join(map(str, state['sizes']))}: the forward pass is done, every "
            f"z and a is cached, no δ is known yet, and the loss is "
            f"L = {state['loss']:.3f}."
        )
    values = ", ".join(f"{v:+.2f}" for v in state["delta"][layer])
    return (
        f"Step {L - layer + 1} of the backward pass through a {activation} network "
        f"{'-'.join(map(str, state['sizes']))}: {state['equation']} gives "
        f"δ{_superscript(layer)} = ({values}); the loss is L = {state['loss']:.3f}."
    )


def backward_frames(sizes=DEFAULT_SIZES, activations=FRAME_ACTIVATIONS, seed=0, dpi=FRAME_DPI):
    """Return the backward widget as a ``FrameExplorer`` that needs no kernel.

    One slider sets the step (0 … L) and one the hidden activation. Each frame
    is drawn by :func:`draw_backward_step` on :func:`backward_step`, as in the
    live widget.
    """
    import matplotlib.pyplot as plt

    from bpcourse.interactive import FrameExplorer

    L = len(sizes) - 1

    def draw(step, activation):
        fig, ax = plt.subplots(figsize=(6.0, 5.2))
        draw_backward_step(backward_step(step, sizes, activation, seed), ax=ax)
        return fig

    def alt(step, activation):
        return describe_backward_step(backward_step(step, sizes, activation, seed),
                                      activation)

    params = {"step": list(range(L + 1)), "activation": list(activations)}
    return FrameExplorer(
        draw,
        params,
        initial={"step": L, "activation": params["activation"][0]},
        alt=alt,
        labels={"step": "step of the backward pass", "activation": "hidden activation σ"},
        dpi=dpi,
    )
