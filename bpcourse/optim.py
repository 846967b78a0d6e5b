"""Optimizers, gradient clipping and learning-rate schedules.

An optimizer updates a list of parameter arrays in place from a list of gradients of
the same shapes, in the order of ``Network.parameters()``: ``[W1, b1, W2, b2, …]``.
Every update is computed in the dtype of the parameter it changes, so a float32
network stays float32 and no array is upcast to float64.

Example
-------
>>> import numpy as np
>>> w = np.array([1.0, -2.0])
>>> opt = SGD(lr=0.1)
>>> opt.step([w], [np.array([10.0, 10.0])])
>>> w
array([ 0., -3.])

The step counter ``t`` used by schedules and by Adam's bias correction is the number
of steps taken before the current one: the first call of ``step`` uses ``t = 0`` for
the schedule, and Adam divides by ``1 - beta**(t + 1)``.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Sequence

import numpy as np

__all__ = [
    "Adam",
    "CosineSchedule",
    "Momentum",
    "OPTIMIZERS",
    "Optimizer",
    "SGD",
    "StepSchedule",
    "clip_by_global_norm",
    "clip_per_layer",
    "make_optimizer",
]

#: Learning rate used when none is given. 0.1 suits plain SGD on the small, unit-scale
#: problems of the course. Adam normally wants about 1e-3, which is its own default.
DEFAULT_LR = 0.1

#: Momentum coefficient. With beta = 0.9 the velocity is an exponential average over
#: about 1 / (1 - beta) = 10 recent gradients, a common choice.
DEFAULT_MOMENTUM_BETA = 0.9

#: Adam's learning rate. This and the three constants below are the default settings
#: of Algorithm 1 in Kingma and Ba, "Adam: A Method for Stochastic Optimization"
#: (arXiv:1412.6980).
DEFAULT_ADAM_LR = 1e-3

#: Decay of Adam's first-moment average. With 0.9 the mean gradient is averaged over
#: about 1 / (1 - 0.9) = 10 steps.
DEFAULT_ADAM_BETA1 = 0.9

#: Decay of Adam's second-moment average. With 0.999 the mean squared gradient is
#: averaged over about 1000 steps, so the per-entry step size changes slowly.
DEFAULT_ADAM_BETA2 = 0.999

#: Added to sqrt(v_hat) in Adam's denominator so that an entry whose gradient has been
#: zero does not divide by zero. 1e-8 is far below the typical gradient size, so it
#: changes the step only for entries with near-zero gradients, and it is still a
#: normal number in float32 (smallest normal about 1.2e-38).
DEFAULT_ADAM_EPS = 1e-8

#: Clipping modes accepted by the ``clip=`` argument of an optimizer.
CLIP_MODES = ("global", "per_layer")


# --------------------------------------------------------------------------- checks


def _check_positive_number(name: str, value, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float after checking it is a finite positive number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a real number, got {value!r} of type "
            f"{type(value).__name__}. Pass a float such as 0.1."
        )
    value = float(value)
    lower_ok = value >= 0.0 if allow_zero else value > 0.0
    if not (math.isfinite(value) and lower_ok):
        bound = "non-negative" if allow_zero else "positive"
        raise ValueError(
            f"{name} must be a finite {bound} number, got {value!r}. "
            f"Pass a {bound} float such as 0.1."
        )
    return value


def _check_unit_interval(name: str, value, *, upper_inclusive: bool = False) -> float:
    """Return ``value`` as a float after checking 0 <= value < 1 (or <= 1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a real number, got {value!r} of type "
            f"{type(value).__name__}. Pass a float such as 0.9."
        )
    value = float(value)
    upper_ok = value <= 1.0 if upper_inclusive else value < 1.0
    if not (math.isfinite(value) and value >= 0.0 and upper_ok):
        interval = "[0, 1]" if upper_inclusive else "[0, 1)"
        raise ValueError(
            f"{name} must lie in {interval}, got {value!r}. Pass a float such as 0.9."
        )
    return value


def _check_step_index(name: str, value, *, positive: bool = False) -> int:
    """Return ``value`` as an int after checking it is a non-negative integer."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be an integer, got {value!r} of type {type(value).__name__}. "
            f"Pass a whole number of steps such as 100."
        )
    value = int(value)
    if value < (1 if positive else 0):
        bound = "positive" if positive else "non-negative"
        raise ValueError(
            f"{name} must be a {bound} integer, got {value}. "
            f"Pass a whole number of steps such as 100."
        )
    return value


def _check_grads(grads, name: str = "grads") -> list[np.ndarray]:
    """Return ``grads`` as a list of floating-point arrays, checking each entry."""
    if isinstance(grads, np.ndarray) or not isinstance(grads, Sequence):
        raise TypeError(
            f"{name} must be a list of numpy arrays, got {type(grads).__name__}. "
            f"Wrap a single array in a list: [{name[:-1]}]."
        )
    arrays = []
    for i, g in enumerate(grads):
        if not isinstance(g, np.ndarray):
            raise TypeError(
                f"{name}[{i}] must be a numpy array, got {type(g).__name__}. "
                f"Convert it with np.asarray."
            )
        if not np.issubdtype(g.dtype, np.floating):
            raise TypeError(
                f"{name}[{i}] must have a floating-point dtype, got {g.dtype}. "
                f"Convert it with .astype(np.float64)."
            )
        arrays.append(g)
    return arrays


def _squared_norm(array: np.ndarray) -> float:
    # Accumulated in float64 so that the squares of large float32 entries cannot
    # overflow. Only the norm is float64, and the arrays keep their dtype.
    return float(np.sum(np.square(array, dtype=np.float64)))


# ------------------------------------------------------------------------- clipping


def clip_by_global_norm(grads, max_norm: float) -> tuple[list[np.ndarray], float]:
    """Scale all gradients by one factor so that their global norm is <= ``max_norm``.

    The global norm is ``sqrt(sum over arrays of sum(g**2))``. When it exceeds
    ``max_norm`` every array is multiplied by ``max_norm / norm``, which keeps the
    direction of the whole gradient vector and only shortens it.

    Parameters
    ----------
    grads : list of ndarray
        Gradients of any shapes, e.g. ``[dW1 (d_1, d_0), db1 (d_1, 1), …]``.
    max_norm : float
        Largest allowed global norm, positive.

    Returns
    -------
    clipped : list of ndarray
        New arrays with the shapes and dtypes of ``grads``. The inputs are not changed.
    norm_before : float
        Global norm of ``grads`` before clipping, computed in float64.

    Raises
    ------
    ValueError
        If ``max_norm`` is not a finite positive number or a gradient is not finite.
    TypeError
        If ``grads`` is not a list of floating-point arrays.
    """
    max_norm = _check_positive_number("max_norm", max_norm)
    arrays = _check_grads(grads)
    norm = math.sqrt(sum(_squared_norm(g) for g in arrays))
    if not math.isfinite(norm):
        raise ValueError(
            f"the global norm of grads is {norm}, so a gradient contains inf or NaN. "
            f"Lower the learning rate or check the loss for overflow."
        )
    if norm <= max_norm:
        return [g.copy() for g in arrays], norm
    scale = max_norm / norm
    # A Python float times an array keeps the array's dtype (numpy >= 2, NEP 50).
    return [(g * scale).astype(g.dtype, copy=False) for g in arrays], norm


def clip_per_layer(grads, max_norm: float) -> tuple[list[np.ndarray], list[float]]:
    """Scale each gradient array on its own so that its norm is at most ``max_norm``.

    Unlike :func:`clip_by_global_norm`, arrays are clipped independently, so each one
    keeps its own direction but the relative sizes of the arrays can change.

    Parameters
    ----------
    grads : list of ndarray
        Gradients of any shapes, e.g. ``[dW1 (d_1, d_0), db1 (d_1, 1), …]``.
    max_norm : float
        Largest allowed Frobenius norm of each array, positive.

    Returns
    -------
    clipped : list of ndarray
        New arrays with the shapes and dtypes of ``grads``. The inputs are not changed.
    norms_before : list of float
        Frobenius norm of each input array, in float64.

    Raises
    ------
    ValueError
        If ``max_norm`` is not a finite positive number or a gradient is not finite.
    TypeError
        If ``grads`` is not a list of floating-point arrays.
    """
    max_norm = _check_positive_number("max_norm", max_norm)
    arrays = _check_grads(grads)
    clipped = []
    norms = []
    for i, g in enumerate(arrays):
        norm = math.sqrt(_squared_norm(g))
        if not math.isfinite(norm):
            raise ValueError(
                f"grads[{i}] has norm {norm}, so it contains inf or NaN. "
                f"Lower the learning rate or check the loss for overflow."
            )
        norms.append(norm)
        if norm <= max_norm:
            clipped.append(g.copy())
        else:
            clipped.append((g * (max_norm / norm)).astype(g.dtype, copy=False))
    return clipped, norms


def _make_clipper(clip) -> Callable[[list[np.ndarray]], list[np.ndarray]] | None:
    """Turn the ``clip=`` argument of an optimizer into a function of the gradients."""
    if clip is None:
        return None
    if callable(clip):
        return _wrap_clip_callable(clip)
    usage = (
        "Pass clip=None, clip=('global', max_norm), clip=('per_layer', max_norm) "
        "or a callable taking the list of gradients and returning the clipped list"
    )
    is_pair = isinstance(clip, Sequence) and len(clip) == 2
    if isinstance(clip, (str, bytes)) or not is_pair:
        raise ValueError(
            f"clip must be a (mode, max_norm) pair, got {clip!r}. {usage}."
        )
    mode, max_norm = clip
    if mode not in CLIP_MODES:
        raise ValueError(
            f"clip mode must be one of {list(CLIP_MODES)}, got {mode!r}. {usage}."
        )
    max_norm = _check_positive_number("clip max_norm", max_norm)
    if mode == "global":
        return lambda grads: clip_by_global_norm(grads, max_norm)[0]
    return lambda grads: clip_per_layer(grads, max_norm)[0]


def _wrap_clip_callable(clip: Callable) -> Callable[[list], list[np.ndarray]]:
    """Accept a callable that returns either a list or a ``(list, norm_info)`` pair.

    The pair form lets ``functools.partial(clip_by_global_norm, max_norm=1.0)`` be
    passed directly. A result is taken as a pair when it is a 2-tuple whose first item
    is a list or tuple, because a plain list of gradients has arrays as items.
    """

    def clipper(grads: list[np.ndarray]) -> list[np.ndarray]:
        result = clip(grads)
        if (
            isinstance(result, tuple)
            and len(result) == 2
            and isinstance(result[0], (list, tuple))
        ):
            result = result[0]
        if isinstance(result, np.ndarray) or not isinstance(result, Sequence):
            raise TypeError(
                f"the clip callable {clip!r} returned {type(result).__name__}. "
                f"It must return a list of arrays with the shapes of its input."
            )
        result = list(result)
        if len(result) != len(grads):
            raise ValueError(
                f"the clip callable {clip!r} returned {len(result)} arrays for "
                f"{len(grads)} gradients. Return one clipped array per gradient."
            )
        for i, (before, after) in enumerate(zip(grads, result)):
            after = np.asarray(after)
            if after.shape != before.shape:
                raise ValueError(
                    f"the clip callable {clip!r} returned shape {after.shape} for "
                    f"grads[{i}] of shape {before.shape}. Keep every shape."
                )
            result[i] = after
        return result

    return clipper


# ------------------------------------------------------------------------ schedules


class StepSchedule:
    """Multiply the learning rate by ``gamma`` every ``step_size`` steps.

    ``factor(t) = gamma ** (t // step_size)``, so steps 0 … step_size−1 use the full
    learning rate, the next ``step_size`` steps use ``gamma`` times it, and so on.

    Parameters
    ----------
    step_size : int
        Number of steps between two decays, positive.
    gamma : float
        Factor applied at each decay, positive (0.1 is a common choice).
    """

    def __init__(self, step_size: int, gamma: float = 0.1):
        self.step_size = _check_step_index("step_size", step_size, positive=True)
        self.gamma = _check_positive_number("gamma", gamma)

    def __call__(self, step: int) -> float:
        step = _check_step_index("step", step)
        return self.gamma ** (step // self.step_size)

    def __repr__(self) -> str:
        return f"StepSchedule(step_size={self.step_size}, gamma={self.gamma})"


class CosineSchedule:
    """Decay the learning rate along half a cosine, after an optional linear warmup.

    For ``t < warmup_steps`` the factor rises linearly, ``(t + 1) / warmup_steps``,
    reaching 1 at ``t = warmup_steps − 1``. After that, with
    ``p = (t − warmup_steps) / (total_steps − warmup_steps)``,

        factor(t) = min_factor + (1 − min_factor) · (1 + cos(π·p)) / 2,

    which is 1 at the end of warmup and ``min_factor`` at ``t = total_steps``.
    Steps past ``total_steps`` keep ``min_factor``.

    Parameters
    ----------
    total_steps : int
        Step at which the decay reaches ``min_factor``, positive.
    min_factor : float, optional
        Final factor, in [0, 1]. Default 0.0.
    warmup_steps : int, optional
        Number of warmup steps, ``0 <= warmup_steps < total_steps``. Default 0.
    """

    def __init__(
        self, total_steps: int, min_factor: float = 0.0, warmup_steps: int = 0
    ):
        self.total_steps = _check_step_index("total_steps", total_steps, positive=True)
        self.min_factor = _check_unit_interval(
            "min_factor", min_factor, upper_inclusive=True
        )
        self.warmup_steps = _check_step_index("warmup_steps", warmup_steps)
        if self.warmup_steps >= self.total_steps:
            raise ValueError(
                f"warmup_steps must be smaller than total_steps, got warmup_steps="
                f"{self.warmup_steps} and total_steps={self.total_steps}. "
                f"Shorten the warmup or raise total_steps."
            )

    def __call__(self, step: int) -> float:
        step = _check_step_index("step", step)
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        decay_steps = self.total_steps - self.warmup_steps
        progress = min(step - self.warmup_steps, decay_steps) / decay_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return self.min_factor + (1.0 - self.min_factor) * cosine

    def __repr__(self) -> str:
        return (
            f"CosineSchedule(total_steps={self.total_steps}, "
            f"min_factor={self.min_factor}, warmup_steps={self.warmup_steps})"
        )


# ----------------------------------------------------------------------- optimizers


class Optimizer:
    """Base class: learning-rate schedule, clipping, input checks and step counting.

    Subclasses implement :meth:`_update`, which changes one parameter in place.

    Parameters
    ----------
    lr : float
        Base learning rate η, positive.
    schedule : callable, optional
        ``schedule(t) -> factor``. The learning rate of step ``t`` (0 for the first
        step) is ``lr * schedule(t)``. ``None`` keeps ``lr`` constant.
    clip : None, (str, float) or callable, optional
        Gradient clipping applied before each update:

        - ``None``: no clipping.
        - ``("global", max_norm)``: :func:`clip_by_global_norm`.
        - ``("per_layer", max_norm)``: :func:`clip_per_layer`.
        - a callable ``clip(grads) -> clipped_grads`` taking and returning a list of
          arrays. It may also return a ``(clipped_grads, info)`` pair, as the two
          clipping functions do, so ``functools.partial(clip_by_global_norm,
          max_norm=1.0)`` works.

    Attributes
    ----------
    steps : int
        Number of calls of :meth:`step` so far.
    state : dict of int to dict
        Per-parameter state (velocities, moments), keyed by the position of the
        parameter in the list given to :meth:`step`.
    last_lr : float or None
        Learning rate used by the latest step.
    last_grad_norm : float or None
        Global norm of the gradients of the latest step, before clipping.
    """

    #: Short name used by :func:`make_optimizer`.
    name = "optimizer"

    def __init__(self, lr: float = DEFAULT_LR, schedule=None, clip=None):
        self.lr = _check_positive_number("lr", lr)
        if schedule is not None and not callable(schedule):
            raise TypeError(
                f"schedule must be a callable step -> factor or None, got "
                f"{schedule!r}. Pass e.g. StepSchedule(100, 0.5)."
            )
        self.schedule = schedule
        self.clip = clip
        self._clipper = _make_clipper(clip)
        self.steps = 0
        self.state: dict[int, dict[str, np.ndarray]] = {}
        self._shapes: list[tuple[tuple[int, ...], np.dtype]] | None = None
        self.last_lr: float | None = None
        self.last_grad_norm: float | None = None

    def lr_at(self, step: int) -> float:
        """Return the learning rate of step ``step`` (0 for the first step).

        Parameters
        ----------
        step : int
            Number of steps taken before the one in question, non-negative.

        Returns
        -------
        float
            ``lr * schedule(step)``, or ``lr`` without a schedule.
        """
        step = _check_step_index("step", step)
        if self.schedule is None:
            return self.lr
        factor = self.schedule(step)
        if isinstance(factor, bool) or not isinstance(factor, numbers.Real):
            raise TypeError(
                f"schedule {self.schedule!r} returned {factor!r} at step {step}. "
                f"It must return a real factor such as 0.5."
            )
        factor = float(factor)
        if not (math.isfinite(factor) and factor >= 0.0):
            raise ValueError(
                f"schedule {self.schedule!r} returned factor {factor} at step {step}. "
                f"It must return a finite non-negative factor."
            )
        return self.lr * factor

    def reset(self) -> None:
        """Forget the step count and all per-parameter state."""
        self.steps = 0
        self.state = {}
        self._shapes = None
        self.last_lr = None
        self.last_grad_norm = None

    def step(self, params, grads) -> None:
        """Update ``params`` in place by one step from ``grads``.

        Parameters
        ----------
        params : list of ndarray
            Parameter arrays, e.g. ``net.parameters()`` = ``[W1 (d_1, d_0), b1 (d_1, 1),
            …]``. They are changed in place and keep their dtype.
        grads : list of ndarray
            Gradients of the mean loss, one per parameter and of the same shape, e.g.
            ``net.gradients(X, Y).as_list()``. A gradient of another floating dtype is
            cast to its parameter's dtype, so float32 parameters are never upcast.

        Raises
        ------
        ValueError
            If the lists differ in length, a shape does not match its parameter or
            differs from the previous step's, or a gradient contains inf or NaN.
        TypeError
            If an argument is not a list of floating-point numpy arrays.
        """
        params = self._check_params(params)
        grads = _check_grads(grads)
        if len(grads) != len(params):
            raise ValueError(
                f"grads has {len(grads)} arrays but params has {len(params)}. Pass one "
                f"gradient per parameter, in the order of net.parameters()."
            )
        for i, (p, g) in enumerate(zip(params, grads)):
            if g.shape != p.shape:
                raise ValueError(
                    f"grads[{i}] has shape {g.shape} but params[{i}] has shape "
                    f"{p.shape}. Pass the gradients in the order of the parameters."
                )
            if not np.all(np.isfinite(g)):
                raise ValueError(
                    f"grads[{i}] contains inf or NaN. Lower the learning rate or "
                    f"check the loss for overflow."
                )
        self._check_same_layout(params)

        self.last_grad_norm = math.sqrt(sum(_squared_norm(g) for g in grads))
        if self._clipper is not None:
            grads = self._clipper(grads)
        lr = self.lr_at(self.steps)
        for i, (p, g) in enumerate(zip(params, grads)):
            g = np.asarray(g, dtype=p.dtype)
            self._update(i, p, g, lr)
        self.last_lr = lr
        self.steps += 1

    def _update(self, index: int, param: np.ndarray, grad: np.ndarray, lr: float):
        raise NotImplementedError

    @staticmethod
    def _check_params(params) -> list[np.ndarray]:
        arrays = _check_grads(params, name="params")
        for i, p in enumerate(arrays):
            if not p.flags.writeable:
                raise ValueError(
                    f"params[{i}] is read-only, so it cannot be updated in place. "
                    f"Pass the live arrays of net.parameters()."
                )
        return arrays

    def _check_same_layout(self, params: list[np.ndarray]) -> None:
        # State is keyed by position, so the list must describe the same parameters
        # at every step: a change of length, shape or dtype would mix up the state.
        layout = [(p.shape, p.dtype) for p in params]
        if self._shapes is None:
            self._shapes = layout
            return
        if layout != self._shapes:
            raise ValueError(
                f"params changed since the previous step: got shapes and dtypes "
                f"{layout}, expected {self._shapes}. Call reset() before stepping a "
                f"different set of parameters."
            )

    def _hyperparameters(self) -> str:
        return f"lr={self.lr}"

    def __repr__(self) -> str:
        parts = [self._hyperparameters()]
        if self.schedule is not None:
            parts.append(f"schedule={self.schedule!r}")
        if self.clip is not None:
            parts.append(f"clip={self.clip!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


class SGD(Optimizer):
    """Plain gradient descent: ``θ ← θ − η_t · g``.

    Parameters
    ----------
    lr, schedule, clip
        See :class:`Optimizer`.
    """

    name = "sgd"

    def _update(self, index, param, grad, lr):
        param -= lr * grad


class Momentum(Optimizer):
    """Classical (heavy-ball) momentum, not Nesterov's.

    Per parameter, with velocity ``v`` starting at zero::

        v ← β·v + g
        θ ← θ − η_t · v

    With a constant learning rate this is the same trajectory as the textbook form
    ``v ← β·v − η·g, θ ← θ + v``. With a schedule, this form applies the
    current learning rate to the whole velocity.

    Parameters
    ----------
    lr, schedule, clip
        See :class:`Optimizer`.
    beta : float, optional
        Momentum coefficient in [0, 1), default :data:`DEFAULT_MOMENTUM_BETA` (0.9).
        ``beta = 0`` is plain SGD.
    """

    name = "momentum"

    def __init__(
        self,
        lr: float = DEFAULT_LR,
        beta: float = DEFAULT_MOMENTUM_BETA,
        schedule=None,
        clip=None,
    ):
        super().__init__(lr=lr, schedule=schedule, clip=clip)
        self.beta = _check_unit_interval("beta", beta)

    def _update(self, index, param, grad, lr):
        state = self.state.setdefault(index, {"velocity": np.zeros_like(param)})
        velocity = state["velocity"]
        velocity *= self.beta
        velocity += grad
        param -= lr * velocity

    def _hyperparameters(self):
        return f"lr={self.lr}, beta={self.beta}"


class Adam(Optimizer):
    """Adam (Kingma and Ba 2015) with bias correction.

    Per parameter, with moments ``m`` and ``v`` starting at zero, at step
    ``t = 1, 2, …``::

        m ← β1·m + (1 − β1)·g
        v ← β2·v + (1 − β2)·g²
        m̂ = m / (1 − β1^t),   v̂ = v / (1 − β2^t)
        θ ← θ − η_t · m̂ / (sqrt(v̂) + ε)

    The bias correction undoes the pull of the zero initial moments towards zero, so
    the first step is ``η · g / (|g| + ε)``, which is ``η · sign(g)`` up to ε.

    Parameters
    ----------
    lr, schedule, clip
        See :class:`Optimizer`. The default ``lr`` is :data:`DEFAULT_ADAM_LR` (1e-3).
    beta1 : float, optional
        Decay of the first-moment average, in [0, 1). Default 0.9.
    beta2 : float, optional
        Decay of the second-moment average, in [0, 1). Default 0.999.
    eps : float, optional
        Added to ``sqrt(v̂)`` to avoid division by zero, positive. Default 1e-8.
    """

    name = "adam"

    def __init__(
        self,
        lr: float = DEFAULT_ADAM_LR,
        beta1: float = DEFAULT_ADAM_BETA1,
        beta2: float = DEFAULT_ADAM_BETA2,
        eps: float = DEFAULT_ADAM_EPS,
        schedule=None,
        clip=None,
    ):
        super().__init__(lr=lr, schedule=schedule, clip=clip)
        self.beta1 = _check_unit_interval("beta1", beta1)
        self.beta2 = _check_unit_interval("beta2", beta2)
        self.eps = _check_positive_number("eps", eps)

    def _update(self, index, param, grad, lr):
        state = self.state.setdefault(
            index, {"m": np.zeros_like(param), "v": np.zeros_like(param)}
        )
        m, v = state["m"], state["v"]
        m *= self.beta1
        m += (1.0 - self.beta1) * grad
        v *= self.beta2
        v += (1.0 - self.beta2) * np.square(grad)
        t = self.steps + 1
        m_hat = m / (1.0 - self.beta1**t)
        v_hat = v / (1.0 - self.beta2**t)
        param -= lr * m_hat / (np.sqrt(v_hat) + self.eps)

    def _hyperparameters(self):
        return (
            f"lr={self.lr}, beta1={self.beta1}, beta2={self.beta2}, eps={self.eps}"
        )


# --------------------------------------------------------------------------- lookup

#: Optimizer classes by the name accepted by :func:`make_optimizer`.
OPTIMIZERS: dict[str, type[Optimizer]] = {
    SGD.name: SGD,
    Momentum.name: Momentum,
    Adam.name: Adam,
}


def make_optimizer(name: str, **kwargs) -> Optimizer:
    """Create an optimizer from its name.

    Parameters
    ----------
    name : {"sgd", "momentum", "adam"}
        Optimizer name, case-insensitive.
    **kwargs
        Passed to the optimizer's constructor, e.g. ``lr=0.01, clip=("global", 1.0)``.

    Returns
    -------
    Optimizer

    Raises
    ------
    ValueError
        If ``name`` is not a known optimizer. The message lists the valid names.
    TypeError
        If ``name`` is not a string, or a keyword is not accepted by that optimizer.
        The message lists the accepted keywords.
    """
    if not isinstance(name, str):
        raise TypeError(
            f"name must be a string, got {name!r} of type {type(name).__name__}. "
            f"Pass one of {sorted(OPTIMIZERS)}."
        )
    key = name.strip().lower()
    if key not in OPTIMIZERS:
        raise ValueError(
            f"unknown optimizer {name!r}. Valid names are {sorted(OPTIMIZERS)}."
        )
    cls = OPTIMIZERS[key]
    accepted = list(inspect.signature(cls.__init__).parameters)[1:]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise TypeError(
            f"{cls.__name__} does not accept {unknown}. Accepted keywords are "
            f"{accepted}."
        )
    return cls(**kwargs)
