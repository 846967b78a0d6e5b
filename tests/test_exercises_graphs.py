"""The graphs chapter's exercises: references agree with the engine, other mistakes are named.

The checks every coding exercise shares are in test_exercises_common.py.
"""

import numpy as np
import pytest

from bpcourse.autodiff import Tensor, unbroadcast
from bpcourse.check import check
from bpcourse.exercises.core import get_exercise

CODING = ["graphs.mul_vjp", "graphs.matmul_vjp", "graphs.unbroadcast"]


@pytest.mark.parametrize("exercise_id", CODING + ["graphs.reused_node",
                                                  "graphs.forward_passes"])
def test_exercise_belongs_to_chapter_6(exercise_id):
    assert get_exercise(exercise_id).chapter == 6


@pytest.mark.parametrize(
    "exercise_id, wrong",
    [
        ("graphs.mul_vjp", lambda g, a, b: (g * np.tanh(b), g * a)),
        ("graphs.matmul_vjp", lambda g, A, B: (2 * g @ B.T, A.T @ g)),
        ("graphs.unbroadcast", lambda g, shape: np.zeros(shape)),
    ],
    ids=["mul", "matmul", "unbroadcast"],
)
def test_random_wrong_answer_has_no_diagnosis(exercise_id, wrong):
    result = check(exercise_id, wrong)
    assert not result.passed
    assert result.diagnosis is None


def test_mul_reference_matches_engine():
    rng = np.random.default_rng(0)
    a, b, g = (rng.normal(size=(3, 4)) for _ in range(3))
    A, B = Tensor(a), Tensor(b)
    (A * B).backward(g)
    grad_a, grad_b = get_exercise("graphs.mul_vjp").reference(g, a, b)
    np.testing.assert_array_equal(grad_a, A.grad)
    np.testing.assert_array_equal(grad_b, B.grad)


def test_matmul_reference_matches_engine():
    rng = np.random.default_rng(1)
    a, b, g = rng.normal(size=(2, 3)), rng.normal(size=(3, 4)), rng.normal(size=(2, 4))
    A, B = Tensor(a), Tensor(b)
    (A @ B).backward(g)
    grad_a, grad_b = get_exercise("graphs.matmul_vjp").reference(g, a, b)
    np.testing.assert_allclose(grad_a, A.grad, rtol=1e-14)
    np.testing.assert_allclose(grad_b, B.grad, rtol=1e-14)


def test_matmul_reference_matches_central_difference():
    rng = np.random.default_rng(2)
    A, B, g = rng.normal(size=(2, 3)), rng.normal(size=(3, 2)), rng.normal(size=(2, 2))
    grad_A, _ = get_exercise("graphs.matmul_vjp").reference(g, A, B)
    h = 1e-6
    for index in np.ndindex(A.shape):
        step = np.zeros(A.shape)
        step[index] = h
        numerical = (np.sum(g * ((A + step) @ B)) - np.sum(g * ((A - step) @ B))) / (2 * h)
        assert grad_A[index] == pytest.approx(numerical, rel=1e-7)


def test_unbroadcast_reference_matches_engine():
    exercise = get_exercise("graphs.unbroadcast")
    for case in exercise.make_cases(0):
        np.testing.assert_array_equal(
            exercise.reference(**case), unbroadcast(case["g"], case["shape"])
        )


def test_bias_gradient_is_unbroadcast_sum():
    rng = np.random.default_rng(3)
    delta = rng.normal(size=(3, 5))
    reference = get_exercise("graphs.unbroadcast").reference
    np.testing.assert_allclose(
        reference(delta, (3, 1)), np.sum(delta, axis=1, keepdims=True), rtol=1e-15
    )


def test_reused_node_answer():
    a = Tensor(1.0)
    b = a + a
    c = b + b
    c.backward()
    assert float(a.grad) == get_exercise("graphs.reused_node").answer
    assert check("graphs.reused_node", 4).passed


@pytest.mark.parametrize("wrong", [1, 2])
def test_reused_node_mistakes_are_explained(wrong):
    result = check("graphs.reused_node", wrong)
    assert not result.passed
    assert result.diagnosis == f"mistake:{float(wrong)}"


def test_forward_passes_answer():
    from bpcourse.network import Network

    net = Network([3, 4, 2])
    count = sum(p.size for p in net.parameters())
    assert count == get_exercise("graphs.forward_passes").answer
    assert check("graphs.forward_passes", 26).passed


@pytest.mark.parametrize("wrong", [1, 2, 3, 20])
def test_forward_passes_mistakes_are_explained(wrong):
    result = check("graphs.forward_passes", wrong)
    assert not result.passed
    assert result.diagnosis == f"mistake:{wrong}"
