r"""Elementwise operations, each with its vector–Jacobian product beside it.

For an operation y = f(x) and the gradient g = ∂L/∂y of the backward pass, the
VJP returns ∂L/∂x = g ⊙ f′(x) for elementwise f. Binary operations broadcast
their inputs as numpy does. An input that was broadcast was used once per copy,
so its gradient is the sum of g over the broadcast axes (``unbroadcast``).

Subtraction, division and negation of constants are derived from the
primitives, so they need no derivative of their own:
x − y = x + (−y) and x / y = x · y^{−1}.
"""

import numpy as np

from bpcourse.autodiff.graph import record_op
from bpcourse.autodiff.tensor import Tensor, as_tensor, as_tensors

#: The slope of ``leaky_relu`` for x ≤ 0, the value of ``bpcourse.activations``.
LEAKY_RELU_SLOPE = 0.01


def unbroadcast(g, shape):
    """Sum ``g`` over the axes that broadcasting added or stretched from 1.

    Parameters
    ----------
    g : ndarray
        A gradient of the broadcast shape.
    shape : tuple of int
        The shape of the input before broadcasting.

    Returns
    -------
    ndarray of shape ``shape``

    >>> unbroadcast(np.ones((3, 5)), (3, 1))
    array([[5.],
           [5.],
           [5.]])
    """
    if g.shape == shape:
        return g
    added = g.ndim - len(shape)
    axes = tuple(range(added)) + tuple(
        added + i
        for i, size in enumerate(shape)
        if size == 1 and g.shape[added + i] != 1
    )
    return g.sum(axis=axes, keepdims=True).reshape(shape)


# Binary operations --------------------------------------------------------------


def add(a, b):
    """Add a + b, broadcasting. Both VJPs pass g on, summed over broadcast axes."""
    a, b = as_tensors(a, b)
    out = a._data + b._data

    def vjp(g):
        return (
            unbroadcast(g, a._data.shape) if a.requires_grad else None,
            unbroadcast(g, b._data.shape) if b.requires_grad else None,
        )

    return record_op(out, "add", (a, b), vjp)


def multiply(a, b):
    """Multiply a ⊙ b, broadcasting. ∂L/∂a = g ⊙ b and ∂L/∂b = g ⊙ a."""
    a, b = as_tensors(a, b)
    out = a._data * b._data

    def vjp(g):
        return (
            unbroadcast(g * b._data, a._data.shape) if a.requires_grad else None,
            unbroadcast(g * a._data, b._data.shape) if b.requires_grad else None,
        )

    return record_op(out, "mul", (a, b), vjp, saved=(a, b))


def power(base, exponent):
    """Raise base ** exponent, broadcasting.

    With a constant number p as exponent, ∂L/∂x = g ⊙ p x^{p−1}. With a tensor
    exponent y, also ∂L/∂y = g ⊙ x^y ln x, which needs x > 0 where y requires a
    gradient.
    """
    if not isinstance(exponent, Tensor) and np.ndim(exponent) == 0:
        return _power_constant(as_tensor(base), float(exponent))
    base, exponent = as_tensors(base, exponent)
    x, y = base._data, exponent._data
    out = x**y

    def vjp(g):
        return (
            unbroadcast(g * y * x ** (y - 1), x.shape) if base.requires_grad else None,
            unbroadcast(g * out * np.log(x), y.shape)
            if exponent.requires_grad
            else None,
        )

    return record_op(
        out, "pow", (base, exponent), vjp, saved=(base, exponent), saves_output=True
    )


def _power_constant(x, p):
    # The exponent is a number, not a parent, so the graph shows it in the name.
    out = x._data**p

    def vjp(g):
        if p == 0:
            # x⁰ = 1 is constant, also at x = 0 where x^{−1} would be inf.
            return (np.zeros_like(g),)
        if p == 2:
            return (g * (2 * x._data),)
        return (g * (p * x._data ** (p - 1)),)

    return record_op(out, f"pow {p:g}", (x,), vjp, saved=(x,))


def negative(x):
    """Negate x. ∂L/∂x = −g. A constant is negated without a graph node."""
    if not isinstance(x, Tensor):
        return as_tensor(-np.asarray(x))

    def vjp(g):
        return (-g,)

    return record_op(-x._data, "neg", (x,), vjp)


def subtract(a, b):
    """Subtract a − b as a + (−b)."""
    a, b = as_tensors(a, b)
    return add(a, negative(b))


def divide(a, b):
    """Divide a / b as a · b^{−1}, or as a · (1/b) when b is a number."""
    if not isinstance(b, Tensor) and np.ndim(b) == 0:
        return multiply(a, 1.0 / np.float64(b))
    a, b = as_tensors(a, b)
    return multiply(a, power(b, -1))


# Unary operations ---------------------------------------------------------------


def exp(x):
    """Apply e^x. ∂L/∂x = g ⊙ e^x, which reuses the output."""
    x = as_tensor(x)
    out = np.exp(x._data)

    def vjp(g):
        return (g * out,)

    return record_op(out, "exp", (x,), vjp, saves_output=True)


def log(x):
    """Take ln x. ∂L/∂x = g / x."""
    x = as_tensor(x)
    out = np.log(x._data)

    def vjp(g):
        return (g / x._data,)

    return record_op(out, "log", (x,), vjp, saved=(x,))


def tanh(x):
    """Apply tanh x. ∂L/∂x = g ⊙ (1 − tanh² x), which reuses the output."""
    x = as_tensor(x)
    out = np.tanh(x._data)

    def vjp(g):
        return (g * (1 - out * out),)

    return record_op(out, "tanh", (x,), vjp, saves_output=True)


def sigmoid(x):
    """Apply σ(x) = 1 / (1 + e^{−x}). ∂L/∂x = g ⊙ σ(x)(1 − σ(x)).

    σ(x) = exp(−ln(1 + e^{−x})), and ``logaddexp(0, −x)`` computes
    ln(1 + e^{−x})
    without overflow for any x, so no exponential overflows.
    """
    x = as_tensor(x)
    out = np.exp(-np.logaddexp(0, -x._data))

    def vjp(g):
        return (g * (out * (1 - out)),)

    return record_op(out, "sigmoid", (x,), vjp, saves_output=True)


def softplus(x):
    """Apply softplus, ln(1 + e^x), without overflow. ∂L/∂x = g ⊙ σ(x)."""
    x = as_tensor(x)
    out = np.logaddexp(0, x._data)

    def vjp(g):
        return (g * np.exp(-np.logaddexp(0, -x._data)),)

    return record_op(out, "softplus", (x,), vjp, saved=(x,))


def relu(x):
    """Apply ReLU, max(x, 0). ∂L/∂x = g where x > 0, else 0 (at the kink x = 0 too)."""
    x = as_tensor(x)
    out = np.maximum(x._data, 0)

    def vjp(g):
        return (g * (out > 0),)

    return record_op(out, "relu", (x,), vjp, saves_output=True)


def leaky_relu(x, slope=LEAKY_RELU_SLOPE):
    """Apply leaky ReLU: x for x > 0, else slope · x.

    ∂L/∂x = g where x > 0, else slope · g.
    """
    x = as_tensor(x)
    positive = x._data > 0
    out = np.where(positive, x._data, slope * x._data)

    def vjp(g):
        return (np.where(positive, g, slope * g),)

    # The VJP reads the mask taken now, not x, so it saves nothing.
    return record_op(out, "leaky_relu", (x,), vjp)
