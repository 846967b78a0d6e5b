"""Learning rate and batch size against convergence, for the chapter on training.

``train_run`` trains a small ReLU network on a subset of the digits by plain
minibatch SGD (for each minibatch: forward, backward, update) and returns its
loss curve. ``plot_run`` draws one run, ``run_grid`` and ``plot_grid`` compare
every combination of learning rate and batch size, and ``training_explorer``
wires a run to two sliders. A run whose loss becomes nan or inf, or grows past
``DIVERGENCE_FACTOR`` times its starting value, stops and is reported as
"diverged at epoch k" instead of raising.

The sliders take the values of ``LEARNING_RATES`` and ``BATCH_SIZES`` only, so
every frame a reader can reach is ``train_run(lr, batch_size)`` for one of
those pairs, and all of them can be computed ahead of time.
"""

import functools
import math

import numpy as np

from bpcourse.data import load_digits, minibatches, standardize
from bpcourse.interactive import FRAME_DPI
from bpcourse.network import Network
from bpcourse.plots import BLUE, VERMILLION

#: The learning rates the slider offers: 1 and 3 times each power of ten, so
#: neighbours are about half a decade apart, from too slow to divergent.
LEARNING_RATES = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)

#: The batch sizes the slider offers, from single examples to a quarter of the subset.
BATCH_SIZES = (1, 4, 16, 64)

#: The slider's starting position: a learning rate and batch size that converge.
DEFAULT_LR = 0.1
DEFAULT_BATCH_SIZE = 16

#: Epochs per run. With ``NUM_TRAIN`` examples and batch size 1 that is 3,000
#: steps, the slowest combination.
EPOCHS = 10

#: Training examples taken from the start of the digits' training split (27 to 36
#: of each class), and the hidden width of the network ``[64, HIDDEN, 10]``.
#: Both are small so that one run stays short.
NUM_TRAIN = 300
HIDDEN = 32

#: A run counts as diverged once its training loss exceeds this multiple of the
#: loss before training (about ln 10 = 2.3 for ten classes), because such a
#: network does far worse than a uniform guess over the classes.
DIVERGENCE_FACTOR = 10.0

#: The loss axis of ``plot_run``, fixed so that frames of the widget compare.
LOSS_YLIM = (1e-4, 1e2)


@functools.lru_cache(maxsize=4)
def digits_subset(num_train=NUM_TRAIN, seed=0):
    """Return the first ``num_train`` training digits and the whole test split.

    Both are standardized by the subset's own mean and standard deviation
    (``bpcourse.data.standardize``). The arrays are cached, so they are
    read-only.

    Returns
    -------
    X : ndarray, shape (64, num_train)
    y : ndarray of int, shape (num_train,)
    X_test : ndarray, shape (64, N_test)
    y_test : ndarray of int, shape (N_test,)
    """
    digits = load_digits(seed=seed)
    available = digits.X_train.shape[1]
    if isinstance(num_train, bool) or not isinstance(num_train, (int, np.integer)):
        raise TypeError(f"num_train={num_train!r} must be an integer")
    if not 1 <= num_train <= available:
        raise ValueError(
            f"num_train={num_train} must lie in 1 … {available}, the size of the "
            "digits' training split"
        )
    X, X_test = standardize(digits.X_train[:, :num_train], digits.X_test)
    y = digits.y_train[:num_train].copy()
    y_test = digits.y_test.copy()
    for array in (X, y, X_test, y_test):
        array.flags.writeable = False
    return X, y, X_test, y_test


def train_run(
    lr,
    batch_size,
    epochs=EPOCHS,
    num_train=NUM_TRAIN,
    hidden=HIDDEN,
    seed=0,
):
    """Train ``Network([64, hidden, 10])`` by minibatch SGD and record its losses.

    Each step is ``net.gradients`` on one minibatch followed by
    ``net.update(grads, lr)``, that is W ← W − lr ∂L/∂W and b ← b − lr ∂L/∂b.
    The minibatches are shuffled by one generator seeded with ``seed``, as in
    ``Network.fit``, so a run that does not diverge ends with the parameters
    ``fit(..., optimizer="sgd", seed=seed)`` would give.

    Parameters
    ----------
    lr : float
        The learning rate η, > 0.
    batch_size : int
        Examples per minibatch. The last minibatch of an epoch contains the
        remaining examples.
    epochs : int
    num_train : int
        Training examples, see ``digits_subset``.
    hidden : int
        Width d_1 of the hidden layer.
    seed : int
        Seed of the initial weights, the subset's split and the shuffling.

    Returns
    -------
    dict
        ``lr``, ``batch_size``, ``epochs``, ``num_train``, ``hidden`` and
        ``seed``: the arguments.
        ``epoch`` (ndarray of int) and ``loss`` (ndarray): the mean loss over
        the whole training subset before training (epoch 0) and after every
        epoch that completed without diverging.
        ``step_epoch`` and ``step_loss`` (ndarray): the loss of every minibatch
        step with a finite loss, at the fraction of an epoch it ends.
        ``steps_per_epoch`` (int).
        ``diverged_epoch`` (int or None): the epoch during which the loss
        became non-finite or exceeded ``DIVERGENCE_FACTOR`` times its
        starting value.
        ``train_accuracy`` and ``test_accuracy`` (float): after the last
        epoch, nan for a run that diverged.
    """
    if isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating)):
        raise TypeError(f"lr={lr!r} must be a real number such as 0.1")
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr={lr!r} must be a positive finite learning rate")
    for name, value in (("batch_size", batch_size), ("epochs", epochs)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name}={value!r} must be a positive integer")
        if value < 1:
            raise ValueError(f"{name}={value!r} must be a positive integer")

    X, y, X_test, y_test = digits_subset(num_train, seed)
    N = X.shape[1]
    net = Network([X.shape[0], hidden, 10], activation="relu", seed=seed)
    rng = np.random.default_rng(seed)
    steps_per_epoch = -(-N // batch_size)
    initial_loss = net.loss(X, y)
    losses = [initial_loss]
    step_epoch = []
    step_loss = []
    diverged_epoch = None

    # Overflow is the expected end of a divergent run. It is reported through
    # diverged_epoch instead of a stream of warnings.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(1, epochs + 1):
            batches = minibatches(X, y, batch_size, rng=rng)
            for step, (X_batch, y_batch) in enumerate(batches, start=1):
                grads = net.gradients(X_batch, y_batch)
                if not np.isfinite(grads.loss):
                    diverged_epoch = epoch
                    break
                step_epoch.append(epoch - 1 + step / steps_per_epoch)
                step_loss.append(grads.loss)
                net.update(grads, lr)
            if diverged_epoch is not None:
                break
            loss = _loss_or_inf(net, X, y)
            if not loss <= DIVERGENCE_FACTOR * initial_loss:
                diverged_epoch = epoch
                break
            losses.append(loss)

    if diverged_epoch is None:
        train_accuracy = net.accuracy(X, y)
        test_accuracy = net.accuracy(X_test, y_test)
    else:
        train_accuracy = test_accuracy = float("nan")
    return {
        "lr": float(lr),
        "batch_size": int(batch_size),
        "epochs": int(epochs),
        "num_train": int(num_train),
        "hidden": int(hidden),
        "seed": seed,
        "epoch": np.arange(len(losses)),
        "loss": np.array(losses),
        "step_epoch": np.array(step_epoch),
        "step_loss": np.array(step_loss),
        "steps_per_epoch": steps_per_epoch,
        "diverged_epoch": diverged_epoch,
        "train_accuracy": train_accuracy,
        "test_accuracy": test_accuracy,
    }


def _loss_or_inf(net, X, y):
    """Return the network's mean loss on (X, y), or inf when it is nan or inf."""
    loss = net.loss(X, y)
    return loss if math.isfinite(loss) else math.inf


def describe_run(run):
    """Return one line that sums up a run: its outcome, or where it diverged."""
    head = f"η = {run['lr']:g}, B = {run['batch_size']}: "
    if run["diverged_epoch"] is not None:
        return head + f"diverged at epoch {run['diverged_epoch']}"
    return head + (
        f"loss {run['loss'][0]:.3g} → {run['loss'][-1]:.3g} after "
        f"{run['epochs']} epochs, test accuracy {100 * run['test_accuracy']:.1f}%"
    )


def run_grid(learning_rates=LEARNING_RATES, batch_sizes=BATCH_SIZES, **run_kwargs):
    """Return ``{(lr, batch_size): train_run(lr, batch_size, **run_kwargs)}`` for every pair."""
    return {
        (lr, batch_size): train_run(lr, batch_size, **run_kwargs)
        for batch_size in batch_sizes
        for lr in learning_rates
    }


def plot_run(run, ax=None):
    """Draw a run's training loss per epoch, with every minibatch's loss behind it.

    The loss axis is logarithmic and fixed to ``LOSS_YLIM``, and the title is
    ``describe_run(run)`` on two lines. A run that diverged ends with a red
    dashed line at the epoch where it diverged.

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    if run["step_loss"].size:
        ax.plot(run["step_epoch"], run["step_loss"], color="0.75", lw=0.5,
                label="loss of each minibatch")
    ax.plot(run["epoch"], run["loss"], "o-", color=BLUE, ms=4,
            label="loss on the training subset")
    k = run["diverged_epoch"]
    if k is not None:
        ax.axvline(k, color=VERMILLION, ls="--", lw=1.5)
        ax.text(k, LOSS_YLIM[1] / 3, f" diverged at epoch {k}", color=VERMILLION,
                ha="right" if k > run["epochs"] / 2 else "left", va="top")
    ax.set_yscale("log")
    ax.set_ylim(*LOSS_YLIM)
    ax.set_xlim(0, run["epochs"])
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy loss")
    # The settings on the first line and the outcome on the second, so the
    # title fits above the axes.
    ax.set_title(describe_run(run).replace(": ", "\n", 1), fontsize=10)
    ax.legend(loc="lower left", fontsize=8)
    return ax


def plot_grid(grid, ax=None):
    """Draw the final training loss against the learning rate, one line per batch size.

    A run that diverged is drawn as a cross in a band above a grey line, one
    row per batch size, so every learning rate of the grid appears for every
    batch size.

    Parameters
    ----------
    grid : dict
        From ``run_grid``.

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    batch_sizes = sorted({batch_size for _, batch_size in grid})
    top = LOSS_YLIM[1]
    for index, batch_size in enumerate(batch_sizes):
        color = f"C{index}"
        runs = sorted(
            (run for (_, b), run in grid.items() if b == batch_size),
            key=lambda run: run["lr"],
        )
        converged = [run for run in runs if run["diverged_epoch"] is None]
        diverged = [run for run in runs if run["diverged_epoch"] is not None]
        ax.plot([run["lr"] for run in converged],
                [run["loss"][-1] for run in converged],
                "o-", color=color, ms=4, label=f"B = {batch_size}")
        if diverged:
            ax.plot([run["lr"] for run in diverged], [top * 0.6 ** index] * len(diverged),
                    "x", color=color, ms=7, mew=2)
    ax.axhline(top * 0.6 ** len(batch_sizes), color="0.6", lw=0.8)
    ax.text(min(lr for lr, _ in grid), top * 0.6 ** ((len(batch_sizes) - 1) / 2),
            "diverged (×)", fontsize=8, va="center", color="0.3")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(LOSS_YLIM[0], top * 1.5)
    ax.set_xlabel("learning rate η")
    ax.set_ylabel("training loss after the last epoch")
    ax.legend(title="batch size", fontsize=8, loc="lower left")
    return ax


def training_explorer(learning_rates=LEARNING_RATES, batch_sizes=BATCH_SIZES,
                      **run_kwargs):
    """Return a widget: sliders for η and B above the loss curve of that run.

    Runs are cached by their slider values, so returning to a setting redraws
    it without training again.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    lr_slider = widgets.SelectionSlider(
        options=[(f"{lr:g}", lr) for lr in learning_rates],
        value=DEFAULT_LR if DEFAULT_LR in learning_rates else learning_rates[0],
        description="learning rate η",
        style={"description_width": "initial"},
        continuous_update=False,
    )
    batch_slider = widgets.SelectionSlider(
        options=list(batch_sizes),
        value=DEFAULT_BATCH_SIZE if DEFAULT_BATCH_SIZE in batch_sizes else batch_sizes[0],
        description="batch size B",
        style={"description_width": "initial"},
        continuous_update=False,
    )
    runs = {}

    def show(lr, batch_size):
        if (lr, batch_size) not in runs:
            runs[lr, batch_size] = train_run(lr, batch_size, **run_kwargs)
        _, ax = plt.subplots(figsize=(6, 3.5))
        plot_run(runs[lr, batch_size], ax=ax)
        plt.show()

    return widgets.interactive(show, lr=lr_slider, batch_size=batch_slider)


def describe_run_frame(run):
    """Return one sentence for a run's frame: the settings, the losses and accuracy."""
    head = (
        f"Loss curve of minibatch SGD with learning rate η = {run['lr']:g} and "
        f"batch size B = {run['batch_size']}: "
    )
    if run["diverged_epoch"] is not None:
        return head + (
            f"the loss starts at {run['loss'][0]:.3g} and the run diverged at epoch "
            f"{run['diverged_epoch']}."
        )
    return head + (
        f"the training loss falls from {run['loss'][0]:.3g} to {run['loss'][-1]:.3g} "
        f"in {run['epochs']} epochs, and the test accuracy is "
        f"{100 * run['test_accuracy']:.1f}%."
    )


def training_frames(learning_rates=LEARNING_RATES, batch_sizes=BATCH_SIZES, dpi=FRAME_DPI,
                    **run_kwargs):
    """Return the training widget as a ``FrameExplorer`` that needs no kernel.

    The sliders take the widget's learning rates and batch sizes; each frame is
    ``plot_run(train_run(lr, batch_size))``, as in the live widget, and each
    pair is trained once.
    """
    import matplotlib.pyplot as plt

    from bpcourse.interactive import FrameExplorer

    runs = {}

    def run_for(lr, batch_size):
        if (lr, batch_size) not in runs:
            runs[lr, batch_size] = train_run(lr, batch_size, **run_kwargs)
        return runs[lr, batch_size]

    def draw(lr, batch_size):
        fig, ax = plt.subplots(figsize=(6, 3.5))
        # Before plot_run fixes the loss axis to LOSS_YLIM, matplotlib autoscales
        # it to a diverging run's huge losses, and 10**y overflows on the way.
        with np.errstate(over="ignore"):
            plot_run(run_for(lr, batch_size), ax=ax)
        fig.tight_layout()
        return fig

    def alt(lr, batch_size):
        return describe_run_frame(run_for(lr, batch_size))

    params = {"lr": list(learning_rates), "batch_size": list(batch_sizes)}
    start = {"lr": DEFAULT_LR, "batch_size": DEFAULT_BATCH_SIZE}
    return FrameExplorer(
        draw,
        params,
        initial={name: v for name, v in start.items() if v in params[name]},
        alt=alt,
        labels={"lr": "learning rate η", "batch_size": "batch size B"},
        dpi=dpi,
    )
