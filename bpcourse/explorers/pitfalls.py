"""Classic backpropagation bugs injected into a small network, for the pitfalls chapter.

``buggy_network(pitfall)`` returns a ``Network([2, HIDDEN, 2])`` with sigmoid
hidden units whose forward or backward pass contains one named mistake.
``pitfall_symptom(pitfall)`` checks that network's gradients with
``bpcourse.gradcheck.gradcheck``, measures the norm of every ∂L/∂W^ℓ and trains
it on the XOR points. It returns what a reader would see: the worst relative
error of each parameter array, the gradient norms and the loss curve.
``plot_symptom`` draws the three, and ``pitfall_explorer`` wires them to a
dropdown of ``PITFALLS``.

Every symptom is a function of ``(pitfall, seed)`` only, so each frame of the
dropdown can be computed ahead of time.
"""

import math

import numpy as np

from bpcourse.activations import sigmoid, sigmoid_derivative
from bpcourse.data import minibatches, xor
from bpcourse.gradcheck import gradcheck
from bpcourse.interactive import FRAME_DPI
from bpcourse.network import Gradients, Network
from bpcourse.plots import BLUE, GREEN, VERMILLION

#: The mistakes the explorer can inject, each with a one-line description.
PITFALLS = {
    "none": "correct backpropagation",
    "sigma_prime_missing": "δ^ℓ = (W^{ℓ+1})ᵀ δ^{ℓ+1}, the factor σ′(z^ℓ) left out",
    "sigma_prime_of_a": "σ′ evaluated at a^ℓ instead of z^ℓ",
    "cache_overwritten_in_place": (
        "σ′ = a^ℓ(1 − a^ℓ) written into the cached a^ℓ, later read by ∂L/∂W^{ℓ+1}"
    ),
    "db_averaged_twice": "∂L/∂b^ℓ as the mean of δ^ℓ over the batch, not the sum",
    "learning_rate_too_large": "correct gradients, learning rate η = 300",
    "rounded_hidden": "a¹ = round(σ(z¹)), whose derivative is 0 almost everywhere",
}

#: Width d_1 of the hidden layer, and the number of XOR points.
HIDDEN = 8
NUM_POINTS = 64

#: Learning rate of the training runs, and the one of ``learning_rate_too_large``.
LR = 3.0
LARGE_LR = 300.0

#: Epochs and batch size of the training runs.
EPOCHS = 100
BATCH_SIZE = 16

#: A run counts as diverged once its loss exceeds this multiple of its start.
DIVERGENCE_FACTOR = 10.0


class BuggyNetwork(Network):
    """A ``Network`` whose forward or backward pass contains the mistake ``pitfall``.

    The learning rate pitfall leaves both passes correct: it lives in
    ``pitfall_symptom``, which trains with ``LARGE_LR``.
    """

    def __init__(self, sizes, pitfall="none", seed=0):
        if pitfall not in PITFALLS:
            known = ", ".join(PITFALLS)
            raise ValueError(f"unknown pitfall {pitfall!r}; choose one of {known}")
        super().__init__(sizes, activation="sigmoid", seed=seed)
        self.pitfall = pitfall

    def forward(self, X):
        output, cache = super().forward(X)
        if self.pitfall != "rounded_hidden":
            return output, cache
        # Rounds the first hidden layer, then runs the rest of the network on it.
        a = np.round(cache.a[1])
        cache.a[1] = a
        for l in range(1, self.num_layers):
            z = self.weights[l] @ a + self.biases[l]
            a = self.activations[l](z)
            cache.z[l] = z
            cache.a[l + 1] = a
        return a, cache

    def backward(self, cache, Y):
        if self.pitfall in ("none", "learning_rate_too_large"):
            return super().backward(cache, Y)
        L = self.num_layers
        loss, delta = self._loss_and_output_error(cache, Y)
        deltas = [None] * L
        deltas[L - 1] = delta
        # Every δ first, then every gradient, because in this order the
        # in-place bug changes ∂L/∂W.
        for l in range(L - 1, 0, -1):
            upstream = self.weights[l].T @ deltas[l]
            if self.pitfall == "sigma_prime_missing":
                deltas[l - 1] = upstream
            elif self.pitfall == "sigma_prime_of_a":
                deltas[l - 1] = upstream * sigmoid_derivative(cache.a[l])
            elif self.pitfall == "rounded_hidden" and l == 1:
                # The exact derivative of round(σ(z¹)) with respect to z¹.
                deltas[l - 1] = np.zeros_like(upstream)
            elif self.pitfall == "cache_overwritten_in_place":
                a = cache.a[l]
                np.multiply(a, 1 - a, out=a)  # a^ℓ now contains σ′(z^ℓ)
                deltas[l - 1] = upstream * a
            else:
                deltas[l - 1] = upstream * sigmoid_derivative(cache.z[l - 1])
        dW = [deltas[l] @ cache.a[l].T for l in range(L)]
        if self.pitfall == "db_averaged_twice":
            db = [np.mean(d, axis=1, keepdims=True) for d in deltas]
        else:
            db = [np.sum(d, axis=1, keepdims=True) for d in deltas]
        return Gradients(dW=dW, db=db, delta=deltas, loss=loss)


def buggy_network(pitfall, seed=0):
    """Return ``BuggyNetwork([2, HIDDEN, 2], pitfall, seed)``."""
    return BuggyNetwork([2, HIDDEN, 2], pitfall=pitfall, seed=seed)


def xor_points(seed=0):
    """Return the ``NUM_POINTS`` XOR points the explorer uses: X (2, N), y (N,)."""
    return xor(n=NUM_POINTS, noise=0.1, seed=seed)


def gradient_norms(net, X, y):
    """Return ‖∂L/∂W^ℓ‖ (Frobenius norm) for ℓ = 1 … L, as an array."""
    grads = net.gradients(X, y)
    return np.array([float(np.linalg.norm(dW)) for dW in grads.dW])


def train_losses(net, X, y, lr, epochs=EPOCHS, batch_size=BATCH_SIZE, seed=0):
    """Train ``net`` in place by minibatch SGD and return its loss after each epoch.

    Returns
    -------
    losses : ndarray
        The mean loss on (X, y) before training and after every epoch that
        did not diverge.
    diverged_epoch : int or None
        The epoch during which the loss became non-finite or exceeded
        ``DIVERGENCE_FACTOR`` times its starting value.
    """
    rng = np.random.default_rng(seed)
    initial = net.loss(X, y)
    losses = [initial]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(1, epochs + 1):
            for X_batch, y_batch in minibatches(X, y, batch_size, rng=rng):
                net.update(net.gradients(X_batch, y_batch), lr)
            loss = net.loss(X, y)
            if not (math.isfinite(loss) and loss <= DIVERGENCE_FACTOR * initial):
                return np.array(losses), epoch
            losses.append(loss)
    return np.array(losses), None


def pitfall_symptom(pitfall, seed=0):
    """Inject ``pitfall`` into a small network and return what it looks like.

    Parameters
    ----------
    pitfall : str
        A key of ``PITFALLS``.
    seed : int
        Seed of the XOR points, the initial weights and the shuffling.

    Returns
    -------
    dict
        ``pitfall``, ``description`` and ``seed``;
        ``worst`` (dict): gradcheck's worst relative error of W1, b1, W2, b2;
        ``passed`` (bool): whether the gradient check passed;
        ``grad_norms`` (ndarray, shape (L,)): ‖∂L/∂W^ℓ‖ of the untrained network
        on all points, as its backward pass computes them;
        ``lr`` (float): the learning rate of the training run;
        ``loss`` (ndarray): the loss before training and after every epoch;
        ``diverged_epoch`` (int or None);
        ``accuracy`` (float): after training, nan when the run diverged.
    """
    X, y = xor_points(seed)
    net = buggy_network(pitfall, seed)
    report = gradcheck(net, X, y, seed=seed)
    norms = gradient_norms(net, X, y)
    lr = LARGE_LR if pitfall == "learning_rate_too_large" else LR
    losses, diverged = train_losses(net, X, y, lr, seed=seed)
    accuracy = float("nan") if diverged is not None else net.accuracy(X, y)
    return {
        "pitfall": pitfall,
        "description": PITFALLS[pitfall],
        "seed": seed,
        "worst": report.worst,
        "passed": report.passed,
        "grad_norms": norms,
        "lr": lr,
        "loss": losses,
        "diverged_epoch": diverged,
        "accuracy": accuracy,
    }


def describe_symptom(symptom):
    """Return the symptom in one line: gradient check, worst array, training."""
    worst = symptom["worst"]
    name = max(worst, key=lambda k: worst[k])
    check = "passes" if symptom["passed"] else "fails"
    text = (
        f"{symptom['pitfall']}: the gradient check {check} "
        f"(worst {name}: {worst[name]:.1e})"
    )
    if symptom["diverged_epoch"] is not None:
        return text + f"; training diverges at epoch {symptom['diverged_epoch']}"
    return text + f"; accuracy after training {symptom['accuracy']:.0%}"


def plot_symptom(symptom, fig=None):
    """Draw a symptom: relative errors, gradient norms and the loss curve.

    Returns
    -------
    matplotlib Figure
    """
    import matplotlib.pyplot as plt

    if fig is None:
        fig = plt.figure(figsize=(7, 2.6))
    ax_err, ax_norm, ax_loss = fig.subplots(1, 3)
    names = list(symptom["worst"])
    errors = [max(symptom["worst"][n], 1e-12) for n in names]
    colours = [VERMILLION if e > 1e-5 else GREEN for e in errors]
    ax_err.bar(names, errors, color=colours)
    ax_err.axhline(1e-5, color="0.3", ls="--", lw=1)
    ax_err.set_yscale("log")
    ax_err.set_ylim(1e-12, 10)
    ax_err.set_title("gradient check", fontsize=9)
    ax_err.set_ylabel("worst relative error", fontsize=8)

    layers = [f"W{l}" for l in range(1, len(symptom["grad_norms"]) + 1)]
    bars = ax_norm.bar(layers, symptom["grad_norms"], color=BLUE)
    ax_norm.bar_label(bars, fmt="%.2g", fontsize=8)
    ax_norm.set_ylim(0, 1.2 * max(float(np.max(symptom["grad_norms"])), 1e-3))
    ax_norm.set_title("‖∂L/∂Wˡ‖ by backprop", fontsize=9)

    epochs = np.arange(len(symptom["loss"]))
    ax_loss.plot(epochs, symptom["loss"], "o-", ms=2, color=BLUE)
    if symptom["diverged_epoch"] is not None:
        ax_loss.axvline(symptom["diverged_epoch"], color=VERMILLION, ls="--")
    ax_loss.set_ylim(0, max(1.0, 1.1 * float(np.max(symptom["loss"]))))
    ax_loss.set_xlim(0, EPOCHS)
    ax_loss.set_xlabel("epoch", fontsize=8)
    ax_loss.set_title(f"training loss, η = {symptom['lr']:g}", fontsize=9)
    for ax in (ax_err, ax_norm, ax_loss):
        ax.tick_params(labelsize=8)
    fig.suptitle(describe_symptom(symptom), fontsize=9)
    fig.tight_layout()
    return fig


def pitfall_explorer(seed=0):
    """Return a widget: a dropdown of ``PITFALLS`` above that pitfall's symptom."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    dropdown = widgets.Dropdown(
        options=[(f"{k}: {v}", k) for k, v in PITFALLS.items()],
        value="none",
        description="pitfall",
        layout={"width": "95%"},
    )
    symptoms = {}

    def show(pitfall):
        if pitfall not in symptoms:
            symptoms[pitfall] = pitfall_symptom(pitfall, seed)
        plot_symptom(symptoms[pitfall])
        plt.show()

    return widgets.interactive(show, pitfall=dropdown)


# Frames for pages without a kernel ------------------------------------------------


def describe_symptom_frame(symptom):
    """Return the alt text of a frame: the mistake, the check, the norms, training."""
    worst = ", ".join(f"{name} {error:.1e}" for name, error in symptom["worst"].items())
    norms = ", ".join(
        f"‖∂L/∂W{l}‖ = {norm:.2g}" for l, norm in enumerate(symptom["grad_norms"], 1)
    )
    if symptom["diverged_epoch"] is not None:
        training = (
            f"with η = {symptom['lr']:g} the loss diverges at epoch "
            f"{symptom['diverged_epoch']}"
        )
    else:
        training = (
            f"with η = {symptom['lr']:g} the loss goes from "
            f"{symptom['loss'][0]:.3f} to {symptom['loss'][-1]:.3f} in "
            f"{len(symptom['loss']) - 1} epochs, and the accuracy ends at "
            f"{symptom['accuracy']:.0%}"
        )
    check = "passes" if symptom["passed"] else "fails"
    return (
        f"Pitfall {symptom['pitfall']} ({symptom['description']}): the gradient "
        f"check {check}, with worst relative errors {worst}; {norms}; {training}."
    )


def pitfalls_frames(pitfalls=tuple(PITFALLS), seed=0, dpi=FRAME_DPI):
    """Return the pitfall widget as a ``FrameExplorer`` that needs no kernel.

    A slider steps through the pitfalls of the live widget's dropdown. Each
    frame is ``plot_symptom`` on ``pitfall_symptom(pitfall, seed)``, computed
    once per pitfall.
    """
    from bpcourse.interactive import FrameExplorer

    pitfalls = list(pitfalls)
    symptoms = {}

    def symptom_for(pitfall):
        if pitfall not in symptoms:
            symptoms[pitfall] = pitfall_symptom(pitfall, seed)
        return symptoms[pitfall]

    def draw(pitfall):
        return plot_symptom(symptom_for(pitfall))

    def alt(pitfall):
        return describe_symptom_frame(symptom_for(pitfall))

    return FrameExplorer(
        draw,
        {"pitfall": pitfalls},
        initial={"pitfall": "none" if "none" in pitfalls else pitfalls[0]},
        alt=alt,
        labels={"pitfall": "pitfall"},
        dpi=dpi,
    )
