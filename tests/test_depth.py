"""Tests of bpcourse.depth: gradient norms, residual layers and layer normalization."""

import numpy as np
import pytest

from bpcourse.autodiff import Tensor
from bpcourse.depth import (
    INITIALIZERS,
    LAYER_NORM_EPS,
    SMALL_STD,
    DeepGradients,
    DeepNetwork,
    central_differences,
    deep_loss_tensor,
    deep_sizes,
    init_std,
    layer_gradient_norms,
    layer_variances,
    layernorm_backward,
    layernorm_forward,
    layernorm_tensor,
    scaled,
    small_normal,
)
from bpcourse.gradcheck import gradcheck
from bpcourse.init import he_normal, xavier_normal
from bpcourse.network import Network

#: Central differences with h = 1e-6 in float64 on values of order 1 are accurate
#: to about 1e-9; a wrong formula is off by order 1.
NUMERICAL_TOL = 1e-7
#: Two float64 computations of the same gradient in a different order agree to a
#: few ulps.
ROUNDING_TOL = 1e-12

COMBINATIONS = [(False, False), (True, False), (False, True), (True, True)]


def _batch(d0=5, N=7, K=3, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((d0, N)), rng.integers(0, K, size=N)


def _randomize_norm_parameters(net, seed=3):
    rng = np.random.default_rng(seed)
    for gamma, beta in zip(net.gammas, net.betas):
        if gamma is not None:
            gamma[...] = rng.uniform(0.5, 1.5, size=gamma.shape)
            beta[...] = rng.normal(size=beta.shape)


# --- Initialisation and sizes ------------------------------------------------------


def test_small_normal_std():
    W = small_normal(300, 400, np.random.default_rng(0))
    assert W.shape == (300, 400)
    assert abs(W.std() - SMALL_STD) < 1e-4


def test_scaled_multiplies_the_draw():
    base = he_normal(20, 30, np.random.default_rng(5))
    W = scaled(he_normal, 1.4)(20, 30, np.random.default_rng(5))
    np.testing.assert_allclose(W, 1.4 * base, rtol=1e-15)
    assert scaled("he", 2.0)(2, 3, np.random.default_rng(0), np.float32).dtype == np.float32


@pytest.mark.parametrize("gain", [0.0, -1.0, float("inf")])
def test_scaled_rejects_bad_gains(gain):
    with pytest.raises(ValueError, match="gain"):
        scaled(he_normal, gain)


def test_init_std_by_hand():
    assert init_std(256, 256, "small") == SMALL_STD
    assert init_std(256, 256, "xavier") == pytest.approx(0.0625)
    assert init_std(256, 256, "he") == pytest.approx(np.sqrt(2 / 256))
    assert init_std(300, 100, "xavier") == pytest.approx(np.sqrt(0.005))
    with pytest.raises(ValueError, match="unknown init"):
        init_std(3, 3, "orthogonal")


def test_initializers_are_those_of_bpcourse_init():
    assert INITIALIZERS["xavier"] is xavier_normal
    assert INITIALIZERS["he"] is he_normal


def test_deep_sizes():
    assert deep_sizes(4, 8, 3, 2) == [3, 8, 8, 8, 2]
    assert deep_sizes(1, 8, 3, 2) == [3, 2]
    with pytest.raises(ValueError):
        deep_sizes(0, 8, 3, 2)


def test_named_init_reaches_the_weights():
    net = DeepNetwork([256, 256, 10], init="small", seed=0)
    assert abs(net.weights[0].std() - SMALL_STD) < 5e-4


# --- Measurements --------------------------------------------------------------------


def test_gradient_norms_of_dW():
    X, y = _batch()
    net = Network([5, 4, 4, 3], activation="tanh", seed=0)
    grads = net.gradients(X, y)
    norms = layer_gradient_norms(net, X, y)
    assert norms.shape == (3,)
    np.testing.assert_array_equal(norms, [np.linalg.norm(dW) for dW in grads.dW])


def test_sigmoid_chain_quarter_per_layer():
    # w = 1, b = −0.5 and x = 0.5 give z = 0 in every layer, where σ′ = 1/4.
    net = Network([1] * 11, activation="sigmoid", loss="mse", output="identity")
    for W, b in zip(net.weights, net.biases):
        W[...] = 1.0
        b[...] = -0.5
    grads = net.gradients(np.array([[0.5]]), np.array([[1.0]]))
    assert grads.delta[-1][0, 0] == -1.0
    assert grads.delta[0][0, 0] / grads.delta[-1][0, 0] == pytest.approx(0.25**9)


def test_layer_variances_follow_he_for_relu():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((256, 512))
    y = rng.integers(0, 10, size=512)
    he = layer_variances(DeepNetwork(deep_sizes(8, 256, 256, 10), init="he"), X, y)
    xavier = layer_variances(DeepNetwork(deep_sizes(8, 256, 256, 10), init="xavier"), X, y)
    assert he["z"].shape == he["delta"].shape == (8,)
    # He keeps Var(z) near 2 in every hidden layer; Xavier halves it per layer.
    assert np.all((he["z"][:7] > 1.5) & (he["z"][:7] < 2.5))
    ratios = xavier["z"][1:7] / xavier["z"][:6]
    assert np.all((ratios > 0.4) & (ratios < 0.6))


def test_deep_sigmoid_vanishes_and_residual_layers_lift_it():
    X, y = _batch(d0=16, N=32, K=4)
    sizes = deep_sizes(12, 16, 16, 4)
    plain = layer_gradient_norms(DeepNetwork(sizes, activation="sigmoid", init="xavier"), X, y)
    residual = layer_gradient_norms(
        DeepNetwork(sizes, activation="sigmoid", init="xavier", residual=True), X, y
    )
    assert plain[0] < 1e-4 * plain[-1]
    assert residual[0] > 1e3 * plain[0]


# --- DeepNetwork -----------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_without_options_it_is_network_bit_for_bit(activation):
    X, y = _batch()
    plain = Network([5, 6, 6, 3], activation=activation, seed=3)
    deep = DeepNetwork([5, 6, 6, 3], activation=activation, seed=3)
    np.testing.assert_array_equal(plain.forward(X)[0], deep.forward(X)[0])
    expected, got = plain.gradients(X, y), deep.gradients(X, y)
    assert expected.loss == got.loss
    for e, g in zip(expected.as_list(), got.as_list()):
        np.testing.assert_array_equal(e, g)
    for e, g in zip(expected.delta, got.delta):
        np.testing.assert_array_equal(e, g)


def test_residual_and_norm_layers():
    net = DeepNetwork([4, 4, 6, 6, 3], residual=True, layer_norm=True)
    assert net.residual == [True, False, True, False]
    assert net.layer_norm == [True, True, True, False]
    assert [g is None for g in net.gammas] == [False, False, False, True]
    assert "residual=True" in repr(net)
    assert repr(net).startswith("DeepNetwork(")


def test_parameters_and_gradients_line_up():
    X, y = _batch(d0=4)
    net = DeepNetwork([4, 4, 5, 3], residual=True, layer_norm=True)
    grads = net.gradients(X, y)
    assert isinstance(grads, DeepGradients)
    params = net.parameters()
    assert len(params) == 2 * 3 + 2 * 2
    assert [p.shape for p in params] == [g.shape for g in grads.as_list()]
    assert params[2] is net.gammas[0]
    assert params[3] is net.betas[0]


@pytest.mark.parametrize("residual, layer_norm", COMBINATIONS)
@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_gradients_match_autodiff(residual, layer_norm, activation):
    X, y = _batch()
    net = DeepNetwork([5, 5, 5, 5, 3], activation=activation, residual=residual,
                      layer_norm=layer_norm, seed=2)
    _randomize_norm_parameters(net)
    grads = net.gradients(X, y)
    loss, params = deep_loss_tensor(net, X, y)
    loss.backward()
    assert loss.item() == pytest.approx(grads.loss, abs=ROUNDING_TOL)
    for p, g in zip(params, grads.as_list()):
        np.testing.assert_allclose(p.grad, g, rtol=0, atol=ROUNDING_TOL)


@pytest.mark.parametrize("residual, layer_norm", COMBINATIONS)
def test_gradients_match_central_differences(residual, layer_norm):
    X, y = _batch()
    net = DeepNetwork([5, 5, 5, 3], activation="tanh", residual=residual,
                      layer_norm=layer_norm, seed=4)
    _randomize_norm_parameters(net)
    grads = net.gradients(X, y)
    for p, g in zip(net.parameters(), grads.as_list()):
        numerical = central_differences(lambda: net.loss(X, y), p)
        np.testing.assert_allclose(numerical, g, rtol=0, atol=NUMERICAL_TOL)


def test_residual_relu_network_passes_gradcheck():
    X, y = _batch()
    net = DeepNetwork([5, 5, 5, 5, 3], activation="relu", residual=True, seed=0)
    assert gradcheck(net, X, y).passed


def test_gradcheck_names_normalization_parameters():
    X, y = _batch()
    net = DeepNetwork([5, 4, 4, 3], activation="tanh", layer_norm=True, seed=0)
    _randomize_norm_parameters(net)
    report = gradcheck(net, X, y)
    assert report.passed
    assert list(report.shapes) == ["W1", "b1", "γ1", "β1", "W2", "b2", "γ2", "β2",
                                   "W3", "b3"]
    assert report.shapes["γ2"] == (4, 1)
    assert report.shapes["W3"] == (3, 4)


def test_parameter_names_follow_parameters():
    net = DeepNetwork([5, 4, 3], layer_norm=True, seed=0)
    names = net.parameter_names()
    assert len(names) == len(net.parameters())
    assert names == ["W1", "b1", "γ1", "β1", "W2", "b2"]
    assert Network([2, 3, 2]).parameter_names() == ["W1", "b1", "W2", "b2"]


def test_residual_scalar_by_hand():
    # a¹ = x + σ(W¹x + b¹) with x = 0.5, W¹ = 1, b¹ = −0.5: z¹ = 0, a¹ = 1,
    # ŷ = a¹ = 1, δ² = ŷ − y = 1, ∂L/∂a¹ = 1, δ¹ = σ′(0) = 1/4, ∂L/∂W¹ = δ¹ x = 1/8.
    for residual, dW1, loss in [(True, 0.125, 0.5), (False, 0.0625, 0.125)]:
        net = DeepNetwork([1, 1, 1], activation="sigmoid", loss="mse",
                          output="identity", residual=residual)
        net.weights[0][...] = 1.0
        net.biases[0][...] = -0.5
        net.weights[1][...] = 1.0
        net.biases[1][...] = 0.0
        grads = net.gradients(np.array([[0.5]]), np.array([[0.0]]))
        assert grads.dW[0][0, 0] == dW1
        assert grads.loss == loss


def test_update_moves_gamma_and_beta_and_fit_trains():
    X, y = _batch(d0=6, N=40, K=3)
    net = DeepNetwork([6, 6, 6, 3], activation="tanh", layer_norm=True, residual=True)
    grads = net.gradients(X, y)
    gamma = net.gammas[0].copy()
    net.update(grads, 0.1)
    np.testing.assert_allclose(net.gammas[0], gamma - 0.1 * grads.dgamma[0])
    before = net.loss(X, y)
    net.fit(X, y, epochs=20, batch_size=8, lr=0.1, progress=False)
    assert net.loss(X, y) < 0.5 * before


def test_astype_and_copy_keep_the_architecture():
    net = DeepNetwork([4, 4, 4, 2], residual=True, layer_norm=True, seed=0)
    single = net.astype(np.float32)
    assert isinstance(single, DeepNetwork)
    assert single.residual == net.residual
    assert single.layer_norm == net.layer_norm
    assert all(p.dtype == np.float32 for p in single.parameters())
    X, y = _batch(d0=4, K=2)
    grads = single.gradients(X.astype(np.float32), y)
    assert all(g.dtype == np.float32 for g in grads.as_list())
    clone = net.copy()
    clone.gammas[0][...] = 5.0
    assert np.all(net.gammas[0] == 1.0)


def test_deep_loss_tensor_needs_cross_entropy():
    net = DeepNetwork([2, 2, 1], loss="mse", output="identity")
    with pytest.raises(ValueError, match="cross-entropy"):
        deep_loss_tensor(net, np.zeros((2, 3)), np.zeros((1, 3)))


# --- Layer normalization ------------------------------------------------------------


def test_layernorm_forward_normalizes_every_column():
    rng = np.random.default_rng(0)
    z = rng.normal(loc=3.0, scale=5.0, size=(6, 4))
    u, cache = layernorm_forward(z, np.ones((6, 1)), np.zeros((6, 1)))
    np.testing.assert_allclose(u.mean(axis=0), 0.0, atol=1e-12)
    v = z.var(axis=0)
    np.testing.assert_allclose(u.var(axis=0), v / (v + LAYER_NORM_EPS), rtol=1e-12)
    assert cache.s.shape == (1, 4)
    assert cache.z_hat.shape == (6, 4)
    gamma, beta = np.full((6, 1), 2.0), np.full((6, 1), -1.0)
    u2, _ = layernorm_forward(z, gamma, beta)
    np.testing.assert_allclose(u2, 2.0 * u - 1.0, rtol=1e-12)


def test_layernorm_backward_by_hand():
    z = np.array([[1.0], [2.0], [3.0]])
    u, cache = layernorm_forward(z, np.ones((3, 1)), np.zeros((3, 1)))
    np.testing.assert_allclose(cache.s, [[np.sqrt(2 / 3)]], rtol=1e-4)
    dz, dgamma, dbeta = layernorm_backward(np.array([[1.0], [0.0], [0.0]]), cache)
    np.testing.assert_allclose(dz.ravel(), np.array([1, -2, 1]) / np.sqrt(24), rtol=1e-4)
    np.testing.assert_allclose(dgamma.ravel(), [cache.z_hat[0, 0], 0, 0])
    np.testing.assert_array_equal(dbeta.ravel(), [1, 0, 0])


def test_layernorm_gradient_of_a_column_sums_to_zero():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(5, 3))
    _, cache = layernorm_forward(z, rng.uniform(0.5, 1.5, (5, 1)), rng.normal(size=(5, 1)))
    dz, _, _ = layernorm_backward(rng.normal(size=(5, 3)), cache)
    np.testing.assert_allclose(dz.sum(axis=0), 0.0, atol=1e-12)


@pytest.mark.parametrize("d, N", [(4, 1), (5, 3), (2, 6)])
def test_layernorm_backward_matches_central_differences_and_autodiff(d, N):
    rng = np.random.default_rng(d * 10 + N)
    z = rng.normal(loc=1.0, scale=2.0, size=(d, N))
    gamma = rng.uniform(0.5, 1.5, size=(d, 1))
    beta = rng.normal(size=(d, 1))
    R = rng.normal(size=(d, N))
    _, cache = layernorm_forward(z, gamma, beta)
    dz, dgamma, dbeta = layernorm_backward(R, cache)

    def loss():
        return np.sum(R * layernorm_forward(z, gamma, beta)[0])

    for ours, array in [(dz, z), (dgamma, gamma), (dbeta, beta)]:
        np.testing.assert_allclose(central_differences(loss, array), ours, atol=NUMERICAL_TOL)

    tensors = [Tensor(z), Tensor(gamma), Tensor(beta)]
    (layernorm_tensor(*tensors) * R).sum().backward()
    for ours, tensor in zip([dz, dgamma, dbeta], tensors):
        np.testing.assert_allclose(tensor.grad, ours, rtol=0, atol=ROUNDING_TOL)


def test_central_differences_of_a_quadratic_and_restore():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    original = x.copy()
    gradient = central_differences(lambda: np.sum(x**2), x)
    np.testing.assert_allclose(gradient, 2 * original, atol=1e-8)
    np.testing.assert_array_equal(x, original)
