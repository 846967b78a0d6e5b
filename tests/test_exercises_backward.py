"""The δ-recursion chapter's exercises: references agree with the network, other mistakes are named.

The checks every coding exercise shares are in test_exercises_common.py.
"""

import numpy as np
import pytest

from bpcourse.check import INPUT_MODIFIED, check
from bpcourse.exercises.core import get_exercise
from bpcourse.examples import hand_worked_network
from bpcourse.network import Network

CODING = ["backward.output_delta", "backward.delta_recursion", "backward.backward_pass"]


@pytest.mark.parametrize("exercise_id", CODING)
def test_cases_include_one_and_several_examples(exercise_id):
    exercise = get_exercise(exercise_id)
    outputs = [exercise.reference(**case) for case in exercise.make_cases(0)]
    first = [out[0] if isinstance(out, tuple) else out for out in outputs]
    widths = {array.shape[1] for array in first}
    assert 1 in widths
    assert max(widths) > 1


def test_output_delta_random_answer_has_no_diagnosis():
    result = check("backward.output_delta", lambda a_L, Y: np.cos(a_L) - Y)
    assert not result.passed
    assert result.diagnosis is None


def test_delta_recursion_random_answer_has_no_diagnosis():
    def wrong(W_next, delta_next, z, a, activation):
        return (W_next.T @ delta_next) * np.exp(-z * z)

    result = check("backward.delta_recursion", wrong)
    assert not result.passed
    assert result.diagnosis is None


def test_backward_pass_random_answer_has_no_diagnosis():
    def wrong(weights, cache, delta_L, activation):
        return tuple(np.sin(z) for z in cache.z[:-1]) + (delta_L,)

    result = check("backward.backward_pass", wrong)
    assert not result.passed
    assert result.diagnosis is None


def test_delta_recursion_writing_into_z_is_diagnosed():
    from bpcourse.activations import get_activation

    def in_place(W_next, delta_next, z, a, activation):
        z *= 0  # overwrites the cached pre-activation
        z += get_activation(activation).derivative(a * 0 + z)
        return W_next.T @ delta_next

    result = check("backward.delta_recursion", in_place)
    assert result.diagnosis == INPUT_MODIFIED
    assert "`z`" in result.message


def test_backward_pass_writing_into_cache_is_diagnosed():
    from bpcourse.activations import get_activation

    def in_place(weights, cache, delta_L, activation):
        sigma_prime = get_activation(activation).derivative
        deltas = [None] * len(weights)
        deltas[-1] = delta_L
        for l in range(len(weights) - 2, -1, -1):
            # Correct values, but written over the cached z^ℓ.
            cache.z[l][...] = sigma_prime(cache.z[l])
            deltas[l] = (weights[l + 1].T @ deltas[l + 1]) * cache.z[l]
        return tuple(deltas)

    result = check("backward.backward_pass", in_place)
    assert result.diagnosis == INPUT_MODIFIED
    assert "`cache`" in result.message


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_backward_pass_reference_matches_network(activation):
    net = Network([3, 5, 4, 2], activation=activation, loss="cross_entropy", seed=3)
    rng = np.random.default_rng(3)
    X = rng.normal(size=(3, 6))
    Y = rng.integers(2, size=6)
    _, cache = net.forward(X)
    grads = net.backward(cache, Y)
    reference = get_exercise("backward.backward_pass").reference
    deltas = reference(net.weights, cache, grads.delta[-1], activation)
    for mine, expected in zip(deltas, grads.delta):
        np.testing.assert_allclose(mine, expected, rtol=1e-12, atol=1e-15)


def test_delta_recursion_on_hand_worked_network():
    net, x, y = hand_worked_network()
    _, cache = net.forward(x)
    reference = get_exercise("backward.delta_recursion").reference
    delta1 = reference(net.weights[1], np.array([[-0.725]]), cache.z[0], cache.a[1], "relu")
    np.testing.assert_allclose(delta1, [[-0.725], [0.3625]], rtol=0, atol=1e-12)


def test_hand_delta_answer():
    net, x, _ = hand_worked_network()
    grads = net.gradients(x, np.array([[0.0]]))
    expected = float(grads.delta[0][1, 0])
    assert get_exercise("backward.hand_delta").answer == pytest.approx(expected, abs=1e-12)
    assert check("backward.hand_delta", expected).passed


@pytest.mark.parametrize("wrong", [-0.1125, 0.3625, -0.225, 0.225])
def test_hand_delta_mistakes_are_explained(wrong):
    result = check("backward.hand_delta", wrong)
    assert not result.passed
    assert result.diagnosis == f"mistake:{wrong}"


def test_hand_delta_other_wrong_answer():
    result = check("backward.hand_delta", 1.0)
    assert not result.passed
    assert result.diagnosis is None


def test_output_delta_reference_matches_loss():
    from bpcourse.activations import softmax
    from bpcourse.losses import softmax_cross_entropy

    rng = np.random.default_rng(4)
    z = rng.normal(size=(4, 5))
    labels = rng.integers(4, size=5)
    _, expected = softmax_cross_entropy(z, labels)
    Y = np.eye(4)[:, labels]
    reference = get_exercise("backward.output_delta").reference
    np.testing.assert_allclose(reference(softmax(z), Y), expected, rtol=1e-12)
