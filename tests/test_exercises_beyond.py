"""The exercises of the chapter beyond backpropagation: references agree with the package.

The checks every coding exercise shares are in test_exercises_common.py.
"""

from pathlib import Path

import numpy as np
import pytest

from bpcourse.beyond import discrete, hvp, hypergradient
from bpcourse.beyond.jvp import jvp
from bpcourse.beyond.vectors import flatten
from bpcourse.check import INPUT_MODIFIED, check
from bpcourse.exercises import beyond
from bpcourse.exercises.core import get_exercise
from bpcourse.network import Network
from conftest import equation_labels

CODING = [
    "beyond.gauss_newton_vector",
    "beyond.reinforce_estimator",
    "beyond.hypergradient",
    "beyond.forward_gradient",
]

#: float64 results of the same arithmetic in another order agree to a few ulps.
FLOAT64_TOL = 1e-12

CHAPTER = Path(__file__).resolve().parent.parent / "book" / "11_beyond.ipynb"


def _cases(exercise_id, seed=0):
    return get_exercise(exercise_id).make_cases(seed)


def _softmax_layer(W, b):
    net = Network([W.shape[1], W.shape[0]], loss="cross_entropy")
    net.weights = [W.copy()]
    net.biases = [b.copy()]
    return net


# --- Every coding exercise ----------------------------------------------------------


@pytest.mark.parametrize("exercise_id", CODING)
def test_cases_include_one_and_several(exercise_id):
    cases = _cases(exercise_id)
    if "X" in cases[0]:
        widths = {case["X"].shape[1] for case in cases}
    else:
        widths = {case["samples"].size for case in cases}
    assert 1 in widths
    assert max(widths) > 1


# --- beyond.gauss_newton_vector ------------------------------------------------------


def test_gauss_newton_vector_matches_package():
    exercise = get_exercise("beyond.gauss_newton_vector")
    for case in _cases("beyond.gauss_newton_vector"):
        net = _softmax_layer(case["W"], case["b"])
        K, N = case["W"].shape[0], case["X"].shape[1]
        labels = np.zeros(N, dtype=int)
        V = [case["V"], np.zeros((K, 1))]
        package = hvp.gauss_newton_vector_product(net, case["X"], labels, V)[0]
        np.testing.assert_allclose(exercise.reference(**case), package, rtol=0,
                                   atol=FLOAT64_TOL)


def test_gauss_newton_vector_equals_hvp():
    exercise = get_exercise("beyond.gauss_newton_vector")
    case = _cases("beyond.gauss_newton_vector")[0]
    net = _softmax_layer(case["W"], case["b"])
    labels = np.arange(case["X"].shape[1]) % case["W"].shape[0]
    V = [case["V"], np.zeros_like(case["b"])]
    exact = hvp.hessian_vector_product(net, case["X"], labels, V)[0]
    np.testing.assert_allclose(exercise.reference(**case), exact, atol=FLOAT64_TOL)


def test_gauss_newton_vector_random_answer_has_no_diagnosis():
    result = check("beyond.gauss_newton_vector", lambda W, b, X, V: V @ X @ X.T * 0.1)
    assert not result.passed
    assert result.diagnosis is None


def test_gauss_newton_vector_in_place_is_diagnosed():
    def gauss_newton_vector(W, b, X, V):
        result = get_exercise("beyond.gauss_newton_vector").reference(W, b, X, V.copy())
        V *= 2.0
        return result

    result = check("beyond.gauss_newton_vector", gauss_newton_vector)
    assert not result.passed
    assert result.diagnosis == INPUT_MODIFIED


# --- beyond.reinforce_estimator -------------------------------------------------------


def test_reinforce_matches_package_single_sample():
    exercise = get_exercise("beyond.reinforce_estimator")
    case = _cases("beyond.reinforce_estimator")[0]
    assert case["samples"].size == 1
    # The package draws its own sample; reproduce it with the same generator.
    rng = np.random.default_rng(7)
    k = discrete.sample_categories(case["theta"], np.random.default_rng(7), (1, 1))
    package = discrete.reinforce_gradient(case["theta"], case["rewards"], rng,
                                          baseline=case["baseline"])
    mine = exercise.reference(theta=case["theta"], samples=k[0],
                              rewards=case["rewards"], baseline=case["baseline"])
    np.testing.assert_allclose(mine, package, atol=FLOAT64_TOL)


def test_reinforce_is_unbiased():
    exercise = get_exercise("beyond.reinforce_estimator")
    theta = np.array([0.3, -0.2, 0.8])
    rewards = np.array([1.0, -1.0, 2.0])
    samples = discrete.sample_categories(theta, np.random.default_rng(0), 200_000)
    estimate = exercise.reference(theta=theta, samples=samples, rewards=rewards,
                                  baseline=0.7)
    np.testing.assert_allclose(estimate, discrete.exact_gradient(theta, rewards),
                               atol=0.01)


def test_reinforce_cases_have_nonzero_baselines():
    baselines = [case["baseline"] for case in _cases("beyond.reinforce_estimator")]
    assert any(b != 0 for b in baselines)
    assert 0.0 in baselines


def test_reinforce_random_answer_has_no_diagnosis():
    result = check("beyond.reinforce_estimator",
                   lambda theta, samples, rewards, baseline: theta * 0.5)
    assert not result.passed
    assert result.diagnosis is None


# --- beyond.hypergradient --------------------------------------------------------------


def test_hypergradient_matches_package():
    exercise = get_exercise("beyond.hypergradient")
    for case in _cases("beyond.hypergradient"):
        net = _softmax_layer(case["W"], case["b"])
        value, _ = hypergradient.hypergradient(net, case["X"], case["Y"], case["lr"])
        assert exercise.reference(**case) == pytest.approx(value, abs=FLOAT64_TOL)


def test_hypergradient_matches_finite_difference():
    exercise = get_exercise("beyond.hypergradient")
    case = _cases("beyond.hypergradient")[0]
    net = _softmax_layer(case["W"], case["b"])
    numerical = hypergradient.hypergradient_finite_difference(
        net, case["X"], case["Y"], case["lr"])
    assert exercise.reference(**case) == pytest.approx(numerical, rel=1e-6)


def test_hypergradient_learning_rates_are_not_one():
    for case in _cases("beyond.hypergradient"):
        assert case["lr"] != 1.0


def test_hypergradient_random_answer_has_no_diagnosis():
    result = check("beyond.hypergradient", lambda W, b, X, Y, lr: 0.25)
    assert not result.passed
    assert result.diagnosis is None


# --- beyond.forward_gradient ------------------------------------------------------------


def test_forward_gradient_matches_package():
    exercise = get_exercise("beyond.forward_gradient")
    for case in _cases("beyond.forward_gradient"):
        net = _softmax_layer(case["W"], case["b"])
        V = [case["V_W"], case["V_b"]]
        _, derivative = jvp(net, case["X"], case["Y"], V)
        g_W, g_b = exercise.reference(**case)
        np.testing.assert_allclose(g_W, derivative * case["V_W"], atol=FLOAT64_TOL)
        np.testing.assert_allclose(g_b, derivative * case["V_b"], atol=FLOAT64_TOL)


def test_forward_gradient_derivative_is_gradient_dot_direction():
    exercise = get_exercise("beyond.forward_gradient")
    case = _cases("beyond.forward_gradient")[2]
    net = _softmax_layer(case["W"], case["b"])
    g = flatten(net.gradients(case["X"], case["Y"]).as_list())
    v = flatten([case["V_W"], case["V_b"]])
    estimate = flatten(exercise.reference(**case))
    np.testing.assert_allclose(estimate, (g @ v) * v, atol=FLOAT64_TOL)


def test_forward_gradient_random_answer_has_no_diagnosis():
    result = check("beyond.forward_gradient",
                   lambda W, b, X, Y, V_W, V_b: (0.5 * V_W, 0.5 * V_b))
    assert not result.passed
    assert result.diagnosis is None


# --- beyond.directions_needed -----------------------------------------------------------


def test_directions_needed_answer_passes():
    assert check("beyond.directions_needed", 2411).passed


def test_directions_needed_matches_network_size():
    net = Network([64, 32, 10])
    P = sum(p.size for p in net.parameters())
    assert P == 2410
    assert get_exercise("beyond.directions_needed").answer == P + 1


@pytest.mark.parametrize("answer", [2410, 2412, 1])
def test_directions_needed_mistake_is_explained(answer):
    result = check("beyond.directions_needed", answer)
    assert not result.passed
    assert result.diagnosis == f"mistake:{answer}"
    assert "(11.21)" in result.message


def test_directions_needed_rejects_other_number():
    result = check("beyond.directions_needed", 100)
    assert not result.passed
    assert result.diagnosis is None


# --- Equation numbers -------------------------------------------------------------------


@pytest.mark.parametrize(
    "constant, label",
    [
        ("EQ_TANGENTS", "eq-beyond-tangents"),
        ("EQ_SOFTMAX_HESSIAN", "eq-beyond-softmax-hessian"),
        ("EQ_REINFORCE", "eq-beyond-reinforce"),
        ("EQ_HYPERGRADIENT", "eq-beyond-hypergradient"),
        ("EQ_JVP", "eq-beyond-jvp"),
        ("EQ_FORWARD_GRADIENT", "eq-beyond-forward-gradient"),
        ("EQ_FORWARD_GRADIENT_VARIANCE", "eq-beyond-forward-gradient-variance"),
    ],
)
def test_equation_number_matches_chapter(constant, label):
    labels = equation_labels(CHAPTER)
    assert getattr(beyond, constant) == f"11.{labels.index(label) + 1}"


def test_chapter_has_twenty_two_equations():
    labels = equation_labels(CHAPTER)
    assert len(labels) == 22
    assert len(set(labels)) == len(labels)
