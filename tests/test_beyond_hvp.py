"""Tests of bpcourse.beyond.hvp and jvp: forward tangents, Hessian and Gauss–Newton products."""

import numpy as np
import pytest

from bpcourse.beyond import hvp
from bpcourse.beyond.jvp import check_direction, forward_tangents, jvp
from bpcourse.beyond.vectors import basis_direction, dot, flatten
from bpcourse.examples import hand_worked_network
from bpcourse.network import Network

#: Central differences of float64 gradients at h = 1e-5 agree with exact
#: second derivatives to about 1e-9 relative on these small networks.
FD_RTOL = 1e-6

#: The same float64 arithmetic in another order agrees to a few ulps.
FLOAT64_TOL = 1e-12

#: (activation, loss, output, d_L): every loss and a nonlinear MSE output.
SETUPS = [
    ("tanh", "cross_entropy", None, 3),
    ("sigmoid", "mse", "identity", 2),
    ("tanh", "mse", "sigmoid", 2),
    ("sigmoid", "binary_cross_entropy", None, 1),
]


def _problem(activation, loss, output, K, seed=0, N=6):
    rng = np.random.default_rng(seed)
    net = Network([3, 4, 3, K], activation=activation, loss=loss, output=output,
                  seed=seed)
    for b in net.biases:
        b[...] = rng.normal(scale=0.3, size=b.shape)
    X = rng.normal(size=(3, N))
    if loss == "cross_entropy":
        Y = rng.integers(0, K, size=N)
    elif loss == "binary_cross_entropy":
        Y = rng.integers(0, 2, size=N)
    else:
        Y = rng.normal(size=(K, N))
    return net, X, Y


def _direction(net, seed=1):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=p.shape) for p in net.parameters()]


# --- jvp --------------------------------------------------------------------------


@pytest.mark.parametrize("setup", SETUPS, ids=[s[1] + "-" + str(s[2]) for s in SETUPS])
def test_jvp_matches_gradient_dot_direction(setup):
    net, X, Y = _problem(*setup)
    V = _direction(net)
    loss, derivative = jvp(net, X, Y, V)
    grads = net.gradients(X, Y)
    assert loss == pytest.approx(grads.loss, abs=FLOAT64_TOL)
    assert derivative == pytest.approx(dot(grads.as_list(), V), rel=1e-10)


def test_tangents_match_finite_difference_of_forward():
    net, X, _ = _problem("tanh", "cross_entropy", None, 3)
    V = _direction(net)
    _, cache, tangents = forward_tangents(net, X, V)
    h = 1e-6
    _, plus = hvp.shifted_network(net, V, h).forward(X)
    _, minus = hvp.shifted_network(net, V, -h).forward(X)
    for l in range(net.num_layers):
        numerical = (plus.z[l] - minus.z[l]) / (2 * h)
        np.testing.assert_allclose(tangents.dz[l], numerical, rtol=1e-6, atol=1e-8)
        numerical = (plus.a[l + 1] - minus.a[l + 1]) / (2 * h)
        np.testing.assert_allclose(tangents.da[l + 1], numerical, rtol=1e-6,
                                   atol=1e-8)


def test_tangent_of_input_is_zero():
    net, X, _ = _problem("tanh", "cross_entropy", None, 3)
    _, _, tangents = forward_tangents(net, X, _direction(net))
    assert not tangents.da[0].any()


def test_jvp_reuses_given_cache():
    net, X, Y = _problem("tanh", "cross_entropy", None, 3)
    V = _direction(net)
    _, cache = net.forward(X)
    assert jvp(net, X, Y, V, cache) == jvp(net, X, Y, V)


def test_direction_with_wrong_length_is_rejected():
    net, _, _ = _problem("tanh", "cross_entropy", None, 3)
    with pytest.raises(ValueError, match="has 2 arrays"):
        check_direction(net, _direction(net)[:2])


def test_direction_with_wrong_shape_is_rejected():
    net, _, _ = _problem("tanh", "cross_entropy", None, 3)
    V = _direction(net)
    V[0] = V[0].T
    with pytest.raises(ValueError, match=r"V\[0\] has shape"):
        check_direction(net, V)


# --- Hessian-vector products ------------------------------------------------------


@pytest.mark.parametrize("setup", SETUPS, ids=[s[1] + "-" + str(s[2]) for s in SETUPS])
def test_hvp_matches_finite_difference(setup):
    net, X, Y = _problem(*setup)
    V = _direction(net)
    exact = flatten(hvp.hessian_vector_product(net, X, Y, V))
    numerical = flatten(hvp.hvp_finite_difference(net, X, Y, V))
    np.testing.assert_allclose(exact, numerical, rtol=FD_RTOL,
                               atol=FD_RTOL * np.max(np.abs(exact)))


@pytest.mark.parametrize("setup", SETUPS, ids=[s[1] + "-" + str(s[2]) for s in SETUPS])
def test_hessian_matrix_matches_finite_difference(setup):
    net, X, Y = _problem(*setup)
    H = hvp.hessian_matrix(net, X, Y)
    H_fd = hvp.hessian_matrix(net, X, Y, method="finite_difference")
    assert H.shape == (hvp.num_parameters(net),) * 2
    np.testing.assert_allclose(H, H_fd, rtol=0, atol=FD_RTOL * np.max(np.abs(H)))


@pytest.mark.parametrize("setup", SETUPS, ids=[s[1] + "-" + str(s[2]) for s in SETUPS])
def test_hessian_is_symmetric(setup):
    H = hvp.hessian_matrix(*_problem(*setup))
    np.testing.assert_allclose(H, H.T, rtol=0, atol=FLOAT64_TOL)


def test_hvp_is_linear_in_direction():
    net, X, Y = _problem("tanh", "cross_entropy", None, 3)
    U, V = _direction(net, 1), _direction(net, 2)
    combined = [2 * u - 3 * v for u, v in zip(U, V)]
    left = flatten(hvp.hessian_vector_product(net, X, Y, combined))
    right = (2 * flatten(hvp.hessian_vector_product(net, X, Y, U))
             - 3 * flatten(hvp.hessian_vector_product(net, X, Y, V)))
    np.testing.assert_allclose(left, right, rtol=0, atol=FLOAT64_TOL)


def test_hand_worked_bias_column():
    # The column of b² in the Hessian of ½(ŷ − y)²: ∂g/∂b² is a¹ for W²,
    # 1 for b², (W²)ᵀ ⊙ ReLU′(z¹) xᵀ for W¹ and (W²)ᵀ ⊙ ReLU′(z¹) for b¹.
    net, x, y = hand_worked_network()
    params = net.parameters()
    column = hvp.hessian_vector_product(net, x, y, basis_direction(params, 8))
    dW1, db1, dW2, db2 = column
    np.testing.assert_allclose(dW2, [[0.1, 1.05]], atol=FLOAT64_TOL)
    np.testing.assert_allclose(db2, [[1.0]], atol=FLOAT64_TOL)
    np.testing.assert_allclose(dW1, [[1.0, 2.0], [-0.5, -1.0]], atol=FLOAT64_TOL)
    np.testing.assert_allclose(db1, [[1.0], [-0.5]], atol=FLOAT64_TOL)


def test_hand_worked_hessian_has_nine_rows():
    net, x, y = hand_worked_network()
    H = hvp.hessian_matrix(net, x, y)
    assert H.shape == (9, 9)
    assert H[8, 8] == pytest.approx(1.0)
    assert H[6, 6] == pytest.approx(0.01)


# --- Gauss–Newton -----------------------------------------------------------------


@pytest.mark.parametrize("setup", SETUPS, ids=[s[1] + "-" + str(s[2]) for s in SETUPS])
def test_gauss_newton_is_symmetric_psd(setup):
    G = hvp.hessian_matrix(*_problem(*setup), method="gauss_newton")
    np.testing.assert_allclose(G, G.T, rtol=0, atol=FLOAT64_TOL)
    assert np.linalg.eigvalsh(G).min() > -1e-12


def test_gauss_newton_matches_jacobian_form():
    # G = Jᵀ H_out J with J = ∂zᴸ/∂θ built by finite differences of the forward
    # pass and H_out = (diag(p) − p pᵀ)/N for each column.
    net, X, Y = _problem("tanh", "cross_entropy", None, 3, N=4)
    params = net.parameters()
    P = hvp.num_parameters(net)
    h = 1e-6
    columns = []
    for i in range(P):
        e = basis_direction(params, i)
        _, plus = hvp.shifted_network(net, e, h).forward(X)
        _, minus = hvp.shifted_network(net, e, -h).forward(X)
        columns.append(((plus.z[-1] - minus.z[-1]) / (2 * h)).T.ravel())
    J = np.stack(columns, axis=1)
    p, _ = net.forward(X)
    N = X.shape[1]
    blocks = [(np.diag(p[:, n]) - np.outer(p[:, n], p[:, n])) / N for n in range(N)]
    H_out = np.zeros((3 * N, 3 * N))
    for n, block in enumerate(blocks):
        H_out[3 * n:3 * n + 3, 3 * n:3 * n + 3] = block
    expected = J.T @ H_out @ J
    G = hvp.hessian_matrix(net, X, Y, method="gauss_newton")
    np.testing.assert_allclose(G, expected, rtol=0, atol=1e-8)


def test_gauss_newton_equals_hessian_for_linear_model():
    rng = np.random.default_rng(3)
    net = Network([4, 3], loss="cross_entropy", seed=3)
    X = rng.normal(size=(4, 5))
    Y = rng.integers(0, 3, size=5)
    H = hvp.hessian_matrix(net, X, Y)
    G = hvp.hessian_matrix(net, X, Y, method="gauss_newton")
    np.testing.assert_allclose(G, H, rtol=0, atol=FLOAT64_TOL)


def test_gauss_newton_differs_from_hessian_with_hidden_layer():
    net, X, Y = _problem("tanh", "cross_entropy", None, 3)
    H = hvp.hessian_matrix(net, X, Y)
    G = hvp.hessian_matrix(net, X, Y, method="gauss_newton")
    assert np.max(np.abs(H - G)) > 1e-3


# --- Helpers ----------------------------------------------------------------------


def test_second_derivatives_match_finite_difference():
    from bpcourse.activations import get_activation

    z = np.linspace(-2, 2, 9)
    h = 1e-5
    for name in ("sigmoid", "tanh"):
        activation = get_activation(name)
        numerical = (activation.derivative(z + h) - activation.derivative(z - h)) / (2 * h)
        np.testing.assert_allclose(hvp.second_derivative(activation, z), numerical,
                                   atol=1e-9)


def test_second_derivative_of_softmax_is_rejected():
    from bpcourse.activations import get_activation

    with pytest.raises(ValueError, match="softmax"):
        hvp.second_derivative(get_activation("softmax"), np.zeros(3))


def test_unknown_method_is_rejected():
    net, x, y = hand_worked_network()
    with pytest.raises(ValueError, match="unknown method"):
        hvp.hessian_matrix(net, x, y, method="exact")


def test_parameter_labels_follow_flatten_order():
    net, _, _ = hand_worked_network()
    labels = hvp.parameter_labels(net)
    assert labels[:4] == ["W1[0,0]", "W1[0,1]", "W1[1,0]", "W1[1,1]"]
    assert labels[-1] == "b2[0,0]"
    assert len(labels) == hvp.num_parameters(net)


def test_shifted_network_leaves_original_unchanged():
    net, _, _ = hand_worked_network()
    before = flatten(net.parameters())
    moved = hvp.shifted_network(net, _direction(net), 0.5)
    np.testing.assert_array_equal(flatten(net.parameters()), before)
    assert not np.array_equal(flatten(moved.parameters()), before)
