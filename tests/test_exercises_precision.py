"""The precision chapter's exercises: references agree with the package.

The checks every coding exercise shares are in test_exercises_common.py.
"""

from pathlib import Path

import numpy as np
import pytest

from bpcourse.check import INPUT_MODIFIED, check
from bpcourse.exercises import precision as exercises
from bpcourse.exercises.core import get_exercise
from bpcourse.precision import dynamic_scale_trace, fake_quantize, ste_gradient
from conftest import equation_labels

CHAPTER = Path(__file__).resolve().parent.parent / "book" / "10_precision.ipynb"


def _cases(exercise_id, seed=0):
    return get_exercise(exercise_id).make_cases(seed)


# --- precision.fake_quantize -----------------------------------------------------------


def test_fake_quantize_matches_package():
    exercise = get_exercise("precision.fake_quantize")
    for case in _cases("precision.fake_quantize"):
        np.testing.assert_array_equal(exercise.reference(**case), fake_quantize(**case))


def test_fake_quantize_cases_reach_beyond_range():
    for case in _cases("precision.fake_quantize"):
        v = case["w"] / case["step"]
        q_min, q_max = -(2 ** (case["bits"] - 1)), 2 ** (case["bits"] - 1) - 1
        assert v.max() > q_max
        assert v.min() < q_min


def test_fake_quantize_random_answer_has_no_diagnosis():
    result = check("precision.fake_quantize", lambda w, step, bits: w * 0.9)
    assert not result.passed
    assert result.diagnosis is None


# --- precision.ste_backward ------------------------------------------------------------


def test_ste_backward_matches_package():
    exercise = get_exercise("precision.ste_backward")
    for case in _cases("precision.ste_backward"):
        np.testing.assert_array_equal(exercise.reference(**case), ste_gradient(**case))


def test_ste_backward_cases_sit_just_outside_range():
    # Entries less than half a step beyond Q_P round into the range.
    for case in _cases("precision.ste_backward"):
        v = case["w"] / case["step"]
        q_max = 2 ** (case["bits"] - 1) - 1
        assert np.any((v > q_max) & (np.round(v) <= q_max))


def test_ste_backward_in_place_is_diagnosed():
    def ste_backward(w, step, bits, upstream):
        v = w / step
        upstream[(v < -(2 ** (bits - 1))) | (v > 2 ** (bits - 1) - 1)] = 0.0
        return upstream

    result = check("precision.ste_backward", ste_backward)
    assert not result.passed
    assert result.diagnosis == INPUT_MODIFIED


def test_ste_backward_random_answer_has_no_diagnosis():
    result = check("precision.ste_backward", lambda w, step, bits, upstream: -upstream)
    assert not result.passed
    assert result.diagnosis is None


# --- precision.dynamic_scaling -----------------------------------------------------------


def test_dynamic_scaling_matches_package_scaler():
    exercise = get_exercise("precision.dynamic_scaling")
    for case in _cases("precision.dynamic_scaling"):
        scales, skipped = exercise.reference(**case)
        expected_scales, applied = dynamic_scale_trace(
            case["overflow"], case["initial_scale"], case["growth_interval"])
        np.testing.assert_array_equal(scales, expected_scales)
        np.testing.assert_array_equal(skipped, ~applied)


def test_dynamic_scaling_by_hand():
    overflow = np.array([True, False, False, True, False, False, False])
    scales, skipped = get_exercise("precision.dynamic_scaling").reference(
        overflow=overflow, initial_scale=8.0, growth_interval=2)
    np.testing.assert_array_equal(scales, [8, 4, 4, 8, 4, 4, 8])
    np.testing.assert_array_equal(skipped, [1, 0, 0, 1, 0, 0, 0])


def test_dynamic_scaling_random_answer_has_no_diagnosis():
    def dynamic_scaling(overflow, initial_scale, growth_interval):
        n = len(overflow)
        return np.full(n, float(initial_scale)), np.zeros(n)

    result = check("precision.dynamic_scaling", dynamic_scaling)
    assert not result.passed
    assert result.diagnosis is None


def test_dynamic_scaling_list_output_is_explained():
    result = check("precision.dynamic_scaling",
                   lambda overflow, initial_scale, growth_interval: (
                       [initial_scale] * len(overflow), [0.0] * len(overflow)))
    assert not result.passed
    assert "numpy array" in result.message


# --- precision.smallest_normal ------------------------------------------------------------


@pytest.mark.parametrize("answer", [2.0**-14, 6.1e-5, 6.104e-5])
def test_smallest_normal_answer_passes(answer):
    assert check("precision.smallest_normal", answer).passed


def test_smallest_normal_matches_numpy():
    assert get_exercise("precision.smallest_normal").answer == float(
        np.finfo(np.float16).smallest_normal)


@pytest.mark.parametrize("wrong", [2.0**-24, 2.0**-10, 65504.0, 2.0**-126])
def test_smallest_normal_mistake_is_explained(wrong):
    result = check("precision.smallest_normal", wrong)
    assert not result.passed
    assert result.diagnosis == f"mistake:{wrong}"


# --- Equation numbers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "constant, label",
    [
        ("EQ_SCALING", "eq-precision-scaling"),
        ("EQ_DYNAMIC", "eq-precision-dynamic"),
        ("EQ_QUANTIZE", "eq-precision-quantize"),
        ("EQ_STE", "eq-precision-ste"),
    ],
)
def test_equation_number_matches_chapter(constant, label):
    labels = equation_labels(CHAPTER)
    assert getattr(exercises, constant) == f"10.{labels.index(label) + 1}"
