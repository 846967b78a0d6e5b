r"""Hypergradients: the derivative of the loss after an update with respect to η.

One step of gradient descent, θ′ = θ − η ∇L(θ), is itself a differentiable
function of the learning rate η. By the chain rule,

.. math::

    \frac{d}{d\eta} L\big(\theta - \eta \nabla L(\theta)\big)
    = \nabla L(\theta') \cdot \frac{d\theta'}{d\eta}
    = -\nabla L(\theta') \cdot \nabla L(\theta),

one gradient at the new point, dotted with the gradient that made the step.
It is negative while the two gradients point the same way (a longer step
would have gone further down) and positive once the step overshoots.

Hypergradient descent uses this online: at step t, the loss L(θ_t) depends on
the learning rate of the previous step through θ_t = θ_{t−1} − η ∇L(θ_{t−1}),
so η ← η − β h_t with h_t = −∇L(θ_t) · ∇L(θ_{t−1}) lowers the loss the last
step reached, and the next step uses the updated η.
"""

import numpy as np

from bpcourse.beyond.hvp import shifted_network
from bpcourse.beyond.vectors import dot
from bpcourse.gradcheck import DEFAULT_H


def hypergradient(net, X, Y, lr):
    """Return d L(θ − η ∇L(θ)) / dη at η = ``lr`` and the loss after that step.

    Two gradients: ∇L(θ) on ``net`` and ∇L(θ′) on a copy moved by the step.
    ``net`` is not changed.

    Returns
    -------
    value : float
        −∇L(θ′) · ∇L(θ).
    loss_after : float
        L(θ′).
    """
    g = net.gradients(X, Y).as_list()
    stepped = shifted_network(net, g, -lr)
    after = stepped.gradients(X, Y)
    return -dot(after.as_list(), g), after.loss


def loss_after_step(net, X, Y, lr, gradient=None):
    """Return L(θ − η g), with g = ∇L(θ) unless given."""
    if gradient is None:
        gradient = net.gradients(X, Y).as_list()
    return shifted_network(net, gradient, -lr).loss(X, Y)


def hypergradient_finite_difference(net, X, Y, lr, h=DEFAULT_H):
    """Return the central difference (L(θ − (η+h) g) − L(θ − (η−h) g)) / 2h.

    g = ∇L(θ) stays fixed, so this differentiates the loss after the step with
    respect to η alone, a cross-check of ``hypergradient``.
    """
    g = net.gradients(X, Y).as_list()
    plus = loss_after_step(net, X, Y, lr + h, g)
    minus = loss_after_step(net, X, Y, lr - h, g)
    return (plus - minus) / (2 * h)


def hypergradient_descent(net, X, Y, lr, hyper_lr, steps):
    """Train ``net`` in place by full-batch gradient descent whose η learns itself.

    At every step t ≥ 1, h_t = −∇L(θ_t) · ∇L(θ_{t−1}) and η ← η − β h_t
    before the step θ_{t+1} = θ_t − η ∇L(θ_t). The first step uses ``lr``.

    Parameters
    ----------
    lr : float
        The starting η, > 0.
    hyper_lr : float
        β, the learning rate of η itself. β = 0 keeps η fixed.
    steps : int

    Returns
    -------
    dict
        ``loss`` (before every step, then after the last), ``lr`` (the η of
        every step) and ``hypergradient`` (h_t of every step, nan for the
        first).
    """
    losses, rates, hypergradients = [], [], []
    previous = None
    for _ in range(steps):
        grads = net.gradients(X, Y)
        g = grads.as_list()
        if previous is None:
            h = float("nan")
        else:
            h = -dot(g, previous)
            lr = lr - hyper_lr * h
        if not lr > 0:
            raise ValueError(
                f"the learning rate became {lr:.3g} ≤ 0 after {len(rates)} "
                "steps: lower hyper_lr"
            )
        losses.append(grads.loss)
        rates.append(lr)
        hypergradients.append(h)
        net.update(grads, lr)
        previous = g
    losses.append(net.loss(X, Y))
    return {
        "loss": np.array(losses),
        "lr": np.array(rates),
        "hypergradient": np.array(hypergradients),
    }
