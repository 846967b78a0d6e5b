"""What a training step costs, and which layers can work at the same time.

Costs count the floating-point operations of the matrix products, 2 m n p for
an (m × n) by (n × p) product, and leave out the elementwise work. One
*layer pass* is the product W^ℓ a^{ℓ−1} of one layer on one minibatch,
2 d_ℓ d_{ℓ−1} B operations.

``dependency_schedule`` lays the layer passes of a few minibatches on a time
axis measured in layer passes of equal width, with one worker per layer. A
worker runs one pass at a time. A pass starts once its inputs exist and its
layer's weights are up to date. The schedule shows how long layer 1 waits
before it can update, and whether the layers can work on different
minibatches at once.
"""

from dataclasses import dataclass

from bpcourse.plots import BLUE, GREEN, ORANGE, VERMILLION

#: The methods ``step_cost`` and ``dependency_schedule`` know.
METHODS = ("backprop", "forward_gradient", "forward_forward")

#: Display names of the methods.
METHOD_NAMES = {
    "backprop": "backpropagation",
    "forward_gradient": "forward gradient",
    "forward_forward": "forward-forward",
}


def _check_method(method):
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: use one of {', '.join(METHODS)}")


def layer_pass_flops(sizes, batch_size):
    """Return 2 d_ℓ d_{ℓ−1} B for every layer ℓ = 1 … L."""
    return [2 * d * d_prev * batch_size for d_prev, d in zip(sizes[:-1], sizes[1:])]


def step_cost(method, sizes, batch_size, num_directions=1, num_classes=10):
    """Return the matrix-product operations of one training step and of one prediction.

    Parameters
    ----------
    method : {"backprop", "forward_gradient", "forward_forward"}
    sizes : sequence of int
        The layer widths ``[d_0, …, d_L]``; for forward-forward, d_0 includes
        the label units.
    batch_size : int
        B.
    num_directions : int
        k, for forward gradients.
    num_classes : int
        K, the forward passes a forward-forward prediction needs.

    Returns
    -------
    dict
        ``train``: operations of one step. Backpropagation: the forward pass,
        ∂L/∂W^ℓ = δ^ℓ (a^{ℓ−1})ᵀ for every layer and (W^ℓ)ᵀ δ^ℓ for ℓ ≥ 2.
        Forward gradient: one forward pass, then per direction V_W^ℓ a^{ℓ−1}
        for every layer and W^ℓ ȧ^{ℓ−1} for ℓ ≥ 2. Forward-forward: the
        forward pass and ∂L^ℓ/∂W^ℓ for the positive and the negative copy.
        ``predict``: operations of predicting B examples.
        ``train_in_forward_passes``: ``train`` divided by one forward pass.
    """
    _check_method(method)
    passes = layer_pass_flops(sizes, batch_size)
    forward = sum(passes)
    upper = sum(passes[1:])
    if method == "backprop":
        train = forward + forward + upper
        predict = forward
    elif method == "forward_gradient":
        train = forward + num_directions * (forward + upper)
        predict = forward
    else:
        train = 2 * forward + 2 * forward
        predict = num_classes * forward
    return {"train": train, "predict": predict,
            "train_in_forward_passes": train / forward}


@dataclass(frozen=True)
class Task:
    """One piece of work on one layer's worker.

    Attributes
    ----------
    minibatch : int
        1, 2, …
    layer : int
        ℓ in 1 … L.
    kind : str
        ``"forward"``, ``"backward"``, ``"forward+tangent"``,
        ``"local gradient"`` or ``"update"`` (instantaneous).
    start, end : float
        In layer passes.
    """

    minibatch: int
    layer: int
    kind: str
    start: float
    end: float


def dependency_schedule(method, num_layers, num_minibatches=2):
    """Return the earliest schedule of a few training steps, one worker per layer.

    Durations, in layer passes: backpropagation runs a forward pass (1) per
    layer, then backward passes (2 for δ and ∂L/∂W, 1 for layer 1, which sends
    no δ further down) from layer L to 1. A forward gradient with one
    direction runs the primal and tangent passes together (3, or 2 for layer
    1, whose input has no tangent), and every layer updates once the last
    layer gives ∇L·v. Forward-forward runs the positive and negative forward
    passes (2) and then its local gradient and update (2), and the next layer
    starts as soon as the forward passes are done.

    Returns
    -------
    list of Task
        In the order they were scheduled.
    """
    _check_method(method)
    L = num_layers
    free = {layer: 0.0 for layer in range(1, L + 1)}
    updated = {layer: 0.0 for layer in range(1, L + 1)}
    tasks = []

    def run(minibatch, layer, kind, ready, duration):
        start = max(ready, free[layer])
        task = Task(minibatch, layer, kind, start, start + duration)
        free[layer] = task.end
        tasks.append(task)
        return task.end

    for m in range(1, num_minibatches + 1):
        if method == "backprop":
            ready = 0.0
            for layer in range(1, L + 1):
                ready = run(m, layer, "forward", max(ready, updated[layer]), 1)
            for layer in range(L, 0, -1):
                ready = run(m, layer, "backward", ready, 2 if layer > 1 else 1)
                updated[layer] = ready
        elif method == "forward_gradient":
            ready = 0.0
            for layer in range(1, L + 1):
                duration = 3 if layer > 1 else 2
                ready = run(m, layer, "forward+tangent",
                            max(ready, updated[layer]), duration)
            for layer in range(1, L + 1):
                updated[layer] = run(m, layer, "update", ready, 0)
        else:
            ready = 0.0
            for layer in range(1, L + 1):
                ready = run(m, layer, "forward", max(ready, updated[layer]), 2)
                updated[layer] = run(m, layer, "local gradient", ready, 2)
    return tasks


def first_update_of_layer_one(tasks):
    """Return the time at which layer 1 can first update its weights."""
    candidates = [
        t.end for t in tasks
        if t.layer == 1 and t.minibatch == 1
        and t.kind in ("backward", "update", "local gradient")
    ]
    return min(candidates)


def makespan(tasks):
    """Return the time at which the last task ends."""
    return max(t.end for t in tasks)


#: Colours of the kinds of work in ``plot_schedule``.
KIND_COLOURS = {
    "forward": BLUE,
    "forward+tangent": GREEN,
    "backward": VERMILLION,
    "local gradient": ORANGE,
}


def plot_schedule(tasks, ax, title=None, xmax=None):
    """Draw a schedule: one row per layer, one box per pass, labelled with its minibatch.

    Instantaneous updates are drawn as black ticks.
    """
    layers = sorted({t.layer for t in tasks})
    for t in tasks:
        y = t.layer
        if t.end == t.start:
            ax.plot([t.start, t.start], [y - 0.4, y + 0.4], color="black", lw=2)
            continue
        alpha = 1.0 if t.minibatch % 2 == 1 else 0.55
        ax.barh(y, t.end - t.start, left=t.start, height=0.7,
                color=KIND_COLOURS[t.kind], alpha=alpha, edgecolor="white")
        ax.text((t.start + t.end) / 2, y, str(t.minibatch), ha="center",
                va="center", fontsize=7, color="white")
    ax.set_yticks(layers)
    ax.set_yticklabels([f"layer {layer}" for layer in layers], fontsize=8)
    ax.set_ylim(max(layers) + 0.6, min(layers) - 0.6)
    ax.set_xlim(0, xmax if xmax is not None else makespan(tasks))
    ax.tick_params(axis="x", labelsize=8)
    if title:
        ax.set_title(title, fontsize=9, loc="left")
    return ax
