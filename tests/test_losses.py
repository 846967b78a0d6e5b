import warnings

import numpy as np
import pytest

from bpcourse.losses import (
    binary_cross_entropy,
    get_loss,
    mean_squared_error,
    softmax_cross_entropy,
)


def _logsumexp(values):
    top = max(values)
    return top + np.log(sum(np.exp(v - top) for v in values))


@pytest.mark.parametrize(
    "logits, label",
    [([-431.0, 279.0, 427.0], 0), ([-1047.0, -981.0, 1891.0], 0)],
)
def test_cross_entropy_extreme_logits(logits, label):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, delta = softmax_cross_entropy(np.array(logits)[:, None], [label])
    assert np.isfinite(loss)
    assert np.all(np.isfinite(delta))
    assert loss == pytest.approx(_logsumexp(logits) - logits[label], rel=1e-15)
    expected = np.exp(np.array(logits) - _logsumexp(logits))
    expected[label] -= 1
    np.testing.assert_allclose(delta[:, 0], expected, atol=1e-300)


def test_cross_entropy_labels_and_onehot_agree():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(3, 5))
    y = np.array([0, 2, 1, 1, 0])
    onehot = np.eye(3)[:, y]
    loss_a, delta_a = softmax_cross_entropy(z, y)
    loss_b, delta_b = softmax_cross_entropy(z, onehot)
    assert loss_a == pytest.approx(loss_b, rel=1e-15)
    np.testing.assert_array_equal(delta_a, delta_b)


def test_cross_entropy_delta_is_mean_gradient():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(4, 6))
    y = rng.integers(0, 4, size=6)
    _, delta = softmax_cross_entropy(z, y)
    h = 1e-6
    for index in np.ndindex(z.shape):
        step = np.zeros_like(z)
        step[index] = h
        up, _ = softmax_cross_entropy(z + step, y)
        down, _ = softmax_cross_entropy(z - step, y)
        assert delta[index] == pytest.approx((up - down) / (2 * h), abs=1e-9)


def test_binary_cross_entropy_extremes():
    z = np.array([[-800.0, 800.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, delta = binary_cross_entropy(z, np.array([1, 0, 1]))
    assert loss == pytest.approx((800 + 800 + np.log(2)) / 3)
    np.testing.assert_allclose(delta, [[-1 / 3, 1 / 3, -1 / 6]])


def test_binary_cross_entropy_matches_definition():
    z = np.array([[0.3, -1.2, 2.0, 0.0]])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    p = 1 / (1 + np.exp(-z[0]))
    expected = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    loss, delta = binary_cross_entropy(z, y)
    assert loss == pytest.approx(expected, rel=1e-14)
    np.testing.assert_allclose(delta[0], (p - y) / 4, rtol=1e-14)


def test_mse_hand_numbers():
    z = np.array([[1.0, 2.0], [0.0, -1.0]])
    y = np.array([[0.5, 2.0], [1.0, -1.0]])
    loss, delta = mean_squared_error(z, y)
    assert loss == pytest.approx(0.5 * (0.25 + 1.0) / 2)
    np.testing.assert_allclose(delta, [[0.25, 0.0], [-0.5, 0.0]])


def test_mse_with_sigmoid_output_includes_derivative():
    z = np.array([[0.0]])
    loss, delta = mean_squared_error(z, np.array([[1.0]]), output="sigmoid")
    assert loss == pytest.approx(0.125)
    assert delta[0, 0] == pytest.approx(-0.5 * 0.25)


def test_label_out_of_range():
    with pytest.raises(ValueError, match="label 3 is out of range for 3 classes"):
        softmax_cross_entropy(np.zeros((3, 2)), [0, 3])


def test_batch_first_targets_rejected_with_hint():
    with pytest.raises(ValueError, match="pass Y.T"):
        softmax_cross_entropy(np.zeros((3, 5)), np.zeros((5, 3)))


def test_label_count_mismatch():
    with pytest.raises(ValueError, match="Y has 4 labels but X has N = 5"):
        softmax_cross_entropy(np.zeros((3, 5)), [0, 1, 2, 0])


def test_unknown_loss_lists_valid_ones():
    with pytest.raises(ValueError, match="binary_cross_entropy, cross_entropy, mse"):
        get_loss("hinge")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_delta_keeps_dtype(dtype):
    z = np.zeros((3, 4), dtype=dtype)
    _, delta = softmax_cross_entropy(z, [0, 1, 2, 0])
    assert delta.dtype == dtype
