r"""The graph convolution layer of Kipf and Welling, nodes as columns.

A graph of n nodes has a symmetric adjacency matrix A of shape (n, n). Its
normalized adjacency with self-loops is

.. math::

    \hat A = \tilde D^{-1/2} \tilde A \tilde D^{-1/2}, \qquad
    \tilde A = A + I, \qquad \tilde D_{ii} = \textstyle\sum_j \tilde A_{ij}.

Layout. The nodes are the columns, as examples are columns in the rest of
the course: the features H of all nodes have shape (d, n). The layer is

.. math::

    Z = W H \hat A + b,

the dense layer z = W a + b followed by a mixing of columns: column i of
H Â is a weighted mean of the features of node i and its neighbours. In the
row layout of the literature, with nodes as rows, this is Zᵀ = Â Hᵀ Wᵀ,
the familiar Â X W: the course's W is the transpose of that W.

Backward, from δ = ∂L/∂Z (Â is symmetric):

.. math::

    \frac{\partial L}{\partial W} = \delta\, (H \hat A)^\top, \quad
    \frac{\partial L}{\partial b} = \textstyle\sum_i \delta_{:, i}, \quad
    \frac{\partial L}{\partial H} = W^\top \delta\, \hat A .
"""

import numpy as np

from bpcourse.autodiff.tensor import as_tensor


def _check_adjacency(A):
    A = np.asarray(A, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"A has shape {A.shape}: expected (n, n), one row per node")
    if not np.array_equal(A, A.T):
        raise ValueError(
            "A is not symmetric: an undirected graph has A[i, j] = A[j, i]"
        )
    return A


def normalized_adjacency(A):
    """Return Â = D̃^{−1/2} (A + I) D̃^{−1/2}, with D̃ the degrees of A + I.

    Parameters
    ----------
    A : ndarray, shape (n, n)
        Symmetric, with zeros on the diagonal (the self-loops are added here).

    Returns
    -------
    ndarray, shape (n, n)
        Symmetric; entry [i, j] is 1/√(d̃_i d̃_j) for neighbours and for i = j.
    """
    A = _check_adjacency(A)
    if np.any(np.diag(A) != 0):
        raise ValueError(
            "A has nonzero diagonal entries: pass the graph without self-loops, "
            "normalized_adjacency adds them"
        )
    A_tilde = A + np.eye(A.shape[0])
    inv_sqrt_degree = 1.0 / np.sqrt(A_tilde.sum(axis=1))
    return inv_sqrt_degree[:, None] * A_tilde * inv_sqrt_degree[None, :]


def gcn_forward(H, W, b, A_hat):
    """Compute Z = W H Â + b for all n nodes at once.

    Parameters
    ----------
    H : ndarray, shape (d_{ℓ−1}, n)
    W : ndarray, shape (d_ℓ, d_{ℓ−1})
    b : ndarray, shape (d_ℓ, 1)
    A_hat : ndarray, shape (n, n)

    Returns
    -------
    Z : ndarray, shape (d_ℓ, n)
    cache : dict
    """
    H = np.asarray(H)
    if H.shape[1] != np.shape(A_hat)[0]:
        raise ValueError(
            f"H has shape {H.shape} but Â has shape {np.shape(A_hat)}: H needs "
            "one column per node"
        )
    mixed = H @ A_hat
    return W @ mixed + b, {"mixed": mixed, "W": W, "A_hat": A_hat}


def gcn_backward(delta, cache):
    """Return ∂L/∂H, ∂L/∂W and ∂L/∂b from δ = ∂L/∂Z.

    Returns
    -------
    dH : ndarray, shape (d_{ℓ−1}, n)
    dW : ndarray, shape (d_ℓ, d_{ℓ−1})
    db : ndarray, shape (d_ℓ, 1)
    """
    dW = delta @ cache["mixed"].T
    db = np.sum(delta, axis=1, keepdims=True)
    # Âᵀ = Â for an undirected graph; the transpose keeps the rule general.
    dH = cache["W"].T @ delta @ cache["A_hat"].T
    return dH, dW, db


def gcn_tensor(H, W, b, A_hat):
    """Compute ``gcn_forward`` from ``bpcourse.autodiff`` operations."""
    return as_tensor(W) @ (as_tensor(H) @ as_tensor(A_hat)) + as_tensor(b)
