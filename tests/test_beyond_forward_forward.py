"""Tests of bpcourse.beyond.forward_forward: layer-local goodness objectives."""

import numpy as np
import pytest

from bpcourse.beyond import forward_forward as ff
from bpcourse.data import load_digits, standardize
from bpcourse.optim import Adam


def _layer(seed=0, N=5):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(4, 6))
    b = rng.normal(scale=0.1, size=(4, 1))
    x_pos = ff.normalize(rng.normal(size=(6, N)))
    x_neg = ff.normalize(rng.normal(size=(6, N)))
    return W, b, x_pos, x_neg


def test_layer_gradients_match_finite_difference():
    W, b, x_pos, x_neg = _layer()
    _, dW, db, _, _ = ff.layer_loss_and_gradients(W, b, x_pos, x_neg)
    h = 1e-6
    for array, grad in ((W, dW), (b, db)):
        for index in np.ndindex(array.shape):
            plus, minus = array.copy(), array.copy()
            plus[index] += h
            minus[index] -= h
            args_plus = (plus, b) if array is W else (W, plus)
            args_minus = (minus, b) if array is W else (W, minus)
            numerical = (ff.layer_loss_and_gradients(*args_plus, x_pos, x_neg)[0]
                         - ff.layer_loss_and_gradients(*args_minus, x_pos, x_neg)[0]) / (2 * h)
            assert grad[index] == pytest.approx(numerical, abs=1e-8), index


def test_normalize_gives_unit_root_mean_square():
    x = ff.normalize(np.random.default_rng(0).normal(size=(9, 4)) * 5)
    np.testing.assert_allclose(np.sqrt(np.mean(x * x, axis=0)), 1.0)


def test_goodness_is_mean_square():
    np.testing.assert_allclose(ff.goodness(np.array([[1.0, 0.0], [3.0, 2.0]])), [5.0, 2.0])


def test_softplus_has_no_overflow():
    np.testing.assert_allclose(ff.softplus(np.array([-800.0, 0.0, 800.0])),
                               [0.0, np.log(2.0), 800.0])


def test_embed_labels_appends_scaled_one_hot():
    X = np.zeros((2, 3))
    embedded = ff.embed_labels(X, np.array([2, 0, 1]), 3, scale=2.0)
    np.testing.assert_array_equal(embedded[2:], [[0, 2, 0], [0, 0, 2], [2, 0, 0]])


def test_wrong_labels_differ_from_labels():
    net = ff.ForwardForwardNetwork([4, 3], num_classes=5, seed=0)
    labels = np.arange(1000) % 5
    wrong = net.draw_wrong_labels(labels, np.random.default_rng(0))
    assert np.all(wrong != labels)
    assert set(np.unique(wrong)) == set(range(5))


def test_local_gradients_do_not_depend_on_layers_above():
    net = ff.ForwardForwardNetwork([4, 5, 3], num_classes=3, seed=0)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(4, 6))
    labels, wrong = np.array([0, 1, 2, 0, 1, 2]), np.array([1, 2, 0, 2, 0, 1])
    _, before = net.local_gradients(X, labels, wrong)
    net.weights[1] *= 3.0
    _, after = net.local_gradients(X, labels, wrong)
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_array_equal(before[1], after[1])
    assert not np.array_equal(before[2], after[2])


def test_minibatch_gradients_average_to_full_gradient():
    net = ff.ForwardForwardNetwork([4, 5, 3], num_classes=3, seed=0)
    rng = np.random.default_rng(2)
    X = rng.normal(size=(4, 8))
    labels = rng.integers(0, 3, size=8)
    wrong = net.draw_wrong_labels(labels, rng)
    _, full = net.local_gradients(X, labels, wrong)
    _, first = net.local_gradients(X[:, :4], labels[:4], wrong[:4])
    _, second = net.local_gradients(X[:, 4:], labels[4:], wrong[4:])
    for f, a, b in zip(full, first, second):
        np.testing.assert_allclose(f, (a + b) / 2, atol=1e-14)


def test_training_on_digits_beats_chance():
    data = load_digits()
    X, X_test = standardize(data.X_train[:, :400], data.X_test)
    net = ff.ForwardForwardNetwork([64, 32, 32], num_classes=10, seed=0)
    history = ff.train_forward_forward(net, X, data.y_train[:400],
                                       lambda: Adam(lr=0.01), epochs=3,
                                       X_test=X_test, y_test=data.y_test)
    assert history["test_accuracy"][-1] > 0.6
    assert history["layer_loss"].shape == (3 * 13, 2)
    assert history["layer_loss"][-5:].mean() < history["layer_loss"][:5].mean()


def test_label_goodness_shape():
    net = ff.ForwardForwardNetwork([4, 5, 3], num_classes=3, seed=0)
    scores = net.label_goodness(np.zeros((4, 7)))
    assert scores.shape == (3, 7)
    assert net.predict(np.zeros((4, 7))).shape == (7,)
