"""Check backpropagation against central differences of the loss.

For a parameter entry θ_i the numerical derivative is the central difference

    g_num = (L(θ + h·e_i) − L(θ − h·e_i)) / 2h,

whose error is O(h²) from truncation plus about ε·|L|/h from rounding. It is compared
with the backpropagation gradient g_bp by the relative error

    |g_num − g_bp| / max(|g_num| + |g_bp|, floor),

where ``floor`` keeps gradients too small for the central difference to resolve from
being judged on rounding noise (see :data:`ROUNDOFF_ULPS`).

Every parameter array, biases included, has a seeded sample of entries checked, or
all of them when the array is small. A check along random directions v compares
(L(θ + h·v) − L(θ − h·v)) / 2h with Σ g·v, which involves every entry at once.

ReLU and leaky ReLU are not differentiable at z = 0. When a probe moves a
pre-activation of such a layer across 0, the central difference averages two slopes
and does not estimate the gradient, so that probe is reported as a kink crossing
and left out of ``passed``.

Example
-------
>>> import numpy as np
>>> from bpcourse.network import Network
>>> net = Network([3, 4, 2], activation="tanh", seed=0)
>>> X = np.random.default_rng(0).standard_normal((3, 5))
>>> gradcheck(net, X, np.array([0, 1, 1, 0, 1])).passed
True
"""

from __future__ import annotations

import html
import math
import numbers
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "DEFAULT_DIRECTIONS",
    "DEFAULT_H",
    "DEFAULT_SAMPLES_PER_ARRAY",
    "DEFAULT_TOL",
    "GradcheckReport",
    "Probe",
    "gradcheck",
]

#: Step of the central differences. The rounding error of a central difference grows
#: like ε/h and its truncation error like h², so the total is smallest near ε^(1/3),
#: about 6e-6 in float64. 1e-5 is the usual round value near that optimum.
DEFAULT_H = 1e-5

#: Largest relative error that passes. On the correct networks of
#: tests/test_gradcheck.py the worst entry stays below 1e-6 at h = 1e-5, while a
#: wrong formula (a missing factor, a dropped term) gives errors of 1e-3 and more,
#: and a 1 % error gives 5e-3. 1e-5 sits between the two.
DEFAULT_TOL = 1e-5

#: Entries checked in each parameter array. A wrong formula usually spoils every
#: entry of its array, so a few entries find it. An error confined to single entries
#: can slip through, which is what the random directions and
#: ``samples_per_array=None`` (every entry) are for.
DEFAULT_SAMPLES_PER_ARRAY = 10

#: Random directions v for the directional check. Each involves every entry of every
#: array, so even one wrong entry moves Σ g·v. Three catch that with high odds.
DEFAULT_DIRECTIONS = 3

#: Rounding error of one loss evaluation, in units of ε·|L|. The central difference
#: then has a rounding error of about ROUNDOFF_ULPS·ε·|L|/h, and a difference that
#: small always passes. For gradients too small for the O(h²) truncation error to
#: matter, rounding is the whole error. On deep sigmoid networks, whose first layers
#: have such gradients, |g_num − g_bp| / (ε·|L|/h) stayed below 1 for those entries.
#: 16 is an estimate with a margin, checked by tests/test_gradcheck.py.
ROUNDOFF_ULPS = 16

#: Smallest denominator of a relative error, the smallest positive normal float64.
#: It only matters when the loss is exactly 0, where 0 / 0 would otherwise be NaN.
DENOMINATOR_TINY = np.finfo(np.float64).tiny

#: Failures and kinks listed in full by ``str(report)`` and the HTML table.
MAX_LISTED = 10

_FLOAT64 = np.dtype(np.float64)


@dataclass(frozen=True)
class Probe:
    """One central difference compared with backpropagation.

    Attributes
    ----------
    name : str
        Parameter array (``"W1"``, ``"b1"``, …) or ``"direction k"``.
    index : tuple of int or None
        Entry of the array, ``None`` for a direction.
    numerical : float
        Central difference of the loss.
    backprop : float
        Backpropagation gradient of the entry, or Σ g·v for a direction.
    rel_error : float
        ``|numerical − backprop| / max(|numerical| + |backprop|, floor)``.
    status : {"ok", "fail", "kink"}
        ``"kink"`` when a pre-activation of a ReLU-type layer changed sign between
        θ + h·e and θ − h·e. Such probes are not judged.
    kink_layers : tuple of int
        Layers ℓ (1 … L) whose pre-activations z^ℓ changed sign.
    """

    name: str
    index: tuple[int, ...] | None
    numerical: float
    backprop: float
    rel_error: float
    status: str
    kink_layers: tuple[int, ...] = ()

    @property
    def label(self) -> str:
        """Text such as ``"W1[2, 0]"`` or ``"direction 1"``."""
        if self.index is None:
            return self.name
        return f"{self.name}[{', '.join(str(i) for i in self.index)}]"


@dataclass
class GradcheckReport:
    """Outcome of :func:`gradcheck`.

    Attributes
    ----------
    entries : list of Probe
        Checked entries of every parameter array, in the order of
        ``net.parameters()``.
    directions : list of Probe
        Checks along random directions.
    shapes : dict of str to tuple
        Shape of each parameter array, by name.
    h, tol : float
        Step of the central differences and the largest relative error that passes.
    dtype : numpy.dtype
        Dtype of the network that was checked.
    notes : list of str
        Remarks for the reader, e.g. that a float32 network was checked in float64.
    """

    entries: list[Probe]
    directions: list[Probe]
    shapes: dict[str, tuple[int, ...]]
    h: float
    tol: float
    dtype: np.dtype
    notes: list[str] = field(default_factory=list)

    @property
    def probes(self) -> list[Probe]:
        """All probes: entries, then directions."""
        return [*self.entries, *self.directions]

    @property
    def failures(self) -> list[Probe]:
        """Probes whose relative error exceeds ``tol``, kinks excluded."""
        return [p for p in self.probes if p.status == "fail"]

    @property
    def kinks(self) -> list[Probe]:
        """Probes that crossed a kink of ReLU or leaky ReLU and were not judged."""
        return [p for p in self.probes if p.status == "kink"]

    @property
    def passed(self) -> bool:
        """True when no probe failed and at least one probe was judged."""
        judged = [p for p in self.probes if p.status != "kink"]
        return bool(judged) and not self.failures

    @property
    def worst(self) -> dict[str, float]:
        """Worst relative error of each parameter array, kinks excluded.

        An array whose probes all crossed kinks has NaN.
        """
        worst = {}
        for name in self.shapes:
            errors = [
                p.rel_error
                for p in self.entries
                if p.name == name and p.status != "kink"
            ]
            worst[name] = max(errors) if errors else math.nan
        return worst

    @property
    def worst_direction(self) -> float:
        """Worst relative error of the directional checks, NaN if none was judged."""
        errors = [p.rel_error for p in self.directions if p.status != "kink"]
        return max(errors) if errors else math.nan

    # ------------------------------------------------------------------ display

    def _summary_rows(self) -> list[tuple[str, str, str, str, str, str]]:
        rows = []
        worst = self.worst
        groups = [(name, self.shapes[name], name) for name in self.shapes]
        groups.append(("directions", None, None))
        for title, shape, name in groups:
            if name is None:
                probes = self.directions
                error = self.worst_direction
            else:
                probes = [p for p in self.entries if p.name == name]
                error = worst[name]
            if not probes:
                continue
            kinks = sum(p.status == "kink" for p in probes)
            failed = sum(p.status == "fail" for p in probes)
            if failed:
                status = f"FAIL ({failed})"
            elif kinks == len(probes):
                status = "kinks only"
            else:
                status = "ok"
            rows.append(
                (
                    title,
                    "" if shape is None else str(shape),
                    str(len(probes)),
                    str(kinks),
                    "n/a" if math.isnan(error) else f"{error:.2e}",
                    status,
                )
            )
        return rows

    def _headline(self) -> str:
        verdict = "PASSED" if self.passed else "FAILED"
        return (
            f"Gradient check {verdict}: tol {self.tol:.0e}, h {self.h:.0e}, "
            f"{len(self.probes)} probes, {len(self.failures)} failed, "
            f"{len(self.kinks)} kink crossings"
        )

    def _detail_rows(self, probes: list[Probe]) -> list[tuple[str, ...]]:
        rows = []
        for p in probes[:MAX_LISTED]:
            layers = ", ".join(str(layer) for layer in p.kink_layers)
            rows.append(
                (
                    p.label,
                    f"{p.numerical:.6e}",
                    f"{p.backprop:.6e}",
                    f"{p.rel_error:.2e}",
                    layers,
                )
            )
        return rows

    def __str__(self) -> str:
        header = ("array", "shape", "checked", "kinks", "worst rel. error", "status")
        lines = [self._headline(), ""]
        lines += _text_table(header, self._summary_rows())
        detail_header = ("probe", "numerical", "backprop", "rel. error", "kink layers")
        for title, probes in (("Failures", self.failures), ("Kinks", self.kinks)):
            if probes:
                listed = min(len(probes), MAX_LISTED)
                lines += ["", f"{title} ({listed} of {len(probes)} listed):"]
                lines += _text_table(detail_header, self._detail_rows(probes))
        if self.notes:
            lines += ["", "Notes:"]
            lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        header = ("array", "shape", "checked", "kinks", "worst rel. error", "status")
        color = "#1a7f37" if self.passed else "#cf222e"
        parts = [
            f'<p><strong style="color:{color}">{html.escape(self._headline())}'
            "</strong></p>",
            _html_table(header, self._summary_rows()),
        ]
        detail_header = ("probe", "numerical", "backprop", "rel. error", "kink layers")
        for title, probes in (("Failures", self.failures), ("Kinks", self.kinks)):
            if probes:
                listed = min(len(probes), MAX_LISTED)
                parts.append(f"<p>{title} ({listed} of {len(probes)} listed):</p>")
                parts.append(_html_table(detail_header, self._detail_rows(probes)))
        if self.notes:
            items = "".join(f"<li>{html.escape(note)}</li>" for note in self.notes)
            parts.append(f"<ul>{items}</ul>")
        return "<div>" + "".join(parts) + "</div>"


def _text_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [len(h) for h in header]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row)]
    lines = []
    for row in [header, *rows]:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return lines


def _html_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# ---------------------------------------------------------------------- checks


def _check_network(net) -> None:
    methods = ("parameters", "loss", "gradients", "forward", "astype")
    missing = [name for name in methods if not callable(getattr(net, name, None))]
    missing += [name for name in ("dtype", "activations") if not hasattr(net, name)]
    if missing:
        raise TypeError(
            f"net must be a bpcourse.network.Network, got {type(net).__name__}, "
            f"which lacks {', '.join(missing)}. Build one with Network(sizes, ...)."
        )


def _check_positive_float(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a real number, got {value!r} of type "
            f"{type(value).__name__}. Pass a float such as 1e-5."
        )
    value = float(value)
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(
            f"{name} must be a finite positive number, got {value!r}. "
            f"Pass a float such as 1e-5."
        )
    return value


def _check_count(name: str, value, *, minimum: int, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        also = " or None for every entry" if allow_none else ""
        raise TypeError(
            f"{name} must be an integer{also}, got {value!r} of type "
            f"{type(value).__name__}."
        )
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}.")
    return int(value)


def _check_step_changes_parameters(h, names, params):
    """Raise ValueError if θ ± h rounds back to θ for some parameter entry."""
    for name, p in zip(names, params):
        p = np.asarray(p, dtype=np.float64)
        if p.size == 0:
            continue
        largest = float(np.max(np.abs(p)))
        if largest + h == largest:
            spacing = float(np.spacing(largest))
            raise ValueError(
                f"h = {h:g} is too small for {name}: its entries reach {largest:.3g}, "
                f"where float64 numbers are {spacing:.2g} apart, so θ + h rounds "
                "back to θ and every central difference would be 0/0. Use an h "
                "between about 1e-7 and 1e-3 (the default is 1e-5)."
            )


def _parameter_names(net, count: int) -> list[str]:
    """Return the network's names of its parameters, or W1, b1, W2, … by position."""
    names = getattr(net, "parameter_names", None)
    if callable(names):
        names = list(names())
        if len(names) == count and len(set(names)) == count:
            return [str(name) for name in names]
    # Without names of its own, a network's parameters() is [W1, b1, W2, b2, …].
    return [f"{'W' if i % 2 == 0 else 'b'}{i // 2 + 1}" for i in range(count)]


# -------------------------------------------------------------------- probing


class _Prober:
    """Central differences on a float64 network, with kink detection."""

    def __init__(self, net, X, Y, h: float, tol: float):
        self.net = net
        self.X = X
        self.Y = Y
        self.h = h
        self.tol = tol
        # Layer positions l (layer ℓ = l + 1) whose activation has a kink at 0.
        self.kinked = [
            l for l, act in enumerate(net.activations) if getattr(act, "kinked", False)
        ]
        # Probes whose gradient is below the rounding error of the central
        # difference, and the largest such error, for the report's notes.
        self.unresolved = 0
        self.max_unresolved_roundoff = 0.0

    def _evaluate(self) -> tuple[float, list[np.ndarray]]:
        loss = float(self.net.loss(self.X, self.Y))
        if not self.kinked:
            return loss, []
        _, cache = self.net.forward(self.X)
        return loss, [np.sign(cache.z[l]) for l in self.kinked]

    def _crossed_layers(self, signs_plus, signs_minus) -> tuple[int, ...]:
        return tuple(
            l + 1
            for l, plus, minus in zip(self.kinked, signs_plus, signs_minus)
            if np.any(plus != minus)
        )

    def _compare(self, name, index, numerical, backprop, losses, kink_layers):
        # A central difference cannot resolve a gradient below its rounding error,
        # so the denominator never drops below that error divided by tol.
        roundoff = ROUNDOFF_ULPS * np.finfo(np.float64).eps * max(losses) / self.h
        scale = abs(numerical) + abs(backprop)
        floor = max(roundoff / self.tol, DENOMINATOR_TINY)
        if scale < floor:
            self.unresolved += 1
            self.max_unresolved_roundoff = max(self.max_unresolved_roundoff, roundoff)
        rel_error = abs(numerical - backprop) / max(scale, floor)
        if kink_layers:
            status = "kink"
        elif rel_error <= self.tol:
            status = "ok"
        else:
            status = "fail"
        return Probe(
            name=name,
            index=index,
            numerical=float(numerical),
            backprop=float(backprop),
            rel_error=float(rel_error),
            status=status,
            kink_layers=kink_layers,
        )

    def probe_entry(self, name, param, index, backprop) -> Probe:
        original = param[index]
        plus, minus = original + self.h, original - self.h
        try:
            param[index] = plus
            loss_plus, signs_plus = self._evaluate()
            param[index] = minus
            loss_minus, signs_minus = self._evaluate()
        finally:
            param[index] = original
        # (θ + h) − (θ − h) is not exactly 2h once rounded, so divide by the step
        # that was really taken.
        numerical = (loss_plus - loss_minus) / (plus - minus)
        kink_layers = self._crossed_layers(signs_plus, signs_minus)
        losses = (abs(loss_plus), abs(loss_minus))
        return self._compare(name, index, numerical, backprop, losses, kink_layers)

    def probe_direction(self, name, params, direction, backprop) -> Probe:
        originals = [p.copy() for p in params]
        try:
            for p, original, v in zip(params, originals, direction):
                p[...] = original + self.h * v
            loss_plus, signs_plus = self._evaluate()
            for p, original, v in zip(params, originals, direction):
                p[...] = original - self.h * v
            loss_minus, signs_minus = self._evaluate()
        finally:
            for p, original in zip(params, originals):
                p[...] = original
        numerical = (loss_plus - loss_minus) / (2 * self.h)
        kink_layers = self._crossed_layers(signs_plus, signs_minus)
        losses = (abs(loss_plus), abs(loss_minus))
        return self._compare(name, None, numerical, backprop, losses, kink_layers)


def _sample_indices(rng, shape, samples: int | None) -> list[tuple[int, ...]]:
    size = int(np.prod(shape))
    if samples is None or size <= samples:
        flat = np.arange(size)
    else:
        flat = np.sort(rng.choice(size, size=samples, replace=False))
    return [tuple(int(i) for i in np.unravel_index(f, shape)) for f in flat]


def _random_direction(rng, params) -> list[np.ndarray]:
    """Draw a direction over all parameters, Gaussian and of unit norm overall."""
    direction = [rng.standard_normal(p.shape) for p in params]
    norm = math.sqrt(sum(float(np.sum(v * v)) for v in direction))
    return [v / norm for v in direction]


def _float32_note(net, X, Y, reference: list[np.ndarray], h: float) -> str:
    """Compare the network's own gradient with the float64 one, normwise per array."""
    own = [np.asarray(g, dtype=np.float64) for g in net.gradients(X, Y).as_list()]
    error = 0.0
    for g_own, g_ref in zip(own, reference):
        scale = max(float(np.max(np.abs(g_ref))), DENOMINATOR_TINY)
        error = max(error, float(np.max(np.abs(g_own - g_ref))) / scale)
    dtype = np.dtype(net.dtype)
    return (
        f"The network is {dtype.name}, so the check ran on a float64 copy made with "
        f"net.astype(np.float64). Central differences in {dtype.name} would have a "
        f"rounding error near ε·|L|/h = {np.finfo(dtype).eps / h:.0e}·|L| at "
        f"h = {h:g}. The network's own {dtype.name} gradient differs from the "
        f"float64 one by at most {error:.1e} of each array's largest entry."
    )


# -------------------------------------------------------------------- gradcheck


def gradcheck(
    net,
    X,
    Y,
    h: float = DEFAULT_H,
    samples_per_array: int | None = DEFAULT_SAMPLES_PER_ARRAY,
    directions: int = DEFAULT_DIRECTIONS,
    seed: int = 0,
    tol: float = DEFAULT_TOL,
) -> GradcheckReport:
    """Compare ``net.gradients`` with central differences of ``net.loss``.

    Parameters
    ----------
    net : bpcourse.network.Network
        Network to check. Its parameters are perturbed in place during the check and
        restored exactly, bit for bit, before returning (also on an error). A network
        of another dtype than float64 is not touched, because the check runs on the
        float64 copy ``net.astype(np.float64)``. A subclass that overrides
        ``gradients`` is therefore checked in float64 only if ``astype`` keeps it.
    X : ndarray, shape (d_0, N)
        Batch of inputs, one example per column.
    Y : ndarray, shape (N,) or (d_L, N)
        Targets, as accepted by ``net.loss``.
    h : float, optional
        Step of the central differences, default 1e-5.
    samples_per_array : int or None, optional
        Entries checked per parameter array, drawn without replacement with ``seed``.
        Arrays with at most that many entries are checked whole, and ``None`` checks
        every entry of every array. Default 10.
    directions : int, optional
        Number of random unit directions v for the check of Σ g·v, default 3.
        0 skips it.
    seed : int, optional
        Seed of the generator that draws the entries and the directions.
    tol : float, optional
        Largest relative error that passes, default 1e-5.

    Returns
    -------
    GradcheckReport
        With ``passed``, ``worst`` (array name to worst relative error), ``kinks``,
        ``failures``, a text table from ``str(report)`` and an HTML table in
        notebooks.

    Raises
    ------
    TypeError
        If ``net`` is not a network or an argument has the wrong type.
    ValueError
        If an argument is out of range, or a gradient's shape differs from its
        parameter's.
    """
    _check_network(net)
    h = _check_positive_float("h", h)
    tol = _check_positive_float("tol", tol)
    samples_per_array = _check_count(
        "samples_per_array", samples_per_array, minimum=1, allow_none=True
    )
    directions = _check_count("directions", directions, minimum=0)
    seed = _check_count("seed", seed, minimum=0)

    notes = []
    dtype = np.dtype(net.dtype)
    work = net if dtype == _FLOAT64 else net.astype(np.float64)
    params = work.parameters()
    names = _parameter_names(work, len(params))
    _check_step_changes_parameters(h, names, params)
    backprop = [np.asarray(g) for g in work.gradients(X, Y).as_list()]
    if len(backprop) != len(params):
        raise ValueError(
            f"net.gradients(X, Y).as_list() returned {len(backprop)} arrays for "
            f"{len(params)} parameters. It must follow the order of net.parameters()."
        )
    for name, p, g in zip(names, params, backprop):
        if g.shape != p.shape:
            raise ValueError(
                f"the gradient of {name} has shape {g.shape} but {name} has shape "
                f"{p.shape}. Each gradient must have its parameter's shape."
            )
    if dtype != _FLOAT64:
        notes.append(_float32_note(net, X, Y, backprop, h))

    rng = np.random.default_rng(seed)
    prober = _Prober(work, X, Y, h, tol)
    entries = []
    for name, p, g in zip(names, params, backprop):
        for index in _sample_indices(rng, p.shape, samples_per_array):
            entries.append(prober.probe_entry(name, p, index, g[index]))

    direction_probes = []
    for k in range(directions):
        v = _random_direction(rng, params)
        expected = sum(float(np.sum(g * d)) for g, d in zip(backprop, v))
        direction_probes.append(
            prober.probe_direction(f"direction {k}", params, v, expected)
        )

    report = GradcheckReport(
        entries=entries,
        directions=direction_probes,
        shapes={name: tuple(p.shape) for name, p in zip(names, params)},
        h=h,
        tol=tol,
        dtype=dtype,
        notes=notes,
    )
    _add_notes(report, prober)
    return report


def _add_notes(report: GradcheckReport, prober: _Prober) -> None:
    kinks = report.kinks
    if kinks:
        layers = sorted({layer for p in kinks for layer in p.kink_layers})
        report.notes.append(
            f"{_count(len(kinks), 'probe')} moved a pre-activation of a ReLU-type "
            f"layer (layers {layers}) across 0, where the derivative jumps, so they "
            f"were not judged. Re-run with another seed or a smaller h to check them."
        )
    for name, error in report.worst.items():
        if math.isnan(error):
            report.notes.append(
                f"Every probe of {name} crossed a kink, so {name} was not checked."
            )
    if prober.unresolved:
        report.notes.append(
            f"{_count(prober.unresolved, 'probe')} had gradients below the rounding "
            f"error of the central difference ({ROUNDOFF_ULPS}·ε·|L|/h, at most "
            f"{prober.max_unresolved_roundoff:.1e} here), so they were checked to "
            f"that absolute error only."
        )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
