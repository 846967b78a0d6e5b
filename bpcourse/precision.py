r"""Training in low precision: mixed precision with loss scaling, and quantization.

**Mixed precision.** The forward and backward passes of a ``Network`` run in
IEEE half precision (numpy's float16), while a float32 copy of the weights,
the *master weights*, takes the updates. float16 has 10 fraction bits and 5
exponent bits, so its finite values are

==============================  ===============================
largest finite                  65504
smallest positive normal        2⁻¹⁴ ≈ 6.10e-5
smallest positive subnormal     2⁻²⁴ ≈ 5.96e-8
spacing just above 1            2⁻¹⁰ ≈ 9.77e-4
==============================  ===============================

and a gradient entry below 2⁻²⁵ in magnitude rounds to 0. Multiplying the
loss by a *loss scale* S multiplies every gradient of the backward pass by S,
because the backward pass is linear in ∂L/∂zᴸ, and that lifts small gradients
above the limit. Dividing the float16 gradients by S in float32 (unscaling)
restores their size before the update. Too large an S makes some entries
overflow to inf, so ``DynamicLossScaler`` halves S and skips the update
whenever a gradient is not finite, and doubles S after a run of good steps.

Only the matrix products and elementwise operations run in float16. The loss
and δᴸ are computed in float32 from float16 logits, as mixed-precision
libraries do for the softmax and the loss. numpy's float16 matrix product
(numpy 2.x) accumulates in a wider type and rounds each result once, which
tests/test_precision.py checks. The bias gradients accumulate in float32 the
same way.

**Quantization-aware training (QAT).** A weight is stored on the grid of a
step size s with b-bit signed integers, ŵ = s · clip(round(w/s), −Q_N, Q_P)
with Q_N = 2^{b−1} and Q_P = 2^{b−1} − 1 (``fake_quantize``). round has
derivative 0 almost everywhere, so training uses the straight-through
estimator (STE): ∂L/∂w = ∂L/∂ŵ where −Q_N ≤ w/s ≤ Q_P and 0 outside that
range (``ste_gradient``). Learned step size quantization (LSQ; Esser et al.,
"Learned Step Size Quantization", ICLR 2020) also trains s with the gradient
∂ŵ/∂s = round(w/s) − w/s inside the range and −Q_N or Q_P outside it
(``lsq_step_gradient``).
"""

import math
from dataclasses import dataclass, field

import numpy as np

from bpcourse.losses import get_loss, targets_as_columns
from bpcourse.optim import make_optimizer

#: The largest finite float16, 65504.
FLOAT16_MAX = float(np.finfo(np.float16).max)
#: The smallest positive normal float16, 2⁻¹⁴ ≈ 6.10e-5.
FLOAT16_SMALLEST_NORMAL = float(np.finfo(np.float16).smallest_normal)
#: The smallest positive subnormal float16, 2⁻²⁴ ≈ 5.96e-8.
FLOAT16_SMALLEST_SUBNORMAL = float(np.finfo(np.float16).smallest_subnormal)
#: The spacing of float16 numbers just above 1, 2⁻¹⁰ ≈ 9.77e-4.
FLOAT16_EPS = float(np.finfo(np.float16).eps)

#: Loss scale that ``DynamicLossScaler`` starts from, 2¹⁶. A scale that is too
#: large overflows in the first steps, which then halve it until it fits. So
#: starting high costs a few skipped steps, while starting low costs gradients.
DEFAULT_INITIAL_SCALE = 2.0**16

#: Good steps in a row after which ``DynamicLossScaler`` doubles the scale.
#: 2000 is the default of common mixed-precision libraries for long runs;
#: the course's short runs on the digits use a few hundred.
DEFAULT_GROWTH_INTERVAL = 2000


# float16 facts ---------------------------------------------------------------------


def to_float16(values):
    """Cast to float16 with round-to-nearest, without a warning for overflow to inf."""
    with np.errstate(over="ignore"):
        return np.asarray(values).astype(np.float16)


def cast_outcomes(values, scale=1.0):
    """Classify what float16 does to ``scale · values``, entry by entry.

    Parameters
    ----------
    values : array_like
        Exact (float32 or float64) values, such as reference gradients.
    scale : float

    Returns
    -------
    dict of float
        The fractions of the nonzero entries that become ``zero`` (underflow),
        ``subnormal`` (nonzero but below 2⁻¹⁴, so with fewer than 11
        significant bits), ``normal`` and ``overflow`` (inf) after the cast;
        ``count`` is the number of nonzero entries.
    """
    values = np.asarray(values, dtype=np.float64)
    nonzero = values[values != 0] * scale
    cast = np.abs(to_float16(nonzero).astype(np.float64))
    count = nonzero.size
    if count == 0:
        return {"zero": 0.0, "subnormal": 0.0, "normal": 0.0, "overflow": 0.0,
                "count": 0}
    zero = cast == 0
    overflow = ~np.isfinite(cast)
    subnormal = (cast > 0) & (cast < FLOAT16_SMALLEST_NORMAL)
    normal = ~(zero | overflow | subnormal)
    return {
        "zero": float(np.mean(zero)),
        "subnormal": float(np.mean(subnormal)),
        "normal": float(np.mean(normal)),
        "overflow": float(np.mean(overflow)),
        "count": int(count),
    }


def underflow_fraction(grads16, reference):
    """Return the fraction of the nonzero reference entries that are 0 in float16.

    Parameters
    ----------
    grads16 : list of ndarray
        Gradients computed in float16 (scaled or not: only zeros count).
    reference : list of ndarray
        The same gradients computed in float32 or float64.
    """
    lost = total = 0
    for g16, g_ref in zip(grads16, reference):
        nonzero = np.asarray(g_ref) != 0
        lost += int(np.sum((np.asarray(g16) == 0) & nonzero))
        total += int(np.sum(nonzero))
    return lost / total if total else 0.0


def overflow_fraction(grads16):
    """Return the fraction of all gradient entries that are inf or nan."""
    bad = sum(int(np.sum(~np.isfinite(g))) for g in grads16)
    total = sum(int(np.size(g)) for g in grads16)
    return bad / total if total else 0.0


# Mixed precision -----------------------------------------------------------------


@dataclass
class HalfGradients:
    """The float16 backward pass of a network, scaled by the loss scale.

    Attributes
    ----------
    dW, db : list of ndarray (float16)
        S · ∂L/∂W^ℓ and S · ∂L/∂b^ℓ, in the layout of ``Gradients``.
    delta : list of ndarray (float16)
        S · δ^ℓ.
    loss : float
        The unscaled mean loss, computed in float32 from float16 logits.
    scale : float
    """

    dW: list
    db: list
    delta: list
    loss: float
    scale: float

    def as_list(self):
        """Return ``[dW1, db1, dW2, db2, …]``, still scaled and in float16."""
        return [g for pair in zip(self.dW, self.db) for g in pair]


def half_forward(net, X):
    """Run the forward pass in float16 with float16 copies of the master weights.

    Returns
    -------
    output : ndarray (float16), shape (d_L, N)
    z, a : list of ndarray (float16)
        As in ``Cache``: ``z[l]`` is z^{l+1}, ``a[0]`` is X in float16.
    """
    a = to_float16(X)
    zs, activations = [], [a]
    with np.errstate(over="ignore", invalid="ignore"):
        for W, b, activation in zip(net.weights, net.biases, net.activations):
            z = to_float16(W) @ a + to_float16(b)
            a = activation(z)
            zs.append(z)
            activations.append(a)
    return a, zs, activations


def half_gradients(net, X, Y, scale=1.0, loss_weight=1.0):
    """Compute S·∂L/∂W^ℓ and S·∂L/∂b^ℓ by the δ-recursion in float16.

    The logits z^L are cast to float32 for the loss and δᴸ = ∂L/∂z^L. The
    scaled δᴸ, S·δᴸ, is cast to float16 and the δ-recursion and the weight
    gradients run in float16. Entries too small for float16 become 0 there,
    and entries above 65504 become inf.

    Parameters
    ----------
    net : Network
        Its float32 (or float64) parameters are the master weights.
    X : ndarray, shape (d_0, N)
    Y : ndarray, shape (N,) or (d_L, N)
    scale : float
        The loss scale S.
    loss_weight : float
        A constant λ the loss is multiplied by, λ·L, such as the 1/K of a loss
        averaged over K outputs per example. The gradients are then λ times
        smaller, and so is ``loss``.

    Returns
    -------
    HalfGradients
    """
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale={scale!r} must be a positive finite loss scale")
    _, zs, activations = half_forward(net, X)
    L = net.num_layers
    zL = zs[-1].astype(np.float32)
    K, N = zL.shape
    targets = targets_as_columns(Y, K, N, np.float32, net.loss_name)
    output = net.activations[-1]
    loss, delta32 = get_loss(net.loss_name).value_and_delta(
        zL, output(zL), targets, output
    )
    dW, db, deltas = [None] * L, [None] * L, [None] * L
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        delta = to_float16(np.float32(scale * loss_weight) * delta32)
        for l in range(L - 1, -1, -1):
            deltas[l] = delta
            dW[l] = delta @ activations[l].T
            # Accumulate in float32 and round once, as the matrix product does.
            column_sum = np.sum(delta, axis=1, keepdims=True, dtype=np.float32)
            db[l] = to_float16(column_sum)
            if l > 0:
                sigma_prime = net.activations[l - 1].derivative(zs[l - 1])
                delta = (to_float16(net.weights[l]).T @ delta) * sigma_prime
    return HalfGradients(dW=dW, db=db, delta=deltas,
                         loss=float(loss) * loss_weight, scale=float(scale))


def unscale(grads16, scale):
    """Return the float16 gradients divided by S in float32, and whether all are finite.

    Returns
    -------
    grads : list of ndarray (float32)
    finite : bool
        False when an entry is inf or nan: the step must then be skipped.
    """
    with np.errstate(invalid="ignore"):
        grads = [g.astype(np.float32) / np.float32(scale) for g in grads16]
    finite = all(bool(np.all(np.isfinite(g))) for g in grads)
    return grads, finite


class StaticLossScaler:
    """A constant loss scale S; steps whose gradients overflow are skipped.

    Parameters
    ----------
    scale : float
        S ≥ 1 in practice; S = 1 is plain float16 training.
    """

    def __init__(self, scale=1.0):
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"scale={scale!r} must be a positive finite loss scale")
        self.scale = float(scale)

    def update(self, found_inf):
        """Return True when the step may be applied, that is when no entry overflowed."""
        return not found_inf

    def __repr__(self):
        return f"StaticLossScaler(scale={self.scale:g})"


class DynamicLossScaler:
    """A loss scale that halves on overflow and doubles after good steps.

    After every step, ``update(found_inf)`` applies these rules:

    - an overflow (an inf or nan gradient) skips the update, divides S by
      ``backoff`` (2) and restarts the count of good steps at 0;
    - otherwise the update is applied and the count grows by one. When it
      reaches ``growth_interval``, S is multiplied by ``growth`` (2) and the
      count restarts at 0.

    Parameters
    ----------
    initial_scale : float
    growth_interval : int
    growth, backoff : float
        Factors > 1 by which S grows and shrinks.
    min_scale : float
        S never drops below this. A gradient that overflows at S = min_scale
        still skips its step.

    Attributes
    ----------
    scale : float
        The loss scale of the next step.
    good_steps : int
        Steps without overflow since the last change of S.
    """

    def __init__(self, initial_scale=DEFAULT_INITIAL_SCALE,
                 growth_interval=DEFAULT_GROWTH_INTERVAL, growth=2.0, backoff=2.0,
                 min_scale=1.0):
        if not (math.isfinite(initial_scale) and initial_scale > 0):
            raise ValueError(
                f"initial_scale={initial_scale!r} must be a positive finite number"
            )
        if isinstance(growth_interval, bool) or int(growth_interval) != growth_interval \
                or growth_interval < 1:
            raise ValueError(
                f"growth_interval={growth_interval!r} must be a positive integer"
            )
        for name, value in (("growth", growth), ("backoff", backoff)):
            if not (math.isfinite(value) and value > 1):
                raise ValueError(f"{name}={value!r} must be a finite factor > 1")
        self.scale = float(initial_scale)
        self.growth_interval = int(growth_interval)
        self.growth = float(growth)
        self.backoff = float(backoff)
        self.min_scale = float(min_scale)
        self.good_steps = 0

    def update(self, found_inf):
        """Update S after a step; return True when the step may be applied."""
        if found_inf:
            self.scale = max(self.scale / self.backoff, self.min_scale)
            self.good_steps = 0
            return False
        self.good_steps += 1
        if self.good_steps == self.growth_interval:
            self.scale *= self.growth
            self.good_steps = 0
        return True

    def __repr__(self):
        return (
            f"DynamicLossScaler(scale={self.scale:g}, good_steps={self.good_steps}, "
            f"growth_interval={self.growth_interval})"
        )


def dynamic_scale_trace(overflow, initial_scale, growth_interval):
    """Return the loss scale used at each step and whether its update was applied.

    ``overflow[i]`` is True when step i's gradients overflow at the scale it
    used. This is ``DynamicLossScaler`` run over a given sequence of steps.

    Returns
    -------
    scales : ndarray, shape (T,)
    applied : ndarray of bool, shape (T,)
    """
    scaler = DynamicLossScaler(initial_scale, growth_interval, min_scale=0.0)
    scales, applied = [], []
    for found_inf in overflow:
        scales.append(scaler.scale)
        applied.append(scaler.update(bool(found_inf)))
    return np.array(scales), np.array(applied)


@dataclass
class MixedPrecisionHistory:
    """Record of ``train_mixed_precision``, one entry per step unless noted otherwise.

    Attributes
    ----------
    loss : list of float
        The mean loss of each minibatch, before its update.
    scale : list of float
        The loss scale S the step used.
    skipped : list of bool
        True when the step's gradients overflowed and its update was skipped.
    underflow : list of float
        For the steps where ``reference_every`` measured it, the fraction of
        the nonzero float32 gradient entries that were 0 in float16; nan for
        the other steps.
    epoch, accuracy, val_accuracy : list
        After every epoch.
    """

    loss: list = field(default_factory=list)
    scale: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    underflow: list = field(default_factory=list)
    epoch: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)


def train_mixed_precision(net, X, Y, scaler=None, epochs=10, batch_size=32, lr=0.1,
                          optimizer="sgd", validation_data=None, reference_every=0,
                          loss_weight=1.0, seed=0):
    """Train by minibatches with float16 passes and float32 master weights.

    Each step computes S·∂L/∂θ in float16 (``half_gradients``) and unscales it
    in float32 (``unscale``). The scaler then decides from the overflow check
    whether the step is applied, and if it is, the optimizer updates the
    float32 master weights of ``net``.

    Parameters
    ----------
    net : Network
        Of dtype float32: its parameters are the master weights, updated in
        place.
    X, Y : the training set, as for ``Network.fit``
    scaler : StaticLossScaler or DynamicLossScaler, optional
        By default ``StaticLossScaler(1.0)``: no loss scaling.
    epochs, batch_size, lr, optimizer, validation_data, seed
        As for ``Network.fit``.
    reference_every : int
        Every this many steps, also compute the float32 gradients and record
        the fraction of their nonzero entries that float16 lost; 0 never.

    Returns
    -------
    MixedPrecisionHistory
    """
    from bpcourse.data import minibatches

    if np.dtype(net.dtype) != np.float32:
        raise ValueError(
            f"net has dtype {np.dtype(net.dtype).name}: the master weights of mixed "
            "precision are float32, so build the network with dtype=np.float32"
        )
    scaler = StaticLossScaler(1.0) if scaler is None else scaler
    if isinstance(optimizer, str):
        optimizer = make_optimizer(optimizer, lr=lr)
    X = np.asarray(X, dtype=np.float32)
    rng = np.random.default_rng(seed)
    history = MixedPrecisionHistory()
    params = net.parameters()
    step = 0
    for epoch in range(1, epochs + 1):
        for X_batch, Y_batch in minibatches(X, Y, batch_size, rng=rng):
            half = half_gradients(net, X_batch, Y_batch, scaler.scale, loss_weight)
            grads, finite = unscale(half.as_list(), half.scale)
            if reference_every and step % reference_every == 0:
                reference = [np.float32(loss_weight) * g for g in
                             net.gradients(X_batch, Y_batch).as_list()]
                history.underflow.append(underflow_fraction(half.as_list(), reference))
            else:
                history.underflow.append(float("nan"))
            history.loss.append(half.loss)
            history.scale.append(half.scale)
            applied = scaler.update(not finite)
            history.skipped.append(not applied)
            if applied:
                optimizer.step(params, grads)
            step += 1
        history.epoch.append(epoch)
        history.accuracy.append(half_accuracy(net, X, Y))
        if validation_data is not None:
            history.val_accuracy.append(half_accuracy(net, *validation_data))
    return history


def half_accuracy(net, X, y):
    """Return the fraction of columns whose float16 forward pass predicts label y."""
    output, _, _ = half_forward(net, X)
    return float(np.mean(np.argmax(output, axis=0) == np.asarray(y)))


# Quantization --------------------------------------------------------------------


def quantization_range(bits):
    """Return (−Q_N, Q_P) = (−2^{b−1}, 2^{b−1} − 1), the b-bit signed integers."""
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or bits < 2:
        raise ValueError(f"bits={bits!r} must be an integer >= 2")
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def fake_quantize(w, step, bits):
    """Return ŵ = s · clip(round(w/s), −Q_N, Q_P), w on the grid of b-bit integers.

    numpy rounds halves to the nearest even integer. The result is a float
    array of w's shape and dtype: the integers times the step, as a quantized
    layer computes with them.
    """
    w = np.asarray(w)
    q_min, q_max = quantization_range(bits)
    return np.clip(np.round(w / step), q_min, q_max) * step


def ste_gradient(w, step, bits, upstream):
    """Return the straight-through gradient ∂L/∂w from ∂L/∂ŵ.

    Inside the range, −Q_N ≤ w/s ≤ Q_P, rounding is treated as the identity
    and the gradient passes unchanged. Outside it, ŵ is clipped to a constant,
    so the gradient is 0.
    """
    q_min, q_max = quantization_range(bits)
    v = np.asarray(w) / step
    inside = (v >= q_min) & (v <= q_max)
    return np.asarray(upstream) * inside


def lsq_step_gradient(w, step, bits, upstream, grad_scale=1.0):
    """Return ∂L/∂s of learned step size quantization, a float.

    ∂ŵ/∂s is round(w/s) − w/s inside the range, −Q_N below it and Q_P above
    it; ∂L/∂s is the sum of ∂L/∂ŵ · ∂ŵ/∂s over every entry, times
    ``grad_scale``. LSQ uses grad_scale = 1/√(n·Q_P) for a tensor of n
    entries, so that the step size learns at about the rate of the weights.
    """
    q_min, q_max = quantization_range(bits)
    v = np.asarray(w) / step
    inside = np.where(v < q_min, q_min, np.where(v > q_max, q_max, np.round(v) - v))
    return float(np.sum(np.asarray(upstream) * inside)) * grad_scale


def lsq_grad_scale(num_entries, bits):
    """Return LSQ's factor 1/√(n·Q_P) for a tensor of n entries."""
    _, q_max = quantization_range(bits)
    return 1.0 / math.sqrt(num_entries * q_max)


def max_abs_step(w, bits):
    """Return the step that maps the largest |w| to Q_P: max|w| / Q_P."""
    _, q_max = quantization_range(bits)
    return float(np.max(np.abs(w))) / q_max


def lsq_initial_step(w, bits):
    """Return LSQ's initial step, 2·mean(|w|)/√Q_P."""
    _, q_max = quantization_range(bits)
    return 2.0 * float(np.mean(np.abs(w))) / math.sqrt(q_max)


def quantized_copy(net, steps, bits):
    """Return a copy of ``net`` whose weights are fake-quantized; biases stay as they are.

    Parameters
    ----------
    net : Network
    steps : list of float
        One step size per layer.
    bits : int
    """
    qnet = net.copy()
    qnet.weights = [fake_quantize(W, s, bits).astype(net.dtype)
                    for W, s in zip(net.weights, steps)]
    return qnet


@dataclass
class QATHistory:
    """Record of ``train_quantized``, one entry per epoch.

    Attributes
    ----------
    epoch, loss, accuracy, val_accuracy : list
        ``loss`` is the mean minibatch loss of the quantized network.
    steps : list of list of float
        The step size of every layer after each epoch.
    """

    epoch: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)
    steps: list = field(default_factory=list)


def train_quantized(net, X, Y, bits, method="lsq", epochs=10, batch_size=32,
                    lr=0.001, step_lr=None, validation_data=None, seed=0):
    """Train ``net`` with its weights fake-quantized to ``bits`` bits in the forward pass.

    Every step runs the δ-recursion of ``Network.gradients`` on the quantized
    copy (so δ^ℓ flows through the quantized Ŵ^{ℓ+1}), turns ∂L/∂Ŵ^ℓ into
    ∂L/∂W^ℓ with the straight-through estimator, and updates the
    full-precision weights, which only the quantizer reads.

    Parameters
    ----------
    net : Network
        Its full-precision weights, trained in place; biases are not quantized.
    bits : int
    method : {"lsq", "max_abs"}
        ``"lsq"`` learns each layer's step size from ``lsq_initial_step``
        with the LSQ gradient; ``"max_abs"`` sets it to max|W^ℓ|/Q_P before
        every step.
    lr : float
        Adam's learning rate for the weights and biases.
    step_lr : float, optional
        Adam's learning rate for the step sizes; ``lr`` by default.

    Returns
    -------
    steps : list of float
        The final step size of each layer.
    history : QATHistory
    """
    from bpcourse.data import minibatches
    from bpcourse.optim import Adam

    if method not in ("lsq", "max_abs"):
        raise ValueError(f"method={method!r} must be 'lsq' or 'max_abs'")
    quantization_range(bits)
    optimizer = Adam(lr=lr)
    step_optimizer = Adam(lr=lr if step_lr is None else step_lr)
    if method == "lsq":
        steps = [np.array([lsq_initial_step(W, bits)]) for W in net.weights]
    else:
        steps = [np.array([max_abs_step(W, bits)]) for W in net.weights]
    scales = [lsq_grad_scale(W.size, bits) for W in net.weights]
    rng = np.random.default_rng(seed)
    history = QATHistory()
    params = net.parameters()
    for epoch in range(1, epochs + 1):
        losses = []
        for X_batch, Y_batch in minibatches(X, Y, batch_size, rng=rng):
            if method == "max_abs":
                for s, W in zip(steps, net.weights):
                    s[0] = max_abs_step(W, bits)
            current = [float(s[0]) for s in steps]
            grads = quantized_copy(net, current, bits).gradients(X_batch, Y_batch)
            losses.append(grads.loss)
            dW = [ste_gradient(W, s, bits, g)
                  for W, s, g in zip(net.weights, current, grads.dW)]
            optimizer.step(params, [g for pair in zip(dW, grads.db) for g in pair])
            if method == "lsq":
                ds = [np.array([lsq_step_gradient(W, s, bits, g, scale)])
                      for W, s, g, scale in zip(net.weights, current, grads.dW, scales)]
                step_optimizer.step(steps, ds)
                for s in steps:
                    # A step size must stay positive. Adam moves it by about
                    # step_lr per step at most, so this bound rarely applies.
                    s[0] = max(s[0], 1e-8)
        final = [float(s[0]) for s in steps]
        qnet = quantized_copy(net, final, bits)
        history.epoch.append(epoch)
        history.loss.append(float(np.mean(losses)))
        history.accuracy.append(qnet.accuracy(X, Y))
        if validation_data is not None:
            history.val_accuracy.append(qnet.accuracy(*validation_data))
        history.steps.append(final)
    return [float(s[0]) for s in steps], history


def network_float16_error(net, X):
    """Return max |ŷ₁₆ − ŷ₆₄| / max |ŷ₆₄| for the outputs of the float16 and float64 passes."""
    output16, _, _ = half_forward(net, X)
    output64, _ = net.astype(np.float64).forward(X)
    return float(np.max(np.abs(output16.astype(np.float64) - output64))
                 / np.max(np.abs(output64)))


__all__ = [
    "DEFAULT_GROWTH_INTERVAL",
    "DEFAULT_INITIAL_SCALE",
    "DynamicLossScaler",
    "FLOAT16_EPS",
    "FLOAT16_MAX",
    "FLOAT16_SMALLEST_NORMAL",
    "FLOAT16_SMALLEST_SUBNORMAL",
    "HalfGradients",
    "MixedPrecisionHistory",
    "QATHistory",
    "StaticLossScaler",
    "cast_outcomes",
    "dynamic_scale_trace",
    "fake_quantize",
    "half_accuracy",
    "half_forward",
    "half_gradients",
    "lsq_grad_scale",
    "lsq_initial_step",
    "lsq_step_gradient",
    "max_abs_step",
    "network_float16_error",
    "overflow_fraction",
    "quantization_range",
    "quantized_copy",
    "ste_gradient",
    "train_mixed_precision",
    "train_quantized",
    "underflow_fraction",
    "unscale",
]
