"""The depth chapter's exercises: cases are varied, other mistakes are named.

The checks every coding exercise shares are in test_exercises_common.py.
"""

import numpy as np
import pytest

from bpcourse.check import INPUT_MODIFIED, check
from bpcourse.exercises.core import get_exercise

CODING = ["depth.residual_backward", "depth.layernorm_backward", "depth.clip_global_norm"]


@pytest.mark.parametrize("exercise_id", CODING)
def test_exercise_belongs_to_chapter_7(exercise_id):
    assert get_exercise(exercise_id).chapter == 7


@pytest.mark.parametrize("exercise_id", CODING)
def test_pitfalls_cite_chapter_7_equations(exercise_id):
    for pitfall in get_exercise(exercise_id).pitfalls:
        assert pitfall.equation.startswith("7."), pitfall.name


@pytest.mark.parametrize("exercise_id", ["depth.residual_backward", "depth.layernorm_backward"])
def test_cases_include_one_and_several_examples(exercise_id):
    exercise = get_exercise(exercise_id)
    outputs = [exercise.reference(**case) for case in exercise.make_cases(0)]
    first = [out[0] if isinstance(out, tuple) else out for out in outputs]
    widths = {array.shape[1] for array in first}
    assert 1 in widths
    assert max(widths) > 1


def test_clip_cases_clip_and_leave_alone():
    exercise = get_exercise("depth.clip_global_norm")
    norms = []
    for case in exercise.make_cases(0):
        norm = np.sqrt(sum(np.sum(g * g) for g in case["grads"]))
        norms.append(norm > case["max_norm"])
    assert any(norms)
    assert not all(norms)


def test_residual_random_answer_has_no_diagnosis():
    result = check("depth.residual_backward", lambda W, z, da, activation: da + np.tanh(W @ z))
    assert not result.passed
    assert result.diagnosis is None


def test_layernorm_random_answer_has_no_diagnosis():
    def wrong(du, z_hat, s, gamma):
        return du * z_hat / s, np.sum(du, axis=1, keepdims=True), np.sum(du, axis=1, keepdims=True)

    result = check("depth.layernorm_backward", wrong)
    assert not result.passed
    assert result.diagnosis is None


def test_clip_random_answer_has_no_diagnosis():
    result = check("depth.clip_global_norm", lambda grads, max_norm: tuple(0.5 * g for g in grads))
    assert not result.passed
    assert result.diagnosis is None


def test_clip_in_place_is_diagnosed():
    def in_place(grads, max_norm):
        norm = np.sqrt(sum(np.sum(g * g) for g in grads))
        for g in grads:
            g *= min(1.0, max_norm / norm)
        return tuple(grads)

    result = check("depth.clip_global_norm", in_place)
    assert not result.passed
    assert result.diagnosis == INPUT_MODIFIED


def test_layernorm_wrong_shape_names_the_output():
    def summed_over_units(du, z_hat, s, gamma):
        dz, dgamma, dbeta = get_exercise("depth.layernorm_backward").reference(du, z_hat, s, gamma)
        return dz, np.sum(du * z_hat, axis=0, keepdims=True), dbeta

    result = check("depth.layernorm_backward", summed_over_units)
    assert not result.passed
    assert "∂L/∂γ^ℓ should have shape" in result.message


def test_xavier_std_answer_and_mistakes():
    assert check("depth.xavier_std", 0.0707).passed
    assert check("depth.xavier_std", float(np.sqrt(2 / 400))).passed
    exercise = get_exercise("depth.xavier_std")
    for wrong, message in exercise.mistakes.items():
        result = check("depth.xavier_std", wrong)
        assert not result.passed
        assert message in result.message
    assert check("depth.xavier_std", 0.3).diagnosis is None
