r"""Losses of a batch and their output error δᴸ = ∂L/∂zᴸ.

Every loss is the **mean over the N examples** of a batch, so every δᴸ carries a
factor 1/N. Each loss is paired with the output activation it is fused with:

==========================  ==============  ============================
loss                        output f_out    δᴸ
==========================  ==============  ============================
``cross_entropy``           softmax         (ŷ − y) / N
``binary_cross_entropy``    sigmoid         (ŷ − y) / N
``mse``                     any             (ŷ − y) ⊙ f′(zᴸ) / N
==========================  ==============  ============================

The fused losses are computed from the logits zᴸ with log-sum-exp, so the loss
and δᴸ stay finite for logits of any magnitude.
"""

from dataclasses import dataclass
from typing import Callable

import numpy as np

from bpcourse.activations import get_activation
from bpcourse._validate import as_array


def log_softmax(z):
    """log softmax of each column of z (shape (K, N)), by log-sum-exp."""
    shifted = z - np.max(z, axis=0, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=0, keepdims=True))


def targets_as_columns(Y, num_outputs, num_examples, dtype, loss_name):
    """Return targets as an array of shape (K, N) in ``dtype``.

    Integer class labels of shape (N,) become one-hot columns when K > 1; with a
    single output unit (K = 1), a vector of shape (N,) is read as one row of
    targets. Raises ``ValueError`` for a shape or a label that does not fit.
    """
    Y = as_array(Y, "Y")
    K, N = num_outputs, num_examples
    if Y.ndim == 1:
        if Y.shape[0] != N:
            raise ValueError(
                f"Y has {Y.shape[0]} labels but X has N = {N} examples (columns): "
                "pass one label per column of X"
            )
        if K == 1:
            return Y.reshape(1, N).astype(dtype, copy=False)
        if not (np.issubdtype(Y.dtype, np.integer) or _is_whole(Y)):
            raise ValueError(
                f"Y has shape ({N},) with non-integer values but the network has "
                f"K = {K} outputs: pass integer class labels in 0 … {K - 1} or "
                f"one-hot columns of shape ({K}, N)"
            )
        labels = Y.astype(np.int64)
        bad = (labels < 0) | (labels >= K)
        if bad.any():
            value = labels[np.argmax(bad)]
            raise ValueError(
                f"label {value} is out of range for {K} classes: labels must be in "
                f"0 … {K - 1}"
            )
        onehot = np.zeros((K, N), dtype=dtype)
        onehot[labels, np.arange(N)] = 1
        return onehot
    if Y.ndim == 2:
        if Y.shape == (N, K) and K != N:
            raise ValueError(
                f"Y has shape {Y.shape} but {loss_name} expects ({K}, N) = "
                f"({K}, {N}): examples are columns, pass Y.T"
            )
        if Y.shape != (K, N):
            raise ValueError(
                f"Y has shape {Y.shape} but {loss_name} expects ({K}, N) = "
                f"({K}, {N}), or class labels of shape (N,) = ({N},)"
            )
        return Y.astype(dtype, copy=False)
    raise ValueError(
        f"Y has {Y.ndim} dimensions (shape {Y.shape}): expected labels of shape "
        f"(N,) or targets of shape (K, N)"
    )


def _is_whole(values):
    return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))


@dataclass(frozen=True)
class Loss:
    """A loss of a batch with its output error.

    Attributes
    ----------
    name : str
    output : str or None
        The output activation the loss is fused with, or None for any.
    value_and_delta : callable
        ``(zL, aL, Y, output_activation) -> (loss, deltaL)`` with Y of shape (K, N);
        ``loss`` is a Python float and ``deltaL`` has the shape of zL.
    """

    name: str
    output: str | None
    value_and_delta: Callable


def _cross_entropy(zL, aL, Y, output_activation):
    N = zL.shape[1]
    log_probs = log_softmax(zL)
    loss = -np.sum(Y * log_probs) / N
    delta = (aL - Y) / N
    return float(loss), delta


def _binary_cross_entropy(zL, aL, Y, output_activation):
    # −[y log σ(z) + (1 − y) log(1 − σ(z))] = max(z, 0) − y z + log(1 + e^{−|z|}),
    # which needs no log of a probability that rounds to 0.
    N = zL.shape[1]
    per_entry = np.maximum(zL, 0) - Y * zL + np.log1p(np.exp(-np.abs(zL)))
    loss = np.sum(per_entry) / N
    delta = (aL - Y) / N
    return float(loss), delta


def _mean_squared_error(zL, aL, Y, output_activation):
    # L = (1/N) Σ_n ½ ‖ŷ_n − y_n‖², so that δᴸ = (ŷ − y) ⊙ f′(zᴸ) / N.
    N = zL.shape[1]
    error = aL - Y
    loss = 0.5 * np.sum(error * error) / N
    delta = output_activation.vjp(zL, aL, error) / N
    return float(loss), delta


LOSSES = {
    "cross_entropy": Loss("cross_entropy", "softmax", _cross_entropy),
    "binary_cross_entropy": Loss(
        "binary_cross_entropy", "sigmoid", _binary_cross_entropy
    ),
    "mse": Loss("mse", None, _mean_squared_error),
}

#: The output activation a network gets for each loss unless one is given.
DEFAULT_OUTPUT = {
    "cross_entropy": "softmax",
    "binary_cross_entropy": "sigmoid",
    "mse": "identity",
}


def get_loss(name):
    """Look up a loss by name; an unknown name raises ``ValueError`` listing them."""
    if isinstance(name, Loss):
        return name
    if not isinstance(name, str) or name not in LOSSES:
        valid = ", ".join(sorted(LOSSES))
        raise ValueError(f"unknown loss {name!r}: valid names are {valid}")
    return LOSSES[name]


def _prepare(z, Y, loss_name):
    z = as_array(z, "z")
    if not np.issubdtype(z.dtype, np.floating):
        z = z.astype(np.float64)
    if z.ndim == 1:
        z = z[:, None]
        Y = np.atleast_1d(Y)
    if z.ndim != 2 or z.shape[1] == 0:
        raise ValueError(
            f"z has shape {z.shape}: expected logits of shape (K, N) with N ≥ 1"
        )
    Y = targets_as_columns(Y, z.shape[0], z.shape[1], z.dtype, loss_name)
    return z, Y


def softmax_cross_entropy(z, Y):
    """Mean cross-entropy of softmax(z) against Y, and δᴸ = (softmax(z) − Y)/N.

    Parameters
    ----------
    z : ndarray, shape (K, N)
        Logits, one column per example; a vector of shape (K,) is one example.
    Y : ndarray, shape (N,) of int, or shape (K, N)
        Class labels or one-hot (or probability) columns.

    Returns
    -------
    loss : float
    delta : ndarray, shape (K, N)
    """
    z, Y = _prepare(z, Y, "cross_entropy")
    return _cross_entropy(z, get_activation("softmax")(z), Y, None)


def binary_cross_entropy(z, Y):
    """Mean binary cross-entropy of σ(z) against 0/1 targets Y, and δᴸ."""
    z, Y = _prepare(z, Y, "binary_cross_entropy")
    return _binary_cross_entropy(z, get_activation("sigmoid")(z), Y, None)


def mean_squared_error(z, Y, output="identity"):
    """(1/N) Σ_n ½‖f(z_n) − y_n‖² and δᴸ = (f(z) − Y) ⊙ f′(z)/N."""
    z, Y = _prepare(z, Y, "mse")
    f = get_activation(output)
    return _mean_squared_error(z, f(z), Y, f)
