"""Tests of bpcourse.layers.diffusion: schedule, noising, loss, denoiser and sampling."""

import numpy as np
import pytest

from bpcourse.autodiff import mlp_loss
from bpcourse.gradcheck import gradcheck
from bpcourse.layers import diffusion, models, tasks
from bpcourse.layers.checking import relative_error
from bpcourse.optim import Adam, CosineSchedule

#: See tests/test_layers_conv.py.
FLOAT64_TOL = 1e-12


@pytest.fixture(scope="module")
def schedule():
    return diffusion.linear_schedule(40, beta_first=1e-3, beta_last=0.25)


def test_schedule_products(schedule):
    assert schedule.steps == 40
    assert np.isclose(schedule.alpha_bars[0], 1 - 1e-3)
    assert np.isclose(schedule.alpha_bars[-1], np.prod(1 - schedule.betas))
    # The chapter's schedule leaves almost nothing of x_0 after 40 steps.
    assert schedule.alpha_bars[-1] < 0.005


def test_schedule_rejects_invalid_betas():
    with pytest.raises(ValueError, match="beta_first"):
        diffusion.linear_schedule(10, beta_first=0.5, beta_last=0.1)


def test_posterior_variance_is_zero_at_first_step(schedule):
    assert schedule.posterior_variance(1) == 0.0
    assert 0 < schedule.posterior_variance(20) < schedule.betas[19]


def test_add_noise_formula(schedule):
    x0 = np.array([[1.0, 2.0], [0.0, -1.0]])
    eps = np.array([[0.5, 0.0], [1.0, 1.0]])
    t = np.array([1, 40])
    x_t = diffusion.add_noise(x0, t, eps, schedule)
    alpha_bar = schedule.alpha_bars[[0, 39]]
    assert np.allclose(x_t, np.sqrt(alpha_bar) * x0 + np.sqrt(1 - alpha_bar) * eps)


def test_add_noise_rejects_step_zero(schedule):
    with pytest.raises(ValueError, match="steps"):
        diffusion.add_noise(np.zeros((2, 1)), np.array([0]), np.zeros((2, 1)), schedule)


def test_time_embedding_values():
    e = diffusion.time_embedding(np.array([0, 20]), 40, 4)
    assert e.shape == (4, 2)
    assert np.allclose(e[:, 0], [0, 1, 0, 1])
    # t / T = 1/2: sin(π/2) = 1, cos(π/2) = 0, sin(π) = 0, cos(π) = −1.
    assert np.allclose(e[:, 1], [1, 0, 0, -1])


def test_time_embedding_rejects_odd_dim():
    with pytest.raises(ValueError, match="even"):
        diffusion.time_embedding(np.array([1]), 10, 3)


def test_loss_and_delta():
    eps_hat = np.array([[1.0, 0.0], [2.0, 1.0]])
    eps = np.zeros((2, 2))
    loss, delta = diffusion.noise_prediction_loss(eps_hat, eps)
    assert loss == pytest.approx(0.5 * (1 + 4 + 1) / 2)
    assert np.allclose(delta, eps_hat / 2)


def test_loss_matches_network_mse(schedule):
    denoiser = diffusion.Denoiser(schedule, seed=0)
    inputs, eps = denoiser.batch(np.ones((2, 5)), np.random.default_rng(0))
    output, _ = denoiser.net.forward(inputs)
    loss, delta = diffusion.noise_prediction_loss(output, eps)
    grads = denoiser.net.gradients(inputs, eps)
    assert loss == pytest.approx(grads.loss, rel=FLOAT64_TOL)
    assert np.allclose(grads.delta[-1], delta, atol=FLOAT64_TOL)


def test_denoiser_gradients_pass_checks(schedule):
    denoiser = diffusion.Denoiser(schedule, hidden=(16, 16), seed=0)
    inputs, eps = denoiser.batch(np.random.default_rng(1).standard_normal((2, 8)),
                                 np.random.default_rng(0))
    assert gradcheck(denoiser.net, inputs, eps).passed
    loss, tensors = mlp_loss(denoiser.net, inputs, eps)
    loss.backward()
    for tensor, grad in zip(tensors, denoiser.net.gradients(inputs, eps).as_list()):
        assert relative_error(tensor.grad, grad) < FLOAT64_TOL


def test_sampling_keeps_requested_steps(schedule):
    denoiser = diffusion.Denoiser(schedule, seed=0)
    samples, kept = denoiser.sample(7, np.random.default_rng(0), keep=(40, 3, 0))
    assert samples.shape == (2, 7)
    assert sorted(kept) == [0, 3, 40]
    assert np.array_equal(kept[0], samples)


def test_trained_denoiser_samples_modes(schedule):
    # The chapter's settings: 4,000 Adam steps on 128 points of the ring.
    points, centres = tasks.gaussian_ring(2000, seed=0)
    denoiser = diffusion.Denoiser(schedule, hidden=(64, 64), embedding_dim=8, seed=0)
    draw = np.random.default_rng(0)
    steps = 4000
    models.fit(denoiser,
               lambda step: (points[:, draw.integers(0, 2000, size=128)], draw),
               Adam(lr=0.01, schedule=CosineSchedule(total_steps=steps)), steps)
    samples, _ = denoiser.sample(1000, np.random.default_rng(1))
    distance = np.linalg.norm(samples[:, :, None] - centres[:, None, :], axis=0)
    # The chapter reports 95.4% within 3 standard deviations of a centre.
    assert np.mean(distance.min(axis=1) < 0.36) > 0.9
    counts = np.bincount(distance.argmin(axis=1), minlength=6)
    assert counts.min() > 100
