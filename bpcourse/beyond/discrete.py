r"""Gradients through discrete choices: score functions, Gumbel-softmax, surrogates.

The toy problem draws a category k from p = softmax(θ) over K categories and
receives the reward f_k. The objective and its exact gradient are

.. math::

    J(\theta) = \mathbb{E}_{k \sim p}[f_k] = p \cdot f, \qquad
    \nabla_\theta J = p \odot (f - p \cdot f).

The sample k itself has no derivative with respect to θ. Two estimators
recover one from samples:

* **REINFORCE** (the score function): ∇J = E[f_k ∇_θ log p_k] with
  ∇_θ log p_k = e_k − p, so ĝ = (f_k − b)(e_k − p) is unbiased for any
  baseline b that does not depend on k. A good baseline lowers its variance.
* **Gumbel-softmax** (a reparameterization): k = argmax(θ + G) with Gumbel noise
  G has the law of p. Replacing the argmax by y = softmax((θ + G)/τ) makes
  the sample differentiable, and the gradient of the relaxed reward f·y is
  (1/τ) y ⊙ (f − y·f). It is biased for τ > 0, because it is the gradient of
  E[f·y], not of J, and its variance grows as τ → 0.

For a hidden unit that fires a step, a = H(z) = 1 if z > 0 else 0, the
derivative is zero wherever it exists, so backpropagation through it passes
nothing. A surrogate gradient keeps the step in the forward pass and uses the
derivative of a sigmoid of slope β in the backward pass, β σ′(β z).
"""

import numpy as np

from bpcourse.activations import Activation, sigmoid, softmax

#: Baselines that ``reinforce_gradient`` computes from the samples themselves.
SAMPLE_BASELINES = ("leave_one_out",)


def probabilities(theta):
    """Return p = softmax(θ) for logits of shape (K,)."""
    return softmax(np.asarray(theta, dtype=float).reshape(-1, 1))[:, 0]


def expected_reward(theta, rewards):
    """Return J(θ) = p · f."""
    return float(probabilities(theta) @ np.asarray(rewards, dtype=float))


def exact_gradient(theta, rewards):
    """Return ∇J = p ⊙ (f − p·f), shape (K,)."""
    p = probabilities(theta)
    f = np.asarray(rewards, dtype=float)
    return p * (f - p @ f)


def sample_categories(theta, rng, shape):
    """Draw categories from softmax(θ) by inverting the cumulative distribution."""
    p = probabilities(theta)
    cumulative = np.cumsum(p)
    uniform = rng.random(shape)
    return np.minimum(np.searchsorted(cumulative, uniform, side="right"), p.size - 1)


def reinforce_gradient(theta, rewards, rng, num_samples=1, baseline=None,
                       repetitions=None):
    """Return the REINFORCE estimate (1/S) Σ_s (f_{k_s} − b)(e_{k_s} − p).

    Parameters
    ----------
    theta, rewards : ndarray, shape (K,)
    rng : numpy Generator or int
    num_samples : int
        S, the samples averaged in one estimate.
    baseline : None, float or "leave_one_out"
        b: none (0), a constant, or for each sample the mean reward of the other
        S − 1 samples of the same estimate, which needs S ≥ 2 and keeps the
        estimate unbiased.
    repetitions : int, optional
        The number of independent estimates to return.

    Returns
    -------
    ndarray, shape (K,), or (repetitions, K) when ``repetitions`` is given
    """
    rng = np.random.default_rng(rng)
    f = np.asarray(rewards, dtype=float)
    p = probabilities(theta)
    R = 1 if repetitions is None else repetitions
    k = sample_categories(theta, rng, (R, num_samples))
    reward = f[k]
    if baseline is None:
        b = 0.0
    elif isinstance(baseline, str):
        if baseline not in SAMPLE_BASELINES:
            raise ValueError(
                f"unknown baseline {baseline!r}: use None, a number or "
                f"{', '.join(repr(name) for name in SAMPLE_BASELINES)}"
            )
        if num_samples < 2:
            raise ValueError("the leave-one-out baseline needs num_samples ≥ 2")
        b = (reward.sum(axis=1, keepdims=True) - reward) / (num_samples - 1)
    else:
        b = float(baseline)
    score = np.eye(p.size)[k] - p
    estimate = np.mean((reward - b)[:, :, None] * score, axis=1)
    return estimate[0] if repetitions is None else estimate


def gumbel_softmax_gradient(theta, rewards, rng, temperature, num_samples=1,
                            repetitions=None):
    """Return the Gumbel-softmax estimate (1/S) Σ_s (1/τ) y_s ⊙ (f − y_s·f).

    y_s = softmax((θ + G_s)/τ) with G_s of independent Gumbel(0, 1) entries,
    −log(−log u) for uniform u.

    Returns
    -------
    ndarray, shape (K,), or (repetitions, K) when ``repetitions`` is given
    """
    if not temperature > 0:
        raise ValueError(f"temperature={temperature!r} must be positive")
    rng = np.random.default_rng(rng)
    theta = np.asarray(theta, dtype=float)
    f = np.asarray(rewards, dtype=float)
    R = 1 if repetitions is None else repetitions
    gumbel = -np.log(-np.log(rng.random((R, num_samples, theta.size))))
    logits = (theta + gumbel) / temperature
    logits = logits - logits.max(axis=-1, keepdims=True)
    y = np.exp(logits)
    y = y / y.sum(axis=-1, keepdims=True)
    relaxed = (y @ f)[..., None]
    estimate = np.mean(y * (f - relaxed) / temperature, axis=1)
    return estimate[0] if repetitions is None else estimate


def estimator_statistics(estimates, exact):
    """Return the bias, variance and mean squared error of repeated estimates.

    Parameters
    ----------
    estimates : ndarray, shape (R, K)
        R independent estimates.
    exact : ndarray, shape (K,)

    Returns
    -------
    dict
        ``bias``: ‖mean − exact‖; ``variance``: E‖ĝ − mean‖², the sum of the
        K variances; ``mse``: E‖ĝ − exact‖²; ``mean``; ``repetitions``. The
        bias of an unbiased estimator comes out as about √(variance / R).
    """
    estimates = np.asarray(estimates)
    mean = estimates.mean(axis=0)
    variance = float(np.mean(np.sum((estimates - mean) ** 2, axis=1)))
    mse = float(np.mean(np.sum((estimates - exact) ** 2, axis=1)))
    return {
        "mean": mean,
        "bias": float(np.linalg.norm(mean - exact)),
        "variance": variance,
        "mse": mse,
        "repetitions": estimates.shape[0],
    }


def heaviside(z):
    """Return H(z) = 1 where z > 0 and 0 elsewhere, in the dtype of z."""
    z = np.asarray(z)
    return (z > 0).astype(z.dtype if np.issubdtype(z.dtype, np.floating) else float)


def step_activation(slope=None):
    """Return the step H(z) as an ``Activation`` for ``Network``.

    Parameters
    ----------
    slope : float or None
        β of the surrogate derivative β σ′(β z) used by the backward pass.
        None gives the true derivative, zero everywhere except at the jump.
    """
    if slope is None:
        def derivative(z):
            return np.zeros_like(np.asarray(z, dtype=float))

        return Activation("step", heaviside, derivative, kinked=True)
    if not slope > 0:
        raise ValueError(f"slope={slope!r} must be positive")

    def surrogate(z):
        s = sigmoid(slope * np.asarray(z))
        return slope * s * (1 - s)

    return Activation("step", heaviside, surrogate, kinked=True)
