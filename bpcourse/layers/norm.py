r"""Layer normalization over the features of each column, and its backward pass.

Each column x (one token, d features) is centred and scaled by its own mean
μ and variance σ², then given a learned scale γ and shift β of shape (d, 1):

.. math::

    \hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}, \qquad
    y = \gamma \odot \hat x + \beta .

Backward, from g = ∂L/∂y and with ĝ = γ ⊙ g, for each column:

.. math::

    \frac{\partial L}{\partial x} = \frac{1}{\sqrt{\sigma^2 + \epsilon}}
        \Big(\hat g - \operatorname{mean}(\hat g)
             - \hat x \operatorname{mean}(\hat g \odot \hat x)\Big),

∂L/∂γ = Σ g ⊙ x̂ and ∂L/∂β = Σ g, summed over every token and sequence.
The two means remove the directions that normalizing takes out: shifting a
column, and scaling it.
"""

import numpy as np

from bpcourse.autodiff.tensor import as_tensor

#: Added to the variance before the square root, so a constant column does
#: not divide by zero. 1e-5 is the usual default of deep-learning libraries.
DEFAULT_EPS = 1e-5


def _sum_but_features(G):
    """Sum a (…, d, T) array into (d, 1): over every axis but the features."""
    axes = tuple(range(G.ndim - 2)) + (G.ndim - 1,)
    return np.sum(G, axis=axes).reshape(-1, 1)


def layer_norm_forward(X, gamma, beta, eps=DEFAULT_EPS):
    """Normalize every column of X over its d features (axis −2).

    Parameters
    ----------
    X : ndarray, shape (…, d, T)
    gamma, beta : ndarray, shape (d, 1)
    eps : float

    Returns
    -------
    Y : ndarray, shape (…, d, T)
    cache : dict
    """
    X = np.asarray(X)
    d = X.shape[-2]
    if np.shape(gamma) != (d, 1) or np.shape(beta) != (d, 1):
        raise ValueError(
            f"gamma and beta have shapes {np.shape(gamma)} and {np.shape(beta)}: "
            f"expected ({d}, 1), one per feature"
        )
    mu = X.mean(axis=-2, keepdims=True)
    var = ((X - mu) ** 2).mean(axis=-2, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + eps)
    X_hat = (X - mu) * inv_std
    return gamma * X_hat + beta, {"X_hat": X_hat, "inv_std": inv_std, "gamma": gamma}


def layer_norm_backward(dY, cache):
    """Return ∂L/∂X, ∂L/∂γ and ∂L/∂β from ∂L/∂Y.

    Returns
    -------
    dX : ndarray, shape (…, d, T)
    dgamma, dbeta : ndarray, shape (d, 1)
    """
    X_hat, inv_std = cache["X_hat"], cache["inv_std"]
    g_hat = cache["gamma"] * dY
    dX = inv_std * (
        g_hat
        - g_hat.mean(axis=-2, keepdims=True)
        - X_hat * (g_hat * X_hat).mean(axis=-2, keepdims=True)
    )
    return dX, _sum_but_features(dY * X_hat), _sum_but_features(dY)


def layer_norm_tensor(X, gamma, beta, eps=DEFAULT_EPS):
    """Compute ``layer_norm_forward`` from ``bpcourse.autodiff`` operations."""
    X = as_tensor(X)
    centred = X - X.mean(axis=-2, keepdims=True)
    var = (centred * centred).mean(axis=-2, keepdims=True)
    return as_tensor(gamma) * (centred * (var + eps) ** -0.5) + as_tensor(beta)
