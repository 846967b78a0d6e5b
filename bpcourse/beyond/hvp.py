r"""Hessian-vector products of the network's loss, by the R-operator.

The Hessian H = ∇²L of the mean loss has P × P entries for P parameters, too
many to build for a real network, but its product with one direction v costs
about two gradients. Pearlmutter's R-operator R{·} = d/dε (·)(θ + εv) at ε = 0
applied to the course's equations gives that product. The forward pass gives
the tangents R{z^ℓ} and R{a^ℓ} (``bpcourse.beyond.jvp``); the δ-recursion gives

.. math::

    R\{\delta^\ell\} = \big[(V_W^{\ell+1})^\top \delta^{\ell+1}
        + (W^{\ell+1})^\top R\{\delta^{\ell+1}\}\big] \odot \sigma'(z^\ell)
        + \big[(W^{\ell+1})^\top \delta^{\ell+1}\big] \odot \sigma''(z^\ell)
          \odot R\{z^\ell\},

and the gradients give the product itself,

.. math::

    (Hv)_{W^\ell} = R\{\delta^\ell\} (a^{\ell-1})^\top
        + \delta^\ell (R\{a^{\ell-1}\})^\top, \qquad
    (Hv)_{b^\ell} = \textstyle\sum_n R\{\delta^\ell\}_{:,n}.

Dropping every term that multiplies δ^ℓ (the ones that need σ″, V_W δ and
δ R{a}) leaves the Gauss–Newton product Gv = Jᵀ H_out J v, where J is the
Jacobian of the output with respect to θ and H_out the Hessian of the loss
with respect to the output. G is positive semi-definite for the course's
losses, while H need not be.

Parameter vectors are flattened in the order of ``Network.parameters()``, each
array in row-major order (``bpcourse.beyond.vectors.flatten``).
"""

import numpy as np

from bpcourse.beyond.jvp import check_direction, forward_tangents, output_error
from bpcourse.beyond.vectors import basis_direction, flatten
from bpcourse.gradcheck import DEFAULT_H


def second_derivative(activation, z):
    """Return σ″(z) for an elementwise activation of ``bpcourse.activations``.

    ReLU and leaky ReLU are piecewise linear, so σ″ = 0 away from the kink at 0,
    and 0 is also taken at 0.

    Raises
    ------
    ValueError
        For softmax or an activation without a known second derivative.
    """
    name = activation.name
    z = np.asarray(z)
    if name == "sigmoid":
        s = activation(z)
        return s * (1 - s) * (1 - 2 * s)
    if name == "tanh":
        t = np.tanh(z)
        return -2 * t * (1 - t * t)
    if name in ("relu", "leaky_relu", "identity"):
        return np.zeros_like(z)
    raise ValueError(
        f"no second derivative is known for the activation {name!r}: use "
        "sigmoid, tanh, relu, leaky_relu or identity"
    )


def _output_error_tangent(net, cache, targets, dzL, gauss_newton):
    """Return R{δᴸ}, the derivative of δᴸ along the tangent żᴸ."""
    zL, aL = cache.z[-1], cache.a[-1]
    N = zL.shape[1]
    output = net.activations[-1]
    if net.loss_name in ("cross_entropy", "binary_cross_entropy"):
        # δᴸ = (ŷ − Y)/N with ŷ = f_out(zᴸ), so R{δᴸ} = J_f żᴸ / N. That is
        # also the Gauss–Newton term: these losses are convex in zᴸ.
        return output.vjp(zL, aL, dzL) / N
    if not output.elementwise:
        raise ValueError(
            f"the Hessian of mean squared error after a {output.name} output is "
            "not implemented: use an elementwise output activation"
        )
    # δᴸ = (ŷ − Y) ⊙ f′(zᴸ)/N. Gauss–Newton keeps f′², the Hessian adds the
    # residual times f″.
    f_prime = output.derivative(zL)
    r_delta = f_prime * f_prime * dzL
    if not gauss_newton:
        r_delta = r_delta + (aL - targets) * second_derivative(output, zL) * dzL
    return r_delta / N


def hessian_vector_product(net, X, Y, V, gauss_newton=False):
    """Return Hv, the product of the loss's Hessian with a direction V.

    One forward pass with tangents and one backward pass of δ^ℓ and R{δ^ℓ}.

    Parameters
    ----------
    net : bpcourse.network.Network
    X : ndarray, shape (d_0, N)
    Y : ndarray, shape (N,) or (d_L, N)
    V : list of ndarray
        ``[V_W1, V_b1, …]``, the shapes of ``net.parameters()``.
    gauss_newton : bool
        Return the Gauss–Newton product Gv instead.

    Returns
    -------
    list of ndarray
        One array per parameter, in the order of ``net.parameters()``.
    """
    V = check_direction(net, V)
    _, cache, tangents = forward_tangents(net, X, V)
    _, delta, targets = output_error(net, cache, Y)
    r_delta = _output_error_tangent(
        net, cache, targets, tangents.dz[-1], gauss_newton
    )
    product = [None] * len(V)
    for l in range(net.num_layers - 1, -1, -1):
        HvW = r_delta @ cache.a[l].T
        if not gauss_newton:
            HvW = HvW + delta @ tangents.da[l].T
        product[2 * l] = HvW
        product[2 * l + 1] = np.sum(r_delta, axis=1, keepdims=True)
        if l == 0:
            break
        W = net.weights[l]
        activation = net.activations[l - 1]
        z_prev = cache.z[l - 1]
        sigma_prime = activation.derivative(z_prev)
        back = W.T @ delta
        if gauss_newton:
            r_delta = (W.T @ r_delta) * sigma_prime
        else:
            r_back = V[2 * l].T @ delta + W.T @ r_delta
            r_delta = r_back * sigma_prime + (
                back * second_derivative(activation, z_prev) * tangents.dz[l - 1]
            )
        delta = back * sigma_prime
    return product


def gauss_newton_vector_product(net, X, Y, V):
    """Return Gv, the product of the Gauss–Newton matrix with a direction V.

    See ``hessian_vector_product``; Y is accepted for the same signature,
    although G does not depend on it for cross-entropy losses.
    """
    return hessian_vector_product(net, X, Y, V, gauss_newton=True)


def shifted_network(net, V, step):
    """Return a copy of ``net`` with parameters θ + step·V."""
    V = check_direction(net, V)
    clone = net.copy()
    for param, v in zip(clone.parameters(), V):
        param += step * v
    return clone


def hvp_finite_difference(net, X, Y, V, h=DEFAULT_H):
    """Return the central difference of gradients (∇L(θ + hv) − ∇L(θ − hv)) / 2h.

    Its error is O(h²) plus rounding of about ε‖∇L‖/h. It serves as a
    cross-check of ``hessian_vector_product`` on smooth activations. It does
    not estimate Hv when a ReLU unit changes sides between the two points.
    """
    plus = shifted_network(net, V, h).gradients(X, Y).as_list()
    minus = shifted_network(net, V, -h).gradients(X, Y).as_list()
    return [(p - m) / (2 * h) for p, m in zip(plus, minus)]


def num_parameters(net):
    """Return P, the number of entries of all weights and biases."""
    return sum(p.size for p in net.parameters())


def hessian_matrix(net, X, Y, method="hvp"):
    """Build the P × P Hessian of the loss, one column per parameter entry.

    Column i is H e_i, from the product with the i-th unit direction.

    Parameters
    ----------
    method : {"hvp", "gauss_newton", "finite_difference"}
        ``"hvp"``: exact products by the R-operator. ``"gauss_newton"``: the
        Gauss–Newton matrix G instead of H. ``"finite_difference"``: central
        differences of ``Network.gradients``, accurate to about 1e-6.

    Returns
    -------
    ndarray, shape (P, P)
        Rows and columns in the order of ``flatten(net.parameters())``.
    """
    products = {
        "hvp": hessian_vector_product,
        "gauss_newton": gauss_newton_vector_product,
        "finite_difference": hvp_finite_difference,
    }
    if method not in products:
        raise ValueError(
            f"unknown method {method!r}: use 'hvp', 'gauss_newton' or "
            "'finite_difference'"
        )
    product = products[method]
    params = net.parameters()
    P = num_parameters(net)
    columns = [
        flatten(product(net, X, Y, basis_direction(params, i))) for i in range(P)
    ]
    return np.stack(columns, axis=1)


def parameter_labels(net):
    """Return a label per entry of the flattened parameters, such as ``"W2[0,1]"``."""
    labels = []
    for l in range(net.num_layers):
        for name, array in (("W", net.weights[l]), ("b", net.biases[l])):
            for index in np.ndindex(array.shape):
                labels.append(f"{name}{l + 1}[{','.join(str(i) for i in index)}]")
    return labels
