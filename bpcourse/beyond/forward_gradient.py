r"""Forward gradients: an unbiased gradient estimate from forward mode alone.

For a direction v with independent standard normal entries, E[v vᵀ] = I, so

.. math::

    g = (\nabla L \cdot v)\, v, \qquad \mathbb{E}[g] = \mathbb{E}[v v^\top]\,\nabla L
    = \nabla L .

The directional derivative ∇L·v is one Jacobian-vector product, computed by
``bpcourse.beyond.jvp.jvp`` in the forward pass, so no backward pass runs.
The price is variance: with P parameters, E‖g − ∇L‖² = (P + 1) ‖∇L‖², and the
mean of k independent estimates divides that by k.
"""

import numpy as np

from bpcourse.beyond.jvp import jvp
from bpcourse.data import minibatches


def random_direction(net, rng):
    """Return a direction v with independent N(0, 1) entries, shaped like the parameters."""
    return [rng.standard_normal(p.shape).astype(net.dtype) for p in net.parameters()]


def forward_gradient(net, X, Y, rng, num_directions=1):
    """Return the forward-gradient estimate (1/k) Σ_i (∇L·v_i) v_i and the loss.

    Parameters
    ----------
    net : bpcourse.network.Network
    X, Y : ndarray
        A batch, as for ``net.gradients``.
    rng : numpy Generator or int
        Source of the directions.
    num_directions : int
        k, the directions averaged.

    Returns
    -------
    estimate : list of ndarray
        One array per parameter, in the order of ``net.parameters()``.
    loss : float
    """
    if isinstance(num_directions, bool) or int(num_directions) != num_directions \
            or num_directions < 1:
        raise ValueError(f"num_directions={num_directions!r} must be a positive integer")
    rng = np.random.default_rng(rng)
    estimate = [np.zeros_like(p) for p in net.parameters()]
    # One forward pass, shared by the k tangent passes.
    _, cache = net.forward(X)
    loss = None
    for _ in range(num_directions):
        V = random_direction(net, rng)
        loss, derivative = jvp(net, X, Y, V, cache)
        for total, v in zip(estimate, V):
            total += derivative * v
    return [total / num_directions for total in estimate], loss


def expected_relative_mse(num_parameters, num_directions=1):
    """Return E‖g − ∇L‖² / ‖∇L‖² = (P + 1) / k for Gaussian directions."""
    return (num_parameters + 1) / num_directions


def train_forward_gradient(net, X, y, optimizer, epochs=5, batch_size=32,
                           num_directions=1, seed=0, X_test=None, y_test=None):
    """Train ``net`` in place with forward gradients in place of backpropagation.

    The loop is that of ``Network.fit``: the same seeded shuffling into
    minibatches, and ``optimizer.step`` on every minibatch, given the
    forward-gradient estimate instead of ``net.gradients``.

    Parameters
    ----------
    optimizer : optimizer of ``bpcourse.optim``
    seed : int
        Seed of the shuffling; the directions come from a generator seeded
        with ``seed + 1``.

    Returns
    -------
    dict
        ``step_loss`` of every minibatch, ``test_accuracy`` after every epoch
        (epoch 0 first) when test data are given.
    """
    shuffle_rng = np.random.default_rng(seed)
    direction_rng = np.random.default_rng(seed + 1)
    params = net.parameters()
    history = {"step_loss": [], "test_accuracy": []}
    if X_test is not None:
        history["test_accuracy"].append(net.accuracy(X_test, y_test))
    for _ in range(epochs):
        for X_batch, y_batch in minibatches(X, y, batch_size, rng=shuffle_rng):
            estimate, loss = forward_gradient(
                net, X_batch, y_batch, direction_rng, num_directions
            )
            optimizer.step(params, estimate)
            history["step_loss"].append(loss)
        if X_test is not None:
            history["test_accuracy"].append(net.accuracy(X_test, y_test))
    return {key: np.array(value) for key, value in history.items()}
