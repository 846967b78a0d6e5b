"""Tests of bpcourse.layers.norm: layer normalization over each column's features."""

import numpy as np
import pytest

from bpcourse.autodiff import Tensor
from bpcourse.layers import norm
from bpcourse.layers.checking import check_backward, relative_error

#: See tests/test_layers_conv.py.
GRADCHECK_TOL = 1e-7
FLOAT64_TOL = 1e-12


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_columns_have_zero_mean_unit_variance(rng):
    X = 3 + 2 * rng.standard_normal((2, 6, 5))
    Y, _ = norm.layer_norm_forward(X, np.ones((6, 1)), np.zeros((6, 1)), eps=0.0)
    assert np.allclose(Y.mean(axis=-2), 0.0)
    assert np.allclose(Y.var(axis=-2), 1.0)


def test_gamma_and_beta_apply_per_feature():
    X = np.array([[1.0], [3.0]])
    Y, _ = norm.layer_norm_forward(X, np.array([[2.0], [3.0]]), np.array([[1.0], [0.0]]),
                                   eps=0.0)
    assert np.allclose(Y, [[-1.0], [3.0]])


@pytest.mark.parametrize("shape", [(6, 5), (3, 6, 5)])
def test_backward_matches_central_differences(rng, shape):
    X = rng.standard_normal(shape)
    gamma, beta = rng.standard_normal((2, 6, 1))

    def forward(X, gamma, beta):
        return norm.layer_norm_forward(X, gamma, beta)[0]

    def backward(G, X, gamma, beta):
        return norm.layer_norm_backward(G, norm.layer_norm_forward(X, gamma, beta)[1])

    errors = check_backward(forward, backward, [X, gamma, beta])
    assert max(errors.values()) < GRADCHECK_TOL, errors


def test_backward_matches_autodiff(rng):
    X = rng.standard_normal((3, 6, 5))
    gamma, beta = rng.standard_normal((2, 6, 1))
    Y, cache = norm.layer_norm_forward(X, gamma, beta)
    G = rng.standard_normal(Y.shape)
    tensors = [Tensor(X), Tensor(gamma), Tensor(beta)]
    Yt = norm.layer_norm_tensor(*tensors)
    (Yt * G).sum().backward()
    assert np.allclose(Yt.data, Y, atol=FLOAT64_TOL)
    for tensor, grad in zip(tensors, norm.layer_norm_backward(G, cache)):
        assert relative_error(tensor.grad, grad) < FLOAT64_TOL


def test_input_gradient_orthogonal_to_shift_and_scale(rng):
    X = rng.standard_normal((6, 4))
    # With eps = 0 the output is exactly invariant, so the check is exact too.
    Y, cache = norm.layer_norm_forward(X, np.ones((6, 1)), np.zeros((6, 1)), eps=0.0)
    dX = norm.layer_norm_backward(rng.standard_normal(Y.shape), cache)[0]
    # Shifting a column or scaling it leaves its output unchanged, so the
    # gradient has no component along 1 or along x̂.
    assert np.allclose(dX.sum(axis=0), 0.0)
    assert np.allclose(np.sum(dX * cache["X_hat"], axis=0), 0.0)


def test_rejects_wrong_gamma_shape():
    with pytest.raises(ValueError, match="one per feature"):
        norm.layer_norm_forward(np.zeros((4, 2)), np.ones((4,)), np.zeros((4, 1)))
