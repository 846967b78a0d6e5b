r"""Central differences for any function of arrays, to check a backward pass.

A backward pass computes a vector–Jacobian product: from G = ∂L/∂output it
returns ∂L/∂input. To check it without a loss, take the scalar

.. math::

    L(x) = \sum_{\text{entries}} f(x) \odot G

for a fixed random G. Its gradient is exactly the VJP of G, and its central
differences (L(x + h e_i) − L(x − h e_i)) / 2h estimate every entry of that
gradient with an error of O(h²) plus rounding of about ε |L| / h.
"""

import numpy as np

#: Step of the central differences, near ε^(1/3) for float64, where the O(h²)
#: truncation error and the ε/h rounding error are about equal.
DEFAULT_H = 1e-5


def numerical_gradient(f, x, h=DEFAULT_H):
    """Return the central-difference estimate of ∂f/∂x for every entry of x.

    Parameters
    ----------
    f : callable
        ``f()`` returns a number computed from the current entries of x.
    x : ndarray of float64
        Perturbed in place, one entry at a time, and restored afterwards.
    h : float

    Returns
    -------
    ndarray of the shape of x
    """
    if x.dtype != np.float64:
        raise TypeError(
            f"x has dtype {x.dtype}: central differences need float64, where "
            "h = 1e-5 is far above the rounding error"
        )
    grad = np.zeros_like(x)
    flat, flat_grad = x.reshape(-1), grad.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("x must be contiguous, so that its entries can be perturbed")
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + h
        plus = f()
        flat[i] = saved - h
        minus = f()
        flat[i] = saved
        flat_grad[i] = (plus - minus) / (2 * h)
    return grad


def relative_error(a, b):
    """Return ‖a − b‖ / (‖a‖ + ‖b‖), or 0 when both are zero.

    The norm is over all entries, so one number sums up a whole gradient
    array.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"the arrays have shapes {a.shape} and {b.shape}")
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    if scale == 0:
        return 0.0
    return float(np.linalg.norm(a - b) / scale)


def check_backward(forward, backward, inputs, seed=0, h=DEFAULT_H):
    """Compare a backward pass with central differences, for every input.

    Parameters
    ----------
    forward : callable
        ``forward(*inputs)`` returns the output array.
    backward : callable
        ``backward(G, *inputs)`` returns one gradient per input, the VJP of
        ∂L/∂output = G.
    inputs : list of ndarray of float64
        Copied, so the caller's arrays are not perturbed.
    seed : int
        Seed of the random G.

    Returns
    -------
    dict of int to float
        The relative error of each input's gradient, by its position.
    """
    inputs = [np.array(x, dtype=np.float64) for x in inputs]
    rng = np.random.default_rng(seed)
    G = rng.standard_normal(np.shape(forward(*inputs)))
    grads = backward(G, *inputs)
    if len(grads) != len(inputs):
        raise ValueError(
            f"backward returned {len(grads)} gradients for {len(inputs)} inputs"
        )
    errors = {}
    for position, (x, grad) in enumerate(zip(inputs, grads)):
        numerical = numerical_gradient(lambda: np.sum(forward(*inputs) * G), x, h)
        errors[position] = relative_error(grad, numerical)
    return errors
