"""The loss: softmax probabilities, cross-entropy and δᴸ for logits set by hand.

The softmax explorer takes the three logits z₁, z₂, z₃ of one example (the
entries of zᴸ, K = 3) and its target class. It returns the probabilities
ŷ = softmax(zᴸ), the cross-entropy L = −log ŷ_target and the output error
δᴸ = (ŷ − y)/N, which is ŷ − y for this single example (N = 1).
"""

import numpy as np

from bpcourse.activations import softmax
from bpcourse.interactive import FRAME_DPI
from bpcourse.losses import softmax_cross_entropy
from bpcourse.plots import BLUE

#: Range and step of the logit sliders.
LOGIT_RANGE = (-5.0, 5.0, 0.5)
#: Number of classes of the softmax explorer.
NUM_CLASSES = 3


def naive_softmax(z):
    """Compute exp(z_k) / Σ_j exp(z_j) for each column, without subtracting the max.

    This is the textbook formula, kept to show its failure: exp overflows to inf
    for logits above about 709 in float64 (88.7 in float32), and inf / inf is
    nan. A floating z keeps its dtype; anything else is converted to float64.
    """
    z = np.asarray(z)
    if not np.issubdtype(z.dtype, np.floating):
        z = z.astype(np.float64)
    e = np.exp(z)
    return e / np.sum(e, axis=0, keepdims=True)


def one_hot(target, num_classes=NUM_CLASSES):
    """Return the one-hot column y of shape (num_classes, 1) for a class index."""
    if not 0 <= int(target) < num_classes:
        raise ValueError(
            f"target {target} is out of range for {num_classes} classes: use "
            f"0 … {num_classes - 1}"
        )
    y = np.zeros((num_classes, 1))
    y[int(target), 0] = 1.0
    return y


def explore_softmax(z1, z2, z3, target=0):
    """Compute what the softmax widget shows for three logits and a target class.

    Returns
    -------
    dict with
        ``"z"``: the logits zᴸ, shape (3, 1);
        ``"y"``: the one-hot target, shape (3, 1);
        ``"probabilities"``: ŷ = softmax(zᴸ), shape (3, 1);
        ``"loss"``: the cross-entropy −log ŷ_target, a float;
        ``"delta"``: δᴸ = ŷ − y, shape (3, 1);
        ``"target"``: the target class.
    """
    z = np.array([[z1], [z2], [z3]], dtype=float)
    y = one_hot(target)
    loss, delta = softmax_cross_entropy(z, y)
    return {
        "z": z,
        "y": y,
        "probabilities": softmax(z),
        "loss": loss,
        "delta": delta,
        "target": int(target),
    }


def draw_softmax_explorer(data, fig=None):
    """Draw three bar charts: the logits zᴸ, the probabilities ŷ and δᴸ.

    The target class's probability bar is outlined and the other bars are
    hatched, so the target does not depend on colour alone.

    Returns
    -------
    matplotlib Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib import colormaps

    from bpcourse.plots import DIVERGING

    if fig is None:
        fig = plt.figure(figsize=(7.5, 3.0))
    ax_z, ax_p, ax_delta = fig.subplots(1, 3)
    classes = np.arange(data["z"].shape[0])
    names = [f"class {k}" for k in classes]
    target = data["target"]

    logits = data["z"][:, 0]
    ax_z.bar(classes, logits, color="0.55")
    for k, value in enumerate(logits):
        offset = 0.2 if value >= 0 else -0.2
        ax_z.text(k, value + offset, f"{value:+.2f}", ha="center",
                  va="bottom" if value >= 0 else "top", fontsize=9)
    ax_z.axhline(0, color="0.3", lw=0.8)
    ax_z.set_ylim(LOGIT_RANGE[0] - 0.5, LOGIT_RANGE[1] + 0.5)
    ax_z.set_title("logits zᴸ")

    probabilities = data["probabilities"][:, 0]
    bars = ax_p.bar(classes, probabilities, color=BLUE, edgecolor="black")
    for k, bar in enumerate(bars):
        if k == target:
            bar.set_linewidth(2.5)
        else:
            bar.set_hatch("//")
            bar.set_alpha(0.6)
        ax_p.text(k, probabilities[k] + 0.02, f"{probabilities[k]:.3f}",
                  ha="center", va="bottom", fontsize=9)
    ax_p.set_ylim(0, 1.12)
    ax_p.set_title(f"ŷ = softmax(zᴸ), L = {data['loss']:.3f}")

    delta = data["delta"][:, 0]
    cmap = colormaps[DIVERGING]
    ax_delta.bar(classes, delta, color=[cmap(0.85 if d > 0 else 0.15) for d in delta])
    for k, value in enumerate(delta):
        offset = 0.04 if value >= 0 else -0.04
        ax_delta.text(k, value + offset, f"{value:+.3f}", ha="center",
                      va="bottom" if value >= 0 else "top", fontsize=9)
    ax_delta.axhline(0, color="0.3", lw=0.8)
    ax_delta.set_ylim(-1.2, 1.2)
    ax_delta.set_title("δᴸ = ŷ − y")

    for ax in (ax_z, ax_p, ax_delta):
        ax.set_xticks(classes)
        ax.set_xticklabels(
            [f"{name}\n(target)" if k == target else name for k, name in enumerate(names)],
            fontsize=9,
        )
    fig.tight_layout()
    return fig


def softmax_widget(z1=2.0, z2=1.0, z3=-1.0, target=0):
    """Build the widget: three logit sliders, a target menu and the bar charts.

    Returns
    -------
    ipywidgets.VBox
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    low, high, step = LOGIT_RANGE
    controls = {
        name: widgets.FloatSlider(
            value=value, min=low, max=high, step=step, description=label,
            continuous_update=False,
        )
        for name, label, value in [
            ("z1", "z₁", z1), ("z2", "z₂", z2), ("z3", "z₃", z3),
        ]
    }
    controls["target"] = widgets.Dropdown(
        options=[(f"class {k}", k) for k in range(NUM_CLASSES)], value=target,
        description="target",
    )

    def show(**kwargs):
        fig = draw_softmax_explorer(explore_softmax(**kwargs))
        display(fig)
        plt.close(fig)

    output = widgets.interactive_output(show, controls)
    panel = widgets.HBox([
        widgets.VBox([controls["z1"], controls["z2"], controls["z3"]]),
        controls["target"],
    ])
    return widgets.VBox([panel, output])


def central_difference_delta(z, Y, h=1e-5):
    """Estimate ∂L/∂zᴸ of the mean softmax cross-entropy by central differences.

    Each entry of z is moved by ±h in turn:
    (L(z + h eᵢ) − L(z − h eᵢ)) / 2h, with L from
    ``bpcourse.losses.softmax_cross_entropy``.

    Parameters
    ----------
    z : ndarray, shape (K, N)
    Y : ndarray, shape (N,) of int labels or (K, N)

    Returns
    -------
    ndarray, shape (K, N)
    """
    z = np.array(z, dtype=float)
    gradient = np.zeros_like(z)
    for index in np.ndindex(*z.shape):
        original = z[index]
        z[index] = original + h
        loss_plus, _ = softmax_cross_entropy(z, Y)
        z[index] = original - h
        loss_minus, _ = softmax_cross_entropy(z, Y)
        z[index] = original
        gradient[index] = (loss_plus - loss_minus) / (2 * h)
    return gradient


def loss_against_probability(num=200):
    """Evaluate two losses of one example as functions of p = ŷ_target.

    Returns
    -------
    dict with ``"p"`` (shape (num,), in (0, 1]), ``"cross_entropy"`` = −log p and
    ``"squared_error"`` = ½ (1 − p)², the squared error on the target's output
    unit alone.
    """
    p = np.linspace(1 / num, 1.0, num)
    return {
        "p": p,
        "cross_entropy": -np.log(p),
        "squared_error": 0.5 * (1 - p) ** 2,
    }


#: The values of the kernel-free explorer's sliders; z₃ stays at −1.
FRAME_Z1 = [-4.0, -2.0, 0.0, 2.0, 4.0]
FRAME_Z2 = [-2.0, 1.0, 4.0]
FRAME_Z3 = -1.0


def _describe_softmax(data):
    z = ", ".join(f"{v:g}" for v in data["z"][:, 0])
    p = ", ".join(f"{v:.3f}" for v in data["probabilities"][:, 0])
    delta = ", ".join(f"{v:+.3f}" for v in data["delta"][:, 0])
    predicted = int(np.argmax(data["probabilities"][:, 0]))
    return (
        f"Logits zᴸ = ({z}) with target class {data['target']}: probabilities "
        f"ŷ = ({p}), loss L = {data['loss']:.3f}, predicted class {predicted}, "
        f"and δᴸ = ({delta})."
    )


def loss_frames(z1_values=FRAME_Z1, z2_values=FRAME_Z2, targets=range(NUM_CLASSES),
                z3=FRAME_Z3, dpi=FRAME_DPI):
    """Return the softmax widget as a ``FrameExplorer`` that needs no kernel.

    The sliders set z₁, z₂ and the target class, with z₃ fixed. Each frame is
    drawn by ``draw_softmax_explorer(explore_softmax(...))``, as in the live
    widget, and its alt text gives ŷ, L, the predicted class and δᴸ.
    """
    from bpcourse.interactive import FrameExplorer

    def draw(z1, z2, target):
        return draw_softmax_explorer(explore_softmax(z1, z2, z3, target))

    def alt(z1, z2, target):
        return _describe_softmax(explore_softmax(z1, z2, z3, target))

    params = {"z1": list(z1_values), "z2": list(z2_values), "target": list(targets)}
    start = {"z1": 2.0, "z2": 1.0, "target": 0}
    return FrameExplorer(
        draw,
        params,
        initial={name: v for name, v in start.items() if v in params[name]},
        alt=alt,
        labels={"z1": "logit z₁", "z2": "logit z₂", "target": "target class"},
        dpi=dpi,
    )
