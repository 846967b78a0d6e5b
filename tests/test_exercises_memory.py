"""The memory chapter's exercises: references agree with the network, other mistakes are named.

The checks every coding exercise shares are in test_exercises_common.py.
"""

import numpy as np
import pytest

from bpcourse.check import check
from bpcourse.checkpoint import cache_bytes, segment_boundaries
from bpcourse.exercises.core import get_exercise
from bpcourse.network import Network

CODING = ["memory.recompute_segment", "memory.segment_backward"]


@pytest.mark.parametrize("exercise_id", CODING)
def test_exercise_belongs_to_chapter_8(exercise_id):
    assert get_exercise(exercise_id).chapter == 8


@pytest.mark.parametrize("exercise_id", CODING)
def test_pitfalls_cite_chapter_8_equations(exercise_id):
    for pitfall in get_exercise(exercise_id).pitfalls:
        assert pitfall.equation.startswith("8."), pitfall.name


@pytest.mark.parametrize("exercise_id", CODING)
def test_cases_include_one_and_several_examples(exercise_id):
    widths = {case["a_start"].shape[1] for case in get_exercise(exercise_id).make_cases(0)}
    assert 1 in widths
    assert max(widths) > 1


def test_recompute_reference_matches_the_network():
    net = Network([3, 3, 3, 2], activation="tanh", seed=0)
    X = np.random.default_rng(0).standard_normal((3, 4))
    _, cache = net.forward(X)
    values = get_exercise("memory.recompute_segment").reference(
        net.weights[:2], net.biases[:2], X, "tanh"
    )
    for got, expected in zip(values, [cache.z[0], cache.a[1], cache.z[1], cache.a[2]]):
        np.testing.assert_array_equal(got, expected)


def test_segment_backward_reference_matches_the_network():
    # The gradient reaching a^0 through layers 1 and 2 of a network whose δ²
    # the network computes: ∂L/∂a² = (W³)ᵀ δ³, handed to the segment of layers 1-2.
    net = Network([3, 3, 3, 2], activation="sigmoid", seed=0)
    X = np.random.default_rng(0).standard_normal((3, 4))
    grads = net.gradients(X, [0, 1, 1, 0])
    da_end = net.weights[2].T @ grads.delta[2]
    da_start = get_exercise("memory.segment_backward").reference(
        net.weights[:2], net.biases[:2], X, da_end, "sigmoid"
    )
    np.testing.assert_allclose(da_start, net.weights[0].T @ grads.delta[0], rtol=1e-12)


def test_recompute_random_answer_has_no_diagnosis():
    def wrong(weights, biases, a_start, activation):
        return tuple(np.cos(a_start) for _ in range(4))

    result = check("memory.recompute_segment", wrong)
    assert not result.passed
    assert result.diagnosis is None


def test_segment_backward_random_answer_has_no_diagnosis():
    result = check("memory.segment_backward",
                   lambda weights, biases, a_start, da_end, activation: 2 * da_end)
    assert not result.passed
    assert result.diagnosis is None


def test_activation_bytes_answer_is_the_package_count():
    exercise = get_exercise("memory.activation_bytes")
    assert exercise.answer == cache_bytes([784, 256, 256, 10], 128, np.float32)
    assert check("memory.activation_bytes", 935_936).passed
    for wrong, message in exercise.mistakes.items():
        result = check("memory.activation_bytes", wrong)
        assert not result.passed
        assert message in result.message
    assert check("memory.activation_bytes", 12_345).diagnosis is None


def test_checkpoint_segments_answer_is_the_package_split():
    exercise = get_exercise("memory.checkpoint_segments")
    assert exercise.answer == tuple(segment_boundaries(10, 3))
    assert check("memory.checkpoint_segments", [0, 4, 7, 10]).passed
    for wrong, message in exercise.mistakes.items():
        result = check("memory.checkpoint_segments", wrong)
        assert not result.passed
        assert message in result.message
    assert check("memory.checkpoint_segments", (0, 5, 10)).diagnosis is None
