r"""Deep networks: per-layer gradient norms, residual connections, layer normalization.

``layer_gradient_norms`` measures ‖∂L/∂W^ℓ‖ for every layer ℓ = 1 … L from
``Network.gradients``, which shows gradients that vanish or explode with depth.
``layer_variances`` measures how the variance of z^ℓ and of δ^ℓ changes from
layer to layer, the quantity that Xavier and He initialisation keep constant.

``DeepNetwork`` is a ``bpcourse.network.Network`` whose hidden layers may add a
residual connection and a layer normalization:

.. math::

    z^\ell = W^\ell a^{\ell-1} + b^\ell, \quad
    u^\ell = \gamma^\ell \odot \hat z^\ell + \beta^\ell, \quad
    a^\ell = a^{\ell-1} + \sigma(u^\ell),

where ẑ^ℓ is z^ℓ normalized over the units of each example (each column). With
neither option it computes exactly what ``Network`` computes, bit for bit.

Layer normalization on its own is ``layernorm_forward`` and
``layernorm_backward``; for one column with d units, mean μ, variance v and
s = √(v + ε),

.. math::

    \frac{\partial L}{\partial z} = \frac{1}{s} \left(
        g - \overline{g} - \hat z \odot \overline{g \odot \hat z} \right),
    \qquad g = \gamma \odot \frac{\partial L}{\partial u},

where a bar is the mean over the d units.

>>> import numpy as np
>>> net = DeepNetwork([4, 4, 4, 3], activation="tanh", residual=True, seed=0)
>>> X = np.random.default_rng(0).standard_normal((4, 5))
>>> layer_gradient_norms(net, X, [0, 1, 2, 0, 1]).shape
(3,)
"""

from dataclasses import dataclass

import numpy as np

from bpcourse.init import get_initializer, he_normal, xavier_normal
from bpcourse.network import Cache, Gradients, Network, _check_learning_rate

#: Added to the variance in layer normalization, so that a column whose entries
#: are all equal (variance 0) is not divided by zero. It is small against the
#: variance of a column of order 1, so it changes ẑ very little.
LAYER_NORM_EPS = 1e-5

#: Standard deviation of ``small_normal``: a fixed scale that ignores the layer's
#: widths, too small for deep networks.
SMALL_STD = 0.01


# Initialisation ------------------------------------------------------------------


def small_normal(fan_out, fan_in, rng, dtype=np.float64):
    """N(0, SMALL_STD²) for every entry of W, whatever the layer's widths."""
    return (SMALL_STD * rng.standard_normal((fan_out, fan_in))).astype(dtype)


def scaled(initializer, gain):
    """Return an initialiser that draws from ``initializer`` and multiplies by ``gain``.

    ``scaled(he_normal, 2.0)`` has twice He's standard deviation, which makes a
    deep ReLU network's activations and gradients grow from layer to layer.
    """
    initializer = get_initializer(initializer)
    gain = float(gain)
    if not np.isfinite(gain) or gain <= 0:
        raise ValueError(f"gain={gain!r} must be a positive finite number")

    def draw(fan_out, fan_in, rng, dtype=np.float64):
        return (gain * initializer(fan_out, fan_in, rng, np.float64)).astype(dtype)

    draw.__name__ = f"{getattr(initializer, '__name__', 'init')}_times_{gain:g}"
    return draw


#: The three initialisations the depth chapter compares, by name.
INITIALIZERS = {"small": small_normal, "xavier": xavier_normal, "he": he_normal}


def get_depth_initializer(name):
    """Look up ``"small"``, ``"xavier"`` or ``"he"``, or any name of ``bpcourse.init``."""
    if isinstance(name, str) and name in INITIALIZERS:
        return INITIALIZERS[name]
    return name


def init_std(fan_in, fan_out, init):
    """Return the standard deviation of every entry of W that an initialisation draws.

    ``"small"``: SMALL_STD; ``"xavier"``: √(2 / (fan_in + fan_out));
    ``"he"``: √(2 / fan_in).
    """
    if init == "small":
        return SMALL_STD
    if init == "xavier":
        return float(np.sqrt(2.0 / (fan_in + fan_out)))
    if init == "he":
        return float(np.sqrt(2.0 / fan_in))
    raise ValueError(f"unknown init {init!r}: use 'small', 'xavier' or 'he'")


def deep_sizes(depth, width, d_in, d_out):
    """Return the widths ``[d_in, width, …, width, d_out]`` of L = depth layers."""
    depth = int(depth)
    if depth < 1:
        raise ValueError(f"depth={depth} must be at least 1 layer")
    return [int(d_in)] + [int(width)] * (depth - 1) + [int(d_out)]


# Measurements --------------------------------------------------------------------


def layer_gradient_norms(net, X, Y):
    """Return ‖∂L/∂W^ℓ‖ (Frobenius norm) for ℓ = 1 … L, from ``net.gradients(X, Y)``.

    Returns
    -------
    ndarray, shape (L,)
        Entry ``l`` is the norm of ``grads.dW[l]``, the gradient of W^{l+1}.
    """
    grads = net.gradients(X, Y)
    return np.array([np.linalg.norm(dW) for dW in grads.dW])


def layer_variances(net, X, Y):
    """Return the variance of every z^ℓ and δ^ℓ over all its entries.

    Returns
    -------
    dict
        ``"z"``: Var(z^ℓ) and ``"delta"``: Var(δ^ℓ), arrays of shape (L,) whose
        entry ``l`` is layer ℓ = l + 1; ``"loss"``: the batch's loss.
    """
    _, cache = net.forward(X)
    grads = net.backward(cache, Y)
    return {
        "z": np.array([np.var(z) for z in cache.z]),
        "delta": np.array([np.var(delta) for delta in grads.delta]),
        "loss": grads.loss,
    }


# Layer normalization ----------------------------------------------------------


@dataclass
class LayerNormCache:
    """Values that ``layernorm_forward`` keeps for the backward pass.

    Attributes
    ----------
    z_hat : ndarray, shape (d, N)
        ẑ = (z − μ) / s, every column with mean 0 and variance v / (v + ε).
    s : ndarray, shape (1, N)
        s = √(v + ε) of every column.
    gamma : ndarray, shape (d, 1)
        The scale γ the forward pass used.
    """

    z_hat: np.ndarray
    s: np.ndarray
    gamma: np.ndarray


def layernorm_forward(z, gamma, beta, eps=LAYER_NORM_EPS):
    """Normalize every column of z over its d units, then scale by γ and shift by β.

    For column n: μ_n = mean_i z_in, v_n = mean_i (z_in − μ_n)²,
    s_n = √(v_n + ε), ẑ_in = (z_in − μ_n) / s_n and u_in = γ_i ẑ_in + β_i.

    Parameters
    ----------
    z : ndarray, shape (d, N)
    gamma, beta : ndarray, shape (d, 1)
    eps : float

    Returns
    -------
    u : ndarray, shape (d, N)
    cache : LayerNormCache
    """
    mu = np.mean(z, axis=0, keepdims=True)
    centred = z - mu
    v = np.mean(centred * centred, axis=0, keepdims=True)
    s = np.sqrt(v + eps)
    z_hat = centred / s
    u = gamma * z_hat + beta
    return u, LayerNormCache(z_hat=z_hat, s=s, gamma=gamma)


def layernorm_backward(du, cache):
    """Return ∂L/∂z, ∂L/∂γ and ∂L/∂β from ∂L/∂u and the forward cache.

    With g = γ ⊙ ∂L/∂u and bars for means over the d units of a column,
    ∂L/∂z = (g − ḡ − ẑ ⊙ mean(g ⊙ ẑ)) / s. The mean term comes from μ and the
    last term from s, since every entry of z moves both. The parameters'
    gradients sum over the batch: ∂L/∂γ = Σ_n ∂L/∂u ⊙ ẑ, ∂L/∂β = Σ_n ∂L/∂u.

    Parameters
    ----------
    du : ndarray, shape (d, N)
    cache : LayerNormCache

    Returns
    -------
    dz : ndarray, shape (d, N)
    dgamma, dbeta : ndarray, shape (d, 1)
    """
    z_hat, s = cache.z_hat, cache.s
    dbeta = np.sum(du, axis=1, keepdims=True)
    dgamma = np.sum(du * z_hat, axis=1, keepdims=True)
    g = cache.gamma * du
    g_mean = np.mean(g, axis=0, keepdims=True)
    gz_mean = np.mean(g * z_hat, axis=0, keepdims=True)
    dz = (g - g_mean - z_hat * gz_mean) / s
    return dz, dgamma, dbeta


def layernorm_tensor(z, gamma, beta, eps=LAYER_NORM_EPS):
    """Layer normalization built from ``bpcourse.autodiff`` operations.

    The same computation as ``layernorm_forward``, so that ``backward`` on a
    loss of its output differentiates it automatically.

    Parameters
    ----------
    z, gamma, beta : Tensor or array_like
        Shapes (d, N), (d, 1) and (d, 1).

    Returns
    -------
    Tensor, shape (d, N)
    """
    from bpcourse.autodiff import as_tensor, mean

    z = as_tensor(z)
    centred = z - mean(z, axis=0, keepdims=True)
    v = mean(centred * centred, axis=0, keepdims=True)
    z_hat = centred / (v + eps) ** 0.5
    return gamma * z_hat + beta


def central_differences(function, array, h=1e-6):
    """Estimate the gradient of a scalar ``function()`` with respect to ``array``.

    Every entry is moved by ±h in place and restored:
    (f(θ + h e_i) − f(θ − h e_i)) / 2h. Use float64: in float32 the rounding error
    of the difference, about ε/h, swamps the estimate.

    Parameters
    ----------
    function : callable
        Takes no arguments and reads ``array``; returns a number.
    array : ndarray
        Changed during the call, left exactly as it was afterwards.
    h : float

    Returns
    -------
    ndarray of the shape of ``array``
    """
    gradient = np.zeros(array.shape, dtype=np.float64)
    for index in np.ndindex(array.shape):
        original = array[index]
        try:
            array[index] = original + h
            plus = float(function())
            array[index] = original - h
            minus = float(function())
        finally:
            array[index] = original
        gradient[index] = (plus - minus) / (2 * h)
    return gradient


# A network with residual connections and layer normalization ---------------------


@dataclass
class DeepCache(Cache):
    """Forward values of a ``DeepNetwork`` that its backward pass reads.

    Attributes
    ----------
    z, a : list of ndarray
        As in ``Cache``: ``z[l]`` is z^{l+1}, ``a[0]`` is X, ``a[l + 1]`` is a^{l+1}.
    u : list of ndarray
        ``u[l]`` is what σ of layer l + 1 receives: the normalized
        γ ⊙ ẑ + β, or ``z[l]`` itself in a layer without normalization.
    norm : list of LayerNormCache or None
    """

    u: list = None
    norm: list = None


@dataclass
class DeepGradients(Gradients):
    """``Gradients`` plus ∂L/∂γ and ∂L/∂β of the normalized layers (None elsewhere)."""

    dgamma: list = None
    dbeta: list = None

    def as_list(self):
        """Return the gradients in the order of ``DeepNetwork.parameters()``."""
        grads = []
        for l, (dW, db) in enumerate(zip(self.dW, self.db)):
            grads += [dW, db]
            if self.dgamma is not None and self.dgamma[l] is not None:
                grads += [self.dgamma[l], self.dbeta[l]]
        return grads


class DeepNetwork(Network):
    """A ``Network`` whose hidden layers may be residual and layer-normalized.

    Parameters
    ----------
    sizes, activation, output, loss, seed, dtype
        As for ``Network``.
    init : str or callable
        As for ``Network``, plus ``"small"``, ``"xavier"`` and ``"he"`` of
        ``INITIALIZERS``.
    residual : bool
        Add the skip path a^ℓ = a^{ℓ−1} + σ(·) to every hidden layer whose input
        and output widths are equal, d_{ℓ−1} = d_ℓ.
    layer_norm : bool
        Normalize z^ℓ of every hidden layer over its units before σ, with a
        scale γ^ℓ (starting at 1) and a shift β^ℓ (starting at 0), both (d_ℓ, 1).
    eps : float
        The ε of layer normalization.

    The output layer L is never residual nor normalized, so the loss and δᴸ are
    those of ``Network``.
    """

    def __init__(
        self,
        sizes,
        activation="relu",
        output=None,
        loss="cross_entropy",
        init="auto",
        seed=0,
        dtype=np.float64,
        residual=False,
        layer_norm=False,
        eps=LAYER_NORM_EPS,
    ):
        super().__init__(
            sizes, activation, output, loss, get_depth_initializer(init), seed, dtype
        )
        L = self.num_layers
        hidden = [l < L - 1 for l in range(L)]
        self.residual = [
            bool(residual) and hidden[l] and self.sizes[l] == self.sizes[l + 1]
            for l in range(L)
        ]
        self.layer_norm = [bool(layer_norm) and hidden[l] for l in range(L)]
        self.eps = float(eps)
        self.gammas = [
            np.ones((self.sizes[l + 1], 1), dtype=self.dtype) if self.layer_norm[l]
            else None
            for l in range(L)
        ]
        self.betas = [
            np.zeros((self.sizes[l + 1], 1), dtype=self.dtype) if self.layer_norm[l]
            else None
            for l in range(L)
        ]

    def __repr__(self):
        return (
            super().__repr__()[:-1]
            + f", residual={any(self.residual)}, layer_norm={any(self.layer_norm)})"
        ).replace("Network(", "DeepNetwork(", 1)

    def parameters(self):
        """Return ``[W1, b1, (γ1, β1), W2, b2, …]``, γ and β for normalized layers only."""
        params = []
        for l in range(self.num_layers):
            params += [self.weights[l], self.biases[l]]
            if self.layer_norm[l]:
                params += [self.gammas[l], self.betas[l]]
        return params

    def parameter_names(self):
        """Return the names of ``parameters()`` in order: W1, b1, then γ1, β1 where normalized."""
        names = []
        for l in range(1, self.num_layers + 1):
            names += [f"W{l}", f"b{l}"]
            if self.layer_norm[l - 1]:
                names += [f"γ{l}", f"β{l}"]
        return names

    def astype(self, dtype):
        """Return an independent ``DeepNetwork`` copy whose parameters are of ``dtype``."""
        clone = super().astype(dtype)
        deep = object.__new__(type(self))
        deep.__dict__.update(clone.__dict__)
        deep.residual = list(self.residual)
        deep.layer_norm = list(self.layer_norm)
        deep.eps = self.eps
        deep.gammas = [None if g is None else g.astype(deep.dtype) for g in self.gammas]
        deep.betas = [None if b is None else b.astype(deep.dtype) for b in self.betas]
        return deep

    def forward(self, X):
        """Run the forward pass, keeping every z^ℓ, u^ℓ and a^ℓ.

        Returns
        -------
        output : ndarray, shape (d_L, N)
        cache : DeepCache
        """
        a = self._check_inputs(X)
        cache = DeepCache(z=[], a=[a], u=[], norm=[])
        for l, (W, b, activation) in enumerate(
            zip(self.weights, self.biases, self.activations)
        ):
            z = W @ a + b
            if self.layer_norm[l]:
                u, norm = layernorm_forward(z, self.gammas[l], self.betas[l], self.eps)
            else:
                u, norm = z, None
            h = activation(u)
            a = a + h if self.residual[l] else h
            cache.z.append(z)
            cache.u.append(u)
            cache.norm.append(norm)
            cache.a.append(a)
        return a, cache

    def backward(self, cache, Y):
        """Run the backward pass through skip paths and normalizations.

        With ∂L/∂a^ℓ the gradient reaching a^ℓ, every hidden layer computes
        ∂L/∂u^ℓ = ∂L/∂a^ℓ ⊙ σ′(u^ℓ), then δ^ℓ = ∂L/∂z^ℓ by ``layernorm_backward``
        (or δ^ℓ = ∂L/∂u^ℓ without normalization), and hands on
        ∂L/∂a^{ℓ−1} = (W^ℓ)ᵀ δ^ℓ, plus ∂L/∂a^ℓ itself when the layer is residual.

        Returns
        -------
        DeepGradients
        """
        L = self.num_layers
        loss, delta = self._loss_and_output_error(cache, Y)
        deltas = [None] * L
        dW = [None] * L
        db = [None] * L
        dgamma = [None] * L
        dbeta = [None] * L
        deltas[L - 1] = delta
        da = None  # ∂L/∂a^{l+1}, the gradient reaching the output of layer l + 1
        for l in range(L - 1, -1, -1):
            dW[l] = deltas[l] @ cache.a[l].T
            db[l] = np.sum(deltas[l], axis=1, keepdims=True)
            if l > 0:
                da_prev = self.weights[l].T @ deltas[l]
                if self.residual[l]:
                    da_prev = da_prev + da
                du = da_prev * self.activations[l - 1].derivative(cache.u[l - 1])
                if self.layer_norm[l - 1]:
                    deltas[l - 1], dgamma[l - 1], dbeta[l - 1] = layernorm_backward(
                        du, cache.norm[l - 1]
                    )
                else:
                    deltas[l - 1] = du
                da = da_prev
        return DeepGradients(
            dW=dW, db=db, delta=deltas, loss=loss, dgamma=dgamma, dbeta=dbeta
        )

    def update(self, grads, lr):
        """Take one gradient-descent step on W, b and, where present, γ and β."""
        super().update(grads, lr)
        lr = _check_learning_rate(lr)
        for l in range(self.num_layers):
            if self.layer_norm[l]:
                self.gammas[l] -= lr * grads.dgamma[l]
                self.betas[l] -= lr * grads.dbeta[l]


def deep_loss_tensor(net, X, Y):
    """Build the loss of a ``DeepNetwork`` (or a ``Network``) from autodiff tensors.

    The forward pass of ``DeepNetwork.forward`` runs on ``bpcourse.autodiff``
    tensors that wrap the network's own arrays, with a softmax cross-entropy
    output. ``loss.backward()`` then gives every gradient by automatic
    differentiation.

    Returns
    -------
    loss : Tensor, shape ()
    params : list of Tensor
        In the order of ``net.parameters()``, with ``grad`` filled by
        ``loss.backward()``.
    """
    from bpcourse.autodiff import Tensor, softmax_cross_entropy
    from bpcourse.autodiff.mlp import ACTIVATIONS

    if net.loss_name != "cross_entropy":
        raise ValueError(
            f"deep_loss_tensor builds a cross-entropy loss; the network's loss is "
            f"{net.loss_name!r}"
        )
    L = net.num_layers
    residual = getattr(net, "residual", [False] * L)
    layer_norm = getattr(net, "layer_norm", [False] * L)
    params = [Tensor(p, name=f"p{i}") for i, p in enumerate(net.parameters())]
    a = Tensor(np.asarray(X, dtype=net.dtype), requires_grad=False, name="X")
    position = 0
    for l in range(L):
        W, b = params[position], params[position + 1]
        position += 2
        z = W @ a + b
        if l == L - 1:
            return softmax_cross_entropy(z, Y), params
        if layer_norm[l]:
            gamma, beta = params[position], params[position + 1]
            position += 2
            z = layernorm_tensor(z, gamma, beta, net.eps)
        h = ACTIVATIONS[net.activations[l].name](z)
        a = a + h if residual[l] else h
    raise AssertionError("unreachable: the loop returns at the output layer")
