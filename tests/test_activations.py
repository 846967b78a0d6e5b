import warnings

import numpy as np
import pytest

from bpcourse.activations import ACTIVATIONS, get_activation, sigmoid, softmax

ELEMENTWISE = [name for name, act in ACTIVATIONS.items() if act.elementwise]


def test_sigmoid_extremes_without_warning():
    z = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = sigmoid(z)
        ds = get_activation("sigmoid").derivative(z)
    assert s[0] == 0.0
    assert s[2] == 0.5
    assert s[-1] == 1.0
    assert np.all(np.isfinite(ds))
    assert ds[2] == 0.25


def test_sigmoid_matches_formula():
    z = np.linspace(-20, 20, 81)
    np.testing.assert_allclose(sigmoid(z), 1 / (1 + np.exp(-z)), rtol=1e-14)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_derivative_matches_central_difference(name):
    act = get_activation(name)
    rng = np.random.default_rng(1)
    z = rng.uniform(-3, 3, size=(4, 7))
    z = z[np.abs(z) > 1e-3].reshape(-1)  # stay away from the kink of ReLU at 0
    h = 1e-6
    numeric = (act(z + h) - act(z - h)) / (2 * h)
    np.testing.assert_allclose(act.derivative(z), numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(name, dtype):
    act = get_activation(name)
    z = np.linspace(-2, 2, 12, dtype=dtype).reshape(3, 4)
    assert act(z).dtype == dtype
    assert act.derivative(z).dtype == dtype


def test_relu_and_leaky_values():
    z = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_array_equal(get_activation("relu")(z), [0.0, 0.0, 3.0])
    np.testing.assert_array_equal(get_activation("relu").derivative(z), [0, 0, 1])
    np.testing.assert_allclose(get_activation("leaky_relu")(z), [-0.02, 0.0, 3.0])
    np.testing.assert_allclose(
        get_activation("leaky_relu").derivative(z), [0.01, 0.01, 1.0]
    )
    assert get_activation("relu").kinked
    assert not get_activation("tanh").kinked


def test_softmax_columns_sum_to_one():
    z = np.array([[1.0, 1000.0], [2.0, -1000.0], [3.0, 999.0]])
    a = softmax(z)
    np.testing.assert_allclose(a.sum(axis=0), [1.0, 1.0])
    np.testing.assert_allclose(a[:, 0], np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum())
    assert np.all(np.isfinite(a))


def test_softmax_jacobian_and_vjp():
    rng = np.random.default_rng(2)
    z = rng.normal(size=(4, 3))
    act = get_activation("softmax")
    J = act.derivative(z)
    assert J.shape == (4, 4, 3)
    h = 1e-6
    for j in range(4):
        step = np.zeros_like(z)
        step[j] = h
        numeric = (softmax(z + step) - softmax(z - step)) / (2 * h)
        np.testing.assert_allclose(J[:, j, :], numeric, atol=1e-9)
    u = rng.normal(size=(4, 3))
    expected = np.einsum("ijn,in->jn", J, u)
    np.testing.assert_allclose(act.vjp(z, softmax(z), u), expected, atol=1e-12)


def test_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match="unknown activation 'sigmod'") as info:
        get_activation("sigmod")
    for name in ACTIVATIONS:
        assert name in str(info.value)
