"""Tests of bpcourse.beyond.implicit: the fixed-point layer and its implicit gradients."""

import numpy as np
import pytest

from bpcourse.beyond import implicit

FLOAT64_TOL = 1e-12


def _layer(rho=0.8, d=5, d0=3, N=4, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(d, d))
    W *= rho / np.linalg.norm(W, 2)
    U = rng.normal(size=(d, d0))
    b = rng.normal(scale=0.1, size=(d, 1))
    X = rng.normal(size=(d0, N))
    C = rng.normal(size=(2, d))
    c = rng.normal(size=(2, 1))
    Y = rng.normal(size=(2, N))
    return W, U, b, X, C, c, Y


def _loss_gradient(C, c, Y):
    return lambda z: implicit.readout_loss(C, c, z, Y)[1]


def _loss_at_fixed_point(W, U, b, X, C, c, Y):
    z = implicit.solve_fixed_point(W, U, b, X).z
    return implicit.readout_loss(C, c, z, Y)[0]


def test_fixed_point_satisfies_equation():
    W, U, b, X, *_ = _layer()
    z = implicit.solve_fixed_point(W, U, b, X).z
    np.testing.assert_allclose(z, np.tanh(W @ z + U @ X + b), rtol=0, atol=1e-13)


def test_residuals_shrink_by_contraction():
    W, U, b, X, *_ = _layer(rho=0.8)
    result = implicit.solve_fixed_point(W, U, b, X)
    assert result.contraction == pytest.approx(0.8)
    ratios = result.residuals[1:] / result.residuals[:-1]
    # ‖W‖₂ bounds the contraction in the Euclidean norm; the max-norm ratios
    # stay below 1 with some slack.
    assert np.all(ratios[result.residuals[1:] > 1e-12] < 1.0)


def test_non_contraction_is_rejected():
    W, U, b, X, *_ = _layer(rho=1.2)
    with pytest.raises(ValueError, match="not below 1"):
        implicit.solve_fixed_point(W, U, b, X)


def test_too_few_iterations_raise():
    W, U, b, X, *_ = _layer(rho=0.9)
    with pytest.raises(RuntimeError, match="did not reach"):
        implicit.solve_fixed_point(W, U, b, X, max_iterations=3)


def test_iterate_converges_to_fixed_point():
    W, U, b, X, *_ = _layer()
    z_star = implicit.solve_fixed_point(W, U, b, X).z
    np.testing.assert_allclose(implicit.iterate(W, U, b, X, 200), z_star, atol=1e-13)


@pytest.mark.parametrize("method", ["solve", "iterate"])
def test_implicit_gradients_match_finite_differences(method):
    W, U, b, X, C, c, Y = _layer()
    z_star = implicit.solve_fixed_point(W, U, b, X).z
    dL_dz = _loss_gradient(C, c, Y)(z_star)
    dW, dU, db = implicit.implicit_gradients(W, U, b, X, z_star, dL_dz, method)
    h = 1e-6
    for name, array, grad in (("W", W, dW), ("U", U, dU), ("b", b, db)):
        for index in np.ndindex(array.shape):
            plus, minus = array.copy(), array.copy()
            plus[index] += h
            minus[index] -= h
            args = {"W": W, "U": U, "b": b}
            args[name] = plus
            loss_plus = _loss_at_fixed_point(args["W"], args["U"], args["b"], X, C, c, Y)
            args[name] = minus
            loss_minus = _loss_at_fixed_point(args["W"], args["U"], args["b"], X, C, c, Y)
            numerical = (loss_plus - loss_minus) / (2 * h)
            assert grad[index] == pytest.approx(numerical, abs=1e-8), (name, index)


def test_solve_and_iterate_agree():
    W, U, b, X, C, c, Y = _layer(rho=0.9)
    z_star = implicit.solve_fixed_point(W, U, b, X).z
    dL_dz = _loss_gradient(C, c, Y)(z_star)
    solved = implicit.implicit_gradients(W, U, b, X, z_star, dL_dz, "solve")
    iterated = implicit.implicit_gradients(W, U, b, X, z_star, dL_dz, "iterate")
    for a, b_ in zip(solved, iterated):
        np.testing.assert_allclose(a, b_, rtol=0, atol=1e-12)


def test_unknown_method_is_rejected():
    W, U, b, X, C, c, Y = _layer()
    z = np.zeros((5, 4))
    with pytest.raises(ValueError, match="unknown method"):
        implicit.implicit_gradients(W, U, b, X, z, z, "newton")


def test_unrolled_converges_to_implicit():
    W, U, b, X, C, c, Y = _layer(rho=0.8)
    loss_gradient = _loss_gradient(C, c, Y)
    z_star = implicit.solve_fixed_point(W, U, b, X).z
    dW, dU, db = implicit.implicit_gradients(W, U, b, X, z_star, loss_gradient(z_star))
    errors = []
    for K in (2, 5, 10, 20, 40):
        uW, _, _, _ = implicit.unrolled_gradients(W, U, b, X, K, loss_gradient)
        errors.append(np.linalg.norm(uW - dW) / np.linalg.norm(dW))
    assert all(later < earlier for earlier, later in zip(errors, errors[1:]))
    uW, uU, ub, _ = implicit.unrolled_gradients(W, U, b, X, 200, loss_gradient)
    np.testing.assert_allclose(uW, dW, atol=1e-12)
    np.testing.assert_allclose(uU, dU, atol=1e-12)
    np.testing.assert_allclose(ub, db, atol=1e-12)


def test_unrolled_matches_finite_difference_of_iterate():
    W, U, b, X, C, c, Y = _layer()
    K = 3
    uW, _, _, z = implicit.unrolled_gradients(W, U, b, X, K, _loss_gradient(C, c, Y))
    np.testing.assert_allclose(z, implicit.iterate(W, U, b, X, K), atol=FLOAT64_TOL)
    h = 1e-6
    E = np.zeros_like(W)
    E[1, 2] = h
    plus = implicit.readout_loss(C, c, implicit.iterate(W + E, U, b, X, K), Y)[0]
    minus = implicit.readout_loss(C, c, implicit.iterate(W - E, U, b, X, K), Y)[0]
    assert uW[1, 2] == pytest.approx((plus - minus) / (2 * h), abs=1e-8)


def test_unrolled_with_zero_iterations_is_zero():
    W, U, b, X, C, c, Y = _layer()
    uW, uU, ub, z = implicit.unrolled_gradients(W, U, b, X, 0, _loss_gradient(C, c, Y))
    assert not uW.any()
    assert not uU.any()
    assert not ub.any()
    assert not z.any()


def test_readout_loss_gradients():
    _, _, _, _, C, c, Y = _layer()
    rng = np.random.default_rng(9)
    z = rng.normal(size=(5, 4))
    loss, dL_dz, dC, dc = implicit.readout_loss(C, c, z, Y)
    assert loss == pytest.approx(0.5 * np.sum((C @ z + c - Y) ** 2) / 4)
    h = 1e-6
    E = np.zeros_like(z)
    E[2, 1] = h
    numerical = (implicit.readout_loss(C, c, z + E, Y)[0]
                 - implicit.readout_loss(C, c, z - E, Y)[0]) / (2 * h)
    assert dL_dz[2, 1] == pytest.approx(numerical, abs=1e-9)
    assert dC.shape == C.shape
    assert dc.shape == c.shape
