"""Depth, activation, initialisation and skip paths against the gradient of each layer.

``depth_run`` builds a ``bpcourse.depth.DeepNetwork`` of L = ``depth`` layers on
the digits, measures ‖∂L/∂W^ℓ‖ of every layer on one fixed batch, and trains it
for a few steps of minibatch SGD. ``plot_depth_run`` draws both, and
``depth_explorer`` wires them to four sliders.

Every slider takes the values of ``DEPTHS``, ``ACTIVATIONS``, ``INITS`` and
``RESIDUAL`` only, so each frame a reader can reach is
``depth_run(depth, activation, init, residual)`` for one combination, and all
of them can be computed ahead of time. One run takes a fraction of a second.
"""

import functools
import math

import numpy as np

from bpcourse.data import load_digits, minibatches, standardize
from bpcourse.depth import DeepNetwork, deep_sizes, layer_gradient_norms
from bpcourse.interactive import FRAME_DPI
from bpcourse.plots import BLUE, ORANGE, VERMILLION

#: The depths L the slider offers, doubling from a shallow network to a deep one.
DEPTHS = (2, 4, 8, 16, 32)
#: The hidden activations, the initialisations and the skip-path switch.
ACTIVATIONS = ("sigmoid", "tanh", "relu")
INITS = ("small", "xavier", "he")
RESIDUAL = (False, True)

#: The slider's starting position: a deep sigmoid network, whose first layers
#: hardly receive any gradient.
DEFAULTS = {"depth": 16, "activation": "sigmoid", "init": "xavier", "residual": False}

#: Width of every hidden layer, training examples (from the start of the digits'
#: training split), examples in the fixed batch of the gradient norms, and the
#: training run: steps, minibatch size and learning rate. They are small so one
#: run of the deepest network stays well under a second.
WIDTH = 32
NUM_TRAIN = 300
NORM_BATCH = 128
STEPS = 40
BATCH_SIZE = 32
LR = 0.05
#: The training loss is measured on all NUM_TRAIN examples every this many steps.
EVAL_EVERY = 5

#: The axes of ``plot_depth_run``, fixed so that frames of the widget compare.
NORM_YLIM = (1e-16, 1e8)
LOSS_YLIM = (1e-2, 1e2)


@functools.lru_cache(maxsize=2)
def digits_subset(num_train=NUM_TRAIN):
    """Return the first ``num_train`` training digits, standardized, and their labels.

    The arrays are cached, so they are read-only.

    Returns
    -------
    X : ndarray, shape (64, num_train)
    y : ndarray of int, shape (num_train,)
    """
    digits = load_digits()
    X, = standardize(digits.X_train[:, :num_train])
    y = digits.y_train[:num_train].copy()
    for array in (X, y):
        array.flags.writeable = False
    return X, y


def make_network(depth, activation, init, residual, width=WIDTH, layer_norm=False,
                 seed=0):
    """Return the ``DeepNetwork`` of a run: sizes ``[64, width, …, width, 10]``."""
    return DeepNetwork(
        deep_sizes(depth, width, 64, 10),
        activation=activation,
        init=init,
        residual=residual,
        layer_norm=layer_norm,
        seed=seed,
    )


def depth_run(
    depth,
    activation,
    init,
    residual,
    width=WIDTH,
    layer_norm=False,
    steps=STEPS,
    lr=LR,
    batch_size=BATCH_SIZE,
    seed=0,
):
    """Measure every layer's gradient norm, then train for ``steps`` SGD steps.

    Parameters
    ----------
    depth : int
        L, the number of layers with weights.
    activation : {"sigmoid", "tanh", "relu"}
    init : {"small", "xavier", "he"}
    residual : bool
        Skip paths a^ℓ = a^{ℓ−1} + σ(z^ℓ) in the hidden layers of equal widths.
    width : int
    layer_norm : bool
    steps, lr, batch_size : int, float, int
        The training run: plain SGD on shuffled minibatches.
    seed : int
        Seed of the weights and of the shuffling.

    Returns
    -------
    dict
        The arguments, and:

        - ``layer`` (1 … L) and ``grad_norm``: ‖∂L/∂W^ℓ‖ on the first
          ``NORM_BATCH`` examples, before training.
        - ``step`` and ``loss``: the loss on all training examples every
          ``EVAL_EVERY`` steps, from step 0.
        - ``diverged_step`` (int or None): the step whose loss was not finite.
    """
    X, y = digits_subset()
    net = make_network(depth, activation, init, residual, width, layer_norm, seed)
    # Overflow is expected in the runs that explode; it is reported through
    # diverged_step and non-finite norms instead of warnings.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        grad_norm = layer_gradient_norms(net, X[:, :NORM_BATCH], y[:NORM_BATCH])
        rng = np.random.default_rng(seed)
        loss_steps, losses = [0], [net.loss(X, y)]
        diverged_step = None if math.isfinite(losses[0]) else 0
        step = 0
        while diverged_step is None and step < steps:
            for X_batch, y_batch in minibatches(X, y, batch_size, rng=rng):
                grads = net.gradients(X_batch, y_batch)
                step += 1
                if not math.isfinite(grads.loss):
                    diverged_step = step
                    break
                net.update(grads, lr)
                if step % EVAL_EVERY == 0 or step == steps:
                    loss = net.loss(X, y)
                    if not math.isfinite(loss):
                        diverged_step = step
                        break
                    loss_steps.append(step)
                    losses.append(loss)
                if step == steps:
                    break
    return {
        "depth": int(depth),
        "activation": activation,
        "init": init,
        "residual": bool(residual),
        "layer_norm": bool(layer_norm),
        "width": int(width),
        "steps": int(steps),
        "lr": float(lr),
        "batch_size": int(batch_size),
        "seed": seed,
        "layer": np.arange(1, int(depth) + 1),
        "grad_norm": grad_norm,
        "step": np.array(loss_steps),
        "loss": np.array(losses),
        "diverged_step": diverged_step,
    }


def describe_depth_run(run):
    """Return a line that sums up a run: the settings and what the gradients did."""
    norms = run["grad_norm"]
    head = (
        f"L = {run['depth']}, {run['activation']}, {run['init']} init"
        + (", residual" if run["residual"] else "")
        + (", layer norm" if run["layer_norm"] else "")
    )
    if not np.all(np.isfinite(norms)):
        ratio = "the gradients overflow"
    else:
        ratio = f"‖∂L/∂W¹‖ = {norms[0]:.1e}, ‖∂L/∂Wᴸ‖ = {norms[-1]:.1e}"
    if run["diverged_step"] is not None:
        outcome = f"diverged at step {run['diverged_step']}"
    else:
        outcome = f"loss {run['loss'][0]:.3g} → {run['loss'][-1]:.3g}"
    return f"{head}: {ratio}; {outcome}"


def plot_depth_run(run, axes=None):
    """Draw a run: the gradient norm of every layer (left) and the training loss (right).

    Both axes are logarithmic with fixed limits, ``NORM_YLIM`` and ``LOSS_YLIM``.
    A value beyond a limit is drawn as a red triangle on that limit, pointing
    towards the value.

    Returns
    -------
    matplotlib Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    else:
        fig = axes[0].figure
    ax_norm, ax_loss = axes
    layers = run["layer"]
    # An overflowing norm is inf or nan; both are drawn above the top.
    norms = np.where(np.isfinite(run["grad_norm"]), run["grad_norm"], np.inf)
    ax_norm.plot(layers, np.clip(norms, *NORM_YLIM), "o-", color=BLUE, ms=4)
    _mark_beyond(ax_norm, layers, norms, NORM_YLIM)
    ax_norm.set_yscale("log")
    ax_norm.set_ylim(*NORM_YLIM)
    ax_norm.set_yticks(10.0 ** np.arange(np.log10(NORM_YLIM[0]), np.log10(NORM_YLIM[1]) + 1, 4))
    ax_norm.set_xlim(0.5, max(layers[-1], 2) + 0.5)
    ax_norm.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_norm.set_xlabel(r"layer $\ell$")
    ax_norm.set_ylabel(r"$\|\partial L / \partial W^\ell\|$ before training")

    ax_loss.plot(run["step"], np.clip(run["loss"], *LOSS_YLIM), "o-", color=ORANGE, ms=4)
    _mark_beyond(ax_loss, run["step"], run["loss"], LOSS_YLIM)
    k = run["diverged_step"]
    if k is not None:
        ax_loss.axvline(k, color=VERMILLION, ls="--", lw=1.5)
        ax_loss.text(k, LOSS_YLIM[1] / 3, f" diverged at step {k} ",
                     color=VERMILLION, ha="right" if k > run["steps"] / 2 else "left",
                     va="top", fontsize=9)
    ax_loss.set_yscale("log")
    ax_loss.set_ylim(*LOSS_YLIM)
    ax_loss.set_xlim(-1, run["steps"] + 1)
    ax_loss.set_xlabel("SGD step")
    ax_loss.set_ylabel("training loss")
    fig.suptitle(describe_depth_run(run).replace(": ", "\n", 1), fontsize=10)
    fig.tight_layout()
    return fig


def _mark_beyond(ax, x, values, limits):
    """Draw red triangles on the edge of the axes for values outside ``limits``."""
    x, values = np.asarray(x), np.asarray(values, dtype=float)
    low, high = values < limits[0], ~(values <= limits[1])
    if low.any():
        ax.plot(x[low], np.full(low.sum(), limits[0]), "v", color=VERMILLION, ms=8,
                clip_on=False, zorder=3)
    if high.any():
        ax.plot(x[high], np.full(high.sum(), limits[1]), "^", color=VERMILLION, ms=8,
                clip_on=False, zorder=3)


def depth_explorer(depths=DEPTHS, activations=ACTIVATIONS, inits=INITS, **run_kwargs):
    """Return a widget: sliders for L, σ, the initialisation and the skip paths.

    Runs are cached by their slider values, so returning to a setting redraws it
    without training again.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    style = {"description_width": "initial"}
    controls = {
        "depth": widgets.SelectionSlider(
            options=list(depths), value=DEFAULTS["depth"], description="depth L",
            style=style, continuous_update=False,
        ),
        "activation": widgets.ToggleButtons(
            options=list(activations), value=DEFAULTS["activation"],
            description="activation σ", style=style,
        ),
        "init": widgets.ToggleButtons(
            options=list(inits), value=DEFAULTS["init"], description="initialisation",
            style=style,
        ),
        "residual": widgets.ToggleButtons(
            options=[("plain", False), ("residual", True)],
            value=DEFAULTS["residual"], description="layers", style=style,
        ),
    }
    runs = {}

    def show(depth, activation, init, residual):
        key = (depth, activation, init, residual)
        if key not in runs:
            runs[key] = depth_run(depth, activation, init, residual, **run_kwargs)
        plot_depth_run(runs[key])
        plt.show()

    return widgets.interactive(show, **controls)


# Frames for pages without a kernel ------------------------------------------------

#: The depths of the precomputed frames, the ones the chapter suggests trying.
#: With every activation, initialisation and layer kind they make 54 frames, so
#: the page stays near 1 MB.
FRAME_DEPTHS = (2, 8, 32)

#: The layer kinds of the frames' last slider, as the live widget names them.
LAYER_KINDS = {"plain": False, "residual": True}

#: The width of a frame in inches, so that it fits the text column.
FRAME_SIZE = (7, 3.2)


def describe_depth_frame(run):
    """Return one sentence for a frame: the settings, gradient norms and loss."""
    head = (
        f"Depth L = {run['depth']}, {run['activation']} activation, {run['init']} "
        f"initialisation, {'residual' if run['residual'] else 'plain'} layers"
        + (", layer norm" if run["layer_norm"] else "")
    )
    norms = run["grad_norm"]
    if np.all(np.isfinite(norms)):
        gradients = (
            f"before training ‖∂L/∂W^ℓ‖ is {norms[0]:.1e} in layer 1 and "
            f"{norms[-1]:.1e} in layer {run['depth']}"
        )
    else:
        gradients = "before training the gradient norms overflow"
    if run["diverged_step"] is not None:
        outcome = (
            f"the training loss starts at {run['loss'][0]:.3g} and the run diverges "
            f"at step {run['diverged_step']}"
        )
    else:
        outcome = (
            f"in {run['steps']} SGD steps the training loss goes from "
            f"{run['loss'][0]:.3g} to {run['loss'][-1]:.3g}"
        )
    return f"{head}: {gradients}; {outcome}."


def draw_depth_frame(run):
    """Return a new figure, ``FRAME_SIZE`` wide, of ``plot_depth_run(run)``."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=FRAME_SIZE)
    plot_depth_run(run, axes=axes)
    return fig


def depth_frames(depths=FRAME_DEPTHS, activations=ACTIVATIONS, inits=INITS,
                 layers=tuple(LAYER_KINDS), dpi=FRAME_DPI, **run_kwargs):
    """Return the depth widget as a ``FrameExplorer`` that needs no kernel.

    The sliders take the depths, activations, initialisations and layer kinds
    ("plain" or "residual") given; each frame is
    ``plot_depth_run(depth_run(depth, activation, init, residual))``, as in
    the live widget, and each setting is trained once.
    """
    from bpcourse.interactive import FrameExplorer

    unknown = [kind for kind in layers if kind not in LAYER_KINDS]
    if unknown:
        raise ValueError(
            f"invalid layer kinds {unknown}: choose from {list(LAYER_KINDS)}"
        )
    runs = {}

    def run_for(depth, activation, init, layers):
        key = (depth, activation, init, layers)
        if key not in runs:
            runs[key] = depth_run(depth, activation, init, LAYER_KINDS[layers],
                                  **run_kwargs)
        return runs[key]

    def draw(**params):
        return draw_depth_frame(run_for(**params))

    def alt(**params):
        return describe_depth_frame(run_for(**params))

    params = {"depth": list(depths), "activation": list(activations),
              "init": list(inits), "layers": list(layers)}
    start = {
        # The deepest network of the grid when the widget's depth is not in it.
        "depth": DEFAULTS["depth"] if DEFAULTS["depth"] in depths else max(depths),
        "activation": DEFAULTS["activation"],
        "init": DEFAULTS["init"],
        "layers": "residual" if DEFAULTS["residual"] else "plain",
    }
    return FrameExplorer(
        draw,
        params,
        initial={name: v for name, v in start.items() if v in params[name]},
        alt=alt,
        labels={"depth": "depth L", "activation": "activation σ",
                "init": "initialisation", "layers": "layers"},
        dpi=dpi,
    )
