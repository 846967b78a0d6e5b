"""The forward propagation chapter's exercises: references agree with the network, other mistakes are named.

The checks every coding exercise shares are in test_exercises_common.py.
"""

import numpy as np
import pytest

from bpcourse.check import WRONG_SHAPE, check
from bpcourse.examples import hand_worked_network
from bpcourse.exercises.core import get_exercise

CODING = ["forward.affine", "forward.forward_pass"]


@pytest.mark.parametrize("exercise_id", CODING)
def test_cases_include_one_and_several_examples(exercise_id):
    exercise = get_exercise(exercise_id)
    widths = {exercise.reference(**case).shape[1] for case in exercise.make_cases(0)}
    assert 1 in widths
    assert max(widths) > 1


def test_affine_random_answer_has_no_diagnosis():
    result = check("forward.affine", lambda W, a_prev, b: np.tanh(W @ a_prev) + b)
    assert not result.passed
    assert result.diagnosis is None


def test_forward_pass_random_answer_has_no_diagnosis():
    def wrong(X, weights, biases, sigma):
        a = X
        for W, b in zip(weights, biases):
            a = np.cos(W @ a + b)
        return a

    result = check("forward.forward_pass", wrong)
    assert not result.passed
    assert result.diagnosis is None


def test_affine_batch_first_names_the_shape():
    result = check("forward.affine", lambda W, a_prev, b: (W @ a_prev + b).T)
    shape_messages = [case.message for case in result.cases if not case.passed]
    assert any("should have shape (3, 5), that is (d_ℓ, N)" in m for m in shape_messages)


def test_affine_summed_bias_has_no_diagnosis():
    result = check("forward.affine", lambda W, a_prev, b: W @ a_prev + b.sum())
    assert not result.passed
    assert result.diagnosis is None


def test_affine_first_column_is_wrong_shape():
    result = check("forward.affine", lambda W, a_prev, b: (W @ a_prev + b)[:, :1])
    assert not result.passed
    assert result.diagnosis == WRONG_SHAPE


def test_affine_cases_have_square_w():
    cases = get_exercise("forward.affine").make_cases(0)
    square = [c for c in cases if c["W"].shape[0] == c["W"].shape[1]]
    assert square
    assert any(c["a_prev"].shape[1] == c["W"].shape[0] for c in square)


def test_forward_pass_matches_network():
    net, x, _ = hand_worked_network()
    reference = get_exercise("forward.forward_pass").reference
    relu = net.activations[0]
    output = reference(x, net.weights, net.biases, relu)
    expected, _ = net.forward(x)
    np.testing.assert_allclose(output, expected, atol=1e-12)


def test_shape_of_z_answer():
    assert check("forward.shape_of_z", (3, 5)).passed


@pytest.mark.parametrize("wrong", [(5, 3), (3, 4), (4, 5), (2, 5), (3, 1)])
def test_shape_of_z_known_mistakes(wrong):
    result = check("forward.shape_of_z", wrong)
    assert not result.passed
    assert result.diagnosis == f"mistake:{wrong}"


def test_hand_output_is_one_point_five_five():
    assert get_exercise("forward.hand_output").answer == pytest.approx(1.55, abs=1e-12)
    assert check("forward.hand_output", 1.55).passed


@pytest.mark.parametrize("wrong", [1.65, 1.35, 1.45, 1.05])
def test_hand_output_known_mistakes(wrong):
    result = check("forward.hand_output", wrong)
    assert not result.passed
    assert result.diagnosis == f"mistake:{wrong}"


def test_hand_output_mistakes_by_computation():
    net, _, _ = hand_worked_network()
    W1, W2 = net.weights
    b1, b2 = net.biases
    x = np.array([[2.0], [-1.0]])
    without_relu = W2 @ (W1 @ x + b1) + b2
    without_b2 = W2 @ np.maximum(W1 @ x + b1, 0)
    without_b1 = W2 @ np.maximum(W1 @ x, 0) + b2
    transposed = W2 @ np.maximum(W1.T @ x + b1, 0) + b2
    computed = [without_relu, without_b2, without_b1, transposed]
    assert [round(float(v[0, 0]), 12) for v in computed] == [1.65, 1.35, 1.45, 1.05]
