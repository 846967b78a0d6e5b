"""Tests of bpcourse.beyond.discrete: REINFORCE, Gumbel-softmax and surrogate steps."""

import numpy as np
import pytest

from bpcourse.beyond import discrete
from bpcourse.data import moons
from bpcourse.network import Network

THETA = np.array([0.5, 0.0, -0.5, 1.0])
REWARDS = np.array([1.0, 3.0, 0.0, 2.0])


def test_exact_gradient_matches_finite_difference():
    h = 1e-6
    exact = discrete.exact_gradient(THETA, REWARDS)
    for k in range(4):
        e = np.zeros(4)
        e[k] = h
        numerical = (discrete.expected_reward(THETA + e, REWARDS)
                     - discrete.expected_reward(THETA - e, REWARDS)) / (2 * h)
        assert exact[k] == pytest.approx(numerical, abs=1e-9)


def test_samples_follow_probabilities():
    k = discrete.sample_categories(THETA, np.random.default_rng(0), 200_000)
    frequencies = np.bincount(k, minlength=4) / k.size
    np.testing.assert_allclose(frequencies, discrete.probabilities(THETA), atol=0.005)


@pytest.mark.parametrize("baseline", [None, 1.5, "leave_one_out"])
def test_reinforce_is_unbiased(baseline):
    estimates = discrete.reinforce_gradient(THETA, REWARDS, 0, num_samples=4,
                                            baseline=baseline, repetitions=40_000)
    stats = discrete.estimator_statistics(estimates, discrete.exact_gradient(THETA, REWARDS))
    # The mean of R estimates is off by about √(variance / R).
    assert stats["bias"] < 4 * np.sqrt(stats["variance"] / stats["repetitions"])


def test_baseline_lowers_variance():
    exact = discrete.exact_gradient(THETA, REWARDS)
    plain = discrete.reinforce_gradient(THETA, REWARDS, 0, num_samples=4,
                                        repetitions=20_000)
    with_baseline = discrete.reinforce_gradient(
        THETA, REWARDS, 0, num_samples=4,
        baseline=discrete.expected_reward(THETA, REWARDS), repetitions=20_000)
    assert (discrete.estimator_statistics(with_baseline, exact)["variance"]
            < discrete.estimator_statistics(plain, exact)["variance"] / 2)


def test_single_reinforce_estimate_by_hand():
    # One sample of category 1 without a baseline: f_1 (e_1 − p).
    rng = np.random.default_rng(0)
    k = discrete.sample_categories(THETA, np.random.default_rng(0), (1, 1))[0, 0]
    estimate = discrete.reinforce_gradient(THETA, REWARDS, rng)
    p = discrete.probabilities(THETA)
    np.testing.assert_allclose(estimate, REWARDS[k] * (np.eye(4)[k] - p))


def test_leave_one_out_needs_two_samples():
    with pytest.raises(ValueError, match="num_samples ≥ 2"):
        discrete.reinforce_gradient(THETA, REWARDS, 0, baseline="leave_one_out")


def test_unknown_baseline_is_rejected():
    with pytest.raises(ValueError, match="unknown baseline"):
        discrete.reinforce_gradient(THETA, REWARDS, 0, baseline="mean")


def test_gumbel_bias_grows_and_variance_falls_with_temperature():
    exact = discrete.exact_gradient(THETA, REWARDS)
    stats = [
        discrete.estimator_statistics(
            discrete.gumbel_softmax_gradient(THETA, REWARDS, 0, tau, num_samples=4,
                                             repetitions=20_000), exact)
        for tau in (0.1, 0.5, 2.0)
    ]
    assert stats[0]["variance"] > stats[1]["variance"] > stats[2]["variance"]
    assert stats[2]["bias"] > stats[1]["bias"]
    assert stats[2]["bias"] > 10 * np.sqrt(stats[2]["variance"] / 20_000)


def test_gumbel_estimate_matches_relaxed_derivative():
    # Reproduce one sample's noise and differentiate f · softmax((θ + G)/τ).
    tau = 0.5
    estimate = discrete.gumbel_softmax_gradient(THETA, REWARDS, 3, tau)
    G = -np.log(-np.log(np.random.default_rng(3).random((1, 1, 4))))[0, 0]

    def relaxed(theta):
        y = np.exp((theta + G) / tau)
        return REWARDS @ (y / y.sum())

    h = 1e-6
    for k in range(4):
        e = np.zeros(4)
        e[k] = h
        numerical = (relaxed(THETA + e) - relaxed(THETA - e)) / (2 * h)
        assert estimate[k] == pytest.approx(numerical, abs=1e-8)


def test_nonpositive_temperature_is_rejected():
    with pytest.raises(ValueError, match="temperature"):
        discrete.gumbel_softmax_gradient(THETA, REWARDS, 0, 0.0)


def test_statistics_of_constant_estimates():
    stats = discrete.estimator_statistics(np.ones((5, 2)), np.zeros(2))
    assert stats["variance"] == 0.0
    assert stats["bias"] == pytest.approx(np.sqrt(2))
    assert stats["mse"] == pytest.approx(2.0)


def test_step_activation_values():
    step = discrete.step_activation(4.0)
    z = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(step(z), [0.0, 0.0, 1.0])
    assert step.derivative(np.array([0.0]))[0] == pytest.approx(1.0)
    assert step.kinked


def test_surrogate_integrates_to_one():
    z = np.linspace(-20, 20, 40001)
    area = np.trapezoid(discrete.step_activation(3.0).derivative(z), z)
    assert area == pytest.approx(1.0, abs=1e-6)


def test_true_step_derivative_is_zero():
    assert not discrete.step_activation(None).derivative(np.linspace(-1, 1, 5)).any()


def test_surrogate_trains_hidden_layer():
    X, y = moons(200, noise=0.15, seed=0)
    nets = {}
    for name, slope in (("true", None), ("surrogate", 8.0)):
        nets[name] = Network([2, 16, 2], activation=discrete.step_activation(slope),
                             seed=0)
        W1 = nets[name].weights[0].copy()
        nets[name].fit(X, y, epochs=15, batch_size=32, lr=0.5, optimizer="sgd",
                       seed=0, progress=False)
        moved = not np.array_equal(W1, nets[name].weights[0])
        assert moved == (name == "surrogate")
    assert nets["surrogate"].accuracy(X, y) > nets["true"].accuracy(X, y)


def test_nonpositive_slope_is_rejected():
    with pytest.raises(ValueError, match="slope"):
        discrete.step_activation(0.0)
