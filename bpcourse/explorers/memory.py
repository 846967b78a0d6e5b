"""The number of checkpoint segments against peak memory and computation.

``schedule_costs`` runs ``bpcourse.checkpoint.checkpointed_gradients`` on one
network and batch with k segments and returns its peak memory, measured with
``tracemalloc``, beside the activation memory of ``memory_model`` and the
operation counts of ``flop_counts``. Time is taken from the operation count,
in units of one forward pass, so every result is the same on every run.
``segments_curve`` collects every k, ``plot_schedule`` draws one k on the
curve, and ``memory_explorer`` wires it to a slider over k.
"""

import functools

import numpy as np

from bpcourse.checkpoint import (
    cache_bytes,
    checkpointed_gradients,
    flop_counts,
    measure_peak,
    memory_model,
    segment_boundaries,
    sqrt_segments,
)
from bpcourse.interactive import FRAME_DPI
from bpcourse.network import Network
from bpcourse.plots import BLUE, GREEN, ORANGE, VERMILLION

#: The network and batch of the explorer: L layers of WIDTH units on
#: NUM_EXAMPLES examples, with NUM_CLASSES outputs. The batch is much wider than
#: a layer, N ≫ d_ℓ, so the activations (d_ℓ·N numbers per layer) dominate the
#: gradients (d_ℓ·d_{ℓ−1} per layer), as in most large networks.
NUM_LAYERS = 16
WIDTH = 64
NUM_EXAMPLES = 512
NUM_CLASSES = 10

#: One MB in the figures and the printed results: 2²⁰ bytes.
MB = 2**20


def explorer_sizes(num_layers=NUM_LAYERS, width=WIDTH, num_classes=NUM_CLASSES):
    """Return the layer widths ``[width, …, width, num_classes]``, L = num_layers."""
    return [width] * num_layers + [num_classes]


@functools.lru_cache(maxsize=4)
def explorer_problem(num_layers=NUM_LAYERS, width=WIDTH, N=NUM_EXAMPLES,
                     dtype="float64", seed=0):
    """Return the seeded network, inputs X of shape (width, N) and labels of a schedule.

    The result is cached, so the same arrays serve every k; its arrays are
    read-only.
    """
    sizes = explorer_sizes(num_layers, width)
    net = Network(sizes, activation="relu", seed=seed, dtype=np.dtype(dtype))
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((width, N)).astype(dtype)
    Y = rng.integers(0, NUM_CLASSES, size=N)
    for array in (X, Y, *net.parameters()):
        array.flags.writeable = False
    return net, X, Y


def schedule_costs(k, num_layers=NUM_LAYERS, width=WIDTH, N=NUM_EXAMPLES,
                   dtype="float64", seed=0):
    """Measure and count one checkpointing schedule with k segments.

    Returns
    -------
    dict
        ``k``, ``boundaries``; ``peak_bytes``: the peak of new memory during
        ``checkpointed_gradients`` (tracemalloc, after one unmeasured call);
        ``model_bytes``: the
        activation memory of ``memory_model``; ``forward``, ``backward`` and
        ``recompute``: operation counts; ``time``: (forward + backward +
        recompute) / forward, the cost of a training step in forward passes;
        ``recomputed_layers``.
    """
    net, X, Y = explorer_problem(num_layers, width, N, dtype, seed)
    boundaries = segment_boundaries(num_layers, k)
    grads, peak = measure_peak(checkpointed_gradients, net, X, Y, boundaries=boundaries,
                               warmup=True)
    flops = flop_counts(net.sizes, N, boundaries)
    total = flops["forward"] + flops["backward"] + flops["recompute"]
    return {
        "k": int(k),
        "boundaries": boundaries,
        "peak_bytes": int(peak),
        "model_bytes": memory_model(net.sizes, N, boundaries, dtype)["total"],
        "forward": flops["forward"],
        "backward": flops["backward"],
        "recompute": flops["recompute"],
        "time": total / flops["forward"],
        "recomputed_layers": grads.recomputed_layers,
    }


def segments_curve(segments=None, **problem):
    """Return ``schedule_costs`` of every k in ``segments`` (1 … L by default), as arrays.

    Returns
    -------
    dict
        ``k``, ``peak_bytes``, ``model_bytes``, ``time``, ``recompute``
        (ndarrays, one entry per k); ``boundaries`` (list of lists);
        ``cache_bytes``: the whole cache of one forward pass; ``sqrt_k``: the
        √L schedule's k; and the problem's ``num_layers``, ``width``, ``N``,
        ``dtype``.
    """
    num_layers = problem.get("num_layers", NUM_LAYERS)
    if segments is None:
        segments = range(1, num_layers + 1)
    runs = [schedule_costs(k, **problem) for k in segments]
    width = problem.get("width", WIDTH)
    N = problem.get("N", NUM_EXAMPLES)
    dtype = problem.get("dtype", "float64")
    curve = {
        name: np.array([run[name] for run in runs])
        for name in ("k", "peak_bytes", "model_bytes", "time", "recompute")
    }
    curve["boundaries"] = [run["boundaries"] for run in runs]
    curve["cache_bytes"] = cache_bytes(explorer_sizes(num_layers, width), N, dtype)
    curve["sqrt_k"] = sqrt_segments(num_layers)
    curve.update(num_layers=num_layers, width=width, N=N, dtype=dtype)
    return curve


def describe_schedule(curve, k):
    """Return one line about k segments of a curve: memory, and time in forward passes."""
    i = list(curve["k"]).index(k)
    return (
        f"k = {k} segments: peak {curve['peak_bytes'][i] / MB:.2f} MB measured, "
        f"{curve['model_bytes'][i] / MB:.2f} MB of activations in the model; "
        f"a step costs {curve['time'][i]:.2f} forward passes"
    )


def _short_list(values, limit=9):
    """Return ``str(values)``, or its first three and last two entries past ``limit``.

    A title with all 17 boundaries of k = 16 is wider than its panel.
    """
    if len(values) <= limit:
        return str(list(values))
    head = ", ".join(str(v) for v in values[:3])
    tail = ", ".join(str(v) for v in values[-2:])
    return f"[{head}, …, {tail}]"


def plot_schedule(curve, k, axes=None):
    """Draw which activations k segments store (left) and memory against time (right).

    Left, one column per layer ℓ = 0 … L: a^ℓ kept by the forward pass (dark),
    or recomputed during the backward pass (light); the last segment is kept
    whole. Right, every k of ``curve`` as peak memory against the cost of a
    training step, the chosen k and the √L schedule marked.

    Returns
    -------
    matplotlib Figure
    """
    import matplotlib.pyplot as plt

    if axes is None:
        fig, axes = plt.subplots(
            1, 2, figsize=(7.6, 3.4), gridspec_kw={"width_ratios": [1.1, 1]}
        )
    else:
        fig = axes[0].figure
    ax_layers, ax_curve = axes
    L = curve["num_layers"]
    i = list(curve["k"]).index(k)
    boundaries = curve["boundaries"][i]
    last_start = boundaries[-2]
    colors = []
    for layer in range(L + 1):
        if layer in boundaries[:-1]:
            colors.append(BLUE)
        elif layer > last_start:
            colors.append(GREEN)
        else:
            colors.append("0.85")
    ax_layers.bar(range(L + 1), np.ones(L + 1), color=colors, edgecolor="0.3", width=0.8)
    for b in boundaries[1:-1]:
        ax_layers.axvline(b - 0.5, color=VERMILLION, lw=1.5)
    ax_layers.set_xticks(range(0, L + 1, 2))
    ax_layers.set_yticks([])
    ax_layers.set_ylim(0, 1.6)
    ax_layers.set_xlabel(r"layer $\ell$ of $a^\ell$")
    handles = [
        plt.Rectangle((0, 0), 1, 1, color=BLUE),
        plt.Rectangle((0, 0), 1, 1, color=GREEN),
        plt.Rectangle((0, 0), 1, 1, color="0.85"),
    ]
    ax_layers.legend(handles, ["stored input of a segment", "kept: last segment",
                               "recomputed"], fontsize=8, loc="upper center", ncol=2,
                     frameon=False)
    ax_layers.set_title(f"k = {k}: boundaries {_short_list(boundaries)}", fontsize=9)

    ax_curve.plot(curve["time"], curve["peak_bytes"] / MB, "o", color="0.55", ms=4,
                  label="every k, measured")
    ax_curve.plot(curve["time"], curve["model_bytes"] / MB, ".", color="0.3", ms=4,
                  label="activations, model")
    s = list(curve["k"]).index(curve["sqrt_k"]) if curve["sqrt_k"] in curve["k"] else None
    if s is not None:
        ax_curve.plot(curve["time"][s], curve["peak_bytes"][s] / MB, "s", mfc="none",
                      mec=ORANGE, ms=11, mew=2, label=f"√L schedule, k = {curve['sqrt_k']}")
    ax_curve.plot(curve["time"][i], curve["peak_bytes"][i] / MB, "o", color=VERMILLION, ms=9,
                  label=f"k = {k}")
    # Label the first k to the right of its point and the last k to the left,
    # so that both labels stay inside the axes.
    for j, offset, align in [(0, 8, "left"), (len(curve["k"]) - 1, -8, "right")]:
        ax_curve.annotate(f"k = {curve['k'][j]}",
                          (curve["time"][j], curve["peak_bytes"][j] / MB),
                          textcoords="offset points", xytext=(offset, 0), ha=align,
                          va="center", fontsize=8, color="0.3")
    ax_curve.set_xlabel("cost of a step, in forward passes")
    ax_curve.set_ylabel("peak memory (MB)")
    ax_curve.set_ylim(0, 1.1 * max(curve["peak_bytes"].max(), curve["model_bytes"].max()) / MB)
    ax_curve.legend(fontsize=8, loc="upper right")
    fig.suptitle(describe_schedule(curve, k), fontsize=9)
    fig.tight_layout()
    return fig


def memory_explorer(curve=None, **problem):
    """Return a widget: a slider over k above ``plot_schedule`` for that k.

    The curve is measured once, for every k, when the widget is made (or
    passed in), so moving the slider only redraws.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    if curve is None:
        curve = segments_curve(**problem)
    slider = widgets.SelectionSlider(
        options=[int(k) for k in curve["k"]],
        value=int(curve["sqrt_k"]) if curve["sqrt_k"] in curve["k"] else int(curve["k"][0]),
        description="segments k",
        style={"description_width": "initial"},
        continuous_update=False,
    )

    def show(k):
        plot_schedule(curve, k)
        plt.show()

    return widgets.interactive(show, k=slider)


# Frames for pages without a kernel ------------------------------------------------

#: The width of a frame in inches, so that it fits the text column.
FRAME_SIZE = (7, 3.4)


def describe_schedule_frame(curve, k):
    """Return one sentence for the frame of k segments: what is stored, memory, time."""
    i = list(curve["k"]).index(k)
    boundaries = curve["boundaries"][i]
    L = curve["num_layers"]
    peak = curve["peak_bytes"][i] / MB
    model = curve["model_bytes"][i] / MB
    cost = curve["time"][i]

    if k == 1:
        return (
            f"1 checkpoint segment of the {L}-layer network, ordinary backpropagation: "
            f"the forward pass keeps the whole cache. The peak memory is {peak:.2f} MB "
            f"measured and {model:.2f} MB of activations in the model, and a step "
            f"costs {cost:.2f} forward passes."
        )

    starts = boundaries[:-1]
    if len(starts) <= 6:
        inputs = ", ".join(f"a^{b}" for b in starts)
    else:
        inputs = f"a^{starts[0]}, a^{starts[1]}, …, a^{starts[-1]}"
    first = boundaries[-2] + 1
    last_segment = f"layer {first}" if first == L else f"layers {first} to {L}"

    return (
        f"{k} checkpoint segments of the {L}-layer network, boundaries {boundaries}: "
        f"the forward pass stores the {len(starts)} segment inputs {inputs} and keeps "
        f"the cache of the last segment, {last_segment}, and the backward pass runs "
        f"layers 1 to {boundaries[-2]} forward again. The peak memory is {peak:.2f} MB "
        f"measured and {model:.2f} MB of activations in the model, against "
        f"{curve['peak_bytes'][0] / MB:.2f} MB measured for one segment, and a step "
        f"costs {cost:.2f} forward passes, against {curve['time'][0]:.2f} for one "
        f"segment."
    )


def draw_schedule_frame(curve, k):
    """Return a new figure, ``FRAME_SIZE`` wide, of ``plot_schedule(curve, k)``.

    The title is that of ``plot_schedule`` on two lines.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=FRAME_SIZE,
                             gridspec_kw={"width_ratios": [1.1, 1]})
    plot_schedule(curve, k, axes=axes)
    # The one-line title of plot_schedule is wider than FRAME_SIZE: break it
    # after the memory, before the time.
    fig.suptitle(describe_schedule(curve, k).replace("; ", ";\n", 1), fontsize=9)
    fig.tight_layout()
    return fig


def memory_frames(curve=None, dpi=FRAME_DPI, **problem):
    """Return the memory widget as a ``FrameExplorer`` that needs no kernel.

    As in the live widget, the curve is measured once, for every k, unless
    it is passed in, and each frame is ``plot_schedule(curve, k)``. The
    slider starts at the √L schedule.
    """
    from bpcourse.interactive import FrameExplorer

    if curve is None:
        curve = segments_curve(**problem)
    segments = [int(k) for k in curve["k"]]

    def draw(k):
        return draw_schedule_frame(curve, k)

    def alt(k):
        return describe_schedule_frame(curve, k)

    start = int(curve["sqrt_k"]) if curve["sqrt_k"] in segments else segments[0]
    return FrameExplorer(
        draw,
        {"k": segments},
        initial={"k": start},
        alt=alt,
        labels={"k": "segments k"},
        dpi=dpi,
    )
