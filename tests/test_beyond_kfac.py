"""Tests of bpcourse.beyond.kfac: exact Gauss–Newton blocks and their Kronecker approximation."""

import numpy as np
import pytest

from bpcourse.beyond import hvp, kfac
from bpcourse.network import Network

FLOAT64_TOL = 1e-12


def _problem(loss="cross_entropy", output=None, K=3, N=8, seed=0):
    rng = np.random.default_rng(seed)
    net = Network([4, 5, 3, K], activation="tanh", loss=loss, output=output,
                  seed=seed)
    for b in net.biases:
        b[...] = rng.normal(scale=0.3, size=b.shape)
    X = rng.normal(size=(4, N))
    if loss == "cross_entropy":
        Y = rng.integers(0, K, size=N)
    elif loss == "binary_cross_entropy":
        Y = rng.integers(0, 2, size=(K, N))
    else:
        Y = rng.normal(size=(K, N))
    return net, X, Y


def _weight_block(matrix, net, layer):
    sizes = [p.size for p in net.parameters()]
    start = sum(sizes[: 2 * (layer - 1)])
    n = sizes[2 * (layer - 1)]
    return matrix[start:start + n, start:start + n]


@pytest.mark.parametrize("loss, output, K", [
    ("cross_entropy", None, 3),
    ("binary_cross_entropy", None, 2),
    ("mse", "identity", 2),
    ("mse", "tanh", 2),
])
@pytest.mark.parametrize("layer", [1, 2, 3])
def test_block_matches_full_gauss_newton(loss, output, K, layer):
    net, X, Y = _problem(loss, output, K)
    G = hvp.hessian_matrix(net, X, Y, method="gauss_newton")
    block = kfac.gauss_newton_block(net, X, layer)
    np.testing.assert_allclose(block, _weight_block(G, net, layer), rtol=0,
                               atol=FLOAT64_TOL)


def test_output_jacobians_match_finite_difference():
    net, X, _ = _problem()
    _, cache = net.forward(X)
    J = kfac.output_jacobians(net, cache, 2)
    assert J.shape == (X.shape[1], 3, 3)
    # Perturb z² of example 0 and run the last layer forward.
    h = 1e-6
    z2 = cache.z[1][:, :1]
    for i in range(3):
        e = np.zeros_like(z2)
        e[i] = h
        plus = net.weights[2] @ np.tanh(z2 + e) + net.biases[2]
        minus = net.weights[2] @ np.tanh(z2 - e) + net.biases[2]
        np.testing.assert_allclose(J[0][:, i], ((plus - minus) / (2 * h))[:, 0],
                                   atol=1e-8)


def test_output_jacobian_of_last_layer_is_identity():
    net, X, _ = _problem()
    _, cache = net.forward(X)
    J = kfac.output_jacobians(net, cache, 3)
    np.testing.assert_array_equal(J, np.broadcast_to(np.eye(3), J.shape))


def test_cross_entropy_output_hessian():
    net, X, _ = _problem()
    output, cache = net.forward(X)
    H = kfac.output_hessians(net, cache)
    p = output[:, 0]
    np.testing.assert_allclose(H[0], np.diag(p) - np.outer(p, p), atol=FLOAT64_TOL)
    np.testing.assert_allclose(H.sum(axis=2), 0.0, atol=FLOAT64_TOL)


@pytest.mark.parametrize("layer", [1, 2, 3])
def test_kfac_is_exact_for_one_example(layer):
    net, X, _ = _problem(N=1)
    A, G = kfac.kfac_factors(net, X, layer)
    exact = kfac.gauss_newton_block(net, X, layer)
    np.testing.assert_allclose(kfac.kfac_block(A, G), exact, rtol=0,
                               atol=FLOAT64_TOL)


def test_kfac_is_approximate_for_several_examples():
    net, X, _ = _problem(N=20)
    A, G = kfac.kfac_factors(net, X, 2)
    error = kfac.relative_frobenius_error(kfac.kfac_block(A, G),
                                          kfac.gauss_newton_block(net, X, 2))
    assert 1e-3 < error < 1.0


def test_factor_shapes_and_symmetry():
    net, X, _ = _problem()
    A, G = kfac.kfac_factors(net, X, 2)
    assert A.shape == (5, 5)
    assert G.shape == (3, 3)
    np.testing.assert_allclose(A, A.T, atol=FLOAT64_TOL)
    np.testing.assert_allclose(G, G.T, atol=FLOAT64_TOL)


def test_input_factor_is_second_moment():
    net, X, _ = _problem()
    _, cache = net.forward(X)
    A, _ = kfac.kfac_factors(net, X, 2)
    a1 = cache.a[1]
    np.testing.assert_allclose(A, a1 @ a1.T / X.shape[1], atol=FLOAT64_TOL)


@pytest.mark.parametrize("loss, output, K", [
    ("cross_entropy", None, 3),
    ("binary_cross_entropy", None, 2),
    ("mse", "tanh", 2),
])
def test_sampled_factor_converges_to_exact(loss, output, K):
    net, X, _ = _problem(loss, output, K)
    _, G = kfac.kfac_factors(net, X, 2)
    _, G_sampled = kfac.kfac_factors(net, X, 2, rng=0, samples=4000)
    assert kfac.relative_frobenius_error(G_sampled, G) < 0.03


def test_sampled_gradients_shape():
    net, X, _ = _problem()
    g = kfac.sampled_output_gradients(net, X, 2, rng=0, samples=3)
    assert g.shape == (3, 3 * X.shape[1])


def test_precondition_inverts_kronecker_product():
    rng = np.random.default_rng(5)
    A = np.cov(rng.normal(size=(4, 20)))
    G = np.cov(rng.normal(size=(3, 20)))
    dW = rng.normal(size=(3, 4))
    damping = 0.1
    step = kfac.kfac_precondition(dW, A, G, damping)
    block = np.kron(G + damping * np.eye(3), A + damping * np.eye(4))
    np.testing.assert_allclose(block @ step.ravel(), dW.ravel(), atol=1e-10)


def test_layer_out_of_range_is_rejected():
    net, X, _ = _problem()
    with pytest.raises(ValueError, match="out of range"):
        kfac.gauss_newton_block(net, X, 0)
    with pytest.raises(ValueError, match="out of range"):
        kfac.gauss_newton_block(net, X, 4)
