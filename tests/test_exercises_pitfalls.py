"""The pitfalls chapter's exercises: the given bugs are named.

The checks every coding exercise shares are in test_exercises_common.py.
"""

import numpy as np
import pytest

from bpcourse.activations import sigmoid
from bpcourse.check import INPUT_MODIFIED, check
from bpcourse.exercises import pitfalls
from bpcourse.exercises.core import get_exercise
from bpcourse.network import Network

CODING = [
    "pitfalls.fix_sigma_prime",
    "pitfalls.fix_in_place",
    "pitfalls.fix_bias_axis",
]
SHORT = [
    "pitfalls.symptom_of_averaged_db",
    "pitfalls.symptom_of_large_lr",
    "pitfalls.gradient_through_round",
]


@pytest.mark.parametrize("exercise_id", CODING)
def test_random_answer_fails_without_diagnosis(exercise_id):
    exercise = get_exercise(exercise_id)

    def random_answer(**kwargs):
        expected = exercise.reference(**kwargs)
        rng = np.random.default_rng(7)
        if isinstance(expected, tuple):
            return tuple(rng.normal(size=e.shape) for e in expected)
        return rng.normal(size=expected.shape)

    result = check(exercise_id, random_answer)
    assert not result.passed
    assert result.diagnosis is None


@pytest.mark.parametrize("exercise_id", CODING)
def test_every_pitfall_differs_from_the_reference(exercise_id):
    exercise = get_exercise(exercise_id)
    cases = exercise.make_cases(0)
    for pitfall in exercise.pitfalls:
        differs = False
        for case in cases:
            right = exercise.reference(**case)
            wrong = pitfall.wrong(**case)
            right = right if isinstance(right, tuple) else (right,)
            wrong = wrong if isinstance(wrong, tuple) else (wrong,)
            for r, w in zip(right, wrong):
                w = np.asarray(w)
                if r.shape != w.shape or not np.allclose(r, w):
                    differs = True
        assert differs, pitfall.name


def test_cases_include_a_single_example_and_a_batch():
    for exercise_id in CODING:
        cases = get_exercise(exercise_id).make_cases(0)
        widths = set()
        for case in cases:
            array = case.get("delta_next", case.get("delta"))
            widths.add(array.shape[1])
        assert 1 in widths, exercise_id
        assert max(widths) > 1, exercise_id


# --- The code as given is diagnosed by name --------------------------------------


def test_given_sigma_prime_code_is_named():
    result = check("pitfalls.fix_sigma_prime", pitfalls.hidden_delta_as_given)
    assert result.diagnosis == "sigma_prime_missing"
    assert "(12.1)" in result.message


def test_given_in_place_code_changes_its_argument():
    result = check("pitfalls.fix_in_place", pitfalls.backward_step_as_given)
    assert not result.passed
    assert result.diagnosis == INPUT_MODIFIED
    assert "`a`" in result.message
    assert "activation the forward pass cached" in result.message


def test_in_place_on_copy_is_named():
    def half_fixed(W_next, a, delta_next):
        return pitfalls.backward_step_as_given(W_next, a.copy(), delta_next)

    result = check("pitfalls.fix_in_place", half_fixed)
    assert result.diagnosis == "a_overwritten_by_sigma_prime"


def test_given_bias_code_is_named():
    result = check("pitfalls.fix_bias_axis", pitfalls.bias_gradient_as_given)
    assert result.diagnosis == "summed_over_units"


# --- Agreement with the package ----------------------------------------------------


def test_references_agree_with_network_backward():
    rng = np.random.default_rng(3)
    net = Network([3, 4, 2], activation="sigmoid", seed=1)
    X = rng.normal(size=(3, 5))
    y = np.array([0, 1, 1, 0, 1])
    _, cache = net.forward(X)
    grads = net.backward(cache, y)
    W2, delta2 = net.weights[1], grads.delta[1]
    delta1 = pitfalls._hidden_delta(W2, delta2, cache.z[0])
    np.testing.assert_allclose(delta1, grads.delta[0], rtol=1e-12)
    delta1_b, dW2 = pitfalls._backward_step(W2, cache.a[1], delta2)
    np.testing.assert_allclose(delta1_b, grads.delta[0], rtol=1e-12)
    np.testing.assert_allclose(dW2, grads.dW[1], rtol=1e-12)
    np.testing.assert_allclose(
        pitfalls._bias_gradient(grads.delta[0]), grads.db[0], rtol=1e-12
    )


def test_in_place_cases_hold_sigmoid_activations():
    for case in get_exercise("pitfalls.fix_in_place").make_cases(0):
        assert np.all((case["a"] > 0) & (case["a"] < 1))


# --- Choices and numbers ----------------------------------------------------------


@pytest.mark.parametrize("exercise_id", SHORT)
def test_short_answer_passes(exercise_id):
    exercise = get_exercise(exercise_id)
    assert check(exercise_id, exercise.answer).passed


@pytest.mark.parametrize("exercise_id", SHORT)
def test_short_answer_mistakes_are_explained(exercise_id):
    exercise = get_exercise(exercise_id)
    for wrong, message in exercise.mistakes.items():
        result = check(exercise_id, wrong)
        assert not result.passed
        assert message in result.message


def test_rounded_layer_has_zero_gradient():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(3, 2))
    X = rng.normal(size=(2, 4))
    v = rng.normal(size=(1, 3))

    def loss(W):
        return float(np.sum(v @ np.round(sigmoid(W @ X))))

    h = 1e-5
    E = np.zeros_like(W)
    E[0, 0] = h
    assert (loss(W + E) - loss(W - E)) / (2 * h) == 0.0
