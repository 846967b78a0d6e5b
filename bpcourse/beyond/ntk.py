r"""The empirical neural tangent kernel of a network with one output.

For a network with one output ŷ(x), stack the gradients of the output with
respect to every parameter into a row J(x) of length P. The empirical neural
tangent kernel (NTK) of two inputs is

.. math::

    \Theta(x, x') = J(x)\, J(x')^\top .

It governs gradient descent in function space: one small step
θ ← θ − η ∇L changes the outputs on the training inputs by about
−η Θ(X, X) ∂L/∂ŷ. When Θ stays the same during training, the network behaves
like a kernel method with that fixed kernel.

Whether Θ stays the same depends on the width n and on how the learning rate
scales with it. In the NTK parameterization each weight matrix is
W^ℓ = W̃^ℓ / √d_{ℓ−1} with entries of W̃^ℓ drawn from N(0, 1), and gradient
descent runs on W̃. That is the same as training W^ℓ with the learning rate
η / d_{ℓ−1}, and its kernel is Σ_ℓ J_{W^ℓ} J_{W^ℓ}ᵀ / d_{ℓ−1} + Σ_ℓ J_{b^ℓ} J_{b^ℓ}ᵀ.
In that regime each of the n entries of a row of W̃ moves by about 1/√n
during training, so the relative change of the weights shrinks like 1/√n as
the width n grows. The kernel is built from those weights and changes less
and less too. ``ntk_change_vs_width`` measures both.
"""

import numpy as np

from bpcourse.network import Network


def _check_single_output(net):
    if net.sizes[-1] != 1:
        raise ValueError(
            f"the network has d_L = {net.sizes[-1]} outputs; this kernel is "
            "defined here for networks with one output unit"
        )
    if not net.activations[-1].elementwise:
        raise ValueError("the output activation must be elementwise")


def output_jacobian(net, X):
    """Return J, the gradient of each example's output ŷ_n with respect to every parameter.

    Row n is ∂ŷ_n/∂θ, backpropagated from δᴸ_n = f_out′(zᴸ_n) without a loss
    and without the 1/N of a mean.

    Returns
    -------
    ndarray, shape (N, P)
        Columns in the order of ``flatten(net.parameters())``.
    """
    _check_single_output(net)
    _, cache = net.forward(X)
    N = cache.a[0].shape[1]
    delta = net.activations[-1].derivative(cache.z[-1])
    blocks = [None] * (2 * net.num_layers)
    for l in range(net.num_layers - 1, -1, -1):
        per_example_dW = np.einsum("in,jn->nij", delta, cache.a[l])
        blocks[2 * l] = per_example_dW.reshape(N, -1)
        blocks[2 * l + 1] = delta.T
        if l > 0:
            sigma_prime = net.activations[l - 1].derivative(cache.z[l - 1])
            delta = (net.weights[l].T @ delta) * sigma_prime
    return np.concatenate(blocks, axis=1)


def ntk_scales(net):
    """Return the factor of every parameter entry in the NTK parameterization.

    1 / d_{ℓ−1} for the entries of W^ℓ and 1 for those of b^ℓ, as one vector
    in the order of ``flatten(net.parameters())``.
    """
    scales = []
    for l in range(net.num_layers):
        fan_in = net.sizes[l]
        scales.append(np.full(net.weights[l].size, 1.0 / fan_in))
        scales.append(np.ones(net.biases[l].size))
    return np.concatenate(scales)


def empirical_ntk(net, X1, X2=None, scales=None):
    """Return Θ(X1, X2) = J(X1) diag(s) J(X2)ᵀ.

    Parameters
    ----------
    X1 : ndarray, shape (d_0, N1)
    X2 : ndarray, shape (d_0, N2), optional
        X1 when omitted.
    scales : ndarray, shape (P,), optional
        s, a factor per parameter entry, such as ``ntk_scales(net)``; ones by
        default, which gives J Jᵀ.

    Returns
    -------
    ndarray, shape (N1, N2)
    """
    J1 = output_jacobian(net, X1)
    J2 = J1 if X2 is None else output_jacobian(net, X2)
    if scales is None:
        return J1 @ J2.T
    return (J1 * scales) @ J2.T


def _standard_normal_over_sqrt_fan_in(fan_out, fan_in, rng, dtype=np.float64):
    return (rng.standard_normal((fan_out, fan_in)) / np.sqrt(fan_in)).astype(dtype)


def ntk_network(sizes, activation="tanh", seed=0):
    """Return a network in the NTK parameterization, for mean squared error.

    W^ℓ = W̃^ℓ / √d_{ℓ−1} with W̃^ℓ of entries N(0, 1), zero biases, an
    identity output.
    """
    return Network(sizes, activation=activation, loss="mse", output="identity",
                   init=_standard_normal_over_sqrt_fan_in, seed=seed)


def ntk_gradient_step(net, X, Y, lr):
    """Take one full-batch step of gradient descent on W̃, in place; return the loss.

    W^ℓ moves by −η/d_{ℓ−1} ∂L/∂W^ℓ and b^ℓ by −η ∂L/∂b^ℓ.
    """
    grads = net.gradients(X, Y)
    for l in range(net.num_layers):
        net.weights[l] -= (lr / net.sizes[l]) * grads.dW[l]
        net.biases[l] -= lr * grads.db[l]
    return grads.loss


def ntk_change(width, X, Y, lr=0.5, steps=200, seed=0, activation="tanh"):
    """Train ``[d_0, width, 1]`` in the NTK regime and measure how far Θ moves.

    Parameters
    ----------
    width : int
        n, the hidden layer's width.
    X, Y : ndarray
        Training inputs (d_0, N) and targets (1, N).
    lr : float
        η of ``ntk_gradient_step``.
    steps : int
        Full-batch steps.
    seed : int
        Seed of the initial weights.

    Returns
    -------
    dict
        ``width``, ``seed``; ``theta_0`` and ``theta_T``, the kernels Θ(X, X)
        with ``ntk_scales`` before and after training; ``relative_change``
        ‖Θ_T − Θ_0‖_F / ‖Θ_0‖_F; ``weight_change``, ‖W̃_T − W̃_0‖ / ‖W̃_0‖
        over all weight matrices in the coordinates W̃^ℓ = √d_{ℓ−1} W^ℓ that
        gradient descent moves; ``loss``, the loss before every step and after
        the last; ``net``, the trained network.
    """
    net = ntk_network([X.shape[0], width, 1], activation=activation, seed=seed)
    scales = ntk_scales(net)
    theta_0 = empirical_ntk(net, X, scales=scales)
    weights_0 = _unscaled_weights(net)
    losses = [ntk_gradient_step(net, X, Y, lr) for _ in range(steps)]
    losses.append(net.loss(X, Y))
    theta_T = empirical_ntk(net, X, scales=scales)
    weights_T = _unscaled_weights(net)
    change = np.linalg.norm(theta_T - theta_0) / np.linalg.norm(theta_0)
    weight_change = np.linalg.norm(weights_T - weights_0) / np.linalg.norm(weights_0)
    return {
        "width": int(width),
        "seed": seed,
        "theta_0": theta_0,
        "theta_T": theta_T,
        "relative_change": float(change),
        "weight_change": float(weight_change),
        "loss": np.array(losses),
        "net": net,
    }


def _unscaled_weights(net):
    """Return every W̃^ℓ = √d_{ℓ−1} W^ℓ flattened into one vector."""
    return np.concatenate([
        np.sqrt(net.sizes[l]) * net.weights[l].ravel() for l in range(net.num_layers)
    ])


def ntk_change_vs_width(widths, X, Y, seeds=(0, 1, 2), **kwargs):
    """Return the relative change of Θ for every width and seed.

    Returns
    -------
    dict
        ``widths`` (ndarray), ``seeds``, and of shape (len(widths),
        len(seeds)): ``relative_change`` of Θ, ``weight_change`` and
        ``final_loss``.
    """
    change = np.zeros((len(widths), len(seeds)))
    weight_change = np.zeros_like(change)
    final_loss = np.zeros_like(change)
    for i, width in enumerate(widths):
        for j, seed in enumerate(seeds):
            run = ntk_change(width, X, Y, seed=seed, **kwargs)
            change[i, j] = run["relative_change"]
            weight_change[i, j] = run["weight_change"]
            final_loss[i, j] = run["loss"][-1]
    return {
        "widths": np.array(widths),
        "seeds": tuple(seeds),
        "relative_change": change,
        "weight_change": weight_change,
        "final_loss": final_loss,
    }


def log_log_slope(x, y):
    """Return the slope of the least-squares line through (log x, log y)."""
    slope, _ = np.polyfit(np.log(x), np.log(y), 1)
    return float(slope)
