r"""The loss scale against the gradients that float16 loses, for the precision chapter.

``scale_outcomes(log2_scale, epochs)`` takes the digits network after
``epochs`` epochs of float32 training, runs one float16 backward pass with
the loss scale S = 2^log2_scale (``bpcourse.precision.half_gradients``), and
compares it with the float32 gradients: which fraction of the entries
underflowed to 0 and which overflowed to inf. ``scale_sweep`` does that for
every slider value, ``plot_scale`` draws the histogram of the gradients'
exponents next to the sweep, ``draw_scale`` returns that as a figure of its
own, and ``precision_explorer`` wires it to two sliders.

The loss is multiplied by ``LOSS_WEIGHT`` = 2⁻²⁰ throughout, so that the
small network's gradients are as small as those of a model whose loss is a
mean over about a million numbers (the chapter explains why).

The sliders take the values of ``LOG2_SCALES`` and ``EPOCHS`` only, so every
frame a reader can reach can be computed ahead of time.
"""

import functools

import numpy as np

from bpcourse.data import load_digits, standardize
from bpcourse.interactive import FRAME_DPI
from bpcourse.network import Network
from bpcourse.optim import Momentum
from bpcourse.plots import BLUE, VERMILLION
from bpcourse.precision import (
    FLOAT16_MAX,
    FLOAT16_SMALLEST_NORMAL,
    FLOAT16_SMALLEST_SUBNORMAL,
    half_gradients,
    overflow_fraction,
    underflow_fraction,
)

#: The constant λ the loss is multiplied by: 2⁻²⁰ ≈ 1/1,000,000, the 1/(number
#: of entries) of a loss averaged over a batch of about a million tokens.
LOSS_WEIGHT = 2.0**-20

#: Exponents k of the loss scales S = 2^k on the slider.
LOG2_SCALES = tuple(range(0, 49, 4))

#: Epochs of float32 training before the gradients are taken.
EPOCHS = (0, 1, 10)

#: The slider's starting position.
DEFAULT_LOG2_SCALE = 0
DEFAULT_EPOCHS = 1

#: Widths of the network, and the size of the minibatch whose gradients are taken.
SIZES = (64, 64, 10)
BATCH_SIZE = 32

#: Training settings of the float32 network: momentum with this learning rate.
LR = 0.05

#: log2 of the float16 limits: entries below 2⁻²⁵ round to 0, entries below
#: 2⁻¹⁴ are subnormal, entries of 65504 · (1 + 2⁻¹¹) and more overflow.
LOG2_ZERO = np.log2(FLOAT16_SMALLEST_SUBNORMAL) - 1
LOG2_NORMAL = np.log2(FLOAT16_SMALLEST_NORMAL)
LOG2_MAX = np.log2(FLOAT16_MAX)


@functools.lru_cache(maxsize=2)
def digits_columns(seed=0):
    """Return the standardized float32 training digits and their labels, read-only."""
    digits = load_digits(seed=seed, dtype=np.float32)
    (X,) = standardize(digits.X_train)
    y = digits.y_train.copy()
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


@functools.lru_cache(maxsize=8)
def _trained(epochs, seed):
    X, y = digits_columns(seed)
    net = Network(list(SIZES), activation="relu", seed=seed, dtype=np.float32)
    if epochs:
        net.fit(X, y, epochs=epochs, batch_size=BATCH_SIZE,
                optimizer=Momentum(lr=LR), seed=seed, progress=False)
    return net


def trained_network(epochs, seed=0):
    """Return the float32 network [64, 64, 10] after ``epochs`` epochs of momentum SGD.

    Runs are cached, so each call returns a fresh copy of the cached network.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"epochs={epochs!r} must be a non-negative integer")
    return _trained(int(epochs), seed).copy()


def scale_outcomes(log2_scale=DEFAULT_LOG2_SCALE, epochs=DEFAULT_EPOCHS,
                   loss_weight=LOSS_WEIGHT, seed=0):
    """Compare one float16 backward pass at S = 2^log2_scale with float32.

    The gradients are those of λ·L on the first ``BATCH_SIZE`` training digits.

    Returns
    -------
    dict
        ``underflow`` and ``delta_underflow``: the fractions of the nonzero
        float32 entries of the parameter gradients and of the δ^ℓ that are 0
        in float16; ``overflow``: the fraction of parameter-gradient entries
        that are inf or nan; ``log2_magnitudes``: log2 |S·λ·g| of every
        nonzero float32 parameter-gradient entry, the exponents float16 has
        to hold; and the arguments.
    """
    net = trained_network(epochs, seed)
    X, y = digits_columns(seed)
    X_batch, y_batch = X[:, :BATCH_SIZE], y[:BATCH_SIZE]
    scale = 2.0 ** log2_scale
    half = half_gradients(net, X_batch, y_batch, scale, loss_weight)
    grads32 = net.gradients(X_batch, y_batch)
    weight = np.float32(loss_weight)
    reference = [weight * g for g in grads32.as_list()]
    delta_reference = [weight * d for d in grads32.delta]
    values = np.concatenate([np.ravel(g).astype(np.float64) for g in reference])
    values = values[values != 0]
    return {
        "log2_scale": float(log2_scale),
        "epochs": int(epochs),
        "loss_weight": float(loss_weight),
        "underflow": underflow_fraction(half.as_list(), reference),
        "delta_underflow": underflow_fraction(half.delta, delta_reference),
        "overflow": overflow_fraction(half.as_list()),
        "log2_magnitudes": np.log2(np.abs(values)) + log2_scale,
        "loss": half.loss / loss_weight,
    }


def scale_sweep(epochs=DEFAULT_EPOCHS, log2_scales=LOG2_SCALES,
                loss_weight=LOSS_WEIGHT, seed=0):
    """Return the fractions of ``scale_outcomes`` for every exponent, as arrays."""
    results = [scale_outcomes(k, epochs, loss_weight, seed) for k in log2_scales]
    return {
        "epochs": int(epochs),
        "log2_scales": np.array(log2_scales, dtype=float),
        "underflow": np.array([r["underflow"] for r in results]),
        "delta_underflow": np.array([r["delta_underflow"] for r in results]),
        "overflow": np.array([r["overflow"] for r in results]),
    }


def describe_outcome(result):
    """Return one line with the loss scale and the fractions lost."""
    return (
        f"S = 2^{result['log2_scale']:g} after {result['epochs']} epochs: "
        f"{100 * result['underflow']:.1f}% of gradient entries underflow, "
        f"{100 * result['overflow']:.1f}% overflow"
    )


def plot_scale(result, sweep, axes=None):
    """Draw the exponents of the scaled gradients (left) and the sweep over S (right).

    Left: a histogram of log2 |S·λ·g| over the float16 regions (0, subnormal,
    normal, overflow). Right: the fractions that underflow and overflow
    against log2 S, with the current S marked.

    Returns
    -------
    tuple of matplotlib Axes
    """
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(7.2, 3.2))
    ax_hist, ax_sweep = axes
    lo, hi = -60, 30
    regions = [
        (lo, LOG2_ZERO, "#f4cccc", "→ 0"),
        (LOG2_ZERO, LOG2_NORMAL, "#fff2cc", "subnormal"),
        (LOG2_NORMAL, LOG2_MAX, "#d9ead3", "normal"),
        (LOG2_MAX, hi, "#f4cccc", "→ inf"),
    ]
    for left, right, color, label in regions:
        ax_hist.axvspan(left, right, color=color, lw=0)
        ax_hist.text((left + right) / 2, 1.0, label, transform=ax_hist.get_xaxis_transform(),
                     ha="center", va="bottom", fontsize=8)
    magnitudes = np.clip(result["log2_magnitudes"], lo, hi)
    ax_hist.hist(magnitudes, bins=np.arange(lo, hi + 1, 1), color=BLUE)
    ax_hist.set_xlim(lo, hi)
    ax_hist.set_xlabel(r"$\log_2 |S \lambda g|$")
    ax_hist.set_ylabel("gradient entries")
    ax_hist.set_title(
        f"S = 2^{result['log2_scale']:g}: {100 * result['underflow']:.1f}% → 0, "
        f"{100 * result['overflow']:.1f}% → inf",
        fontsize=9, pad=14,
    )

    k = sweep["log2_scales"]
    ax_sweep.plot(k, 100 * sweep["underflow"], "o-", ms=3, label="∂L/∂W, ∂L/∂b → 0")
    ax_sweep.plot(k, 100 * sweep["delta_underflow"], "s-", ms=3, label="δ → 0")
    ax_sweep.plot(k, 100 * sweep["overflow"], "^-", ms=3, color=VERMILLION, label="→ inf")
    ax_sweep.axvline(result["log2_scale"], color="0.3", ls="--", lw=1)
    ax_sweep.set_ylim(-3, 103)
    ax_sweep.set_xlabel(r"$\log_2 S$")
    ax_sweep.set_ylabel("% of entries")
    trained = sweep["epochs"]
    ax_sweep.set_title(f"after {trained} epoch{'' if trained == 1 else 's'} of training",
                       fontsize=9)
    ax_sweep.legend(fontsize=8, loc="center right")
    return ax_hist, ax_sweep


def draw_scale(log2_scale=DEFAULT_LOG2_SCALE, epochs=DEFAULT_EPOCHS):
    """Return a new figure of ``plot_scale`` for one slider setting."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.2))
    plot_scale(scale_outcomes(log2_scale, epochs), scale_sweep(epochs), axes)
    fig.tight_layout()
    return fig


def precision_explorer(log2_scales=LOG2_SCALES, epochs=EPOCHS):
    """Return a widget: sliders for log2 S and the epochs trained, above ``plot_scale``."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    scale_slider = widgets.SelectionSlider(
        options=[(str(k), k) for k in log2_scales],
        value=DEFAULT_LOG2_SCALE if DEFAULT_LOG2_SCALE in log2_scales else log2_scales[0],
        description="log2 of the loss scale S",
        style={"description_width": "initial"},
        continuous_update=False,
    )
    epochs_slider = widgets.SelectionSlider(
        options=list(epochs),
        value=DEFAULT_EPOCHS if DEFAULT_EPOCHS in epochs else epochs[0],
        description="epochs trained",
        style={"description_width": "initial"},
        continuous_update=False,
    )
    sweeps = {}

    def show(log2_scale, epochs_trained):
        if epochs_trained not in sweeps:
            sweeps[epochs_trained] = scale_sweep(epochs_trained, log2_scales)
        fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.2))
        plot_scale(scale_outcomes(log2_scale, epochs_trained), sweeps[epochs_trained],
                   axes)
        fig.tight_layout()
        plt.show()

    return widgets.interactive(show, log2_scale=scale_slider, epochs_trained=epochs_slider)


# Frames for pages without a kernel ------------------------------------------------


def describe_scale_frame(result):
    """Return one sentence for a frame: the loss scale and what float16 loses."""
    trained = result["epochs"]
    return (
        f"Histogram of gradient exponents and the share of lost entries against the "
        f"loss scale, for S = 2^{result['log2_scale']:g} after {trained} "
        f"epoch{'' if trained == 1 else 's'}: {100 * result['underflow']:.1f}% of the "
        f"parameter-gradient entries underflow to 0, "
        f"{100 * result['delta_underflow']:.1f}% of the δ entries underflow, and "
        f"{100 * result['overflow']:.1f}% overflow to inf."
    )


def precision_frames(log2_scales=LOG2_SCALES, epochs=EPOCHS, dpi=FRAME_DPI):
    """Return the widget as a ``FrameExplorer`` that needs no kernel.

    Each frame is ``plot_scale`` for one loss scale and one number of epochs,
    as in the live widget. Each sweep over the scales is computed once.
    """
    import matplotlib.pyplot as plt

    from bpcourse.interactive import FrameExplorer

    sweeps = {}

    def sweep_for(epochs_trained):
        if epochs_trained not in sweeps:
            sweeps[epochs_trained] = scale_sweep(epochs_trained, log2_scales)
        return sweeps[epochs_trained]

    def draw(log2_scale, epochs_trained):
        fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.2))
        plot_scale(scale_outcomes(log2_scale, epochs_trained), sweep_for(epochs_trained),
                   axes)
        fig.tight_layout()
        return fig

    def alt(log2_scale, epochs_trained):
        return describe_scale_frame(scale_outcomes(log2_scale, epochs_trained))

    params = {"log2_scale": list(log2_scales), "epochs_trained": list(epochs)}
    start = {"log2_scale": DEFAULT_LOG2_SCALE, "epochs_trained": DEFAULT_EPOCHS}
    return FrameExplorer(
        draw,
        params,
        initial={name: v for name, v in start.items() if v in params[name]},
        alt=alt,
        labels={"log2_scale": "log2 of the loss scale S",
                "epochs_trained": "epochs trained"},
        dpi=dpi,
    )
