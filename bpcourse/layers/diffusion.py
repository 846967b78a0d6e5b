r"""A tiny denoising diffusion model: noise schedule, loss, denoiser, sampling.

Forward process. A schedule β_1 … β_T adds a little Gaussian noise at every
step. With α_t = 1 − β_t and ᾱ_t = α_1 ⋯ α_t, the noisy point at step t can
be drawn from the clean point x_0 in one go:

.. math::

    x_t = \sqrt{\bar\alpha_t}\, x_0 + \sqrt{1 - \bar\alpha_t}\, \epsilon,
    \qquad \epsilon \sim \mathcal N(0, I).

Noise-prediction loss. A network ε̂ = ε_θ(x_t, t) learns to recover ε from
x_t and t. For a batch of N columns the loss is the course's mean squared
error,

.. math::

    L = \frac{1}{N} \sum_n \tfrac12 \lVert \hat\epsilon_n - \epsilon_n \rVert^2,
    \qquad \frac{\partial L}{\partial \hat\epsilon} = \frac{\hat\epsilon - \epsilon}{N},

so δᴸ of an identity output is (ε̂ − ε)/N, and the rest of the backward
pass is the δ-recursion of ``bpcourse.network``.

Denoiser. The network reads the column [x_t; e(t)], where the time embedding
e(t) contains sines and cosines of t at several frequencies, so that one set of
weights serves every step.

Sampling. Starting from x_T ∼ N(0, I), each ancestral step removes the
predicted noise and adds fresh noise of the posterior variance
β̃_t = β_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t):

.. math::

    x_{t-1} = \frac{1}{\sqrt{\alpha_t}}
        \Big(x_t - \frac{\beta_t}{\sqrt{1 - \bar\alpha_t}}\, \hat\epsilon\Big)
        + \sqrt{\tilde\beta_t}\, z, \qquad z \sim \mathcal N(0, I),

with ᾱ_0 = 1, so β̃_1 = 0 and the last step adds no noise. β̃_t is the
variance of x_{t−1} given x_t and x_0; with few steps it gives sharper
samples than the other common choice, β_t.
"""

from dataclasses import dataclass

import numpy as np

from bpcourse.network import Network


@dataclass(frozen=True)
class Schedule:
    """A noise schedule. Arrays are indexed by t − 1, for steps t = 1 … T.

    Attributes
    ----------
    betas, alphas, alpha_bars : ndarray, shape (T,)
    """

    betas: np.ndarray
    alphas: np.ndarray
    alpha_bars: np.ndarray

    @property
    def steps(self):
        """T, the number of noising steps."""
        return self.betas.size

    def posterior_variance(self, t):
        """Return β̃_t = β_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t), with ᾱ_0 = 1."""
        alpha_bar_prev = self.alpha_bars[t - 2] if t > 1 else 1.0
        return self.betas[t - 1] * (1.0 - alpha_bar_prev) / (1.0 - self.alpha_bars[t - 1])


def linear_schedule(steps, beta_first=1e-3, beta_last=0.2):
    """Return the schedule with β_t rising linearly from ``beta_first`` to ``beta_last``.

    Raises
    ------
    ValueError
        When a β is not in (0, 1).
    """
    if not 0 < beta_first <= beta_last < 1:
        raise ValueError(
            f"beta_first={beta_first} and beta_last={beta_last} must satisfy "
            "0 < beta_first ≤ beta_last < 1"
        )
    betas = np.linspace(beta_first, beta_last, steps)
    alphas = 1.0 - betas
    return Schedule(betas=betas, alphas=alphas, alpha_bars=np.cumprod(alphas))


def add_noise(x0, t, eps, schedule):
    """Return x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε for every column.

    Parameters
    ----------
    x0, eps : ndarray, shape (d, N)
    t : ndarray of int, shape (N,)
        Steps in 1 … T, one per column.
    schedule : Schedule
    """
    t = np.asarray(t)
    if np.any(t < 1) or np.any(t > schedule.steps):
        raise ValueError(f"steps must lie in 1 … {schedule.steps}")
    alpha_bar = schedule.alpha_bars[t - 1]
    return np.sqrt(alpha_bar) * x0 + np.sqrt(1.0 - alpha_bar) * eps


def time_embedding(t, steps, dim):
    """Return the sinusoidal embedding e(t), shape (dim, N), of steps t.

    Rows 2k and 2k + 1 are sin and cos of ω_k t / T with frequencies
    ω_k = π 2^k, so the lowest frequency changes slowly over all T steps and
    the highest separates neighbouring steps.
    """
    if dim % 2:
        raise ValueError(f"dim={dim} must be even: one sine and one cosine per frequency")
    phase = np.asarray(t, dtype=np.float64)[None, :] / steps
    frequencies = np.pi * 2.0 ** np.arange(dim // 2)[:, None]
    embedding = np.empty((dim, phase.shape[1]))
    embedding[0::2] = np.sin(frequencies * phase)
    embedding[1::2] = np.cos(frequencies * phase)
    return embedding


def noise_prediction_loss(eps_hat, eps):
    """Return L = (1/N) Σ ½ ‖ε̂_n − ε_n‖² and ∂L/∂ε̂ = (ε̂ − ε)/N.

    Parameters
    ----------
    eps_hat, eps : ndarray, shape (d, N)

    Returns
    -------
    loss : float
    delta : ndarray, shape (d, N)
    """
    if np.shape(eps_hat) != np.shape(eps):
        raise ValueError(
            f"eps_hat has shape {np.shape(eps_hat)} and eps has {np.shape(eps)}"
        )
    error = eps_hat - eps
    N = error.shape[1]
    return float(0.5 * np.sum(error * error) / N), error / N


class Denoiser:
    """An MLP ε_θ(x_t, t) on the column [x_t; e(t)], trained by the noise-prediction loss.

    The network is a ``bpcourse.network.Network`` with an identity output and
    the mean squared error loss, which is the noise-prediction loss.

    Parameters
    ----------
    schedule : Schedule
    dim : int
        Dimension d of the data points.
    hidden : sequence of int
        Hidden widths.
    embedding_dim : int
        Rows of the time embedding, even.
    activation : str
    seed : int
    """

    def __init__(self, schedule, dim=2, hidden=(64, 64), embedding_dim=8,
                 activation="relu", seed=0):
        self.schedule = schedule
        self.dim = dim
        self.embedding_dim = embedding_dim
        sizes = [dim + embedding_dim, *hidden, dim]
        self.net = Network(sizes, activation=activation, loss="mse", seed=seed)

    def parameters(self):
        """Return the network's live parameter arrays ``[W1, b1, …]``."""
        return self.net.parameters()

    def inputs(self, x_t, t):
        """Return the network's input columns [x_t; e(t)], shape (d + dim_e, N)."""
        embedding = time_embedding(t, self.schedule.steps, self.embedding_dim)
        return np.vstack([x_t, embedding])

    def predict(self, x_t, t):
        """Return ε̂ = ε_θ(x_t, t), shape (d, N)."""
        output, _ = self.net.forward(self.inputs(x_t, t))
        return output

    def batch(self, x0, rng):
        """Draw a step and a noise for every column, and return (inputs, eps)."""
        N = x0.shape[1]
        t = rng.integers(1, self.schedule.steps + 1, size=N)
        eps = rng.standard_normal(x0.shape)
        return self.inputs(add_noise(x0, t, eps, self.schedule), t), eps

    def loss_and_gradients(self, x0, rng):
        """Return the noise-prediction loss of a fresh batch and its gradients.

        Returns
        -------
        loss : float
        grads : list of ndarray
            In the order of ``parameters()``.
        """
        inputs, eps = self.batch(x0, rng)
        grads = self.net.gradients(inputs, eps)
        return grads.loss, grads.as_list()

    def sample(self, num, rng, keep=()):
        """Draw ``num`` points by ancestral sampling from x_T ∼ N(0, I).

        Parameters
        ----------
        num : int
        rng : numpy Generator
        keep : sequence of int
            Steps t whose x_t to return as well (T for the starting noise,
            0 for the samples).

        Returns
        -------
        x0 : ndarray, shape (d, num)
        kept : dict of int to ndarray
        """
        schedule = self.schedule
        x = rng.standard_normal((self.dim, num))
        kept = {schedule.steps: x.copy()} if schedule.steps in keep else {}
        for t in range(schedule.steps, 0, -1):
            beta, alpha = schedule.betas[t - 1], schedule.alphas[t - 1]
            eps_hat = self.predict(x, np.full(num, t))
            x = (x - beta / np.sqrt(1.0 - schedule.alpha_bars[t - 1]) * eps_hat)
            x = x / np.sqrt(alpha)
            if t > 1:
                noise = rng.standard_normal(x.shape)
                x = x + np.sqrt(schedule.posterior_variance(t)) * noise
            if t - 1 in keep:
                kept[t - 1] = x.copy()
        return x, kept
