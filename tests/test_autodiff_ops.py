"""Every operation of the autodiff engine against central differences (float64)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes
from reference import central_difference

import bpcourse.autodiff as ad
from bpcourse.autodiff import Tensor, no_grad

SETTINGS = settings(max_examples=25, deadline=None)


def assert_gradients_match(f, *arrays, rtol=1e-6, atol=1e-8):
    """Compare backward with central differences of Σ f(x) ⊙ R for a random R.

    The random weights R make every entry of f's output count, so the check
    covers the whole Jacobian rather than the gradient of a plain sum.
    """
    tensors = [Tensor(np.array(a, dtype=np.float64)) for a in arrays]
    output = f(*tensors)
    weights = np.random.default_rng(0).normal(size=output.shape)
    (output * weights).sum().backward()

    def objective():
        with no_grad():
            return float(np.sum(f(*tensors).data * weights))

    for tensor in tensors:
        numeric = central_difference(objective, tensor.data)
        assert tensor.grad.shape == tensor.shape
        np.testing.assert_allclose(tensor.grad, numeric, rtol=rtol, atol=atol)


def _values(shape, seed, low=None):
    rng = np.random.default_rng(seed)
    values = rng.normal(size=shape)
    if low is not None:
        values = low + np.abs(values)
    return values


seeds = st.integers(0, 2**16)
pair_shapes = mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3)


# Binary operations with broadcasting --------------------------------------------------


@SETTINGS
@given(shapes=pair_shapes, seed=seeds)
def test_add_broadcasting(shapes, seed):
    a, b = shapes.input_shapes
    assert_gradients_match(ad.add, _values(a, seed), _values(b, seed + 1))


@SETTINGS
@given(shapes=pair_shapes, seed=seeds)
def test_subtract_broadcasting(shapes, seed):
    a, b = shapes.input_shapes
    assert_gradients_match(lambda x, y: x - y, _values(a, seed), _values(b, seed + 1))


@SETTINGS
@given(shapes=pair_shapes, seed=seeds)
def test_multiply_broadcasting(shapes, seed):
    a, b = shapes.input_shapes
    assert_gradients_match(lambda x, y: x * y, _values(a, seed), _values(b, seed + 1))


@SETTINGS
@given(shapes=pair_shapes, seed=seeds)
def test_divide_broadcasting(shapes, seed):
    a, b = shapes.input_shapes
    assert_gradients_match(
        lambda x, y: x / y, _values(a, seed), _values(b, seed + 1, low=0.5)
    )


@SETTINGS
@given(shapes=pair_shapes, seed=seeds)
def test_power_tensor_exponent_broadcasting(shapes, seed):
    a, b = shapes.input_shapes
    assert_gradients_match(
        lambda x, y: x**y, _values(a, seed, low=0.5), _values(b, seed + 1)
    )


@pytest.mark.parametrize("p", [2, 3, -1, 0.5, -1.5])
def test_power_constant_exponent(p):
    assert_gradients_match(lambda x: x**p, _values((2, 3), 0, low=0.5))


def test_power_zero_at_zero():
    x = Tensor([0.0, 2.0])
    (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


def test_scalar_base_power():
    assert_gradients_match(lambda x: 3.0**x, _values((4,), 1))


def test_negative():
    assert_gradients_match(lambda x: -x, _values((2, 2), 2))


def test_numbers_as_operands():
    assert_gradients_match(
        lambda x: (2 * x - 1) / 4 + 3 / (x * x + 1) - x**2, _values((3,), 3)
    )


# Unary operations ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, low",
    [
        ("exp", None),
        ("log", 0.5),
        ("tanh", None),
        ("sigmoid", None),
        ("softplus", None),
    ],
)
def test_elementwise(name, low):
    assert_gradients_match(getattr(ad, name), _values((3, 4), 4, low=low))


@pytest.mark.parametrize("name", ["relu", "leaky_relu"])
def test_kinked_away_from_zero(name):
    values = _values((3, 4), 5)
    values += np.sign(values) * 0.1  # no entry within a probe step of the kink
    assert_gradients_match(getattr(ad, name), values)


def test_relu_at_zero_takes_zero():
    x = Tensor([0.0, 1.0, -1.0])
    ad.relu(x).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 0.0])


def test_sigmoid_no_overflow():
    x = Tensor([-1000.0, 0.0, 1000.0])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        y = ad.sigmoid(x)
        y.sum().backward()
    np.testing.assert_array_equal(y.data, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(x.grad, [0.0, 0.25, 0.0])


def test_sigmoid_tiny_values_accurate():
    y = ad.sigmoid(Tensor([-40.0]))
    assert y.item() == pytest.approx(math.exp(-40) / (1 + math.exp(-40)), rel=1e-14)


# Matrix product, shapes, indexing -----------------------------------------------------


@pytest.mark.parametrize(
    "shape_a, shape_b",
    [
        ((3, 4), (4, 2)),
        ((1, 1), (1, 5)),
        ((4,), (4, 3)),
        ((3, 4), (4,)),
        ((4,), (4,)),
        ((2, 3, 4), (4, 2)),
        ((3, 4), (2, 4, 5)),
        ((2, 1, 3, 4), (5, 4, 2)),
    ],
)
def test_matmul(shape_a, shape_b):
    assert_gradients_match(ad.matmul, _values(shape_a, 6), _values(shape_b, 7))


@SETTINGS
@given(n=st.integers(1, 4), k=st.integers(1, 4), m=st.integers(1, 4), seed=seeds)
def test_matmul_random_2d(n, k, m, seed):
    assert_gradients_match(
        lambda a, b: a @ b, _values((n, k), seed), _values((k, m), seed + 1)
    )


def test_matmul_constant_operand_skipped():
    W = Tensor(_values((2, 3), 8))
    X = Tensor(_values((3, 4), 9), requires_grad=False)
    (W @ X).sum().backward()
    assert X.grad is None
    np.testing.assert_allclose(W.grad, np.ones((2, 4)) @ X.data.T)


@pytest.mark.parametrize(
    "f",
    [
        lambda x: x.T,
        lambda x: x.transpose(1, 2, 0),
        lambda x: x.transpose(-1, 0, 1),
        lambda x: x.reshape(6, 4),
        lambda x: x.reshape((4, -1)),
        lambda x: x.T.reshape(-1),
    ],
)
def test_shape_operations(f):
    assert_gradients_match(f, _values((2, 3, 4), 10))


@pytest.mark.parametrize(
    "index",
    [
        1,
        (0, 2),
        slice(1, None),
        (slice(None), [0, 0, 2]),
        ([1, 1, 0], [2, 2, 1]),
        (Ellipsis, None, 1),
        np.array([True, False, True]),
    ],
)
def test_indexing(index):
    assert_gradients_match(lambda x: x[index], _values((3, 4), 11))


def test_indexing_with_tensor_index():
    x = Tensor([1.0, 2.0, 3.0])
    x[Tensor([2, 2, 0], requires_grad=False)].sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 0.0, 2.0])


# Reductions ---------------------------------------------------------------------------


@SETTINGS
@given(
    axis=st.sampled_from([None, 0, 1, 2, -1, (0, 2), (1,), ()]),
    keepdims=st.booleans(),
    reduction=st.sampled_from(["sum", "mean"]),
    seed=seeds,
)
def test_reductions(axis, keepdims, reduction, seed):
    def f(x):
        return getattr(x, reduction)(axis=axis, keepdims=keepdims)

    values = _values((2, 3, 4), seed)
    assert_gradients_match(f, values)
    expected = getattr(np, reduction)(values, axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(f(Tensor(values)).data, expected, rtol=1e-15)


def test_mean_keepdims_shape():
    x = Tensor(np.ones((3, 5)))
    m = x.mean(axis=1, keepdims=True)
    assert m.shape == (3, 1)
    m.sum().backward()
    np.testing.assert_allclose(x.grad, np.full((3, 5), 0.2))


# Softmax and the losses ---------------------------------------------------------------


def test_softmax():
    assert_gradients_match(ad.softmax, _values((4, 3), 12))
    probabilities = ad.softmax(Tensor(_values((4, 3), 12))).data
    np.testing.assert_allclose(probabilities.sum(axis=0), 1.0, rtol=1e-15)


def test_softmax_cross_entropy_labels():
    labels = np.array([0, 2, 1, 2])
    assert_gradients_match(
        lambda z: ad.softmax_cross_entropy(z, labels), _values((3, 4), 13)
    )


def test_softmax_cross_entropy_probability_targets():
    targets = np.abs(_values((3, 4), 14))
    targets /= targets.sum(axis=0)
    assert_gradients_match(
        lambda z: ad.softmax_cross_entropy(z, targets), _values((3, 4), 15)
    )


def test_softmax_cross_entropy_one_hot_equals_labels():
    z = _values((3, 4), 16)
    labels = np.array([2, 0, 1, 1])
    onehot = np.eye(3)[:, labels]
    by_label, by_column = Tensor(z), Tensor(z)
    loss_label = ad.softmax_cross_entropy(by_label, labels)
    loss_column = ad.softmax_cross_entropy(by_column, onehot)
    loss_label.backward()
    loss_column.backward()
    assert loss_label.item() == pytest.approx(loss_column.item(), rel=1e-15)
    np.testing.assert_allclose(by_label.grad, by_column.grad, rtol=1e-15, atol=1e-17)


def _log_sum_exp(values):
    top = max(values)
    return top + math.log(math.fsum(math.exp(v - top) for v in values))


@pytest.mark.parametrize("logits", [[-431.0, 279.0, 427.0], [-1047.0, -981.0, 1891.0]])
@pytest.mark.parametrize("label", [0, 1, 2])
def test_softmax_cross_entropy_extreme_logits(logits, label):
    z = Tensor(np.array(logits).reshape(3, 1))
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        loss = ad.softmax_cross_entropy(z, [label])
        loss.backward()
    assert np.isfinite(loss.item())
    assert loss.item() == pytest.approx(_log_sum_exp(logits) - logits[label], abs=1e-12)
    assert np.all(np.isfinite(z.grad))
    assert z.grad.sum() == pytest.approx(0.0, abs=1e-15)
    assert z.grad[label, 0] == pytest.approx(
        math.exp(logits[label] - _log_sum_exp(logits)) - 1, abs=1e-15
    )


def test_softmax_cross_entropy_one_example_vector():
    z = Tensor([1.0, 2.0, 3.0])
    loss = ad.softmax_cross_entropy(z, 2)
    loss.backward()
    assert z.grad.shape == (3,)
    assert loss.item() == pytest.approx(_log_sum_exp([1, 2, 3]) - 3, rel=1e-14)


def test_binary_cross_entropy():
    targets = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.5]])
    assert_gradients_match(
        lambda z: ad.binary_cross_entropy(z, targets), _values((2, 3), 17)
    )


def test_binary_cross_entropy_extreme_logits():
    z = Tensor([[-800.0, 800.0, 0.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        loss = ad.binary_cross_entropy(z, [1.0, 0.0, 1.0])
        loss.backward()
    assert loss.item() == pytest.approx((800 + 800 + math.log(2)) / 3, rel=1e-14)
    np.testing.assert_allclose(z.grad, [[-1 / 3, 1 / 3, -1 / 6]], rtol=1e-14)


def test_binary_cross_entropy_target_range():
    with pytest.raises(ValueError, match=r"targets in \[0, 1\]"):
        ad.binary_cross_entropy(Tensor([[0.0, 1.0]]), [0.0, 2.0])


def test_mean_squared_error():
    targets = _values((2, 3), 18)
    assert_gradients_match(
        lambda y: ad.mean_squared_error(y, targets), _values((2, 3), 19)
    )
    y = Tensor([[1.0, 3.0]])
    assert ad.mean_squared_error(y, [0.0, 1.0]).item() == pytest.approx((1 + 4) / 4)
