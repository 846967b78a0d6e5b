"""Tests of bpcourse.beyond.hypergradient: d L(θ − η∇L) / dη and learning η online."""

import numpy as np
import pytest

from bpcourse.beyond import hypergradient as hg
from bpcourse.beyond.vectors import flatten
from bpcourse.network import Network


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    net = Network([3, 5, 3], activation="tanh", seed=seed)
    X = rng.normal(size=(3, 20))
    y = rng.integers(0, 3, size=20)
    return net, X, y


@pytest.mark.parametrize("lr", [0.01, 0.3, 2.0, 20.0])
def test_hypergradient_matches_finite_difference(lr):
    net, X, y = _problem()
    value, _ = hg.hypergradient(net, X, y, lr)
    assert value == pytest.approx(hg.hypergradient_finite_difference(net, X, y, lr),
                                  rel=1e-6, abs=1e-10)


def test_hypergradient_at_zero_is_minus_squared_norm():
    net, X, y = _problem()
    value, loss_after = hg.hypergradient(net, X, y, 0.0)
    g = flatten(net.gradients(X, y).as_list())
    assert value == pytest.approx(-g @ g)
    assert loss_after == pytest.approx(net.loss(X, y))


def test_hypergradient_is_positive_after_overshoot():
    # ŷ = w + b with L = ½ (ŷ − 1)² from w = b = 0: g = (−1, −1), and after the
    # step ŷ = 2η, so the hypergradient is 2 (2η − 1), zero at η = 1/2.
    net = Network([1, 1], loss="mse", output="identity", seed=0)
    net.weights[0][...] = 0.0
    X, Y = np.array([[1.0]]), np.array([[1.0]])
    assert hg.hypergradient(net, X, Y, 0.25)[0] == pytest.approx(-1.0)
    assert hg.hypergradient(net, X, Y, 0.75)[0] == pytest.approx(1.0)
    assert hg.hypergradient(net, X, Y, 0.5)[0] == pytest.approx(0.0)


def test_hypergradient_leaves_network_unchanged():
    net, X, y = _problem()
    before = flatten(net.parameters())
    hg.hypergradient(net, X, y, 0.5)
    np.testing.assert_array_equal(flatten(net.parameters()), before)


def test_descent_without_hyper_lr_is_plain_descent():
    net, X, y = _problem()
    plain = net.copy()
    result = hg.hypergradient_descent(net, X, y, 0.1, 0.0, 5)
    for _ in range(5):
        plain.update(plain.gradients(X, y), 0.1)
    np.testing.assert_allclose(flatten(net.parameters()), flatten(plain.parameters()))
    np.testing.assert_array_equal(result["lr"], 0.1)
    assert np.isnan(result["hypergradient"][0])


def test_descent_raises_small_learning_rate():
    net, X, y = _problem()
    result = hg.hypergradient_descent(net, X, y, 0.001, 0.1, 30)
    assert result["lr"][-1] > 0.01
    assert result["loss"].shape == (31,)


def test_online_hypergradient_is_exact_for_last_step():
    # h_t = −∇L(θ_t)·∇L(θ_{t−1}) is d L(θ_t) / d η of the step that made θ_t.
    net, X, y = _problem()
    start = net.copy()
    result = hg.hypergradient_descent(net, X, y, 0.2, 0.0, 2)
    value, _ = hg.hypergradient(start, X, y, 0.2)
    assert result["hypergradient"][1] == pytest.approx(value)


def test_learning_rate_below_zero_raises():
    net, X, y = _problem()
    with pytest.raises(ValueError, match="lower hyper_lr"):
        hg.hypergradient_descent(net, X, y, 5.0, 100.0, 10)
