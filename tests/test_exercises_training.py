"""The training chapter's exercises: references agree with the package.

The checks every coding exercise shares are in test_exercises_common.py.
"""

from pathlib import Path

import numpy as np
import pytest

from bpcourse.check import INPUT_MODIFIED, STATE_BETWEEN_CALLS, check
from bpcourse.data import minibatches
from bpcourse.exercises import training
from bpcourse.exercises.core import get_exercise
from bpcourse.network import Network
from bpcourse.optim import SGD, Momentum
from conftest import equation_labels

CODING = [
    "update.sgd_step",
    "update.train_step",
    "update.minibatch_loop",
    "update.momentum_step",
]

#: float64 results of the same arithmetic in another order agree to a few ulps.
FLOAT64_TOL = 1e-12

CHAPTER = Path(__file__).resolve().parent.parent / "book" / "05_training.ipynb"


def _cases(exercise_id, seed=0):
    return get_exercise(exercise_id).make_cases(seed)


# --- Every coding exercise ----------------------------------------------------------


@pytest.mark.parametrize("exercise_id", CODING)
def test_learning_rates_are_not_one(exercise_id):
    for case in _cases(exercise_id):
        assert case["lr"] != 1.0


# --- update.sgd_step ----------------------------------------------------------------


def test_sgd_step_matches_optimizer():
    exercise = get_exercise("update.sgd_step")
    for case in _cases("update.sgd_step"):
        W, b = case["W"].copy(), case["b"].copy()
        SGD(lr=case["lr"]).step([W, b], [case["dW"], case["db"]])
        W_new, b_new = exercise.reference(**case)
        np.testing.assert_allclose(W_new, W, rtol=0, atol=FLOAT64_TOL)
        np.testing.assert_allclose(b_new, b, rtol=0, atol=FLOAT64_TOL)


def test_sgd_step_hand_numbers():
    W2_new, b2_new = get_exercise("update.sgd_step").reference(
        W=np.array([[1.0, -0.5]]),
        b=np.array([[0.2]]),
        dW=np.array([[-0.0725, -0.76125]]),
        db=np.array([[-0.725]]),
        lr=0.1,
    )
    np.testing.assert_allclose(W2_new, [[1.00725, -0.423875]], atol=FLOAT64_TOL)
    np.testing.assert_allclose(b2_new, [[0.2725]], atol=FLOAT64_TOL)


def test_sgd_step_in_place_is_diagnosed():
    def sgd_step(W, b, dW, db, lr):
        W -= lr * dW
        b -= lr * db
        return W, b

    result = check("update.sgd_step", sgd_step)
    assert not result.passed
    assert result.diagnosis == INPUT_MODIFIED
    assert "`W`, `b`" in result.message
    assert "returns the new W and b" in result.message
    assert "forward pass" not in result.message


def test_sgd_step_random_answer_has_no_diagnosis():
    result = check("update.sgd_step", lambda W, b, dW, db, lr: (W * lr - dW, b + db))
    assert not result.passed
    assert result.diagnosis is None


# --- update.train_step --------------------------------------------------------------


def test_train_step_matches_network():
    exercise = get_exercise("update.train_step")
    for case in _cases("update.train_step"):
        d0, d1, d2 = case["X"].shape[0], case["W1"].shape[0], case["W2"].shape[0]
        net = Network([d0, d1, d2], activation="relu")
        net.weights = [case["W1"].copy(), case["W2"].copy()]
        net.biases = [case["b1"].copy(), case["b2"].copy()]
        grads = net.gradients(case["X"], case["Y"])
        net.update(grads, case["lr"])

        *parameters, loss = exercise.reference(**case)

        assert loss == pytest.approx(grads.loss, abs=FLOAT64_TOL)
        for mine, package in zip(parameters, net.parameters()):
            np.testing.assert_allclose(mine, package, rtol=0, atol=FLOAT64_TOL)


def test_train_step_cases_include_one_and_several_examples():
    widths = {case["X"].shape[1] for case in _cases("update.train_step")}
    assert 1 in widths
    assert max(widths) > 1


def test_train_step_random_answer_has_no_diagnosis():
    def train_step(W1, b1, W2, b2, X, Y, lr):
        return W1 * 0.5, b1, W2 * 0.5, b2, 1.0

    result = check("update.train_step", train_step)
    assert not result.passed
    assert result.diagnosis is None


# --- update.minibatch_loop ----------------------------------------------------------


def test_minibatch_loop_matches_network():
    exercise = get_exercise("update.minibatch_loop")
    for case in _cases("update.minibatch_loop"):
        K, d0 = case["W"].shape
        net = Network([d0, K])
        net.weights = [case["W"].copy()]
        net.biases = [case["b"].copy()]
        losses = []
        for X_batch, Y_batch in minibatches(case["X"], case["Y"], case["batch_size"],
                                            shuffle=False):
            grads = net.gradients(X_batch, Y_batch)
            net.update(grads, case["lr"])
            losses.append(grads.loss)

        W, b, mean_loss = exercise.reference(**case)

        np.testing.assert_allclose(W, net.weights[0], rtol=0, atol=FLOAT64_TOL)
        np.testing.assert_allclose(b, net.biases[0], rtol=0, atol=FLOAT64_TOL)
        assert mean_loss == pytest.approx(np.mean(losses), abs=FLOAT64_TOL)


def test_minibatch_loop_cases_cover_batch_layouts():
    layouts = [(case["X"].shape[1], case["batch_size"])
               for case in _cases("update.minibatch_loop")]
    assert any(N % B != 0 for N, B in layouts)
    assert any(N == B for N, B in layouts)
    assert any(N == 1 for N, _ in layouts)
    assert all(B <= N for N, B in layouts)


def test_minibatch_loop_global_buffer_is_diagnosed():
    buffer = {}

    def minibatch_loop(W, b, X, Y, lr, batch_size):
        # Gradient buffers, one per layer shape, that outlive the call.
        dW_sum, db_sum = buffer.setdefault(
            W.shape, (np.zeros_like(W), np.zeros_like(b))
        )
        losses = []
        for start in range(0, X.shape[1], batch_size):
            X_batch = X[:, start : start + batch_size]
            Y_batch = Y[:, start : start + batch_size]
            z = W @ X_batch + b
            a = np.exp(z - z.max(axis=0)) / np.exp(z - z.max(axis=0)).sum(axis=0)
            losses.append(-np.sum(Y_batch * np.log(a)) / X_batch.shape[1])
            delta = (a - Y_batch) / X_batch.shape[1]
            dW_sum += delta @ X_batch.T
            db_sum += delta.sum(axis=1, keepdims=True)
            W = W - lr * dW_sum
            b = b - lr * db_sum
        return W, b, np.mean(losses)

    result = check("update.minibatch_loop", minibatch_loop)
    assert not result.passed
    assert result.diagnosis == STATE_BETWEEN_CALLS


def test_minibatch_loop_random_answer_has_no_diagnosis():
    result = check("update.minibatch_loop",
                   lambda W, b, X, Y, lr, batch_size: (W - lr, b - lr, 0.5))
    assert not result.passed
    assert result.diagnosis is None


# --- update.momentum_step -----------------------------------------------------------


def test_momentum_step_matches_optimizer():
    exercise = get_exercise("update.momentum_step")
    for case in _cases("update.momentum_step"):
        W = case["W"].copy()
        optimizer = Momentum(lr=case["lr"], beta=case["beta"])
        optimizer.state[0] = {"velocity": case["v"].copy()}
        optimizer.step([W], [case["dW"]])

        W_new, v_new = exercise.reference(**case)

        np.testing.assert_allclose(W_new, W, rtol=0, atol=FLOAT64_TOL)
        np.testing.assert_allclose(v_new, optimizer.state[0]["velocity"], rtol=0,
                                   atol=FLOAT64_TOL)


def test_momentum_cases_include_first_step():
    assert any(not case["v"].any() for case in _cases("update.momentum_step"))


def test_momentum_step_random_answer_has_no_diagnosis():
    result = check("update.momentum_step",
                   lambda W, dW, v, lr, beta: (W - lr * dW * beta, v * beta))
    assert not result.passed
    assert result.diagnosis is None


# --- update.lr_too_large ------------------------------------------------------------


def test_lr_too_large_answer_passes():
    assert check("update.lr_too_large", "C").passed


def test_lr_too_large_answer_matches_descent():
    w = np.array([1.0])
    optimizer = SGD(lr=0.6)
    path = [w[0]]
    for _ in range(5):
        optimizer.step([w], [4.0 * w])
        path.append(w[0])
    losses = [0.5 * 4.0 * value**2 for value in path]
    assert all(later > earlier for earlier, later in zip(losses, losses[1:]))
    assert all(a * b < 0 for a, b in zip(path, path[1:]))


@pytest.mark.parametrize("choice", ["A", "B", "D"])
def test_lr_too_large_mistake_is_explained(choice):
    result = check("update.lr_too_large", choice)
    assert not result.passed
    assert result.diagnosis == f"mistake:{choice}"
    assert "(5.5)" in result.message


def test_lr_too_large_rejects_unknown_choice():
    result = check("update.lr_too_large", "E")
    assert not result.passed
    assert result.diagnosis is None


# --- Equation numbers -----------------------------------------------------------------


@pytest.mark.parametrize(
    "constant, label",
    [
        ("EQ_UPDATE", "eq-training-update"),
        ("EQ_MINIBATCH_LOSS", "eq-training-minibatch-loss"),
        ("EQ_QUADRATIC", "eq-training-quadratic"),
        ("EQ_MOMENTUM", "eq-training-momentum"),
    ],
)
def test_equation_number_matches_chapter(constant, label):
    labels = equation_labels(CHAPTER)
    assert getattr(training, constant) == f"5.{labels.index(label) + 1}"
