"""The architectures chapter's exercises: references agree with the package.

The checks every coding exercise shares are in test_exercises_common.py.
"""

from pathlib import Path

import numpy as np
import pytest

from bpcourse.check import check
from bpcourse.exercises import architectures
from bpcourse.exercises.core import get_exercise
from bpcourse.layers import attention, conv, graph_conv
from conftest import equation_labels

CODING = [
    "architectures.conv2d_backward_input",
    "architectures.attention_backward",
    "architectures.gcn_normalize",
]

#: float64 results of the same arithmetic in another order agree to a few ulps.
FLOAT64_TOL = 1e-12

CHAPTER = Path(__file__).resolve().parent.parent / "book" / "13_architectures.ipynb"


# --- Every coding exercise ----------------------------------------------------------


@pytest.mark.parametrize("exercise_id", CODING)
def test_random_answer_has_no_diagnosis(exercise_id):
    exercise = get_exercise(exercise_id)

    def random_answer(**kwargs):
        # Seeded at every call, so a second call returns the same arrays.
        rng = np.random.default_rng(0)
        reference = exercise.reference(**kwargs)
        if isinstance(reference, tuple):
            return tuple(rng.standard_normal(r.shape) for r in reference)
        return rng.standard_normal(reference.shape)

    result = check(exercise_id, random_answer)
    assert not result.passed
    assert result.diagnosis is None


# --- Agreement with bpcourse.layers -------------------------------------------------


def test_conv_input_gradient_matches_package():
    exercise = get_exercise("architectures.conv2d_backward_input")
    for case in exercise.make_cases(0):
        delta, K = case["delta"], case["K"]
        expected = conv.conv2d_input_gradient(delta[None, :, :, None], K[None, None])
        assert np.allclose(exercise.reference(**case), expected[0, :, :, 0],
                           atol=FLOAT64_TOL)


def test_conv_input_gradient_hand_numbers():
    delta = np.array([[1.0, 0.0], [0.0, 2.0]])
    K = np.array([[1.0, 2.0], [3.0, 4.0]])
    expected = [[1, 2, 0], [3, 6, 4], [0, 6, 8]]
    assert np.array_equal(architectures._conv2d_backward_input(delta, K), expected)


def test_conv_cases_include_non_square_kernels():
    shapes = [case["K"].shape for case in
              get_exercise("architectures.conv2d_backward_input").make_cases(0)]
    assert any(kh != kw for kh, kw in shapes)


def test_attention_backward_matches_package():
    exercise = get_exercise("architectures.attention_backward")
    for case in exercise.make_cases(0):
        _, cache = attention.attention_forward(case["Q"], case["K"], case["V"], True)
        expected = attention.attention_backward(case["dO"], cache)[:3]
        for mine, theirs in zip(exercise.reference(**case), expected):
            assert np.allclose(mine, theirs, atol=FLOAT64_TOL)


def test_attention_cases_include_single_token():
    cases = get_exercise("architectures.attention_backward").make_cases(0)
    assert any(case["Q"].shape[1] == 1 for case in cases)
    assert any(case["Q"].shape[0] > 1 for case in cases)


def test_gcn_normalize_matches_package():
    exercise = get_exercise("architectures.gcn_normalize")
    for case in exercise.make_cases(0):
        assert np.allclose(exercise.reference(**case),
                           graph_conv.normalized_adjacency(case["A"]), atol=FLOAT64_TOL)


def test_gcn_cases_have_no_isolated_node():
    for case in get_exercise("architectures.gcn_normalize").make_cases(0):
        assert np.all(case["A"].sum(axis=1) >= 1)
        assert np.array_equal(case["A"], case["A"].T)


# --- The short-answer exercise ---------------------------------------------------------


def test_im2col_bytes_matches_allocated_buffer():
    # A smaller batch with the same geometry, scaled up to N = 32.
    cols = conv.im2col(np.zeros((3, 32, 32, 2), dtype=np.float32), (3, 3), 1, 1)
    assert cols.nbytes * 16 == get_exercise("architectures.im2col_bytes").answer


@pytest.mark.parametrize("mistake", list(get_exercise("architectures.im2col_bytes").mistakes))
def test_im2col_bytes_mistakes_are_named(mistake):
    result = check("architectures.im2col_bytes", mistake)
    assert not result.passed
    assert result.diagnosis == f"mistake:{mistake}"


def test_im2col_bytes_accepts_answer():
    assert check("architectures.im2col_bytes", 3_538_944).passed


# --- Equation numbers -----------------------------------------------------------------


@pytest.mark.parametrize(
    "constant, label",
    [
        ("EQ_CONV_INPUT", "eq-arch-conv-input"),
        ("EQ_IM2COL_SIZE", "eq-arch-im2col-size"),
        ("EQ_ATTENTION", "eq-arch-attention"),
        ("EQ_SOFTMAX_BACKWARD", "eq-arch-softmax-backward"),
        ("EQ_ATTENTION_BACKWARD", "eq-arch-attention-backward"),
        ("EQ_GCN_NORMALIZE", "eq-arch-gcn-normalize"),
    ],
)
def test_equation_number_matches_chapter(constant, label):
    labels = equation_labels(CHAPTER)
    assert getattr(architectures, constant) == f"13.{labels.index(label) + 1}"
