"""Tests of bpcourse.beyond.synthetic: a linear predictor of ∂L/∂a¹ trains layer 1."""

import numpy as np
import pytest

from bpcourse.beyond import synthetic
from bpcourse.data import load_digits, standardize
from bpcourse.network import Network


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    X, X_test = standardize(data.X_train[:, :300], data.X_test)
    return X, data.y_train[:300], X_test, data.y_test


@pytest.fixture(scope="module")
def runs(digits):
    return {method: synthetic.train_decoupled(method, *digits, epochs=4)
            for method in synthetic.METHODS}


def test_predictor_gradients_match_finite_difference():
    rng = np.random.default_rng(0)
    M, B, c = rng.normal(size=(4, 4)), rng.normal(size=(4, 3)), rng.normal(size=(4, 1))
    a1 = rng.normal(size=(4, 5))
    Y = np.eye(3)[:, rng.integers(0, 3, size=5)]
    target = rng.normal(size=(4, 5))
    dM, dB, dc, loss = synthetic.predictor_gradients(M, B, c, a1, Y, target)
    h = 1e-6
    for array, grad in ((M, dM), (B, dB), (c, dc)):
        index = (1, 0)
        plus, minus = array.copy(), array.copy()
        plus[index] += h
        minus[index] -= h
        args_plus = [plus if a is array else a for a in (M, B, c)]
        args_minus = [minus if a is array else a for a in (M, B, c)]
        numerical = (synthetic.predictor_gradients(*args_plus, a1, Y, target)[3]
                     - synthetic.predictor_gradients(*args_minus, a1, Y, target)[3]) / (2 * h)
        assert grad[index] == pytest.approx(numerical, abs=1e-7)


def test_prediction_divides_by_batch_size():
    M, B, c = np.eye(2), np.zeros((2, 3)), np.zeros((2, 1))
    a1 = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(synthetic.predict_gradient(M, B, c, a1, np.zeros((3, 2))),
                               a1 / 2)


def test_all_methods_start_from_same_network(runs):
    first = {method: run["step_loss"][0] for method, run in runs.items()}
    assert first["backprop"] == first["synthetic"] == first["frozen"]


def test_first_synthetic_gradient_is_zero(runs):
    assert runs["synthetic"]["cosine"][0] == 0.0


def test_synthetic_gradient_aligns_with_true_gradient(runs):
    assert np.mean(runs["synthetic"]["cosine"][-20:]) > 0.5


def test_synthetic_beats_frozen_layer(runs):
    assert runs["synthetic"]["step_loss"][-20:].mean() < runs["frozen"]["step_loss"][-20:].mean()


def test_backprop_matches_plain_training(digits):
    X, y, X_test, y_test = digits
    run = synthetic.train_decoupled("backprop", X, y, X_test, y_test, epochs=2)
    net = Network([64, 32, 10], activation="tanh", seed=0)
    history = net.fit(X, y, epochs=2, batch_size=32, lr=0.1, optimizer="sgd",
                      seed=0, progress=False)
    np.testing.assert_allclose(run["step_loss"], history.step_loss, rtol=1e-12)


def test_history_lengths(runs):
    run = runs["synthetic"]
    steps = 4 * -(-300 // 32)
    assert run["step_loss"].shape == (steps,)
    assert run["cosine"].shape == (steps,)
    assert run["cosine_dW1"].shape == (steps,)
    assert run["predictor_loss"].shape == (steps,)
    assert run["test_accuracy"].shape == (5,)


def test_unknown_method_is_rejected(digits):
    with pytest.raises(ValueError, match="unknown method"):
        synthetic.train_decoupled("feedback_alignment", *digits)
