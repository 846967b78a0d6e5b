r"""Softmax and the losses of a batch, as tensors.

Every loss is the mean over the N examples (columns) of a batch, as in
``bpcourse.losses``. Softmax cross-entropy is one fused operation with its own
VJP, (softmax(z) − y)/N, because composing it from ``exp`` and ``log`` would
overflow for large logits. Softmax, binary cross-entropy and mean squared error
are composed of the primitives of ``ops`` and ``array_ops``, so their gradients
come from the chain rule alone.
"""

import numpy as np

from bpcourse.autodiff.array_ops import sum as tensor_sum
from bpcourse.autodiff.graph import record_op
from bpcourse.autodiff.ops import softplus
from bpcourse.autodiff.tensor import Tensor, as_tensor, describe


def softmax(z, axis=0):
    """Compute exp(z_k) / Σ_j exp(z_j) along ``axis``, the axis of the classes.

    Subtracting the maximum of each column first keeps every exponent ≤ 0. The
    shift is a constant of the graph: softmax(z − c) = softmax(z) for any c, so
    the gradient that would flow through c is zero anyway.
    """
    z = as_tensor(z)
    shift = np.max(z.data, axis=axis, keepdims=True)
    e = (z - shift).exp()
    return e / e.sum(axis=axis, keepdims=True)


def softmax_cross_entropy(logits, labels):
    r"""Compute the mean cross-entropy of softmax(logits) against the labels.

    By log-sum-exp, the loss of column n with label k is
    ln Σ_j exp(z_jn − m_n) − (z_kn − m_n), where m_n is the column's maximum.
    No exponent is positive, so the loss is finite for logits of any size. The
    VJP is ∂L/∂z = g (softmax(z) ⊙ Σ_k y_k − y) / N, which is
    (softmax(z) − y) / N for one-hot columns.

    Parameters
    ----------
    logits : Tensor, shape (K, N) or (K,)
        One column of class scores per example; a vector is one example.
    labels : array_like, shape (N,) of int, or (K, N)
        Class indices in 0 … K − 1, or target columns (one-hot or
        probabilities).

    Returns
    -------
    Tensor, shape ()

    Raises
    ------
    ValueError
        When the logits are not (K, N), a label is not in 0 … K − 1, or the
        labels do not match the logits' shape.
    """
    z = as_tensor(logits)
    if z.ndim not in (1, 2) or z.size == 0:
        raise ValueError(
            f"softmax_cross_entropy needs logits of shape (K, N), but got "
            f"{describe(z)}: put the K class scores of each example in a column"
        )
    columns = z.data if z.ndim == 2 else z.data[:, np.newaxis]
    K, N = columns.shape
    labels = _labels(labels, K, N, columns.dtype, "softmax_cross_entropy")

    shifted = columns - columns.max(axis=0, keepdims=True)
    exps = np.exp(shifted)
    totals = exps.sum(axis=0, keepdims=True)
    log_totals = np.log(totals)
    probs = exps / totals
    if labels.ndim == 1:
        columns_index = np.arange(N)
        loss = (log_totals[0] - shifted[labels, columns_index]).sum() / N
    else:
        loss = (labels * (log_totals - shifted)).sum() / N

    def vjp(g):
        if labels.ndim == 1:
            grad = probs.copy()
            grad[labels, columns_index] -= 1
        else:
            grad = probs * np.sum(labels, axis=0, keepdims=True) - labels
        grad *= g / N
        return (grad.reshape(z.data.shape),)

    # The VJP reads probs, computed now, so it saves no tensor.
    return record_op(
        np.asarray(loss, dtype=columns.dtype), "softmax_cross_entropy", (z,), vjp
    )


def binary_cross_entropy(logits, targets):
    r"""Compute the mean binary cross-entropy of σ(logits) against targets in [0, 1].

    Per entry, −[y ln σ(z) + (1 − y) ln(1 − σ(z))] = softplus(z) − y z, which
    takes no logarithm of a probability that rounds to 0. The loss sums the
    entries of each column and averages over the N columns.

    Parameters
    ----------
    logits : Tensor, shape (K, N)
    targets : array_like, shape (K, N), or (N,) when K = 1

    Returns
    -------
    Tensor, shape ()
    """
    z = _loss_input(logits, "binary_cross_entropy")
    K, N = z.shape
    y = _target_columns(targets, K, N, z.dtype, "binary_cross_entropy")
    if np.any((y < 0) | (y > 1)):
        raise ValueError(
            "binary_cross_entropy needs targets in [0, 1], but they range from "
            f"{y.min()} to {y.max()}"
        )
    return tensor_sum(softplus(z) - z * y) * (1.0 / N)


def mean_squared_error(output, targets):
    r"""Compute the mean squared error (1/N) Σ_n ½ ‖ŷ_n − y_n‖².

    Parameters
    ----------
    output : Tensor, shape (K, N)
        The network's output ŷ.
    targets : array_like, shape (K, N), or (N,) when K = 1; labels of shape (N,)
        become one-hot columns when K > 1.

    Returns
    -------
    Tensor, shape ()
    """
    y_hat = _loss_input(output, "mean_squared_error")
    K, N = y_hat.shape
    error = y_hat - _target_columns(targets, K, N, y_hat.dtype, "mean_squared_error")
    return tensor_sum(error * error) * (0.5 / N)


def _loss_input(value, loss_name):
    tensor = as_tensor(value)
    if tensor.ndim != 2 or tensor.size == 0:
        raise ValueError(
            f"{loss_name} needs an input of shape (K, N) with one column per "
            f"example, but got {describe(tensor)}"
        )
    return tensor


def _labels(labels, K, N, dtype, loss_name):
    """Return integer labels of shape (N,) or float target columns (K, N)."""
    labels = labels.data if isinstance(labels, Tensor) else np.asarray(labels)
    if labels.ndim == 0:
        labels = labels.reshape(1)
    if labels.ndim == 2:
        return _target_columns(labels, K, N, dtype, loss_name)
    if labels.ndim != 1 or labels.shape[0] != N:
        raise ValueError(
            f"{loss_name} got labels of shape {labels.shape} for N = {N} examples: "
            f"pass one class index per example, shape ({N},), or target columns "
            f"of shape ({K}, {N})"
        )
    if labels.dtype.kind == "f" and np.all(labels == np.round(labels)):
        labels = labels.astype(np.intp)
    if labels.dtype.kind not in "iu":
        raise ValueError(
            f"{loss_name} got labels of dtype {labels.dtype}: class labels must be "
            f"integers in 0 … {K - 1}, or pass target columns of shape ({K}, {N})"
        )
    bad = (labels < 0) | (labels >= K)
    if bad.any():
        position = int(np.argmax(bad))
        raise ValueError(
            f"label {labels[position]} (example {position}) is not a class of the "
            f"K = {K} logits: labels must be in 0 … {K - 1}"
        )
    return labels


def _target_columns(targets, K, N, dtype, loss_name):
    """Return targets as float columns of shape (K, N)."""
    targets = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
    if targets.ndim == 1 and targets.shape[0] == N:
        if K == 1:
            return targets.reshape(1, N).astype(dtype, copy=False)
        labels = _labels(targets, K, N, dtype, loss_name)
        onehot = np.zeros((K, N), dtype=dtype)
        onehot[labels, np.arange(N)] = 1
        return onehot
    if targets.shape == (N, K) and K != N:
        raise ValueError(
            f"{loss_name} got targets of shape {targets.shape} but needs ({K}, {N}): "
            "examples are columns, so pass the transpose"
        )
    if targets.shape != (K, N):
        raise ValueError(
            f"{loss_name} got targets of shape {targets.shape} but needs ({K}, {N}), "
            f"one column per example, or labels of shape ({N},)"
        )
    if targets.dtype.kind not in "biuf":
        raise ValueError(
            f"{loss_name} got targets of dtype {targets.dtype}: expected numbers"
        )
    return targets.astype(dtype, copy=False)
