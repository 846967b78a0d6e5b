r"""Scaled dot-product attention with a causal mask, and multi-head self-attention.

Layout. A sequence of T tokens with d features each is a matrix of shape
(d, T), one token per column, as examples are columns in the rest of the
course. A batch of N sequences is a stack of shape (N, d, T); numpy's
``matmul`` multiplies each matrix of the stack.

Attention. Queries Q and keys K of shape (d_k, T) and values V of shape
(d_v, T) give

.. math::

    S = \frac{K^\top Q}{\sqrt{d_k}}, \qquad
    A = \operatorname{softmax}(S + M), \qquad O = V A,

where S[s, t] is the score of key s for query t, the softmax runs down each
column (over the keys, as the softmax of the course runs over the classes of
each example), and the causal mask M is −∞ where s > t, so that token t
attends to tokens 1 … t only. Column t of O is a weighted mean of the value
columns, with the weights of column t of A.

Backward, from G = ∂L/∂O:

.. math::

    \frac{\partial L}{\partial V} = G A^\top, \quad
    \frac{\partial L}{\partial A} = V^\top G, \quad
    \frac{\partial L}{\partial S} = A \odot \Big(\frac{\partial L}{\partial A}
        - \mathbf 1 \mathbf 1^\top \big(A \odot \frac{\partial L}{\partial A}\big)\Big),

    \frac{\partial L}{\partial Q} = \frac{K}{\sqrt{d_k}}\,
        \frac{\partial L}{\partial S}, \quad
    \frac{\partial L}{\partial K} = \frac{Q}{\sqrt{d_k}}\,
        \Big(\frac{\partial L}{\partial S}\Big)^\top.

The 1 1ᵀ (…) term subtracts each column's sum. Masked entries have A = 0, so
their score gradient is 0 without a second mask.
"""

import numpy as np

from bpcourse.autodiff.array_ops import transpose
from bpcourse.autodiff.losses import softmax as softmax_tensor
from bpcourse.autodiff.tensor import as_tensor


def causal_mask(T):
    """Return the (T, T) boolean array that is True where key s may serve query t.

    Entry [s, t] is True for s ≤ t: a token attends to itself and the tokens before
    it.
    """
    return np.tril(np.ones((T, T), dtype=bool)).T


def softmax_columns(S):
    """Apply softmax down each column of the last two axes (over axis −2).

    The column maximum is subtracted first, so no exponent is positive; a
    column whose entries are all −∞ would give nan, and a causal mask never
    makes one because every token attends to itself.
    """
    shifted = S - np.max(S, axis=-2, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=-2, keepdims=True)


def softmax_columns_backward(A, dA):
    """Return ∂L/∂S from A = softmax_columns(S) and ∂L/∂A.

    For one column, the Jacobian of softmax is diag(a) − a aᵀ, so
    ∂L/∂s = a ⊙ (∂L/∂a − aᵀ ∂L/∂a), the upstream gradient minus its
    A-weighted mean, times A.
    """
    return A * (dA - np.sum(A * dA, axis=-2, keepdims=True))


def _check_qkv(Q, K, V):
    Q, K, V = np.asarray(Q), np.asarray(K), np.asarray(V)
    if Q.ndim < 2 or Q.shape != K.shape:
        raise ValueError(
            f"Q has shape {Q.shape} and K has shape {K.shape}: both must be "
            "(…, d_k, T), one query or key per column"
        )
    if V.shape[:-2] != Q.shape[:-2] or V.shape[-1] != Q.shape[-1]:
        raise ValueError(
            f"V has shape {V.shape} but Q has shape {Q.shape}: V must be "
            f"(…, d_v, {Q.shape[-1]}), one value per token"
        )
    return Q, K, V


def attention_forward(Q, K, V, causal=True):
    """Compute O = V softmax(Kᵀ Q / √d_k + M) for one or a stack of sequences.

    Parameters
    ----------
    Q, K : ndarray, shape (…, d_k, T)
    V : ndarray, shape (…, d_v, T)
    causal : bool
        Mask the scores of later keys (s > t) with −∞ before the softmax.

    Returns
    -------
    O : ndarray, shape (…, d_v, T)
    cache : dict
        Q, K, V and the attention weights A, shape (…, T, T).
    """
    Q, K, V = _check_qkv(Q, K, V)
    d_k, T = Q.shape[-2:]
    S = np.swapaxes(K, -1, -2) @ Q / np.sqrt(d_k)
    if causal:
        S = np.where(causal_mask(T), S, -np.inf)
    A = softmax_columns(S)
    O = V @ A
    return O, {"Q": Q, "K": K, "V": V, "A": A}


def attention_backward(dO, cache):
    """Return ∂L/∂Q, ∂L/∂K and ∂L/∂V from G = ∂L/∂O.

    Parameters
    ----------
    dO : ndarray, shape (…, d_v, T)
    cache : dict
        From ``attention_forward``.

    Returns
    -------
    dQ, dK, dV : ndarrays of the shapes of Q, K and V
    dS : ndarray, shape (…, T, T)
        ∂L/∂S, the gradient of the scores, 0 at masked entries.
    """
    Q, K, V, A = cache["Q"], cache["K"], cache["V"], cache["A"]
    scale = 1.0 / np.sqrt(Q.shape[-2])
    dV = dO @ np.swapaxes(A, -1, -2)
    dA = np.swapaxes(V, -1, -2) @ dO
    dS = softmax_columns_backward(A, dA)
    dQ = scale * (K @ dS)
    dK = scale * (Q @ np.swapaxes(dS, -1, -2))
    return dQ, dK, dV, dS


def attention_tensor(Q, K, V, causal=True):
    """Compute ``attention_forward`` from ``bpcourse.autodiff`` operations.

    The mask adds a constant −∞ to the masked scores, whose exponential is 0,
    so no gradient reaches them.
    """
    Q, K, V = as_tensor(Q), as_tensor(K), as_tensor(V)
    d_k, T = Q.shape[-2:]
    axes = tuple(range(K.ndim - 2)) + (K.ndim - 1, K.ndim - 2)
    S = transpose(K, axes) @ Q * (1.0 / np.sqrt(d_k))
    if causal:
        S = S + np.where(causal_mask(T), 0.0, -np.inf)
    A = softmax_tensor(S, axis=-2)
    return V @ A


# Multi-head self-attention ----------------------------------------------------


def split_heads(X, heads):
    """Reshape (N, d, T) into (N, heads, d / heads, T): rows in blocks per head."""
    N, d, T = X.shape
    if d % heads:
        raise ValueError(f"d = {d} features do not split into {heads} heads")
    return X.reshape(N, heads, d // heads, T)


def merge_heads(X):
    """Undo ``split_heads``: (N, heads, d_h, T) becomes (N, heads d_h, T)."""
    N, heads, d_h, T = X.shape
    return X.reshape(N, heads * d_h, T)


def _sum_outer(G, X):
    """Return Σ_n G_n X_nᵀ over a stack of shape (N, a, T) and (N, b, T)."""
    return np.tensordot(G, X, axes=([0, 2], [0, 2]))


def self_attention_forward(X, W_Q, W_K, W_V, W_O, heads, causal=True):
    """Run multi-head self-attention on a stack of sequences.

    Q = W_Q X, K = W_K X and V = W_V X are split into ``heads`` blocks of
    rows, each block attends on its own, and the merged outputs go through
    W_O: Y = W_O [O_1; …; O_H]. The projections have no biases.

    Parameters
    ----------
    X : ndarray, shape (N, d, T)
    W_Q, W_K, W_V, W_O : ndarray, shape (d, d)
    heads : int
        Divides d.
    causal : bool

    Returns
    -------
    Y : ndarray, shape (N, d, T)
    cache : dict
        With the attention weights ``A`` of shape (N, heads, T, T).
    """
    X = np.asarray(X)
    if X.ndim != 3:
        raise ValueError(
            f"X has shape {X.shape}: expected (N, d, T), N sequences of T "
            "token columns"
        )
    Q, K, V = (split_heads(W @ X, heads) for W in (W_Q, W_K, W_V))
    O, attention = attention_forward(Q, K, V, causal)
    merged = merge_heads(O)
    Y = W_O @ merged
    cache = {
        "X": X,
        "W_Q": W_Q,
        "W_K": W_K,
        "W_V": W_V,
        "W_O": W_O,
        "merged": merged,
        "attention": attention,
        "A": attention["A"],
        "heads": heads,
    }
    return Y, cache


def self_attention_backward(dY, cache):
    """Return ∂L/∂X and the gradients of W_Q, W_K, W_V and W_O.

    Each projection is a dense layer without bias applied to every token, so
    its weight gradient is δ Xᵀ summed over the sequences, and the three
    paths into X add up: ∂L/∂X = W_Qᵀ δ_Q + W_Kᵀ δ_K + W_Vᵀ δ_V.

    Returns
    -------
    dX : ndarray, shape (N, d, T)
    grads : dict
        ``W_Q``, ``W_K``, ``W_V``, ``W_O``, and ``S``, the score gradient
        ∂L/∂S of shape (N, heads, T, T).
    """
    X, W_O, heads = cache["X"], cache["W_O"], cache["heads"]
    dW_O = _sum_outer(dY, cache["merged"])
    dO = split_heads(W_O.T @ dY, heads)
    dQ, dK, dV, dS = attention_backward(dO, cache["attention"])
    grads = {"W_O": dW_O, "S": dS}
    dX = np.zeros_like(X, dtype=np.result_type(X, dY))
    for name, delta in (("W_Q", dQ), ("W_K", dK), ("W_V", dV)):
        delta = merge_heads(delta)
        grads[name] = _sum_outer(delta, X)
        dX = dX + cache[name].T @ delta
    return dX, grads


def self_attention_tensor(X, W_Q, W_K, W_V, W_O, heads, causal=True):
    """Compute ``self_attention_forward`` from autodiff operations."""
    X = as_tensor(X)
    N, d, T = X.shape

    def project(W):
        return (as_tensor(W) @ X).reshape(N, heads, d // heads, T)

    O = attention_tensor(project(W_Q), project(W_K), project(W_V), causal)
    return as_tensor(W_O) @ O.reshape(N, d, T)
