"""Tests of bpcourse.beyond.forward_gradient: unbiased estimates from forward mode."""

import numpy as np
import pytest

from bpcourse.beyond import forward_gradient as fg
from bpcourse.beyond.vectors import flatten
from bpcourse.network import Network
from bpcourse.optim import SGD


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    net = Network([3, 4, 3], activation="tanh", seed=seed)
    X = rng.normal(size=(3, 10))
    y = rng.integers(0, 3, size=10)
    return net, X, y


def test_estimate_is_directional_derivative_times_direction():
    net, X, y = _problem()
    estimate, loss = fg.forward_gradient(net, X, y, rng=5)
    v = flatten(fg.random_direction(net, np.random.default_rng(5)))
    g = flatten(net.gradients(X, y).as_list())
    np.testing.assert_allclose(flatten(estimate), (g @ v) * v, rtol=1e-10)
    assert loss == pytest.approx(net.loss(X, y))


def test_estimate_is_unbiased():
    net, X, y = _problem()
    g = flatten(net.gradients(X, y).as_list())
    rng = np.random.default_rng(0)
    R = 4000
    mean = np.mean([flatten(fg.forward_gradient(net, X, y, rng)[0]) for _ in range(R)],
                   axis=0)
    P = g.size
    # Each entry's standard error is below √((P + 2) / R) ‖g‖.
    assert np.max(np.abs(mean - g)) < 4 * np.sqrt((P + 2) / R) * np.linalg.norm(g)


@pytest.mark.parametrize("k", [1, 4])
def test_relative_mse_matches_theory(k):
    net, X, y = _problem()
    g = flatten(net.gradients(X, y).as_list())
    rng = np.random.default_rng(1)
    errors = [np.sum((flatten(fg.forward_gradient(net, X, y, rng, k)[0]) - g) ** 2)
              for _ in range(3000)]
    measured = np.mean(errors) / (g @ g)
    assert measured == pytest.approx(fg.expected_relative_mse(g.size, k), rel=0.1)


def test_expected_relative_mse_formula():
    assert fg.expected_relative_mse(99) == 100
    assert fg.expected_relative_mse(99, 4) == 25


def test_invalid_number_of_directions_is_rejected():
    net, X, y = _problem()
    with pytest.raises(ValueError, match="positive integer"):
        fg.forward_gradient(net, X, y, 0, num_directions=0)


def test_training_lowers_loss():
    net, X, y = _problem()
    before = net.loss(X, y)
    history = fg.train_forward_gradient(net, X, y, SGD(lr=0.05), epochs=30,
                                        batch_size=10, num_directions=8,
                                        X_test=X, y_test=y)
    assert net.loss(X, y) < before
    assert history["step_loss"].shape == (30,)
    assert history["test_accuracy"].shape == (31,)
