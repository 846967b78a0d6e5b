"""The loss chapter's exercises: references agree with the package, other mistakes are named.

The checks every coding exercise shares are in test_exercises_common.py.
"""

import math
import warnings

import numpy as np
import pytest

from bpcourse.activations import softmax
from bpcourse.check import check
from bpcourse.exercises import loss as loss_exercises
from bpcourse.exercises.core import get_exercise
from bpcourse.losses import mean_squared_error, softmax_cross_entropy

CODING = ["loss.softmax", "loss.softmax_ce_delta", "loss.mse_delta"]


@pytest.mark.parametrize("exercise_id", CODING)
def test_reference_check_gives_no_warning(exercise_id):
    exercise = get_exercise(exercise_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = check(exercise_id, exercise.reference)
    assert result.passed, str(result)


@pytest.mark.parametrize("exercise_id", CODING)
def test_cases_include_one_and_several_examples(exercise_id):
    exercise = get_exercise(exercise_id)
    shapes = [exercise.reference(**case).shape for case in exercise.make_cases(0)]
    widths = {N for _, N in shapes}
    assert 1 in widths
    assert max(widths) > 1
    assert any(K != N for K, N in shapes)


def test_softmax_reference_matches_package():
    for case in get_exercise("loss.softmax").make_cases(0):
        expected = softmax(case["z"])
        np.testing.assert_allclose(loss_exercises._softmax(case["z"]), expected)


def test_softmax_ce_delta_reference_matches_package():
    for case in get_exercise("loss.softmax_ce_delta").make_cases(0):
        _, expected = softmax_cross_entropy(case["z"], case["Y"])
        np.testing.assert_allclose(
            loss_exercises._softmax_ce_delta(case["z"], case["Y"]), expected
        )


def test_mse_delta_reference_matches_package():
    for case in get_exercise("loss.mse_delta").make_cases(0):
        _, expected = mean_squared_error(case["z"], case["Y"], output="sigmoid")
        np.testing.assert_allclose(loss_exercises._mse_delta(case["z"], case["Y"]), expected)


def test_overflowing_logits_overflow_the_sum():
    z = loss_exercises.OVERFLOWING_LOGITS
    with np.errstate(over="raise"):
        exponentials = np.exp(z)
    assert np.all(np.isfinite(exponentials))
    with np.errstate(over="ignore"):
        column_sums = np.sum(exponentials, axis=0)
    assert np.all(np.isinf(column_sums))


def test_naive_softmax_returns_zeros_on_overflow():
    result = loss_exercises._softmax_without_max(loss_exercises.OVERFLOWING_LOGITS)
    np.testing.assert_array_equal(result, np.zeros((3, 2)))


def test_softmax_random_answer_has_no_diagnosis():
    result = check("loss.softmax", lambda z: np.abs(z) / np.sum(np.abs(z), axis=0))
    assert not result.passed
    assert result.diagnosis is None


def test_softmax_ce_delta_random_answer_has_no_diagnosis():
    result = check("loss.softmax_ce_delta", lambda z, Y: (np.tanh(z) - Y) / z.shape[1])
    assert not result.passed
    assert result.diagnosis is None


def test_mse_delta_random_answer_has_no_diagnosis():
    result = check("loss.mse_delta", lambda z, Y: (np.tanh(z) - Y) / z.shape[1])
    assert not result.passed
    assert result.diagnosis is None


def test_naive_softmax_with_nan_is_reported():
    def naive(z):
        with np.errstate(over="ignore", invalid="ignore"):
            e = np.exp(z * 2)
            return e / np.sum(e, axis=0, keepdims=True)

    result = check("loss.softmax", naive)
    assert not result.passed
    messages = [case.message for case in result.cases if not case.passed]
    assert any("nan or inf" in message for message in messages)


def test_ce_value_answer():
    expected = math.log(1 + math.exp(-1) + math.exp(-2))
    assert get_exercise("loss.ce_value").answer == pytest.approx(expected)
    assert check("loss.ce_value", 0.4076).passed
    assert check("loss.ce_value", expected).passed


@pytest.mark.parametrize("wrong", [-0.4076, 0.6652, 0.1770, 2.4076, 1.4076])
def test_ce_value_known_mistakes(wrong):
    result = check("loss.ce_value", wrong)
    assert not result.passed
    assert result.diagnosis is not None
    assert result.diagnosis.startswith("mistake:")


def test_ce_value_unknown_mistake():
    result = check("loss.ce_value", 0.9)
    assert not result.passed
    assert result.diagnosis is None
