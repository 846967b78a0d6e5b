r"""Activation functions σ and their derivatives σ′, written in terms of z.

Each activation keeps its function and its derivative side by side. All of them
act on arrays of pre-activations z of shape (d_ℓ, N) and keep the dtype of z.

>>> import numpy as np
>>> from bpcourse.activations import get_activation
>>> sigmoid = get_activation("sigmoid")
>>> float(sigmoid.derivative(np.array(0.0)))
0.25
"""

from dataclasses import dataclass
from typing import Callable

import numpy as np

#: Slope of leaky ReLU for z < 0, the value most libraries use by default.
LEAKY_RELU_SLOPE = 0.01


@dataclass(frozen=True)
class Activation:
    """An activation σ with its derivative σ′(z).

    Attributes
    ----------
    name : str
        The name it is looked up by.
    function : callable
        σ(z), elementwise unless ``elementwise`` is False.
    derivative : callable
        σ′(z) for elementwise activations; for softmax, the Jacobian of every
        column, shape (K, K, N).
    kinked : bool
        True when σ is not differentiable at z = 0 (ReLU, leaky ReLU), so a finite
        difference across 0 does not estimate σ′.
    elementwise : bool
        False for softmax, whose outputs each depend on the whole column.
    """

    name: str
    function: Callable[[np.ndarray], np.ndarray]
    derivative: Callable[[np.ndarray], np.ndarray]
    kinked: bool = False
    elementwise: bool = True

    def __call__(self, z):
        return self.function(z)

    def vjp(self, z, a, upstream):
        """Return ``upstream`` times the Jacobian of σ at z: ∂L/∂z from ∂L/∂a.

        Parameters
        ----------
        z, a, upstream : ndarray, shape (d, N)
            Pre-activation, activation σ(z) and ∂L/∂a.
        """
        if self.elementwise:
            return upstream * self.derivative(z)
        # Softmax: (J^T u)_i = a_i (u_i − Σ_k a_k u_k) for each column.
        return a * (upstream - np.sum(upstream * a, axis=0, keepdims=True))


def sigmoid(z):
    """σ(z) = 1 / (1 + e^{−z}), with no overflow for large |z|.

    e^{−|z|} never exceeds 1, so no exponential can overflow; the two branches
    are the same function rearranged for z ≥ 0 and z < 0.
    """
    z = np.asarray(z)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_derivative(z):
    """σ′(z) = σ(z)(1 − σ(z))."""
    s = sigmoid(z)
    return s * (1 - s)


def tanh(z):
    """tanh(z)."""
    return np.tanh(z)


def tanh_derivative(z):
    """tanh′(z) = 1 − tanh²(z)."""
    t = np.tanh(z)
    return 1 - t * t


def relu(z):
    """ReLU(z) = max(z, 0)."""
    z = np.asarray(z)
    return np.maximum(z, 0)


def relu_derivative(z):
    """ReLU′(z) = 1 for z > 0, else 0 (the value 0 is taken at z = 0)."""
    z = np.asarray(z)
    return (z > 0).astype(z.dtype)


def leaky_relu(z):
    """Leaky ReLU: z for z > 0, else ``LEAKY_RELU_SLOPE`` · z."""
    z = np.asarray(z)
    return np.where(z > 0, z, LEAKY_RELU_SLOPE * z)


def leaky_relu_derivative(z):
    """1 for z > 0, else ``LEAKY_RELU_SLOPE`` (that value is taken at z = 0)."""
    z = np.asarray(z)
    return np.where(z > 0, 1, LEAKY_RELU_SLOPE).astype(z.dtype)


def identity(z):
    """identity(z) = z."""
    return np.asarray(z)


def identity_derivative(z):
    """identity′(z) = 1."""
    return np.ones_like(z)


def softmax(z):
    """Softmax of each column: exp(z_k) / Σ_j exp(z_j), for z of shape (K, N).

    Subtracting the column maximum first leaves the result unchanged and keeps
    every exponent ≤ 0, so nothing overflows.
    """
    z = np.asarray(z)
    if z.ndim == 1:
        z = z[:, None]
        return softmax(z)[:, 0]
    shifted = z - np.max(z, axis=0, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=0, keepdims=True)


def softmax_derivative(z):
    """Jacobian of softmax for every column: J[i, j, n] = a_i (δ_ij − a_j).

    Returns an array of shape (K, K, N) for z of shape (K, N).
    """
    a = softmax(np.asarray(z).reshape(len(z), -1))
    K = a.shape[0]
    eye = np.eye(K, dtype=a.dtype)[:, :, None]
    return a[:, None, :] * (eye - a[None, :, :])


ACTIVATIONS = {
    "sigmoid": Activation("sigmoid", sigmoid, sigmoid_derivative),
    "tanh": Activation("tanh", tanh, tanh_derivative),
    "relu": Activation("relu", relu, relu_derivative, kinked=True),
    "leaky_relu": Activation(
        "leaky_relu", leaky_relu, leaky_relu_derivative, kinked=True
    ),
    "identity": Activation("identity", identity, identity_derivative),
    "softmax": Activation(
        "softmax", softmax, softmax_derivative, elementwise=False
    ),
}


def get_activation(name):
    """Look up an activation by name, or pass an ``Activation`` through.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid ones.
    """
    if isinstance(name, Activation):
        return name
    if not isinstance(name, str) or name not in ACTIVATIONS:
        valid = ", ".join(sorted(ACTIVATIONS))
        raise ValueError(f"unknown activation {name!r}: valid names are {valid}")
    return ACTIVATIONS[name]
