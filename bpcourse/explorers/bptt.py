r"""The gradient over many time steps, and the windows of truncated BPTT.

``gradient_flow(T, rho, input_scale)`` runs a random recurrent network with
W_hh = ρ·Q (Q orthogonal, so ρ is both its spectral radius and its largest
singular value) over T steps and backpropagates a unit gradient from h_T,
returning ‖∂L/∂h_t‖ for every step next to the bound ρ^{T−t}.
``plot_gradient_flow`` draws one result, ``draw_gradient_flow`` returns it as
a figure of its own (for precomputed frames) and ``bptt_explorer`` wires it
to three sliders.

``truncation_mask`` and ``plot_truncation_windows`` show which steps each
backward pass of truncated BPTT(k1, k2) covers, and
``truncation_similarity`` measures how close the truncated gradient is to
the full one.

The sliders take the values of ``SEQUENCE_LENGTHS``, ``RADII`` and
``INPUT_SCALES`` only, so every frame a reader can reach can be computed
ahead of time.
"""

import numpy as np

from bpcourse.interactive import FRAME_DPI
from bpcourse.plots import BLUE, VERMILLION
from bpcourse.rnn import (
    cosine_similarity,
    gradient_norms_over_time,
    truncated_gradients,
    truncation_ends,
    truncation_windows,
)

#: Sequence lengths T of the slider.
SEQUENCE_LENGTHS = (10, 25, 50, 100)

#: Spectral radii ρ of W_hh on the slider, from fast decay to fast growth.
RADII = (0.5, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0)

#: Standard deviations of the inputs x_t on the slider. Inputs of 0.1 keep
#: the states small, where tanh′ ≈ 1 and the network is nearly linear. Inputs
#: of 1 push units into saturation, where tanh′ is small.
INPUT_SCALES = (0.1, 1.0)

#: The slider's starting position.
DEFAULT_T = 50
DEFAULT_RHO = 0.9
DEFAULT_INPUT_SCALE = 1.0

#: Hidden units of the network the explorer measures.
HIDDEN = 32

#: The norm axis of ``plot_gradient_flow``, fixed so that frames compare.
NORM_YLIM = (1e-16, 1e8)


def gradient_flow(T=DEFAULT_T, rho=DEFAULT_RHO, input_scale=DEFAULT_INPUT_SCALE,
                  d_h=HIDDEN, seed=0):
    """Return ‖∂L/∂h_t‖ for t = 1 … T when the loss reads only h_T.

    This is ``bpcourse.rnn.gradient_norms_over_time``, whose documentation
    describes the network, the loss and the bound.

    Returns
    -------
    dict
        ``t``, ``norm``, ``bound`` (arrays over t), ``spectral_radius``,
        ``mean_tanh_prime``, ``per_step`` (the geometric mean factor by which
        the norm changes per step back, (‖∂L/∂h_1‖/‖∂L/∂h_T‖)^{1/(T−1)}, nan
        for T = 1), and the arguments.
    """
    result = gradient_norms_over_time(T, rho, d_h=d_h, input_scale=input_scale,
                                      seed=seed)
    norm = result["norm"]
    if T > 1 and norm[0] > 0:
        result["per_step"] = float((norm[0] / norm[-1]) ** (1.0 / (T - 1)))
    else:
        result["per_step"] = float("nan")
    return result


def describe_flow(result):
    """Return one line with the measured change per step and the bound ρ."""
    return (
        f"T = {result['T']}, ρ = {result['rho']:g}, inputs ~ "
        f"N(0, {result['input_scale']:g}²): ‖∂L/∂h_1‖ = {result['norm'][0]:.2e}, "
        f"{result['per_step']:.3f} per step back (bound ρ = {result['rho']:g})"
    )


def plot_gradient_flow(result, ax=None):
    """Draw ‖∂L/∂h_t‖ against t on a log axis, with the bound ρ^{T−t} dashed.

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.4))
    t, norm = result["t"], result["norm"]
    ax.plot(t, result["bound"], "--", color="0.5", lw=1.2,
            label=rf"bound $\rho^{{T-t}}$, ρ = {result['rho']:g}")
    ax.plot(t, norm, "o-", color=BLUE, ms=3, lw=1.5,
            label=r"measured $\|\partial L / \partial h_t\|$")
    ax.axhline(1.0, color="0.8", lw=0.8, zorder=0)
    ax.set_yscale("log")
    ax.set_ylim(*NORM_YLIM)
    ax.set_xlim(0.5, result["T"] + 0.5)
    ax.set_xlabel("time step t")
    ax.set_ylabel(r"$\|\partial L / \partial h_t\|$")
    ax.set_title(
        f"T = {result['T']}, ρ(W_hh) = {result['rho']:g}, input std "
        f"{result['input_scale']:g}: {result['per_step']:.3f} per step back, "
        f"mean tanh′ {result['mean_tanh_prime']:.2f}",
        fontsize=9,
    )
    ax.legend(loc="lower right", fontsize=8)
    return ax


def draw_gradient_flow(T=DEFAULT_T, rho=DEFAULT_RHO, input_scale=DEFAULT_INPUT_SCALE):
    """Return a new figure of ``plot_gradient_flow(gradient_flow(T, rho, input_scale))``."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.4))
    plot_gradient_flow(gradient_flow(T, rho, input_scale), ax=ax)
    fig.tight_layout()
    return fig


def bptt_explorer(lengths=SEQUENCE_LENGTHS, radii=RADII, input_scales=INPUT_SCALES):
    """Return a widget: sliders for T, ρ and the input scale above the gradient norms."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    def slider(options, value, description):
        return widgets.SelectionSlider(
            options=[(f"{v:g}", v) for v in options],
            value=value if value in options else options[0],
            description=description,
            style={"description_width": "initial"},
            continuous_update=False,
        )

    controls = {
        "T": slider(lengths, DEFAULT_T, "sequence length T"),
        "rho": slider(radii, DEFAULT_RHO, "spectral radius ρ of W_hh"),
        "input_scale": slider(input_scales, DEFAULT_INPUT_SCALE, "input std"),
    }

    def show(T, rho, input_scale):
        _, ax = plt.subplots(figsize=(6, 3.4))
        plot_gradient_flow(gradient_flow(T, rho, input_scale), ax=ax)
        plt.show()

    return widgets.interactive(show, **controls)


# Truncated BPTT ------------------------------------------------------------------


def truncation_mask(T, k1, k2):
    """Return the steps each backward pass covers and the steps whose loss it carries.

    Returns
    -------
    window : ndarray of float, shape (U, T)
        ``window[u, t − 1]`` is 1 when pass u backpropagates through step t.
    losses : ndarray of float, shape (U, T)
        ``losses[u, t − 1]`` is 1 when the loss of step t enters pass u.
    """
    windows = truncation_windows(T, k1, k2)
    window = np.zeros((len(windows), T))
    losses = np.zeros((len(windows), T))
    previous_end = 0
    for u, (start, end) in enumerate(windows):
        window[u, start - 1:end] = 1.0
        losses[u, previous_end:end] = 1.0
        previous_end = end
    return window, losses


def plot_truncation_windows(T, k1, k2, ax=None):
    """Draw one row per backward pass: its window shaded, its loss steps marked.

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    window, losses = truncation_mask(T, k1, k2)
    U = window.shape[0]
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.45 * U + 1.2))
    for u in range(U):
        y = U - 1 - u
        for t in range(1, T + 1):
            inside = window[u, t - 1] > 0
            ax.add_patch(Rectangle((t - 0.45, y - 0.35), 0.9, 0.7,
                                   facecolor=BLUE if inside else "white",
                                   alpha=0.35 if inside else 1.0,
                                   edgecolor="0.6", lw=0.6))
            if losses[u, t - 1] > 0:
                ax.plot(t, y, "o", color=VERMILLION, ms=4)
        ax.text(T + 0.8, y, f"pass {u + 1}: back to step {int(np.argmax(window[u])) + 1}",
                va="center", fontsize=8)
    ends = truncation_ends(T, k1)
    ax.set_yticks(range(U))
    ax.set_yticklabels([f"after step {e}" for e in ends[::-1]], fontsize=8)
    ax.set_xticks(range(1, T + 1))
    ax.set_xlim(0.4, T + 4.5)
    ax.set_ylim(-0.6, U - 0.4)
    ax.set_xlabel("time step t")
    ax.set_title(f"truncated BPTT, k1 = {k1}, k2 = {k2}, T = {T}", fontsize=10)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    return ax


def truncation_similarity(rnn, X, Y, k2_values, k1=None):
    """Return the cosine between the truncated and the full BPTT gradient for each k2.

    Parameters
    ----------
    rnn : bpcourse.rnn.RNN
    X, Y : one batch of sequences
    k2_values : sequence of int
    k1 : int, optional
        Steps between passes; by default k1 = k2 for each k2.

    Returns
    -------
    ndarray, shape (len(k2_values),)
    """
    full = rnn.gradients(X, Y).as_list()
    similarity = []
    for k2 in k2_values:
        truncated = truncated_gradients(rnn, X, Y, k2 if k1 is None else k1, k2)
        similarity.append(cosine_similarity(truncated, full))
    return np.array(similarity)


# The unrolled network --------------------------------------------------------------


def plot_unrolled(T=3, ax=None):
    """Draw the network unrolled over T steps, with the paths of BPTT.

    Black arrows are the forward pass: x_t and h_{t−1} into h_t, h_t into ŷ_t.
    Red arrows are the backward pass: e_t = ∂L/∂ŷ_t into h_t through W_hyᵀ,
    and δ_{t+1} into h_t through W_hhᵀ.

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    if ax is None:
        _, ax = plt.subplots(figsize=(1.7 * (T + 1), 3.4))
    gap = 1.7  # horizontal distance between two steps
    half_width, half_height = 0.4, 0.3
    rows = {"x": 0.0, "h": 1.5, "y": 3.0}

    def box(x, y, text, face):
        ax.add_patch(FancyBboxPatch((x - half_width, y - half_height),
                                    2 * half_width, 2 * half_height,
                                    boxstyle="round,pad=0.04", facecolor=face,
                                    edgecolor="0.3", lw=1.0))
        ax.text(x, y, text, ha="center", va="center", fontsize=11)

    def arrow(start, end, color, style="-"):
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12,
                                     color=color, lw=1.4, linestyle=style,
                                     shrinkA=3, shrinkB=3))

    def label(x, y, text, color="black", ha="center"):
        ax.text(x, y, text, color=color, ha=ha, va="center", fontsize=9)

    box(0, rows["h"], "$h_0$", "0.92")
    for t in range(1, T + 1):
        x = gap * t
        box(x, rows["x"], f"$x_{t}$", "#dbe9f6")
        box(x, rows["h"], f"$h_{t}$", "#fde2c8")
        box(x, rows["y"], rf"$\hat y_{t}$", "#dff0d8")
        arrow((x, rows["x"] + half_height), (x, rows["h"] - half_height), "black")
        arrow((x - 0.15, rows["h"] + half_height), (x - 0.15, rows["y"] - half_height),
              "black")
        arrow((x - gap + half_width, rows["h"] + 0.1), (x - half_width, rows["h"] + 0.1),
              "black")
        # The backward pass, drawn beside and below the forward arrows.
        arrow((x + 0.15, rows["y"] - half_height), (x + 0.15, rows["h"] + half_height),
              VERMILLION, style="--")
        label(x + 0.42, (rows["h"] + rows["y"]) / 2, f"$e_{t}$", VERMILLION)
        if t < T:
            arrow((x + gap - half_width, rows["h"] - 0.1), (x + half_width, rows["h"] - 0.1),
                  VERMILLION, style="--")
            label(x + gap / 2, rows["h"] - 0.32, rf"$\delta_{t + 1}$", VERMILLION)
        if t == 1:
            label(x - 0.25, (rows["x"] + rows["h"]) / 2, "$W_{xh}$", ha="right")
            label(x - 0.3, (rows["h"] + rows["y"]) / 2, "$W_{hy}$", ha="right")
            label(gap / 2, rows["h"] + 0.32, "$W_{hh}$")
    label(gap * T + half_width + 0.1, rows["h"] - 0.32, r"$\delta_{T+1} = 0$", VERMILLION,
          ha="left")
    ax.set_xlim(-0.6, gap * T + 1.6)
    ax.set_ylim(-0.45, 3.45)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


# Frames for pages without a kernel ------------------------------------------------


def describe_flow_frame(result):
    """Return one sentence for a frame: the settings and the gradient at step 1."""
    return (
        f"Gradient norm against time step for T = {result['T']} steps, spectral "
        f"radius ρ = {result['rho']:g} and inputs of standard deviation "
        f"{result['input_scale']:g}: the norm goes from 1 at step {result['T']} to "
        f"{result['norm'][0]:.2g} at step 1, a factor of {result['per_step']:.3g} "
        f"per step back, below the bound ρ^(T−t)."
    )


def bptt_frames(lengths=SEQUENCE_LENGTHS, radii=RADII, input_scales=INPUT_SCALES,
                dpi=FRAME_DPI):
    """Return the widget as a ``FrameExplorer`` that needs no kernel.

    Each frame is ``draw_gradient_flow(T, rho, input_scale)``, as in the live
    widget, with ``describe_flow_frame`` as its alt text.
    """
    from bpcourse.interactive import FrameExplorer

    def alt(T, rho, input_scale):
        return describe_flow_frame(gradient_flow(T, rho, input_scale))

    params = {"T": list(lengths), "rho": list(radii), "input_scale": list(input_scales)}
    start = {"T": DEFAULT_T, "rho": DEFAULT_RHO, "input_scale": DEFAULT_INPUT_SCALE}
    return FrameExplorer(
        draw_gradient_flow,
        params,
        initial={name: v for name, v in start.items() if v in params[name]},
        alt=alt,
        labels={"T": "sequence length T", "rho": "spectral radius ρ of W_hh",
                "input_scale": "input std"},
        dpi=dpi,
    )
