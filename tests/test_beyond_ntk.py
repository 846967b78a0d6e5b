"""Tests of bpcourse.beyond.ntk: the empirical kernel and its change with width."""

import numpy as np
import pytest

from bpcourse.beyond import ntk
from bpcourse.beyond.hvp import shifted_network
from bpcourse.beyond.vectors import basis_direction
from bpcourse.network import Network

FLOAT64_TOL = 1e-12


def _data(N=8):
    X = np.linspace(-2, 2, N).reshape(1, N)
    return X, np.sin(2 * X)


def test_jacobian_matches_finite_difference():
    net = ntk.ntk_network([1, 6, 1], seed=0)
    X, _ = _data(5)
    J = ntk.output_jacobian(net, X)
    params = net.parameters()
    assert J.shape == (5, sum(p.size for p in params))
    h = 1e-6
    for i in range(J.shape[1]):
        e = basis_direction(params, i)
        plus, _ = shifted_network(net, e, h).forward(X)
        minus, _ = shifted_network(net, e, -h).forward(X)
        np.testing.assert_allclose(J[:, i], ((plus - minus) / (2 * h))[0], atol=1e-8)


def test_jacobian_of_sigmoid_output():
    net = Network([2, 3, 1], activation="tanh", loss="binary_cross_entropy", seed=1)
    X = np.random.default_rng(1).normal(size=(2, 4))
    J = ntk.output_jacobian(net, X)
    h = 1e-6
    e = basis_direction(net.parameters(), 0)
    plus, _ = shifted_network(net, e, h).forward(X)
    minus, _ = shifted_network(net, e, -h).forward(X)
    np.testing.assert_allclose(J[:, 0], ((plus - minus) / (2 * h))[0], atol=1e-8)


def test_kernel_is_symmetric_psd():
    net = ntk.ntk_network([1, 16, 1], seed=0)
    X, _ = _data()
    theta = ntk.empirical_ntk(net, X, scales=ntk.ntk_scales(net))
    np.testing.assert_allclose(theta, theta.T, atol=FLOAT64_TOL)
    assert np.linalg.eigvalsh(theta).min() > -1e-10


def test_kernel_of_two_sets():
    net = ntk.ntk_network([1, 8, 1], seed=0)
    X, _ = _data()
    full = ntk.empirical_ntk(net, X)
    cross = ntk.empirical_ntk(net, X[:, :3], X[:, 3:])
    np.testing.assert_allclose(cross, full[:3, 3:], atol=FLOAT64_TOL)


def test_kernel_predicts_one_small_step():
    # Δŷ ≈ −η Θ ∂L/∂ŷ, with the kernel of the same scaled learning rates.
    net = ntk.ntk_network([1, 32, 1], seed=0)
    X, Y = _data()
    lr = 1e-4
    before, _ = net.forward(X)
    theta = ntk.empirical_ntk(net, X, scales=ntk.ntk_scales(net))
    dL_dy = (before - Y) / X.shape[1]
    ntk.ntk_gradient_step(net, X, Y, lr)
    after, _ = net.forward(X)
    predicted = -lr * theta @ dL_dy[0]
    np.testing.assert_allclose(after[0] - before[0], predicted, rtol=1e-3)


def test_scales_are_inverse_fan_in():
    net = ntk.ntk_network([3, 5, 1], seed=0)
    scales = ntk.ntk_scales(net)
    np.testing.assert_allclose(scales[:15], 1 / 3)
    np.testing.assert_allclose(scales[15:20], 1.0)
    np.testing.assert_allclose(scales[20:25], 1 / 5)
    np.testing.assert_allclose(scales[25:], 1.0)


def test_ntk_network_weight_scale():
    net = ntk.ntk_network([1, 4000, 1], seed=0)
    assert np.var(net.weights[1]) == pytest.approx(1 / 4000, rel=0.1)


def test_change_shrinks_with_width():
    X, Y = _data()
    result = ntk.ntk_change_vs_width([16, 64, 256], X, Y, seeds=(0, 1), steps=50)
    change = result["relative_change"].mean(axis=1)
    weight_change = result["weight_change"].mean(axis=1)
    assert change[0] > change[1] > change[2]
    assert weight_change[0] > weight_change[1] > weight_change[2]
    assert result["relative_change"].shape == (3, 2)


def test_training_lowers_loss():
    X, Y = _data()
    run = ntk.ntk_change(64, X, Y, steps=100)
    assert run["loss"][-1] < run["loss"][0] / 3
    assert run["loss"].shape == (101,)


def test_log_log_slope_of_power_law():
    x = np.array([1.0, 10.0, 100.0])
    assert ntk.log_log_slope(x, 3 * x ** -0.5) == pytest.approx(-0.5)


def test_several_outputs_are_rejected():
    net = Network([2, 3, 2], seed=0)
    with pytest.raises(ValueError, match="one output"):
        ntk.output_jacobian(net, np.zeros((2, 1)))
