"""The gradients chapter's exercises: references agree with the network, other mistakes are named.

The checks every coding exercise shares are in test_exercises_common.py.
"""

import numpy as np
import pytest

from bpcourse.check import INPUT_MODIFIED, check
from bpcourse.examples import hand_worked_network
from bpcourse.exercises.core import get_exercise
from bpcourse.network import Network

CODING = [
    "backward.weight_gradient",
    "backward.bias_gradient",
    "backward.parameter_gradients",
    "gradients.central_difference",
]


@pytest.mark.parametrize("exercise_id", CODING)
def test_exercise_belongs_to_chapter_4(exercise_id):
    assert get_exercise(exercise_id).chapter == 4


@pytest.mark.parametrize(
    "exercise_id, wrong",
    [
        ("backward.weight_gradient", lambda delta, a_prev: np.tanh(delta) @ a_prev.T),
        ("backward.bias_gradient", lambda delta: np.sum(delta**3, axis=1, keepdims=True)),
        (
            "backward.parameter_gradients",
            lambda deltas, cache: tuple(
                g for d, a in zip(deltas, cache.a)
                for g in (np.cos(d) @ a.T, np.sum(d, axis=1, keepdims=True))
            ),
        ),
        ("gradients.central_difference", lambda f, x, h: np.sin(x)),
    ],
    ids=["weight", "bias", "parameters", "central"],
)
def test_random_wrong_answer_has_no_diagnosis(exercise_id, wrong):
    result = check(exercise_id, wrong)
    assert not result.passed
    assert result.diagnosis is None


def test_weight_and_bias_references_match_network():
    net = Network([3, 5, 4, 2], activation="relu", loss="cross_entropy", seed=2)
    rng = np.random.default_rng(2)
    X = rng.normal(size=(3, 7))
    Y = rng.integers(2, size=7)
    _, cache = net.forward(X)
    grads = net.backward(cache, Y)
    weight = get_exercise("backward.weight_gradient").reference
    bias = get_exercise("backward.bias_gradient").reference
    for l in range(3):
        np.testing.assert_allclose(weight(grads.delta[l], cache.a[l]), grads.dW[l],
                                   rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(bias(grads.delta[l]), grads.db[l],
                                   rtol=1e-12, atol=1e-15)


def test_parameter_gradients_reference_matches_network():
    net = Network([3, 4, 2], activation="tanh", loss="cross_entropy", seed=5)
    rng = np.random.default_rng(5)
    X = rng.normal(size=(3, 6))
    Y = rng.integers(2, size=6)
    _, cache = net.forward(X)
    grads = net.backward(cache, Y)
    reference = get_exercise("backward.parameter_gradients").reference
    for mine, expected in zip(reference(grads.delta, cache), grads.as_list()):
        np.testing.assert_allclose(mine, expected, rtol=1e-12, atol=1e-15)


def test_hand_worked_gradients():
    net, x, y = hand_worked_network()
    _, cache = net.forward(x)
    grads = net.backward(cache, y)
    weight = get_exercise("backward.weight_gradient").reference
    np.testing.assert_allclose(weight(grads.delta[1], cache.a[1]), [[-0.0725, -0.76125]],
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(weight(grads.delta[0], x), [[-0.725, -1.45], [0.3625, 0.725]],
                               rtol=0, atol=1e-12)


def test_central_difference_reference_is_accurate():
    reference = get_exercise("gradients.central_difference").reference

    def f(x):
        return float(np.sum(np.exp(x)))

    x = np.array([[0.5, -1.0], [2.0, 0.0]])
    np.testing.assert_allclose(reference(f, x, 1e-5), np.exp(x), rtol=1e-9)


def test_central_difference_leaves_x_alone():
    reference = get_exercise("gradients.central_difference").reference
    x = np.array([0.1, 0.2, 0.3])
    before = x.copy()
    reference(lambda v: float(np.sum(v**2)), x, 1e-5)
    assert np.array_equal(x, before)


def test_central_difference_rounded_restore_is_diagnosed():
    def in_place(f, x, h):
        grad = np.zeros(x.shape)
        for index in np.ndindex(x.shape):
            x[index] += h
            plus = f(x)
            x[index] -= 2 * h
            minus = f(x)
            x[index] += h  # x + h − 2h + h is not always x once rounded
            grad[index] = (plus - minus) / (2 * h)
        return grad

    result = check("gradients.central_difference", in_place)
    assert not result.passed
    assert result.diagnosis == INPUT_MODIFIED
    assert "`x`" in result.message


def test_central_difference_never_restored_is_diagnosed():
    def never_restored(f, x, h):
        grad = np.zeros(x.shape)
        for index in np.ndindex(x.shape):
            x[index] += h
            plus = f(x)
            x[index] -= 2 * h
            grad[index] = (plus - f(x)) / (2 * h)
        return grad

    result = check("gradients.central_difference", never_restored)
    assert not result.passed
    assert result.diagnosis == INPUT_MODIFIED
    assert "perturb a copy" in result.message
    assert "forward pass" not in result.message


def test_central_difference_scalar_result_has_no_keepdims_hint():
    def one_number(f, x, h):
        return (f(x + h) - f(x - h)) / (2 * h)

    result = check("gradients.central_difference", one_number)
    assert not result.passed
    assert "yours has ()" in result.message
    assert "keepdims" not in result.message
    assert "one number" in result.message


def test_central_difference_cases_catch_forward_difference():
    exercise = get_exercise("gradients.central_difference")
    for case in exercise.make_cases(0):
        central = exercise.reference(**case)
        forward = exercise.pitfalls[0].wrong(**case)
        assert np.max(np.abs(forward - central)) > 100 * exercise.atol


def test_best_step_answer():
    assert check("gradients.best_step", "1e-5").passed


@pytest.mark.parametrize("wrong", ["1e-2", "1e-8", "1e-12"])
def test_best_step_mistakes_are_explained(wrong):
    result = check("gradients.best_step", wrong)
    assert not result.passed
    assert result.diagnosis == f"mistake:{wrong}"


def test_bias_shape_answer():
    net = Network([3, 4, 4, 2], seed=0)
    X = np.zeros((3, 5))
    grads = net.gradients(X, np.zeros(5, dtype=int))
    assert grads.db[1].shape == get_exercise("gradients.bias_shape").answer
    assert check("gradients.bias_shape", (4, 1)).passed


@pytest.mark.parametrize("wrong", [(4, 5), (1, 5), (4,), (2, 1), (1, 4)])
def test_bias_shape_mistakes_are_explained(wrong):
    result = check("gradients.bias_shape", wrong)
    assert not result.passed
    assert result.diagnosis == f"mistake:{wrong}"
