r"""The network of ``bpcourse.network`` rebuilt from tensor operations.

``mlp_loss`` runs the forward pass z^ℓ = W^ℓ a^{ℓ−1} + b^ℓ, a^ℓ = σ(z^ℓ) with
the network's own parameter arrays, so ``loss.backward()`` computes ∂L/∂W^ℓ and
∂L/∂b^ℓ by automatic differentiation. The result should equal
``Network.gradients``, which computes them by the hand-derived δ-recursion; the
tests compare the two on random networks.

>>> import numpy as np
>>> from bpcourse.network import Network
>>> net = Network([2, 3, 2], activation="tanh", seed=0)
>>> X = np.array([[0.5, -1.0], [2.0, 0.0]])
>>> loss, params = mlp_loss(net, X, [0, 1])
>>> loss.backward()
>>> bool(np.allclose(params[0].grad, net.gradients(X, [0, 1]).dW[0]))
True
"""

from bpcourse.autodiff import ops
from bpcourse.autodiff.losses import (
    binary_cross_entropy,
    mean_squared_error,
    softmax,
    softmax_cross_entropy,
)
from bpcourse.autodiff.tensor import Tensor, as_float_array

#: The activations of ``bpcourse.activations``, as tensor functions.
ACTIVATIONS = {
    "sigmoid": ops.sigmoid,
    "tanh": ops.tanh,
    "relu": ops.relu,
    "leaky_relu": ops.leaky_relu,
    "identity": lambda z: z,
    "softmax": softmax,
}


def mlp_parameters(net):
    """Return ``[W1, b1, W2, b2, …]`` as tensors named as in the course.

    The tensors wrap the network's arrays without copying them, so an update of
    ``tensor.data`` also updates ``net``.

    Parameters
    ----------
    net : bpcourse.network.Network

    Returns
    -------
    list of Tensor
        ``W{ℓ}`` of shape (d_ℓ, d_ℓ−1) and ``b{ℓ}`` of shape (d_ℓ, 1).
    """
    params = []
    for layer, (W, b) in enumerate(zip(net.weights, net.biases), start=1):
        params.append(Tensor(W, name=f"W{layer}"))
        params.append(Tensor(b, name=f"b{layer}"))
    return params


def mlp_forward(net, X, params=None):
    """Run the network's forward pass on tensors.

    Parameters
    ----------
    net : bpcourse.network.Network
        Supplies the layer sizes and activations.
    X : array_like, shape (d_0, N)
        One example per column; a vector of shape (d_0,) is one example. It
        enters the graph as a constant named ``X``.
    params : list of Tensor, optional
        ``[W1, b1, …]``; by default ``mlp_parameters(net)``.

    Returns
    -------
    zL : Tensor, shape (d_L, N)
        The last pre-activation (the logits of a fused loss), named ``z{L}``.
    params : list of Tensor
    """
    if params is None:
        params = mlp_parameters(net)
    if len(params) != 2 * net.num_layers:
        raise ValueError(
            f"params has {len(params)} tensors but the network has L = "
            f"{net.num_layers} layers: pass [W1, b1, …, W{net.num_layers}, "
            f"b{net.num_layers}], as mlp_parameters(net) returns"
        )
    X = as_float_array(X, net.dtype, "X")
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    if X.ndim != 2 or X.shape[0] != net.sizes[0]:
        raise ValueError(
            f"X has shape {X.shape} but the network expects ({net.sizes[0]}, N): "
            "one example per column (pass X.T if examples are rows)"
        )
    a = Tensor(X, requires_grad=False, name="X")
    z = a
    for layer in range(1, net.num_layers + 1):
        W, b = params[2 * layer - 2], params[2 * layer - 1]
        z = W @ a + b
        z.name = f"z{layer}"
        if layer < net.num_layers:
            a = ACTIVATIONS[net.activations[layer - 1].name](z)
            a.name = f"a{layer}"
    return z, params


def mlp_loss(net, X, Y, params=None):
    """Compute the network's mean loss of a batch as a tensor, ready for backward.

    The loss is the network's own: softmax cross-entropy on the logits z^L,
    binary cross-entropy on them (a sigmoid output), or mean squared error
    (1/N) Σ ½‖ŷ − y‖² of the output ŷ = f_out(z^L).

    Parameters
    ----------
    net : bpcourse.network.Network
    X : array_like, shape (d_0, N)
    Y : array_like, shape (N,) of class labels, or (d_L, N) targets
    params : list of Tensor, optional
        ``[W1, b1, …]``; by default ``mlp_parameters(net)``.

    Returns
    -------
    loss : Tensor, shape ()
        Named ``L``.
    params : list of Tensor
        ``[W1, b1, …]``, whose ``grad`` ``loss.backward()`` fills.
    """
    zL, params = mlp_forward(net, X, params)
    if net.loss_name == "cross_entropy":
        loss = softmax_cross_entropy(zL, Y)
    elif net.loss_name == "binary_cross_entropy":
        loss = binary_cross_entropy(zL, Y)
    elif net.loss_name == "mse":
        output = ACTIVATIONS[net.output](zL)
        output.name = "ŷ"
        loss = mean_squared_error(output, Y)
    else:
        raise ValueError(
            f"mlp_loss has no tensor version of the loss {net.loss_name!r}"
        )
    loss.name = "L"
    return loss, params
