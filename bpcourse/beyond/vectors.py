"""Lists of parameter-shaped arrays treated as one vector θ.

The chapter's methods work with directions v in parameter space, one array per
parameter in the order of ``Network.parameters()``: ``[W1, b1, W2, b2, …]``.
These helpers flatten such a list into one vector and back, and compare two of
them by their dot product, cosine similarity and relative error.
"""

import numpy as np


def flatten(arrays):
    """Concatenate arrays, each flattened in row-major order, into one vector."""
    return np.concatenate([np.asarray(a).ravel() for a in arrays])


def unflatten(vector, like):
    """Split ``vector`` into arrays of the shapes of ``like``, in order.

    Raises ``ValueError`` when the vector's length is not the total size.
    """
    vector = np.asarray(vector)
    sizes = [np.size(a) for a in like]
    if vector.ndim != 1 or vector.size != sum(sizes):
        raise ValueError(
            f"vector has shape {vector.shape} but the arrays have {sum(sizes)} "
            "entries in total: pass a 1-d vector of that length"
        )
    arrays = []
    start = 0
    for array, size in zip(like, sizes):
        arrays.append(vector[start:start + size].reshape(np.shape(array)).copy())
        start += size
    return arrays


def dot(u, v):
    """Return Σ u·v over every entry of two lists of arrays of equal shapes."""
    _check_same_shapes(u, v)
    return float(sum(np.sum(a * b) for a, b in zip(u, v)))


def norm(u):
    """Return the Euclidean norm of a list of arrays seen as one vector."""
    return float(np.sqrt(sum(np.sum(a * a) for a in u)))


def cosine_similarity(u, v):
    """Return u·v / (‖u‖ ‖v‖), or 0.0 when either list is all zeros."""
    denominator = norm(u) * norm(v)
    if denominator == 0.0:
        return 0.0
    return dot(u, v) / denominator


def relative_error(estimate, truth):
    """Return ‖estimate − truth‖ / ‖truth‖ for two lists of arrays."""
    _check_same_shapes(estimate, truth)
    difference = [a - b for a, b in zip(estimate, truth)]
    return norm(difference) / norm(truth)


def zeros_like(arrays):
    """Return a list of zero arrays of the shapes and dtypes of ``arrays``."""
    return [np.zeros_like(a) for a in arrays]


def basis_direction(like, index):
    """Return the unit direction e_index, as arrays of the shapes of ``like``.

    ``index`` counts entries of ``flatten(like)``.
    """
    vector = np.zeros(sum(np.size(a) for a in like))
    vector[index] = 1.0
    return unflatten(vector, like)


def _check_same_shapes(u, v):
    if len(u) != len(v) or any(np.shape(a) != np.shape(b) for a, b in zip(u, v)):
        raise ValueError(
            f"the two lists hold arrays of shapes {[np.shape(a) for a in u]} and "
            f"{[np.shape(b) for b in v]}: they must match one to one"
        )


def relative_variance(estimates, reference):
    """Return the mean of ‖e − reference‖² / ‖reference‖² over a list of estimates e.

    Each estimate and the reference are lists of arrays of equal shapes.
    """
    squared_norm = norm(reference) ** 2
    errors = []
    for estimate in estimates:
        _check_same_shapes(estimate, reference)
        difference = [a - b for a, b in zip(estimate, reference)]
        errors.append(norm(difference) ** 2 / squared_norm)
    return float(np.mean(errors))
