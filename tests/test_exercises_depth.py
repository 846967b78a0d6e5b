"""The depth chapter's exercises: references pass, pitfalls and mistakes are named."""

import numpy as np
import pytest

from bpcourse.check import INPUT_MODIFIED, check
from bpcourse.exercises.core import get_exercise

CODING = ["depth.residual_backward", "depth.layernorm_backward", "depth.clip_global_norm"]


def _pitfalls(exercise_ids):
    return [
        pytest.param(exercise_id, pitfall, id=f"{exercise_id}:{pitfall.name}")
        for exercise_id in exercise_ids
        for pitfall in get_exercise(exercise_id).pitfalls
    ]


@pytest.mark.parametrize("exercise_id", CODING)
def test_reference_passes_its_check(exercise_id):
    exercise = get_exercise(exercise_id)
    assert exercise.chapter == 7
    result = check(exercise_id, exercise.reference)
    assert result.passed, str(result)
    assert result.diagnosis is None


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


@pytest.mark.parametrize("exercise_id, pitfall", _pitfalls(CODING))
def test_pitfall_is_diagnosed(exercise_id, pitfall):
    result = check(exercise_id, pitfall.wrong)
    assert not result.passed
    assert result.diagnosis == pitfall.name
    assert pitfall.message in result.message
    assert pitfall.equation.startswith("7.")


@pytest.mark.parametrize("exercise_id", CODING)
def test_pitfalls_hold_for_other_seeds(exercise_id):
    for pitfall in get_exercise(exercise_id).pitfalls:
        for seed in (1, 2, 3):
            result = check(exercise_id, pitfall.wrong, seed=seed)
            assert result.diagnosis == pitfall.name, (pitfall.name, seed)


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
