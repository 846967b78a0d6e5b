r"""The error of a finite difference against its step h, in float32 and float64.

The central difference (f(x + h) − f(x − h)) / 2h of a smooth f has two errors:

* truncation, from the Taylor series: about |f‴(x)| h² / 6, which shrinks with h;
* round-off: f(x ± h) are each rounded to the dtype's precision ε, and their
  difference is divided by 2h, which gives about ε |f(x)| / h, which grows as
  h shrinks.

Their sum is smallest near h ≈ ε^(1/3): about 1e-5 in float64 and 5e-3 in
float32. :func:`difference_errors` computes the measured error and both
estimates for an array of h, :func:`draw_difference_errors` plots them on log-log
axes and :func:`step_size_widget` wires them to a slider for h.

>>> curve = difference_errors([1e-1, 1e-5], dtype="float64")
>>> bool(curve["rel_error"][1] < curve["rel_error"][0])
True
"""

import numpy as np

from bpcourse.activations import sigmoid
from bpcourse.interactive import FRAME_DPI
from bpcourse.plots import BLUE, ORANGE


def _sigmoid_derivatives(x):
    s = sigmoid(x)
    first = s * (1 - s)
    return first, first * (1 - 2 * s), first * (1 - 6 * s + 6 * s * s)


def _tanh_derivatives(x):
    t = np.tanh(x)
    first = 1 - t * t
    return first, -2 * t * first, -2 * first * (1 - 3 * t * t)


def _exp_derivatives(x):
    e = np.exp(x)
    return e, e, e


def _sin_derivatives(x):
    return np.cos(x), -np.sin(x), -np.cos(x)


#: The test functions, by name: f and a function returning (f′, f″, f‴).
FUNCTIONS = {
    "sigmoid": (sigmoid, _sigmoid_derivatives),
    "tanh": (np.tanh, _tanh_derivatives),
    "exp": (np.exp, _exp_derivatives),
    "sin": (np.sin, _sin_derivatives),
}

#: The floating-point types compared, by name.
DTYPES = ("float32", "float64")

#: The h values of the plotted curves: 10⁻¹³ … 10⁰, eight points per decade.
H_GRID = 10.0 ** np.arange(-13.0, 0.0 + 1e-9, 0.125)


def difference_errors(h, dtype="float64", function="sigmoid", x=1.0, scheme="central"):
    """Return the relative error of a finite difference for each step in ``h``.

    Parameters
    ----------
    h : array_like of float
        The steps, each > 0.
    dtype : {"float32", "float64"}
        The type that x, h and every evaluation of f are computed in.
    function : {"sigmoid", "tanh", "exp", "sin"}
    x : float
        The point where f′ is estimated.
    scheme : {"central", "forward"}
        (f(x + h) − f(x − h)) / 2h or (f(x + h) − f(x)) / h.

    Returns
    -------
    dict
        ``h``: the steps as a float64 array.
        ``estimate``: the finite differences, as float64.
        ``exact``: f′(x), computed in float64.
        ``rel_error``: |estimate − exact| / |exact|, which is exactly 0 where
        the rounding errors happen to cancel.
        ``truncation``: the Taylor estimate of the relative error,
        |f‴| h² / 6 / |f′| (central) or |f″| h / 2 / |f′| (forward).
        ``roundoff``: the estimate ε |f(x)| / h / |f′| of the rounding error.
        ``best_h``: the h that minimises truncation + roundoff.
        ``dtype``, ``function``, ``x``, ``scheme``: the arguments.
    """
    if dtype not in DTYPES:
        raise ValueError(f"dtype={dtype!r} is not supported: use one of {DTYPES}")
    if function not in FUNCTIONS:
        raise ValueError(
            f"unknown function {function!r}: valid names are {', '.join(FUNCTIONS)}"
        )
    if scheme not in ("central", "forward"):
        raise ValueError(f"scheme={scheme!r} is invalid: use 'central' or 'forward'")
    steps = np.atleast_1d(np.asarray(h, dtype=np.float64))
    if steps.ndim != 1 or not np.all(np.isfinite(steps)) or np.any(steps <= 0):
        raise ValueError(f"h must be a 1-d array of finite steps > 0, got {h!r}")

    f, derivatives = FUNCTIONS[function]
    kind = np.dtype(dtype).type
    # Everything the finite difference computes is rounded to ``dtype``.
    x_rounded = kind(x)
    h_rounded = steps.astype(kind)
    if scheme == "central":
        numerator = f(x_rounded + h_rounded) - f(x_rounded - h_rounded)
        estimate = numerator / (kind(2) * h_rounded)
    else:
        estimate = (f(x_rounded + h_rounded) - f(x_rounded)) / h_rounded

    first, second, third = (float(d) for d in derivatives(np.float64(x)))
    value = float(f(np.float64(x)))
    eps = float(np.finfo(kind).eps)
    exact = first
    rel_error = np.abs(estimate.astype(np.float64) - exact) / abs(exact)
    roundoff = eps * abs(value) / steps / abs(exact)
    if scheme == "central":
        truncation = abs(third) * steps**2 / 6 / abs(exact)
        # d/dh (c h² + r / h) = 0 at h³ = r / 2c.
        best_h = (eps * abs(value) / (2 * abs(third) / 6)) ** (1 / 3)
    else:
        truncation = abs(second) * steps / 2 / abs(exact)
        # d/dh (c h + r / h) = 0 at h² = r / c.
        best_h = (eps * abs(value) / (abs(second) / 2)) ** 0.5
    return {
        "h": steps,
        "estimate": estimate.astype(np.float64),
        "exact": exact,
        "rel_error": rel_error,
        "truncation": truncation,
        "roundoff": roundoff,
        "best_h": float(best_h),
        "dtype": dtype,
        "function": function,
        "x": float(x),
        "scheme": scheme,
    }


def draw_difference_errors(curves, h=None, ax=None):
    """Plot relative error against h on log-log axes, one line per curve.

    Parameters
    ----------
    curves : list of dict
        Results of :func:`difference_errors`, for example one per dtype.
    h : float, optional
        A step to mark on every curve, with its error printed in the legend.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.0))
    # An exact 0 has no place on a log axis, so it is drawn at this floor.
    floor = 1e-15
    colors = {"float32": ORANGE, "float64": BLUE}
    for curve in curves:
        color = colors.get(curve["dtype"], None)
        label = f"{curve['dtype']}, {curve['scheme']}"
        style = "-" if curve["scheme"] == "central" else "--"
        ax.loglog(curve["h"], np.maximum(curve["rel_error"], floor), style,
                  color=color, lw=1.5, label=label)
        model = curve["truncation"] + curve["roundoff"]
        ax.loglog(curve["h"], model, ":", color=color, lw=1.2)
        if h is not None:
            marked = difference_errors(
                [h], curve["dtype"], curve["function"], curve["x"], curve["scheme"]
            )
            error = float(marked["rel_error"][0])
            ax.plot([h], [max(error, floor)], "o", color=color,
                    label=f"{curve['dtype']} at h = {h:.0e}: {error:.1e}")
    if h is not None:
        ax.axvline(h, color="0.5", lw=0.8)
    ax.set_xlabel("step h")
    ax.set_ylabel("relative error of f′")
    ax.set_ylim(floor, 10.0)
    ax.grid(True, which="major", color="0.9")
    ax.legend(fontsize=8, loc="lower left")
    first = curves[0]
    ax.set_title(f"{first['function']}′({first['x']:g}); dotted: h² and ε/h estimates",
                 fontsize=10)
    return ax


def step_size_widget(x=1.0):
    """Return a widget with a slider for log₁₀ h and a menu for the function.

    The figure shows the central difference's error in float32 and float64 over
    ``H_GRID`` and marks the chosen h on both curves.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    def show(log10_h, function):
        h = 10.0**log10_h
        curves = [difference_errors(H_GRID, dtype, function, x) for dtype in DTYPES]
        fig, ax = plt.subplots(figsize=(6.4, 4.0))
        draw_difference_errors(curves, h=h, ax=ax)
        plt.show()
        plt.close(fig)

    return widgets.interactive(
        show,
        log10_h=widgets.FloatSlider(
            value=-5.0, min=-12.0, max=-1.0, step=0.5, description="log₁₀ h"
        ),
        function=widgets.Dropdown(
            options=list(FUNCTIONS), value="sigmoid", description="f"
        ),
    )


#: The exponents of the kernel-free explorer's h slider: h = 10⁻¹² … 10⁻¹.
FRAME_LOG10_H = tuple(range(-12, 0))


def describe_step_size(log10_h, function, x=1.0):
    """Return one sentence on the central difference's error at h = 10^log10_h."""
    h = 10.0**log10_h
    parts = []
    best = []
    for dtype in DTYPES:
        curve = difference_errors([h], dtype, function, x)
        parts.append(f"{dtype} {curve['rel_error'][0]:.1e}")
        best.append(f"{curve['best_h']:.0e} in {dtype}")
    return (
        f"Relative error of the central difference for {function}′({x:g}) at "
        f"h = {h:.0e}: {', '.join(parts)}; the estimated best h is "
        f"{' and '.join(best)}."
    )


def gradients_frames(log10_h=FRAME_LOG10_H, functions=tuple(FUNCTIONS), x=1.0, dpi=FRAME_DPI):
    """Return the step-size widget as a ``FrameExplorer`` that needs no kernel.

    One slider sets log₁₀ h and one the function; each frame is drawn by
    :func:`draw_difference_errors` on :func:`difference_errors` over ``H_GRID``
    in both dtypes, as in the live widget.
    """
    import matplotlib.pyplot as plt

    from bpcourse.interactive import FrameExplorer

    def draw(log10_h, function):
        curves = [difference_errors(H_GRID, dtype, function, x) for dtype in DTYPES]
        fig, ax = plt.subplots(figsize=(6.4, 4.0))
        draw_difference_errors(curves, h=10.0**log10_h, ax=ax)
        fig.tight_layout()
        return fig

    def alt(log10_h, function):
        return describe_step_size(log10_h, function, x)

    params = {"log10_h": list(log10_h), "function": list(functions)}
    start = {"log10_h": -5, "function": "sigmoid"}
    return FrameExplorer(
        draw,
        params,
        initial={name: v for name, v in start.items() if v in params[name]},
        alt=alt,
        labels={"log10_h": "log₁₀ h", "function": "function f"},
        dpi=dpi,
    )
