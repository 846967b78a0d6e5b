r"""Forward-mode differentiation of the network: tangents alongside the forward pass.

A direction v in parameter space has one array per parameter, V_W^ℓ of the
shape of W^ℓ and V_b^ℓ of the shape of b^ℓ. Differentiating the forward pass
along v gives, layer by layer, the tangents

.. math::

    \dot z^\ell = V_W^\ell a^{\ell-1} + W^\ell \dot a^{\ell-1} + V_b^\ell,
    \qquad \dot a^\ell = \sigma'(z^\ell) \odot \dot z^\ell,
    \qquad \dot a^0 = 0,

computed in the same loop as z^ℓ and a^ℓ. At the loss, the directional
derivative is L̇ = ∇L·v = Σ δᴸ ⊙ żᴸ, where δᴸ = ∂L/∂zᴸ is the output error the
loss gives locally. No backward pass runs: this is the Jacobian-vector product
(JVP) of forward mode, the same tangents Pearlmutter's R-operator calls R{z^ℓ}.
"""

from dataclasses import dataclass

import numpy as np

from bpcourse.losses import get_loss, targets_as_columns


@dataclass
class Tangents:
    """The tangents of one forward pass along a direction v.

    Attributes
    ----------
    dz : list of ndarray
        ``dz[l]`` is ż^{l+1}, shape (d_{l+1}, N).
    da : list of ndarray
        ``da[0]`` is the zero tangent of X and ``da[l + 1]`` is ȧ^{l+1}.
    """

    dz: list
    da: list


def check_direction(net, V, name="V"):
    """Return ``V`` as a list of float arrays of the shapes of ``net.parameters()``.

    Raises
    ------
    ValueError
        When the number of arrays or a shape does not match.
    """
    params = net.parameters()
    V = list(V)
    if len(V) != len(params):
        raise ValueError(
            f"{name} has {len(V)} arrays but the network has {len(params)} "
            "parameters: pass one array per entry of net.parameters(), "
            "[W1, b1, W2, b2, …]"
        )
    arrays = []
    for index, (v, p) in enumerate(zip(V, params)):
        v = np.asarray(v, dtype=net.dtype)
        if v.shape != p.shape:
            raise ValueError(
                f"{name}[{index}] has shape {v.shape} but parameter {index} has "
                f"shape {p.shape}"
            )
        arrays.append(v)
    return arrays


def output_error(net, cache, Y):
    """Return the loss, δᴸ = ∂L/∂zᴸ and the targets as columns, from a cache.

    This is the first step of ``Network.backward``, without the recursion.

    Returns
    -------
    loss : float
    delta : ndarray, shape (d_L, N)
    targets : ndarray, shape (d_L, N)
    """
    zL, aL = cache.z[-1], cache.a[-1]
    K, N = zL.shape
    targets = targets_as_columns(Y, K, N, net.dtype, net.loss_name)
    loss, delta = get_loss(net.loss_name).value_and_delta(
        zL, aL, targets, net.activations[-1]
    )
    return loss, delta, targets


def forward_tangents(net, X, V, cache=None):
    """Run the forward pass and, beside it, the tangents along the direction V.

    Parameters
    ----------
    net : bpcourse.network.Network
    X : ndarray, shape (d_0, N)
    V : list of ndarray
        ``[V_W1, V_b1, V_W2, V_b2, …]``, the shapes of ``net.parameters()``.
    cache : bpcourse.network.Cache, optional
        The values of ``net.forward(X)``, to reuse them for several
        directions; computed when omitted.

    Returns
    -------
    output : ndarray, shape (d_L, N)
    cache : bpcourse.network.Cache
        The same z^ℓ and a^ℓ as ``net.forward(X)``.
    tangents : Tangents
    """
    V = check_direction(net, V)
    if cache is None:
        output, cache = net.forward(X)
    else:
        output = cache.a[-1]
    da = [np.zeros_like(cache.a[0])]
    dz = []
    for l, activation in enumerate(net.activations):
        V_W, V_b = V[2 * l], V[2 * l + 1]
        z_dot = V_W @ cache.a[l] + net.weights[l] @ da[l] + V_b
        # For an elementwise σ, vjp multiplies by σ′(z). The softmax Jacobian
        # is symmetric, so its vjp is also its Jacobian-vector product.
        a_dot = activation.vjp(cache.z[l], cache.a[l + 1], z_dot)
        dz.append(z_dot)
        da.append(a_dot)
    return output, cache, Tangents(dz=dz, da=da)


def jvp(net, X, Y, V, cache=None):
    """Return the loss and its directional derivative ∇L·v by forward mode.

    Parameters
    ----------
    net : bpcourse.network.Network
    X : ndarray, shape (d_0, N)
    Y : ndarray, shape (N,) or (d_L, N)
    V : list of ndarray
        The direction, one array per parameter.
    cache : bpcourse.network.Cache, optional
        See ``forward_tangents``.

    Returns
    -------
    loss : float
    derivative : float
        Σ δᴸ ⊙ żᴸ, equal to the dot product of V with ``net.gradients(X, Y)``.
    """
    _, cache, tangents = forward_tangents(net, X, V, cache)
    loss, delta, _ = output_error(net, cache, Y)
    return loss, float(np.sum(delta * tangents.dz[-1]))
