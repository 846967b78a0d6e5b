"""Tests of bpcourse.layers.conv: im2col, convolution and pooling, forward and backward."""

import numpy as np
import pytest

from bpcourse.autodiff import Tensor
from bpcourse.layers import conv
from bpcourse.layers.checking import check_backward, relative_error

#: Central differences with h = 1e-5 on unit-scale float64 inputs agree with a
#: correct backward pass to about 1e-10; a wrong formula gives errors above 1e-3.
GRADCHECK_TOL = 1e-7

#: The same float64 sums in another order agree to a few ulps.
FLOAT64_TOL = 1e-12

SETTINGS = [(1, 0), (1, 1), (2, 1), ((2, 1), (0, 1))]


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_output_size_formula():
    assert conv.conv_output_size(8, 3, 1, 1) == 8
    assert conv.conv_output_size(7, 3, 2, 0) == 3
    assert conv.conv_output_size(3, 2) == 2


def test_output_size_rejects_large_kernel():
    with pytest.raises(ValueError, match="does not fit"):
        conv.conv_output_size(2, 3)


def test_hand_worked_3x3_image():
    x = np.arange(1.0, 10.0).reshape(1, 3, 3, 1)
    K = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2)
    Z, cache = conv.conv2d_forward(x, K, np.zeros((1, 1)))
    # z[i, j] = x[i, j] + 2 x[i, j+1] + 3 x[i+1, j] + 4 x[i+1, j+1]
    assert np.array_equal(Z[0, :, :, 0], [[37.0, 47.0], [67.0, 77.0]])
    dX, dW, db = conv.conv2d_backward(np.ones((1, 2, 2, 1)), cache)
    assert np.array_equal(dX[0, :, :, 0], [[1, 3, 2], [4, 10, 6], [3, 7, 4]])
    assert np.array_equal(dW[0, 0], [[12.0, 16.0], [24.0, 28.0]])
    assert db[0, 0] == 4.0


def test_im2col_columns_are_patches(rng):
    X = rng.standard_normal((2, 4, 5, 3))
    cols = conv.im2col(X, (2, 3))
    blocks = cols.reshape(2, 2, 3, 3, 3, 3)
    # Kernel entry (c, u, v) at output (i, j) of example n reads X[c, i+u, j+v, n].
    assert blocks[1, 1, 2, 2, 0, 1] == X[1, 3, 2, 1]
    assert blocks[0, 0, 0, 0, 0, 2] == X[0, 0, 0, 2]


def test_col2im_is_adjoint_of_im2col(rng):
    X = rng.standard_normal((2, 5, 6, 3))
    cols = conv.im2col(X, (3, 2), 2, 1)
    C = rng.standard_normal(cols.shape)
    back = conv.col2im(C, X.shape, (3, 2), 2, 1)
    # ⟨im2col(X), C⟩ = ⟨X, col2im(C)⟩
    assert abs(np.sum(cols * C) - np.sum(X * back)) < FLOAT64_TOL * np.sum(np.abs(cols * C))


def test_im2col_buffer_size(rng):
    X = rng.standard_normal((3, 8, 8, 5))
    cols = conv.im2col(X, (3, 3), 1, 1)
    assert cols.shape == (27, 8 * 8 * 5)
    assert cols.nbytes == 27 * 64 * 5 * 8


@pytest.mark.parametrize("stride, padding", SETTINGS)
def test_conv_backward_matches_central_differences(rng, stride, padding):
    X = rng.standard_normal((2, 5, 6, 3))
    W = rng.standard_normal((4, 2, 3, 2))
    b = rng.standard_normal((4, 1))

    def forward(X, W, b):
        return conv.conv2d_forward(X, W, b, stride, padding)[0]

    def backward(G, X, W, b):
        return conv.conv2d_backward(G, conv.conv2d_forward(X, W, b, stride, padding)[1])

    errors = check_backward(forward, backward, [X, W, b])
    assert max(errors.values()) < GRADCHECK_TOL, errors


@pytest.mark.parametrize("stride, padding", SETTINGS)
def test_conv_backward_matches_autodiff(rng, stride, padding):
    X = rng.standard_normal((2, 5, 6, 3))
    W = rng.standard_normal((4, 2, 3, 2))
    b = rng.standard_normal((4, 1))
    Z, cache = conv.conv2d_forward(X, W, b, stride, padding)
    G = rng.standard_normal(Z.shape)
    tensors = [Tensor(X), Tensor(W), Tensor(b)]
    Zt = conv.conv2d_tensor(*tensors, stride, padding)
    (Zt * G).sum().backward()
    assert np.allclose(Zt.data, Z, rtol=0, atol=FLOAT64_TOL)
    for tensor, grad in zip(tensors, conv.conv2d_backward(G, cache)):
        assert relative_error(tensor.grad, grad) < FLOAT64_TOL


@pytest.mark.parametrize("padding", [0, 1, (1, 0)])
def test_input_gradient_is_flipped_kernel_convolution(rng, padding):
    X = rng.standard_normal((3, 5, 6, 2))
    W = rng.standard_normal((4, 3, 3, 2))
    Z, cache = conv.conv2d_forward(X, W, np.zeros((4, 1)), 1, padding)
    G = rng.standard_normal(Z.shape)
    dX = conv.conv2d_backward(G, cache)[0]
    assert np.allclose(conv.conv2d_input_gradient(G, W, padding), dX, atol=FLOAT64_TOL)


def test_unflipped_kernel_gives_wrong_gradient(rng):
    X = rng.standard_normal((1, 4, 4, 1))
    W = rng.standard_normal((1, 1, 2, 2))
    Z, cache = conv.conv2d_forward(X, W, np.zeros((1, 1)))
    G = rng.standard_normal(Z.shape)
    dX = conv.conv2d_backward(G, cache)[0]
    unflipped, _ = conv.conv2d_forward(G, W.transpose(1, 0, 2, 3), np.zeros((1, 1)),
                                       padding=1)
    assert not np.allclose(unflipped, dX)


def test_flipped_kernel_entries():
    W = np.arange(24.0).reshape(2, 3, 2, 2)
    flipped = conv.flipped_kernel(W)
    assert flipped.shape == (3, 2, 2, 2)
    assert flipped[2, 1, 0, 0] == W[1, 2, 1, 1]


@pytest.mark.parametrize("pool", ["max", "avg"])
def test_pool_backward_matches_central_differences(rng, pool):
    forward_pass = getattr(conv, f"{pool}pool_forward")
    backward_pass = getattr(conv, f"{pool}pool_backward")
    X = rng.standard_normal((2, 4, 6, 3))

    def forward(X):
        return forward_pass(X, 2)[0]

    def backward(G, X):
        return (backward_pass(G, forward_pass(X, 2)[1]),)

    assert check_backward(forward, backward, [X])[0] < GRADCHECK_TOL


@pytest.mark.parametrize("pool", ["max", "avg"])
def test_pool_backward_matches_autodiff(rng, pool):
    forward_pass = getattr(conv, f"{pool}pool_forward")
    backward_pass = getattr(conv, f"{pool}pool_backward")
    X = rng.standard_normal((2, 4, 6, 3))
    Z, cache = forward_pass(X, 2)
    G = rng.standard_normal(Z.shape)
    tensor = Tensor(X)
    Zt = getattr(conv, f"{pool}pool_tensor")(tensor, 2)
    (Zt * G).sum().backward()
    assert np.allclose(Zt.data, Z, atol=FLOAT64_TOL)
    assert np.allclose(tensor.grad, backward_pass(G, cache), atol=FLOAT64_TOL)


def test_maxpool_routes_gradient_to_winner():
    X = np.array([[1.0, 5.0], [3.0, 2.0]]).reshape(1, 2, 2, 1)
    Z, cache = conv.maxpool_forward(X)
    assert Z.item() == 5.0
    dX = conv.maxpool_backward(np.full((1, 1, 1, 1), 7.0), cache)
    assert np.array_equal(dX[0, :, :, 0], [[0.0, 7.0], [0.0, 0.0]])


def test_avgpool_spreads_gradient():
    cache = conv.avgpool_forward(np.zeros((1, 2, 2, 1)))[1]
    dX = conv.avgpool_backward(np.full((1, 1, 1, 1), 8.0), cache)
    assert np.array_equal(dX[0, :, :, 0], np.full((2, 2), 2.0))


def test_pool_rejects_uneven_input():
    with pytest.raises(ValueError, match="windows"):
        conv.maxpool_forward(np.zeros((1, 3, 4, 1)))


def test_conv_rejects_column_layout():
    with pytest.raises(ValueError, match=r"\(C, H, W, N\)"):
        conv.conv2d_forward(np.zeros((64, 5)), np.zeros((1, 1, 3, 3)), np.zeros((1, 1)))


def test_conv_rejects_channel_mismatch():
    with pytest.raises(ValueError, match="channels"):
        conv.conv2d_forward(np.zeros((2, 4, 4, 1)), np.zeros((1, 3, 3, 3)),
                            np.zeros((1, 1)))
