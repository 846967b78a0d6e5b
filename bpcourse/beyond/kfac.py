r"""K-FAC: one layer's curvature as a Kronecker product of two small matrices.

For the weights W^ℓ of one layer, the Gauss–Newton block of the mean loss is

.. math::

    G_\ell = \frac1N \sum_n \big(J_n^\top H_n J_n\big) \otimes
             \big(a^{\ell-1}_n (a^{\ell-1}_n)^\top\big),

where a^{ℓ−1}_n is example n's input to the layer, J_n = ∂zᴸ_n/∂z^ℓ_n the
Jacobian from the layer's pre-activations to the logits and H_n the Hessian
of example n's loss with respect to its logits. For cross-entropy, H_n is the
covariance of the model's own output error, so J_nᵀ H_n J_n = E_y[g_n g_nᵀ]
with g_n the gradient backpropagated to z^ℓ_n for a label y drawn from the
model: the block is then also the Fisher information of the layer.

K-FAC replaces the mean of Kronecker products by the Kronecker product of the
means, G_ℓ ≈ E[g gᵀ] ⊗ E[a aᵀ], a (d_ℓ d_{ℓ−1})² matrix described by one
d_ℓ × d_ℓ and one d_{ℓ−1} × d_{ℓ−1} matrix. With one example the two agree.

W^ℓ is flattened in row-major order, entry (i, j) at position i·d_{ℓ−1} + j,
as ``bpcourse.beyond.vectors.flatten`` does, which puts the output factor
first in the Kronecker product.
"""

import numpy as np

from bpcourse.beyond.jvp import output_error


def _check_layer(net, layer):
    if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)):
        raise TypeError(f"layer={layer!r} must be an integer in 1 … {net.num_layers}")
    if not 1 <= layer <= net.num_layers:
        raise ValueError(
            f"layer={layer} is out of range: the network has layers 1 … "
            f"{net.num_layers} (layer ℓ has the weights W^ℓ = net.weights[ℓ − 1])"
        )
    return int(layer)


def output_jacobians(net, cache, layer):
    """Return J_n = ∂zᴸ_n/∂z^ℓ_n for every example, by backpropagating unit vectors.

    Parameters
    ----------
    net : bpcourse.network.Network
    cache : bpcourse.network.Cache
        From ``net.forward(X)``.
    layer : int
        ℓ in 1 … L.

    Returns
    -------
    ndarray, shape (N, d_L, d_ℓ)
    """
    layer = _check_layer(net, layer)
    K, N = cache.z[-1].shape
    rows = []
    for k in range(K):
        delta = np.zeros((K, N), dtype=net.dtype)
        delta[k] = 1.0
        # cache.z[l] is z^{l+1}: step from z^{l+1} down to z^l until z^ℓ.
        for l in range(net.num_layers - 1, layer - 1, -1):
            sigma_prime = net.activations[l - 1].derivative(cache.z[l - 1])
            delta = (net.weights[l].T @ delta) * sigma_prime
        rows.append(delta)
    return np.stack(rows, axis=0).transpose(2, 0, 1)


def output_hessians(net, cache):
    """Return H_n, the Hessian of example n's loss with respect to its logits zᴸ_n.

    Cross-entropy gives diag(p) − p pᵀ with p = softmax(zᴸ_n), binary
    cross-entropy diag(σ′(zᴸ_n)), and mean squared error the Gauss–Newton part
    diag(f′(zᴸ_n)²), which leaves out the residual term. No factor 1/N.

    Returns
    -------
    ndarray, shape (N, d_L, d_L)
    """
    zL, aL = cache.z[-1], cache.a[-1]
    output = net.activations[-1]
    if net.loss_name == "cross_entropy":
        p = aL.T
        return np.einsum("nk,kj->nkj", p, np.eye(p.shape[1])) - p[:, :, None] * p[:, None, :]
    if net.loss_name == "binary_cross_entropy":
        curvature = output.derivative(zL).T
    elif output.elementwise:
        curvature = (output.derivative(zL) ** 2).T
    else:
        raise ValueError(
            f"mean squared error after a {output.name} output is not supported: use "
            "an elementwise output activation"
        )
    return np.einsum("nk,kj->nkj", curvature, np.eye(curvature.shape[1]))


def layer_curvature_terms(net, X, layer):
    """Return the inputs a^{ℓ−1}_n and the matrices J_nᵀ H_n J_n of one layer.

    Returns
    -------
    a_prev : ndarray, shape (d_{ℓ−1}, N)
    curvature : ndarray, shape (N, d_ℓ, d_ℓ)
    """
    layer = _check_layer(net, layer)
    _, cache = net.forward(X)
    J = output_jacobians(net, cache, layer)
    H = output_hessians(net, cache)
    curvature = np.einsum("nki,nkj,njl->nil", J, H, J)
    return cache.a[layer - 1], curvature


def gauss_newton_block(net, X, layer):
    """Return the exact Gauss–Newton block of W^ℓ, (1/N) Σ_n (J_nᵀH_nJ_n) ⊗ (a_n a_nᵀ).

    Returns
    -------
    ndarray, shape (d_ℓ d_{ℓ−1}, d_ℓ d_{ℓ−1})
        The entries of W^ℓ in row-major order.
    """
    a_prev, curvature = layer_curvature_terms(net, X, layer)
    d_prev, N = a_prev.shape
    d = curvature.shape[1]
    block = np.einsum("nik,jn,ln->ijkl", curvature, a_prev, a_prev) / N
    return block.reshape(d * d_prev, d * d_prev)


def sampled_output_gradients(net, X, layer, rng, samples=1):
    """Return gradients g_n backpropagated to z^ℓ for labels drawn from the model.

    For each example and each of ``samples`` draws, a target is drawn from the
    network's own predictive distribution: a class from softmax(zᴸ), a 0/1
    label from σ(zᴸ), or ŷ plus standard normal noise for mean squared error.
    The gradient of that example's loss, without 1/N, is backpropagated to
    z^ℓ. The second moment of these gradients estimates E[g gᵀ] of K-FAC.

    Returns
    -------
    ndarray, shape (d_ℓ, N · samples)
    """
    layer = _check_layer(net, layer)
    rng = np.random.default_rng(rng)
    _, cache = net.forward(X)
    J = output_jacobians(net, cache, layer)
    zL, aL = cache.z[-1], cache.a[-1]
    K, N = zL.shape
    output = net.activations[-1]
    columns = []
    for _ in range(samples):
        if net.loss_name == "cross_entropy":
            uniform = rng.random(N)
            labels = (np.cumsum(aL, axis=0) < uniform).sum(axis=0)
            labels = np.minimum(labels, K - 1)
            residual = aL.copy()
            residual[labels, np.arange(N)] -= 1.0
        elif net.loss_name == "binary_cross_entropy":
            residual = aL - (rng.random((K, N)) < aL)
        else:
            residual = -output.derivative(zL) * rng.standard_normal((K, N))
        columns.append(np.einsum("nki,kn->in", J, residual))
    return np.concatenate(columns, axis=1)


def kfac_factors(net, X, layer, rng=None, samples=1):
    """Return the K-FAC factors A = E[a aᵀ] and G = E[g gᵀ] of layer ℓ.

    With ``rng=None``, G is the exact expectation over the model's labels,
    (1/N) Σ_n J_nᵀ H_n J_n. With a generator or seed, G is the Monte Carlo
    estimate from ``sampled_output_gradients``, as K-FAC computes it in
    practice.

    Returns
    -------
    A : ndarray, shape (d_{ℓ−1}, d_{ℓ−1})
    G : ndarray, shape (d_ℓ, d_ℓ)
    """
    a_prev, curvature = layer_curvature_terms(net, X, layer)
    N = a_prev.shape[1]
    A = a_prev @ a_prev.T / N
    if rng is None:
        G = curvature.mean(axis=0)
    else:
        g = sampled_output_gradients(net, X, layer, rng, samples)
        G = g @ g.T / g.shape[1]
    return A, G


def kfac_block(A, G):
    """Return the K-FAC approximation G ⊗ A of the block, row-major like W^ℓ."""
    return np.kron(G, A)


def relative_frobenius_error(approximation, exact):
    """Return ‖approximation − exact‖_F / ‖exact‖_F."""
    return float(np.linalg.norm(approximation - exact) / np.linalg.norm(exact))


def kfac_precondition(dW, A, G, damping=1e-3):
    """Return (G + γI)⁻¹ dW (A + γI)⁻¹, the K-FAC step direction for ∂L/∂W^ℓ.

    (G ⊗ A)⁻¹ = G⁻¹ ⊗ A⁻¹, so the inverse of the approximate block applied to
    the gradient needs only the two small factors: O(d_ℓ³ + d_{ℓ−1}³) work in
    place of O((d_ℓ d_{ℓ−1})³) for the exact block. ``damping`` γ > 0 keeps
    both factors invertible.
    """
    d, d_prev = dW.shape
    G_damped = G + damping * np.eye(d)
    A_damped = A + damping * np.eye(d_prev)
    return np.linalg.solve(G_damped, np.linalg.solve(A_damped, dW.T).T)
