r"""A vanilla recurrent network and backpropagation through time (BPTT).

The network reads a sequence x_1 … x_T, one input column per time step, and
carries a hidden state h_t from step to step:

.. math::

    z_t = W_{hh} h_{t-1} + W_{xh} x_t + b_h, \quad
    h_t = \tanh(z_t), \quad
    \hat y_t = W_{hy} h_t + b_y .

The same five parameters serve every step. A batch of N sequences keeps the
course's layout: examples are columns, so x_t has shape (d_x, N), h_t has shape
(d_h, N) and ŷ_t has shape (d_y, N). The loss is **summed over the time steps
and averaged over the N sequences**,

.. math::

    L = \sum_{t=1}^{T} \frac{1}{N} \sum_{n=1}^{N} \ell(\hat y_{t,n}, y_{t,n}),

with ℓ = ½‖ŷ − y‖² (``loss="mse"``) or the softmax cross-entropy of the
logits ŷ_t (``loss="cross_entropy"``). Each step's output error
e_t = ∂L/∂ŷ_t is therefore the δᴸ of ``bpcourse.losses`` for that step.

Backpropagation through time runs the δ-recursion backwards over the steps.
With δ_t = ∂L/∂z_t and δ_{T+1} = 0,

.. math::

    \frac{\partial L}{\partial h_t} = W_{hy}^\top e_t + W_{hh}^\top \delta_{t+1},
    \quad
    \delta_t = \frac{\partial L}{\partial h_t} \odot (1 - h_t^2),

and every weight collects one term per step:
∂L/∂W_hh = Σ_t δ_t h_{t−1}ᵀ, ∂L/∂W_xh = Σ_t δ_t x_tᵀ, ∂L/∂b_h = Σ_t Σ_n δ_t,
∂L/∂W_hy = Σ_t e_t h_tᵀ and ∂L/∂b_y = Σ_t Σ_n e_t.

Arrays over time are indexed as the course indexes layers: ``X[t - 1]`` is
x_t, ``cache.z[t - 1]`` is z_t, and ``cache.h[0]`` is the initial state h_0, so
that ``cache.h[t]`` is h_t.

>>> import numpy as np
>>> rnn = RNN(d_x=1, d_h=4, d_y=1, seed=0)
>>> X, Y = sine_sequences(N=3, T=5, seed=0)
>>> grads = rnn.gradients(X, Y)
>>> grads.dW_hh.shape, grads.delta.shape
((4, 4), (5, 4, 3))
"""

from dataclasses import dataclass, field

import numpy as np

from bpcourse._validate import as_array, as_float_dtype, check_finite
from bpcourse.activations import get_activation, softmax
from bpcourse.losses import get_loss, targets_as_columns
from bpcourse.optim import clip_by_global_norm, make_optimizer

#: The losses a recurrent network can sum over its steps.
RNN_LOSSES = ("mse", "cross_entropy")

#: The parameter names in the order of ``RNN.parameters()``.
PARAMETER_NAMES = ("W_xh", "W_hh", "b_h", "W_hy", "b_y")

#: Spectral radius of W_hh at initialisation. Slightly below 1, so that the
#: gradient through many steps neither grows nor shrinks fast at the start of
#: training.
DEFAULT_SPECTRAL_RADIUS = 0.9

#: Angular frequencies (radians per step) of ``sine_sequences``: periods from
#: about 10 to 31 steps, so a sequence of 50 steps contains at least 1.5
#: periods.
SINE_FREQUENCIES = (0.2, 0.6)


# Initialisation ----------------------------------------------------------------


def scaled_orthogonal(d, spectral_radius, rng, dtype=np.float64):
    """Return ρ·Q for a random orthogonal (d, d) matrix Q.

    Every eigenvalue of an orthogonal matrix has modulus 1 and every singular
    value is 1, so ρ·Q has spectral radius ρ and spectral norm ρ: its largest
    stretch of any vector is exactly ρ.
    """
    if not np.isfinite(spectral_radius) or spectral_radius < 0:
        raise ValueError(
            f"spectral_radius={spectral_radius!r} must be a finite number >= 0"
        )
    A = rng.standard_normal((d, d))
    Q, R = np.linalg.qr(A)
    # Fixing the signs by diag(R) makes Q uniformly distributed over the
    # orthogonal matrices, instead of biased by the QR algorithm's conventions.
    Q = Q * np.sign(np.diag(R))
    return (spectral_radius * Q).astype(dtype)


def spectral_radius(W):
    """Return ρ(W), the largest modulus of an eigenvalue of a square matrix."""
    return float(np.max(np.abs(np.linalg.eigvals(np.asarray(W, dtype=np.float64)))))


# The network -------------------------------------------------------------------


@dataclass
class RNNCache:
    """Values of the forward pass over time, kept for BPTT.

    Attributes
    ----------
    X : ndarray, shape (T, d_x, N)
        ``X[t - 1]`` is x_t.
    h : ndarray, shape (T + 1, d_h, N)
        ``h[0]`` is h_0 and ``h[t]`` is h_t.
    z : ndarray, shape (T, d_h, N)
        ``z[t - 1]`` is z_t.
    y_hat : ndarray, shape (T, d_y, N)
        ``y_hat[t - 1]`` is ŷ_t.
    """

    X: np.ndarray
    h: np.ndarray
    z: np.ndarray
    y_hat: np.ndarray


@dataclass
class RNNGradients:
    """∂L/∂θ for the five parameters, with the δ_t and ∂L/∂h_t of every step.

    Attributes
    ----------
    dW_xh, dW_hh, db_h, dW_hy, db_y : ndarray
        Each of the shape of its parameter, summed over the time steps.
    delta : ndarray, shape (T, d_h, N)
        ``delta[t - 1]`` is δ_t = ∂L/∂z_t.
    dh : ndarray, shape (T + 1, d_h, N)
        ``dh[t]`` is ∂L/∂h_t, the whole derivative (through ŷ_t and through
        the later steps); ``dh[0]`` is ∂L/∂h_0.
    loss : float
    """

    dW_xh: np.ndarray
    dW_hh: np.ndarray
    db_h: np.ndarray
    dW_hy: np.ndarray
    db_y: np.ndarray
    delta: np.ndarray
    dh: np.ndarray
    loss: float = float("nan")

    def as_list(self):
        """Return the gradients in the order of ``RNN.parameters()``."""
        return [self.dW_xh, self.dW_hh, self.db_h, self.dW_hy, self.db_y]

    def hidden_norms(self):
        """Return ‖∂L/∂h_t‖ for t = 0 … T, the Frobenius norm over units and batch."""
        return np.sqrt(np.sum(self.dh**2, axis=(1, 2)))


class RNN:
    """A vanilla recurrent network with a tanh hidden state and a linear output.

    Parameters
    ----------
    d_x, d_h, d_y : int
        Widths of the input x_t, the hidden state h_t and the output ŷ_t.
    loss : {"mse", "cross_entropy"}
        The loss ℓ of each step, summed over the steps.
    spectral_radius : float
        W_hh starts as ρ times a random orthogonal matrix, so its spectral
        radius and its largest singular value are both ρ.
    seed : int
        Seed of the initial weights.
    dtype : np.float64 or np.float32

    Attributes
    ----------
    W_xh : ndarray, shape (d_h, d_x)
        N(0, 1/d_x) entries.
    W_hh : ndarray, shape (d_h, d_h)
    b_h : ndarray, shape (d_h, 1)
    W_hy : ndarray, shape (d_y, d_h)
        N(0, 1/d_h) entries.
    b_y : ndarray, shape (d_y, 1)
    """

    def __init__(self, d_x, d_h, d_y, loss="mse",
                 spectral_radius=DEFAULT_SPECTRAL_RADIUS, seed=0,
                 dtype=np.float64):
        for name, value in (("d_x", d_x), ("d_h", d_h), ("d_y", d_y)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"{name}={value!r} must be a positive integer")
            if value < 1:
                raise ValueError(f"{name}={value!r} must be a positive integer")
        if loss not in RNN_LOSSES:
            raise ValueError(
                f"unknown loss {loss!r}: an RNN sums 'mse' or 'cross_entropy' "
                "over its steps"
            )
        if loss == "cross_entropy" and d_y < 2:
            raise ValueError(
                "cross_entropy needs d_y >= 2 output units, one per class"
            )
        self.d_x, self.d_h, self.d_y = int(d_x), int(d_h), int(d_y)
        self.loss_name = loss
        self.dtype = as_float_dtype(dtype)
        rng = np.random.default_rng(seed)
        self.W_xh = (rng.standard_normal((d_h, d_x)) / np.sqrt(d_x)).astype(self.dtype)
        self.W_hh = scaled_orthogonal(d_h, spectral_radius, rng, self.dtype)
        self.b_h = np.zeros((d_h, 1), dtype=self.dtype)
        self.W_hy = (rng.standard_normal((d_y, d_h)) / np.sqrt(d_h)).astype(self.dtype)
        self.b_y = np.zeros((d_y, 1), dtype=self.dtype)

    def __repr__(self):
        return (
            f"RNN(d_x={self.d_x}, d_h={self.d_h}, d_y={self.d_y}, "
            f"loss={self.loss_name!r}, dtype={self.dtype.name})"
        )

    def parameters(self):
        """Return the live parameter arrays ``[W_xh, W_hh, b_h, W_hy, b_y]``."""
        return [self.W_xh, self.W_hh, self.b_h, self.W_hy, self.b_y]

    def copy(self):
        """Return an independent copy with the same parameters."""
        clone = object.__new__(RNN)
        clone.d_x, clone.d_h, clone.d_y = self.d_x, self.d_h, self.d_y
        clone.loss_name = self.loss_name
        clone.dtype = self.dtype
        for name in PARAMETER_NAMES:
            setattr(clone, name, getattr(self, name).copy())
        return clone

    # The forward pass over time -------------------------------------------------

    def forward(self, X, h0=None):
        """Run the network over the T steps of X, keeping every h_t and z_t.

        Parameters
        ----------
        X : ndarray, shape (T, d_x, N)
            ``X[t - 1]`` is the input column block x_t.
        h0 : ndarray, shape (d_h, N), optional
            The initial state h_0; zeros by default.

        Returns
        -------
        y_hat : ndarray, shape (T, d_y, N)
        cache : RNNCache
        """
        X = self._check_inputs(X)
        T, _, N = X.shape
        h = np.empty((T + 1, self.d_h, N), dtype=self.dtype)
        h[0] = self._initial_state(h0, N)
        z = np.empty((T, self.d_h, N), dtype=self.dtype)
        for t in range(1, T + 1):
            z[t - 1] = self.W_hh @ h[t - 1] + self.W_xh @ X[t - 1] + self.b_h
            h[t] = np.tanh(z[t - 1])
        # The output layer is the same affine map at every step, so all T
        # steps go through one matrix product.
        y_hat = np.matmul(self.W_hy, h[1:]) + self.b_y
        return y_hat, RNNCache(X=X, h=h, z=z, y_hat=y_hat)

    def loss(self, X, Y, h0=None):
        """Return L, summed over the steps and averaged over the N sequences."""
        y_hat, _ = self.forward(X, h0)
        loss, _ = self.output_errors(y_hat, Y)
        return loss

    def output_errors(self, y_hat, Y, steps=None):
        """Return L and e_t = ∂L/∂ŷ_t for every step.

        Parameters
        ----------
        y_hat : ndarray, shape (T, d_y, N)
        Y : ndarray
            Targets: shape (T, d_y, N) for ``mse``; for ``cross_entropy``,
            integer labels of shape (T, N) or one-hot columns (T, d_y, N).
        steps : array_like of bool, shape (T,), optional
            The steps whose loss counts; by default all of them. The others
            get e_t = 0 and add nothing to L.

        Returns
        -------
        loss : float
        dY : ndarray, shape (T, d_y, N)
        """
        T, K, N = y_hat.shape
        targets = self._check_targets(Y, T, N)
        counted = np.ones(T, dtype=bool) if steps is None else np.asarray(steps, bool)
        if counted.shape != (T,):
            raise ValueError(f"steps has shape {counted.shape}: expected ({T},)")
        loss = 0.0
        dY = np.zeros_like(y_hat)
        for t in np.flatnonzero(counted):
            step_loss, dY[t] = self._step_loss(y_hat[t], targets[t])
            loss += step_loss
        return loss, dY

    def _step_loss(self, y_hat_t, Y_t):
        # The losses of bpcourse.losses are means over the N columns, so their
        # δᴸ already carries the 1/N.
        if self.loss_name == "mse":
            value_and_delta = get_loss("mse").value_and_delta
            return value_and_delta(y_hat_t, y_hat_t, Y_t, get_activation("identity"))
        value_and_delta = get_loss("cross_entropy").value_and_delta
        return value_and_delta(y_hat_t, softmax(y_hat_t), Y_t, None)

    # Backpropagation through time ----------------------------------------------

    def gradients(self, X, Y, h0=None):
        """Return the BPTT gradients of L on (X, Y): one forward, one backward pass."""
        _, cache = self.forward(X, h0)
        return self.backward(cache, Y)

    def backward(self, cache, Y, steps=None):
        """Compute L's output errors from the targets, then run ``bptt``."""
        loss, dY = self.output_errors(cache.y_hat, Y, steps)
        grads = self.bptt(cache, dY)
        grads.loss = loss
        return grads

    def bptt(self, cache, dY, dh_last=None):
        """Backpropagate the output errors e_t through time.

        Parameters
        ----------
        cache : RNNCache
            From ``forward``.
        dY : ndarray, shape (T, d_y, N)
            e_t = ∂L/∂ŷ_t for every step (zeros for steps without a loss).
        dh_last : ndarray, shape (d_h, N), optional
            A gradient that reaches h_T from beyond the sequence, such as the
            gradient of a loss that reads h_T directly; zeros by default.

        Returns
        -------
        RNNGradients
            ``loss`` is nan: ``backward`` fills it in.
        """
        X, h = cache.X, cache.h
        T, _, N = X.shape
        dY = np.asarray(dY, dtype=self.dtype)
        if dY.shape != (T, self.d_y, N):
            raise ValueError(
                f"dY has shape {dY.shape}: expected (T, d_y, N) = "
                f"({T}, {self.d_y}, {N}), one e_t per step"
            )
        dW_xh = np.zeros_like(self.W_xh)
        dW_hh = np.zeros_like(self.W_hh)
        db_h = np.zeros_like(self.b_h)
        delta = np.zeros((T, self.d_h, N), dtype=self.dtype)
        dh = np.zeros((T + 1, self.d_h, N), dtype=self.dtype)
        # δ_{T+1} = 0: nothing comes back from after the last step, except a
        # gradient that reads h_T itself.
        delta_next = np.zeros((self.d_h, N), dtype=self.dtype)
        if dh_last is not None:
            dh[T] = np.asarray(dh_last, dtype=self.dtype).reshape(self.d_h, N)
        for t in range(T, 0, -1):
            dh[t] += self.W_hy.T @ dY[t - 1] + self.W_hh.T @ delta_next
            delta[t - 1] = dh[t] * (1 - h[t] ** 2)  # tanh′(z_t) = 1 − h_t²
            # The weights are shared by all steps: add every step's term.
            dW_hh += delta[t - 1] @ h[t - 1].T
            dW_xh += delta[t - 1] @ X[t - 1].T
            db_h += np.sum(delta[t - 1], axis=1, keepdims=True)
            delta_next = delta[t - 1]
        dh[0] = self.W_hh.T @ delta_next
        # Σ_t e_t h_tᵀ and Σ_t Σ_n e_t in one product each.
        dW_hy = np.einsum("tkn,tjn->kj", dY, h[1:])
        db_y = np.sum(dY, axis=(0, 2))[:, None]
        return RNNGradients(dW_xh=dW_xh, dW_hh=dW_hh, db_h=db_h, dW_hy=dW_hy,
                            db_y=db_y, delta=delta, dh=dh)

    # Checks ------------------------------------------------------------------------

    def _check_inputs(self, X):
        X = as_array(X, "X", dtype=self.dtype)
        if X.ndim != 3 or X.shape[1] != self.d_x or X.shape[0] < 1 or X.shape[2] < 1:
            raise ValueError(
                f"X has shape {X.shape}: expected (T, d_x, N) with d_x = "
                f"{self.d_x}, one block x_t of shape (d_x, N) per time step"
            )
        check_finite(X, "X")
        return X

    def _initial_state(self, h0, N):
        if h0 is None:
            return np.zeros((self.d_h, N), dtype=self.dtype)
        h0 = as_array(h0, "h0", dtype=self.dtype)
        if h0.shape != (self.d_h, N):
            raise ValueError(
                f"h0 has shape {h0.shape}: expected (d_h, N) = ({self.d_h}, {N})"
            )
        return h0

    def _check_targets(self, Y, T, N):
        Y = as_array(Y, "Y")
        if self.loss_name == "cross_entropy" and Y.shape == (T, N):
            return np.stack([
                targets_as_columns(Y[t], self.d_y, N, self.dtype, "cross_entropy")
                for t in range(T)
            ])
        if Y.shape != (T, self.d_y, N):
            labels = " or labels of shape (T, N)" if self.loss_name != "mse" else ""
            raise ValueError(
                f"Y has shape {Y.shape}: expected targets of shape (T, d_y, N) = "
                f"({T}, {self.d_y}, {N}){labels}"
            )
        Y = Y.astype(self.dtype, copy=False)
        check_finite(Y, "Y")
        return Y


# Gradient checks ---------------------------------------------------------------


def numerical_gradients(rnn, X, Y, h0=None, step=1e-5):
    """Return central differences (L(θ + h) − L(θ − h)) / 2h for every parameter entry.

    Run this on a float64 network: in float32 the rounding error of L, about
    1e-7·|L|, divided by h = 1e-5 swamps the derivative. The parameters are
    restored exactly after each probe.

    Returns
    -------
    list of ndarray
        In the order of ``rnn.parameters()``.
    """
    result = []
    for param in rnn.parameters():
        grad = np.zeros_like(param)
        for index in np.ndindex(param.shape):
            original = param[index]
            plus, minus = original + step, original - step
            param[index] = plus
            loss_plus = rnn.loss(X, Y, h0)
            param[index] = minus
            loss_minus = rnn.loss(X, Y, h0)
            param[index] = original
            grad[index] = (loss_plus - loss_minus) / (plus - minus)
        result.append(grad)
    return result


def relative_errors(grads, reference):
    """Return max |g − g_ref| / max(|g_ref|) for each pair of arrays, a dict by name."""
    errors = {}
    for name, g, g_ref in zip(PARAMETER_NAMES, grads, reference):
        scale = max(float(np.max(np.abs(g_ref))), np.finfo(np.float64).tiny)
        errors[name] = float(np.max(np.abs(np.asarray(g) - g_ref))) / scale
    return errors


def autodiff_loss(rnn, X, Y, h0=None):
    """Build the unrolled graph of L with ``bpcourse.autodiff`` tensors.

    Every step appends the operations of z_t = W_hh h_{t−1} + W_xh x_t + b_h,
    h_t = tanh(z_t) and ŷ_t = W_hy h_t + b_y to one graph, and the T step
    losses are added, so ``loss.backward()`` backpropagates through all steps.

    Returns
    -------
    loss : Tensor, shape ()
    params : list of Tensor
        ``[W_xh, W_hh, b_h, W_hy, b_y]``, wrapping copies of the arrays; after
        ``loss.backward()`` each ``.grad`` is ∂L/∂θ.
    """
    from bpcourse.autodiff import Tensor, mean_squared_error, softmax_cross_entropy

    params = [Tensor(p.copy(), name=name)
              for name, p in zip(PARAMETER_NAMES, rnn.parameters())]
    W_xh, W_hh, b_h, W_hy, b_y = params
    X = rnn._check_inputs(X)
    T, _, N = X.shape
    targets = rnn._check_targets(Y, T, N)
    h = Tensor(rnn._initial_state(h0, N), requires_grad=False, name="h0")
    loss = None
    for t in range(1, T + 1):
        z = W_hh @ h + W_xh @ X[t - 1] + b_h
        h = z.tanh()
        y_hat = W_hy @ h + b_y
        if rnn.loss_name == "mse":
            step_loss = mean_squared_error(y_hat, targets[t - 1])
        else:
            step_loss = softmax_cross_entropy(y_hat, targets[t - 1])
        loss = step_loss if loss is None else loss + step_loss
    return loss, params


# The gradient over many steps ----------------------------------------------------


def gradient_norms_over_time(T, rho, d_h=32, input_scale=1.0, N=1, seed=0):
    """Measure ‖∂L/∂h_t‖ for t = T … 1 when the loss reads only the last state.

    A random network with W_hh = ρ·Q (Q orthogonal) runs over T steps of
    N(0, input_scale²) inputs. The loss is L = gᵀ h_T for a fixed unit vector
    g, so ∂L/∂h_T = g has norm 1 and every other ∂L/∂h_t comes from the
    recursion ∂L/∂h_{t−1} = W_hhᵀ (∂L/∂h_t ⊙ (1 − h_t²)). Because |tanh′| ≤ 1
    and ‖W_hhᵀ‖₂ = ρ, each step back multiplies the norm by at most ρ, so
    ‖∂L/∂h_t‖ ≤ ρ^{T−t}.

    Returns
    -------
    dict
        ``t`` (1 … T), ``norm`` (‖∂L/∂h_t‖ for those t), ``bound``
        (ρ^{T−t}), ``spectral_radius`` (measured ρ(W_hh)), ``mean_tanh_prime``
        (the mean of 1 − h_t² over all units and steps) and the arguments.
    """
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 1:
        raise ValueError(f"T={T!r} must be a positive integer number of steps")
    rnn = RNN(d_x=1, d_h=d_h, d_y=1, spectral_radius=rho, seed=seed)
    rng = np.random.default_rng(seed + 1)
    X = input_scale * rng.standard_normal((T, 1, N))
    _, cache = rnn.forward(X)
    g = rng.standard_normal((d_h, N))
    g /= np.linalg.norm(g)
    grads = rnn.bptt(cache, np.zeros((T, 1, N)), dh_last=g)
    t = np.arange(1, T + 1)
    return {
        "T": int(T),
        "rho": float(rho),
        "d_h": int(d_h),
        "input_scale": float(input_scale),
        "seed": seed,
        "t": t,
        "norm": grads.hidden_norms()[1:],
        "bound": float(rho) ** (T - t).astype(float),
        "spectral_radius": spectral_radius(rnn.W_hh),
        "mean_tanh_prime": float(np.mean(1 - cache.h[1:] ** 2)),
    }


# Truncated BPTT ----------------------------------------------------------------


def truncation_ends(T, k1):
    """Return the steps after which truncated BPTT runs a backward pass.

    Every k1 steps, and once more at the last step T when T is not a multiple
    of k1: k1, 2·k1, …, T.
    """
    ends = list(range(k1, T + 1, k1))
    if not ends or ends[-1] != T:
        ends.append(T)
    return ends


def truncation_windows(T, k1, k2):
    """Return ``(start, end)`` of every backward pass of truncated BPTT.

    A pass at the end step e goes back k2 steps, to step max(e − k2 + 1, 1),
    so it covers steps start … end, both included (1-based, as in the book).
    """
    _check_truncation(T, k1, k2)
    return [(max(end - k2 + 1, 1), end) for end in truncation_ends(T, k1)]


def _check_truncation(T, k1, k2):
    for name, value in (("T", T), ("k1", k1), ("k2", k2)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name}={value!r} must be a positive integer")
        if value < 1:
            raise ValueError(f"{name}={value!r} must be a positive integer")
    if k2 < k1:
        raise ValueError(
            f"k2={k2} is smaller than k1={k1}: the losses of the first "
            f"{k1 - k2} steps of each chunk would get no gradient at all. "
            "Use k2 >= k1"
        )


@dataclass
class TruncatedPass:
    """One backward pass of truncated BPTT.

    Attributes
    ----------
    start, end : int
        The pass backpropagates from step ``end`` back to step ``start``
        (1-based, both included).
    first_loss : int
        The losses of steps ``first_loss`` … ``end`` enter this pass: the
        k1 steps since the previous pass.
    grads : RNNGradients
        Of the loss of those steps, through steps start … end only.
    h_end : ndarray, shape (d_h, N)
        h_end, carried to the next chunk as a constant.
    """

    start: int
    end: int
    first_loss: int
    grads: RNNGradients
    h_end: np.ndarray


def truncated_bptt(rnn, X, Y, k1, k2, h0=None):
    """Run truncated BPTT(k1, k2) over one batch of sequences, pass by pass.

    Every k1 steps (and at the last step), the losses of the k1 steps since the
    previous pass are backpropagated k2 steps back, through a forward pass over
    the window that starts from the stored state h_{start−1}. That state is a
    constant: no gradient flows into it, which is the truncation.

    The generator reads ``rnn``'s parameters at every pass, so a caller that
    updates them between passes trains online, as truncated BPTT is meant to.
    Without updates, the sum of all passes' gradients is the gradient that
    truncated BPTT estimates for the whole sequence. With k2 ≥ T it equals the
    full BPTT gradient.

    Parameters
    ----------
    rnn : RNN
    X : ndarray, shape (T, d_x, N)
    Y : ndarray, targets for all T steps
    k1 : int
        Steps between backward passes.
    k2 : int
        Steps each pass goes back, k2 ≥ k1.
    h0 : ndarray, shape (d_h, N), optional

    Yields
    ------
    TruncatedPass
    """
    X = rnn._check_inputs(X)
    T, _, N = X.shape
    windows = truncation_windows(T, k1, k2)
    targets = rnn._check_targets(Y, T, N)
    states = np.empty((T + 1, rnn.d_h, N), dtype=rnn.dtype)
    states[0] = rnn._initial_state(h0, N)
    previous_end = 0
    for start, end in windows:
        _, cache = rnn.forward(X[start - 1:end], h0=states[start - 1])
        states[start:end + 1] = cache.h[1:]
        # The losses of the steps since the previous pass, as positions in
        # the window.
        first_loss = previous_end + 1
        counted = np.arange(start, end + 1) >= first_loss
        grads = rnn.backward(cache, targets[start - 1:end], steps=counted)
        yield TruncatedPass(start, end, first_loss, grads, cache.h[-1].copy())
        previous_end = end


def truncated_gradients(rnn, X, Y, k1, k2, h0=None):
    """Return the sum of the gradients of every pass of ``truncated_bptt``, no update between.

    Returns
    -------
    list of ndarray
        In the order of ``rnn.parameters()``.
    """
    total = [np.zeros_like(p) for p in rnn.parameters()]
    for step in truncated_bptt(rnn, X, Y, k1, k2, h0):
        for accumulated, g in zip(total, step.grads.as_list()):
            accumulated += g
    return total


def cosine_similarity(grads_a, grads_b):
    """Return the cosine of the angle between two gradients, all arrays flattened together."""
    a = np.concatenate([np.ravel(g) for g in grads_a])
    b = np.concatenate([np.ravel(g) for g in grads_b])
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


# Training ----------------------------------------------------------------------


@dataclass
class RNNHistory:
    """Record of ``train``, one entry per update unless noted otherwise.

    Attributes
    ----------
    loss : list of float
        The loss of each update's pass, per step that pass counted: its L
        divided by the number of steps whose loss entered it.
    grad_norm : list of float
        The global norm of the gradient before clipping.
    clipped : list of bool
        Whether clipping shortened that gradient.
    epoch, val_mse : list
        After every epoch: its number and the mean squared error per entry of
        ŷ_t on the validation sequences.
    """

    loss: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)
    clipped: list = field(default_factory=list)
    epoch: list = field(default_factory=list)
    val_mse: list = field(default_factory=list)


def prediction_mse(rnn, X, Y, skip=0):
    """Return the mean of (ŷ_t − y_t)² over every entry of the steps after ``skip``.

    This is the usual mean squared error, without the ½ of the loss and
    averaged over the steps instead of summed.
    """
    y_hat, _ = rnn.forward(X)
    error = y_hat[skip:] - np.asarray(Y)[skip:]
    return float(np.mean(error**2))


def train(rnn, X, Y, epochs=10, batch_size=32, lr=0.01, optimizer="adam",
          max_norm=None, k1=None, k2=None, validation_data=None, skip=0,
          seed=0):
    """Train on a set of sequences by minibatches, with full or truncated BPTT.

    The sequences (columns of X) are shuffled into minibatches at every epoch.
    For each minibatch, full BPTT (``k1=None``)
    makes one update from the gradient of the whole sequence; truncated BPTT
    makes one update after every pass of ``truncated_bptt(rnn, …, k1, k2)``.
    Before every update the gradient is clipped to the global norm
    ``max_norm`` (``bpcourse.optim.clip_by_global_norm``) when one is given.
    An update whose gradient is not finite is skipped; it is still recorded,
    so a run that diverged shows inf or nan in ``history.grad_norm``.

    Parameters
    ----------
    rnn : RNN
        Trained in place.
    X : ndarray, shape (T, d_x, N)
    Y : ndarray, targets of all T steps
    epochs, batch_size : int
    lr : float
    optimizer : str or optimizer object
        A name of ``bpcourse.optim.make_optimizer`` or an object with
        ``step(params, grads)``.
    max_norm : float, optional
    k1, k2 : int, optional
        Truncated BPTT(k1, k2); k2 defaults to k1.
    validation_data : (X_val, Y_val), optional
        ``prediction_mse`` on it after every epoch, from step ``skip`` on.
    seed : int
        Seed of the shuffling of sequences into minibatches.

    Returns
    -------
    RNNHistory
    """
    X = rnn._check_inputs(X)
    Y = np.asarray(Y)
    if isinstance(optimizer, str):
        optimizer = make_optimizer(optimizer, lr=lr)
    if k1 is not None and k2 is None:
        k2 = k1
    rng = np.random.default_rng(seed)
    history = RNNHistory()
    params = rnn.parameters()
    N = X.shape[2]
    for epoch in range(1, epochs + 1):
        order = rng.permutation(N)
        for first in range(0, N, batch_size):
            index = order[first:first + batch_size]
            X_batch, Y_batch = X[:, :, index], Y[..., index]
            if k1 is None:
                passes = [(X_batch.shape[0], rnn.gradients(X_batch, Y_batch))]
            else:
                passes = (
                    (p.end - p.first_loss + 1, p.grads)
                    for p in truncated_bptt(rnn, X_batch, Y_batch, k1, k2)
                )
            for num_steps, grads in passes:
                grad_list = grads.as_list()
                norm = float(np.sqrt(sum(np.sum(g**2) for g in grad_list)))
                if max_norm is not None and np.isfinite(norm):
                    grad_list, norm = clip_by_global_norm(grad_list, max_norm)
                history.clipped.append(max_norm is not None and norm > max_norm)
                history.grad_norm.append(norm)
                history.loss.append(grads.loss / num_steps)
                if np.isfinite(norm):
                    optimizer.step(params, grad_list)
        history.epoch.append(epoch)
        if validation_data is not None:
            X_val, Y_val = validation_data
            history.val_mse.append(prediction_mse(rnn, X_val, Y_val, skip))
    return history


# Data --------------------------------------------------------------------------


def delay_sequences(N, T, delay, seed=0):
    """Return N sequences of random signs whose target is the input ``delay`` steps earlier.

    x_t is +1 or −1 with equal odds and y_t = x_{t−delay} (0 for the first
    ``delay`` steps, which have nothing to recall). To predict y_t the network
    must carry x_{t−delay} in its state for ``delay`` steps.

    Returns
    -------
    X, Y : ndarray, shape (T, 1, N)
    """
    if isinstance(delay, bool) or not isinstance(delay, (int, np.integer)) \
            or not 1 <= delay < T:
        raise ValueError(f"delay={delay!r} must be an integer in 1 … T − 1 = {T - 1}")
    rng = np.random.default_rng(seed)
    X = rng.choice([-1.0, 1.0], size=(T, 1, N))
    Y = np.zeros_like(X)
    Y[delay:] = X[:-delay]
    return X, Y


def hand_worked_rnn():
    """Return the one-unit network of the book's worked example, with x and y.

    W_xh = 1, W_hh = 0.5, W_hy = 1 and zero biases, mean squared error, over
    T = 2 steps of one sequence: x = (0.5, 0.5) and y = (0, 1).

    Returns
    -------
    rnn : RNN
    X, Y : ndarray, shape (2, 1, 1)
    """
    rnn = RNN(d_x=1, d_h=1, d_y=1, loss="mse")
    rnn.W_xh[...] = 1.0
    rnn.W_hh[...] = 0.5
    rnn.W_hy[...] = 1.0
    X = np.array([0.5, 0.5]).reshape(2, 1, 1)
    Y = np.array([0.0, 1.0]).reshape(2, 1, 1)
    return rnn, X, Y


def sine_sequences(N, T, frequencies=SINE_FREQUENCIES, noise=0.0, seed=0):
    """Return N sine waves of T + 1 samples as inputs and next-value targets.

    Each sequence n has its own angular frequency ω_n, drawn uniformly from
    ``frequencies``, and its own phase φ_n: s_t = sin(ω_n t + φ_n). The input
    at step t is s_t (plus N(0, noise²) noise) and the target is the next
    sample s_{t+1}, so predicting it needs the frequency, which the network
    can only infer from the samples it has seen.

    Returns
    -------
    X : ndarray, shape (T, 1, N)
    Y : ndarray, shape (T, 1, N)
    """
    rng = np.random.default_rng(seed)
    low, high = frequencies
    omega = rng.uniform(low, high, size=N)
    phase = rng.uniform(0, 2 * np.pi, size=N)
    t = np.arange(T + 1)[:, None]
    s = np.sin(omega * t + phase)
    X = s[:-1] + noise * rng.standard_normal((T, N))
    return X[:, None, :], s[1:, None, :]
