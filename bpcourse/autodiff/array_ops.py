"""Operations on whole arrays: matrix products, shapes, indexing and reductions.

Each forward computation sits beside its vector–Jacobian product (VJP). The
rules are those of the course's layer equations: for z = W a,
∂L/∂W = g aᵀ and ∂L/∂a = Wᵀ g; a reduction copies g back over the axes it
summed; indexing scatters g back to the entries it read.
"""

import builtins

import numpy as np

from bpcourse.autodiff.graph import record_op
from bpcourse.autodiff.ops import multiply, unbroadcast
from bpcourse.autodiff.tensor import Tensor, as_tensor, as_tensors, describe


def matmul(a, b):
    """Multiply matrices, a @ b, with numpy's rules for 1-D and stacked operands.

    For 2-D operands, ∂L/∂a = g bᵀ and ∂L/∂b = aᵀ g.

    Parameters
    ----------
    a : Tensor or array_like, shape (..., n, k) or (k,)
    b : Tensor or array_like, shape (..., k, m) or (k,)

    Returns
    -------
    Tensor, shape (..., n, m)

    Raises
    ------
    ValueError
        When the inner dimensions differ or an operand is 0-dimensional.
    """
    a, b = as_tensors(a, b)
    _check_matmul_shapes(a, b)
    out = a._data @ b._data

    if a._data.ndim == 2 and b._data.ndim == 2:

        def vjp(g):
            return (
                g @ b._data.T if a.requires_grad else None,
                a._data.T @ g if b.requires_grad else None,
            )

    else:

        def vjp(g):
            return _matmul_vjp_general(a, b, g)

    return record_op(out, "matmul", (a, b), vjp, saved=(a, b))


def _matmul_vjp_general(a, b, g):
    x, y = a._data, b._data
    if x.ndim == 1 and y.ndim == 1:
        return (g * y if a.requires_grad else None, g * x if b.requires_grad else None)
    # Promote vectors to a row (for a) or a column (for b), as numpy's matmul
    # does, and give g the matching axis of length 1.
    if x.ndim == 1:
        x = x[np.newaxis, :]
        g = np.expand_dims(g, -2)
    if y.ndim == 1:
        y = y[:, np.newaxis]
        g = np.expand_dims(g, -1)
    grad_a = grad_b = None
    if a.requires_grad:
        grad_a = unbroadcast(g @ np.swapaxes(y, -1, -2), x.shape).reshape(a.shape)
    if b.requires_grad:
        grad_b = unbroadcast(np.swapaxes(x, -1, -2) @ g, y.shape).reshape(b.shape)
    return grad_a, grad_b


def _check_matmul_shapes(a, b):
    if a._data.ndim == 0 or b._data.ndim == 0:
        raise ValueError(
            f"matmul needs operands with at least one dimension, but got "
            f"{describe(a)} and {describe(b)}: use * to multiply by a scalar"
        )
    inner_a = a._data.shape[-1]
    inner_b = b._data.shape[0] if b._data.ndim == 1 else b._data.shape[-2]
    if inner_a != inner_b:
        raise ValueError(
            f"matmul of {describe(a)} and {describe(b)}: the inner dimensions "
            f"{inner_a} and {inner_b} differ. In W @ a, W has shape (d_ℓ, d_ℓ−1) "
            "and a has shape (d_ℓ−1, N); check the order of the operands or "
            "whether one needs .T"
        )


def transpose(x, axes=None):
    """Permute the axes, or reverse them when ``axes`` is None.

    The output is a view of x. The VJP applies the inverse permutation to g.
    """
    x = as_tensor(x)
    if axes is None:
        inverse = None
    else:
        axes = tuple(int(axis) % builtins.max(x.ndim, 1) for axis in axes)
        if sorted(axes) != list(range(x.ndim)):
            raise ValueError(
                f"axes {axes} is not a permutation of the {x.ndim} axes of "
                f"{describe(x)}: give each of 0 … {x.ndim - 1} once"
            )
        inverse = tuple(np.argsort(axes))
    out = np.transpose(x._data, axes)

    def vjp(g):
        return (np.transpose(g, inverse),)

    return record_op(out, "transpose", (x,), vjp, view_of=x)


def reshape(x, shape):
    """Return the same entries in another shape. The VJP reshapes g back."""
    x = as_tensor(x)
    try:
        out = x._data.reshape(shape)
    except ValueError as error:
        raise ValueError(
            f"cannot reshape {describe(x)}, which has {x.size} entries, into shape "
            f"{tuple(shape)}: the number of entries must stay the same"
        ) from error

    def vjp(g):
        return (g.reshape(x._data.shape),)

    view_of = x if np.may_share_memory(out, x._data) else None
    return record_op(out, "reshape", (x,), vjp, view_of=view_of)


def getitem(x, index):
    """Select x[index]. The VJP adds g into a zero array at the entries read.

    An entry read several times (``x[[0, 0]]``) receives the sum of its
    gradients: ``np.add.at`` accumulates over repeated indices, where a plain
    assignment would keep only the last.
    """
    x = as_tensor(x)
    index = _plain_index(index)
    out = x._data[index]
    basic = _is_basic(index)

    def vjp(g):
        grad = np.zeros_like(x._data)
        if basic:
            # Basic indices (ints, slices) cannot repeat an entry.
            grad[index] = g
        else:
            np.add.at(grad, index, g)
        return (grad,)

    view_of = x if np.may_share_memory(out, x._data) else None
    return record_op(out, "index", (x,), vjp, view_of=view_of)


def _plain_index(index):
    """Replace tensors inside an index by integer (or boolean) arrays."""
    if isinstance(index, tuple):
        return tuple(_plain_index(part) for part in index)
    if isinstance(index, Tensor):
        return index._data.astype(np.intp)
    return index


def _is_basic(index):
    parts = index if isinstance(index, tuple) else (index,)
    return all(
        part is None
        or part is Ellipsis
        or (
            isinstance(part, (slice, int, np.integer))
            and not isinstance(part, (bool, np.bool_))
        )
        for part in parts
    )


def sum(x, axis=None, keepdims=False):
    """Sum over ``axis``. The VJP copies g back over the summed axes.

    Parameters
    ----------
    x : Tensor or array_like
    axis : int, tuple of int or None
        The axes to sum over; None sums all of them.
    keepdims : bool
        Keep the summed axes with length 1, so (3, 5) summed over axis 1 is
        (3, 1) instead of (3,).
    """
    x = as_tensor(x)
    axes = _normalize_axes(axis, x)
    out = x._data.sum(axis=axes, keepdims=keepdims)

    def vjp(g):
        if not keepdims:
            g = np.expand_dims(g, axes)
        return (np.broadcast_to(g, x._data.shape),)

    return record_op(out, "sum", (x,), vjp)


def mean(x, axis=None, keepdims=False):
    """Average over ``axis``: the sum times 1/n, for n entries per mean."""
    x = as_tensor(x)
    axes = _normalize_axes(axis, x)
    count = int(np.prod([x.shape[axis] for axis in axes]))
    if count == 0:
        raise ValueError(
            f"the mean over axis {axis} of {describe(x)} has no entries to average"
        )
    return multiply(sum(x, axes, keepdims), 1.0 / count)


def _normalize_axes(axis, x):
    ndim = x._data.ndim
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    normalized = []
    for value in axes:
        if not -ndim <= value < ndim:
            raise ValueError(
                f"axis {value} is out of range for {describe(x)}: valid axes are "
                f"{-ndim} … {ndim - 1}"
            )
        normalized.append(int(value) % ndim)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"axis {axis} repeats an axis of {describe(x)}")
    return tuple(normalized)
