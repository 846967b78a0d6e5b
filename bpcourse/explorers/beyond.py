"""Forward gradients against the number of random directions, for the chapter beyond backpropagation.

A forward gradient averages k estimates (∇L·v_i) v_i over random directions
v_i with standard normal entries (``bpcourse.beyond.forward_gradient``). Its
relative mean squared error is (P + 1)/k for P parameters. ``gradient_frame``
computes one estimate for a small fixed network next to the true gradient,
``error_curve`` measures the error for every k on the slider, ``plot_frame``
draws both, and ``forward_gradient_explorer`` wires them to two sliders.

The sliders take the values of ``DIRECTIONS`` and ``SEEDS`` only, so every
frame a reader can reach is ``gradient_frame(k, seed)`` for one of those
pairs.
"""

import functools

import numpy as np

from bpcourse.beyond.forward_gradient import expected_relative_mse, forward_gradient
from bpcourse.beyond.vectors import cosine_similarity, flatten
from bpcourse.interactive import FRAME_DPI
from bpcourse.network import Network
from bpcourse.plots import BLUE, ORANGE

#: The numbers of directions k the slider offers, powers of two up to past P.
DIRECTIONS = (1, 2, 4, 8, 16, 32, 64, 128, 256)

#: The seeds of the directions the slider offers.
SEEDS = (0, 1, 2, 3)

#: The slider's starting position.
DEFAULT_DIRECTIONS = 4

#: The network [d_0, d_1, d_2] of every frame, P = 51 parameters, and its batch.
SIZES = (4, 6, 3)
NUM_EXAMPLES = 40

#: Repetitions behind every point of ``error_curve``.
CURVE_REPETITIONS = 20

#: Half-width of the estimate axis of ``plot_frame``, in units of the largest
#: entry of the true gradient, fixed so that frames compare. Entries of a
#: one-direction estimate spread over about ±√P ≈ 7 such units.
ESTIMATE_AXIS = 8.0


def problem():
    """Return the fixed network, inputs and labels of every frame.

    A tanh network ``Network(SIZES)`` with seed 0, and N = ``NUM_EXAMPLES``
    standard normal inputs whose labels are the argmax of a fixed random
    linear map, all from seed 0. A new network is built on every call.
    """
    rng = np.random.default_rng(0)
    X = rng.standard_normal((SIZES[0], NUM_EXAMPLES))
    y = np.argmax(rng.standard_normal((SIZES[-1], SIZES[0])) @ X, axis=0)
    net = Network(list(SIZES), activation="tanh", seed=0)
    return net, X, y


@functools.lru_cache(maxsize=1)
def true_gradient():
    """Return ∇L of the fixed problem, flattened, from backpropagation (read-only)."""
    net, X, y = problem()
    g = flatten(net.gradients(X, y).as_list())
    g.flags.writeable = False
    return g


def _check_directions(num_directions):
    if isinstance(num_directions, bool) or not isinstance(num_directions, (int, np.integer)):
        raise TypeError(f"num_directions={num_directions!r} must be a positive integer")
    if num_directions < 1:
        raise ValueError(f"num_directions={num_directions!r} must be a positive integer")
    return int(num_directions)


def gradient_frame(num_directions, seed=0):
    """Return one forward-gradient estimate of the fixed problem next to ∇L.

    Parameters
    ----------
    num_directions : int
        k.
    seed : int
        Seed of the directions.

    Returns
    -------
    dict
        ``num_directions``, ``seed``, ``num_parameters`` (P); ``gradient`` and
        ``estimate``, flattened (P,); ``cosine`` between them;
        ``relative_error`` ‖ĝ − ∇L‖/‖∇L‖; ``expected_relative_error``
        √((P + 1)/k), its root mean square over seeds.
    """
    k = _check_directions(num_directions)
    net, X, y = problem()
    g = np.array(true_gradient())
    estimate, _ = forward_gradient(net, X, y, rng=seed, num_directions=k)
    e = flatten(estimate)
    return {
        "num_directions": k,
        "seed": seed,
        "num_parameters": g.size,
        "gradient": g,
        "estimate": e,
        "cosine": cosine_similarity([e], [g]),
        "relative_error": float(np.linalg.norm(e - g) / np.linalg.norm(g)),
        "expected_relative_error": float(np.sqrt(expected_relative_mse(g.size, k))),
    }


def error_curve(directions=DIRECTIONS, repetitions=CURVE_REPETITIONS, seed=0):
    """Return the measured and the expected relative mean squared error for every k.

    Returns
    -------
    dict
        ``directions`` (ndarray); ``measured``, the mean of ‖ĝ − ∇L‖²/‖∇L‖²
        over ``repetitions`` estimates drawn from one generator seeded with
        ``seed``; ``expected``, (P + 1)/k; ``repetitions``; ``num_parameters``.
    """
    net, X, y = problem()
    g = np.array(true_gradient())
    rng = np.random.default_rng(seed)
    measured = []
    for k in directions:
        k = _check_directions(k)
        errors = []
        for _ in range(repetitions):
            estimate, _ = forward_gradient(net, X, y, rng=rng, num_directions=k)
            errors.append(np.sum((flatten(estimate) - g) ** 2) / (g @ g))
        measured.append(np.mean(errors))
    directions = np.array(directions)
    return {
        "directions": directions,
        "measured": np.array(measured),
        "expected": expected_relative_mse(g.size, directions),
        "repetitions": repetitions,
        "num_parameters": g.size,
    }


def describe_frame(frame):
    """Return one line that sums up a frame."""
    return (
        f"k = {frame['num_directions']} direction(s), seed {frame['seed']}: "
        f"cosine {frame['cosine']:.2f}, relative error "
        f"{frame['relative_error']:.2f} (√((P + 1)/k) = "
        f"{frame['expected_relative_error']:.2f})"
    )


def plot_frame(frame, curve, axes=None):
    """Draw an estimate against the true gradient (left) and the error against k (right).

    Entries beyond the fixed estimate axis are drawn at its edge as open
    markers.

    Returns
    -------
    array of two matplotlib Axes
    """
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(7, 3.2))
    ax_scatter, ax_curve = axes
    g, e = frame["gradient"], frame["estimate"]
    scale = np.max(np.abs(g))
    limit = ESTIMATE_AXIS * scale
    inside = np.abs(e) <= limit
    ax_scatter.axhline(0, color="0.8", lw=0.8)
    ax_scatter.axvline(0, color="0.8", lw=0.8)
    ax_scatter.plot([-scale, scale], [-scale, scale], color="0.4", lw=1,
                    label="estimate = gradient")
    ax_scatter.plot(g[inside], e[inside], "o", ms=3, color=BLUE,
                    label="entries of the estimate")
    if not inside.all():
        ax_scatter.plot(g[~inside], np.clip(e[~inside], -limit, limit), "o", ms=4,
                        mfc="none", color=BLUE)
    ax_scatter.set_xlim(-1.15 * scale, 1.15 * scale)
    ax_scatter.set_ylim(-1.05 * limit, 1.05 * limit)
    ax_scatter.set_xlabel("entry of ∇L (backpropagation)", fontsize=9)
    ax_scatter.set_ylabel("entry of the forward gradient", fontsize=9)
    ax_scatter.set_title(
        f"k = {frame['num_directions']}, seed {frame['seed']}: cosine "
        f"{frame['cosine']:.2f}", fontsize=9)
    ax_scatter.legend(fontsize=7, loc="upper left")

    ax_curve.loglog(curve["directions"], curve["expected"], color="0.4",
                    label="(P + 1) / k")
    ax_curve.loglog(curve["directions"], curve["measured"], "o", ms=4, color=ORANGE,
                    label=f"mean of {curve['repetitions']} estimates")
    ax_curve.loglog([frame["num_directions"]], [frame["relative_error"] ** 2], "*",
                    ms=11, color=BLUE, label="this estimate")
    ax_curve.set_xlabel("directions k", fontsize=9)
    ax_curve.set_ylabel("‖ĝ − ∇L‖² / ‖∇L‖²", fontsize=9)
    ax_curve.set_title(f"P = {curve['num_parameters']} parameters", fontsize=9)
    ax_curve.legend(fontsize=7, loc="lower left")
    for ax in axes:
        ax.tick_params(labelsize=8)
    return axes


def forward_gradient_explorer(directions=DIRECTIONS, seeds=SEEDS):
    """Return a widget: sliders for k and the seed above ``plot_frame``.

    The error curve is computed once, when the widget is made.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    curve = error_curve(directions)
    k_slider = widgets.SelectionSlider(
        options=list(directions),
        value=DEFAULT_DIRECTIONS if DEFAULT_DIRECTIONS in directions else directions[0],
        description="directions k",
        style={"description_width": "initial"},
        continuous_update=False,
    )
    seed_slider = widgets.SelectionSlider(
        options=list(seeds),
        value=seeds[0],
        description="seed",
        style={"description_width": "initial"},
        continuous_update=False,
    )

    def show(num_directions, seed):
        fig, axes = plt.subplots(1, 2, figsize=(7, 3.2))
        plot_frame(gradient_frame(num_directions, seed), curve, axes)
        fig.tight_layout()
        plt.show()

    return widgets.interactive(show, num_directions=k_slider, seed=seed_slider)


# Frames for pages without a kernel ------------------------------------------------


def describe_gradient_frame(frame, curve=None):
    """Return one sentence for a frame: k, the seed and how close the estimate is.

    With ``curve``, the sentence also gives the mean squared error that
    ``error_curve`` measured at this k.
    """
    k = frame["num_directions"]
    text = (
        f"Forward-gradient estimate from k = {k} random "
        f"direction{'' if k == 1 else 's'} (seed {frame['seed']}) against the "
        f"{frame['num_parameters']} entries of the backpropagation gradient: "
        f"cosine similarity {frame['cosine']:.2f}, relative error "
        f"{frame['relative_error']:.2f}, where √((P + 1)/k) = "
        f"{frame['expected_relative_error']:.2f} is expected."
    )
    if curve is not None:
        index = list(curve["directions"]).index(k)
        text += (
            f" The mean squared relative error of {curve['repetitions']} estimates "
            f"at this k is {curve['measured'][index]:.3g}; (P + 1)/k = "
            f"{curve['expected'][index]:.3g}."
        )
    return text


def beyond_frames(directions=DIRECTIONS, seeds=SEEDS, dpi=FRAME_DPI):
    """Return the forward-gradient widget as a ``FrameExplorer`` that needs no kernel.

    One slider chooses k and one the seed of the directions. Each frame is
    ``plot_frame`` on ``gradient_frame(k, seed)`` and the error curve, which is
    computed once, as in the live widget.
    """
    import matplotlib.pyplot as plt

    from bpcourse.interactive import FrameExplorer

    directions, seeds = list(directions), list(seeds)
    curve = error_curve(directions)
    frames = {}

    def frame_for(num_directions, seed):
        if (num_directions, seed) not in frames:
            frames[num_directions, seed] = gradient_frame(num_directions, seed)
        return frames[num_directions, seed]

    def draw(num_directions, seed):
        fig, axes = plt.subplots(1, 2, figsize=(7, 3.2))
        plot_frame(frame_for(num_directions, seed), curve, axes)
        fig.tight_layout()
        return fig

    def alt(num_directions, seed):
        return describe_gradient_frame(frame_for(num_directions, seed), curve)

    start = DEFAULT_DIRECTIONS if DEFAULT_DIRECTIONS in directions else directions[0]
    return FrameExplorer(
        draw,
        {"num_directions": directions, "seed": seeds},
        initial={"num_directions": start, "seed": seeds[0]},
        alt=alt,
        labels={"num_directions": "directions k", "seed": "seed of the directions"},
        dpi=dpi,
    )
