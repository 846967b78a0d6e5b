"""The BPTT chapter's exercises: references agree with the package.

The checks every coding exercise shares are in test_exercises_common.py.
"""

from pathlib import Path

import numpy as np
import pytest

from bpcourse.check import INPUT_MODIFIED, STATE_BETWEEN_CALLS, check
from bpcourse.exercises import bptt
from bpcourse.exercises.core import get_exercise
from bpcourse.rnn import RNN, truncation_windows
from conftest import equation_labels

#: float64 results of the same arithmetic in another order agree to a few ulps.
FLOAT64_TOL = 1e-12

CHAPTER = Path(__file__).resolve().parent.parent / "book" / "09_bptt.ipynb"


def _cases(exercise_id, seed=0):
    return get_exercise(exercise_id).make_cases(seed)


# --- bptt.step_backward -------------------------------------------------------------


def test_step_backward_matches_package_loop():
    # Two steps of RNN.bptt: the first step's δ is the exercise's result with
    # δ_{t+1} = the second step's δ.
    exercise = get_exercise("bptt.step_backward")
    rng = np.random.default_rng(0)
    rnn = RNN(d_x=2, d_h=3, d_y=2, seed=1)
    X = rng.normal(size=(2, 2, 4))
    _, cache = rnn.forward(X)
    dY = rng.normal(size=(2, 2, 4))
    grads = rnn.bptt(cache, dY)
    delta, dW_hh, dW_xh, db_h = exercise.reference(
        dy=dY[0], delta_next=grads.delta[1], h=cache.h[1], h_prev=cache.h[0],
        x=X[0], W_hh=rnn.W_hh, W_hy=rnn.W_hy)
    np.testing.assert_allclose(delta, grads.delta[0], atol=FLOAT64_TOL)
    last = exercise.reference(
        dy=dY[1], delta_next=np.zeros((3, 4)), h=cache.h[2], h_prev=cache.h[1],
        x=X[1], W_hh=rnn.W_hh, W_hy=rnn.W_hy)
    np.testing.assert_allclose(dW_hh + last[1], grads.dW_hh, atol=FLOAT64_TOL)
    np.testing.assert_allclose(dW_xh + last[2], grads.dW_xh, atol=FLOAT64_TOL)
    np.testing.assert_allclose(db_h + last[3], grads.db_h, atol=FLOAT64_TOL)


def test_step_backward_cases_are_not_symmetric():
    for case in _cases("bptt.step_backward"):
        assert not np.allclose(case["W_hh"], case["W_hh"].T)
        assert not np.allclose(case["h"], case["h_prev"])
    assert 1 in {case["x"].shape[1] for case in _cases("bptt.step_backward")}


def test_step_backward_in_place_is_diagnosed():
    def rnn_step_backward(dy, delta_next, h, h_prev, x, W_hh, W_hy):
        delta_next += W_hy.T @ dy  # writes into the argument
        delta = delta_next * (1 - h**2)
        return (delta, delta @ h_prev.T, delta @ x.T,
                np.sum(delta, axis=1, keepdims=True))

    result = check("bptt.step_backward", rnn_step_backward)
    assert not result.passed
    assert result.diagnosis == INPUT_MODIFIED


def test_step_backward_random_answer_has_no_diagnosis():
    def rnn_step_backward(dy, delta_next, h, h_prev, x, W_hh, W_hy):
        delta = 0.5 * delta_next
        return (delta, delta @ h_prev.T, delta @ x.T,
                np.sum(delta, axis=1, keepdims=True))

    result = check("bptt.step_backward", rnn_step_backward)
    assert not result.passed
    assert result.diagnosis is None


# --- bptt.backward_through_time ------------------------------------------------------


def test_backward_through_time_matches_package():
    exercise = get_exercise("bptt.backward_through_time")
    for case in _cases("bptt.backward_through_time"):
        T, d_x, N = case["X"].shape
        d_h = case["H"].shape[1]
        rnn = RNN(d_x=d_x, d_h=d_h, d_y=case["dY"].shape[1])
        rnn.W_hh[...] = case["W_hh"]
        rnn.W_hy[...] = case["W_hy"]
        cache = rnn.forward(case["X"])[1]
        cache.h[...] = case["H"]
        grads = rnn.bptt(cache, case["dY"])
        dW_xh, dW_hh, db_h = exercise.reference(**case)
        np.testing.assert_allclose(dW_xh, grads.dW_xh, atol=FLOAT64_TOL)
        np.testing.assert_allclose(dW_hh, grads.dW_hh, atol=FLOAT64_TOL)
        np.testing.assert_allclose(db_h, grads.db_h, atol=FLOAT64_TOL)


def test_backward_through_time_cases_cover_lengths():
    lengths = {case["X"].shape[0] for case in _cases("bptt.backward_through_time")}
    assert 1 in lengths
    assert max(lengths) >= 4


def test_backward_through_time_global_buffer_is_diagnosed():
    buffers = {}

    def bptt_backward(dY, H, X, W_hh, W_hy):
        T, d_x, N = X.shape
        d_h = H.shape[1]
        dW_xh, dW_hh, db_h = buffers.setdefault(
            (d_h, d_x), (np.zeros((d_h, d_x)), np.zeros((d_h, d_h)), np.zeros((d_h, 1))))
        delta_next = np.zeros((d_h, N))
        for t in range(T, 0, -1):
            delta = (W_hy.T @ dY[t - 1] + W_hh.T @ delta_next) * (1 - H[t] ** 2)
            dW_xh += delta @ X[t - 1].T
            dW_hh += delta @ H[t - 1].T
            db_h += np.sum(delta, axis=1, keepdims=True)
            delta_next = delta
        return dW_xh.copy(), dW_hh.copy(), db_h.copy()

    result = check("bptt.backward_through_time", bptt_backward)
    assert not result.passed
    assert result.diagnosis == STATE_BETWEEN_CALLS


def test_backward_through_time_random_answer_has_no_diagnosis():
    def bptt_backward(dY, H, X, W_hh, W_hy):
        d_h, d_x = H.shape[1], X.shape[1]
        return np.ones((d_h, d_x)), np.ones((d_h, d_h)), np.ones((d_h, 1))

    result = check("bptt.backward_through_time", bptt_backward)
    assert not result.passed
    assert result.diagnosis is None


# --- bptt.truncated_windows ----------------------------------------------------------


def test_truncated_windows_match_package():
    exercise = get_exercise("bptt.truncated_windows")
    for case in _cases("bptt.truncated_windows"):
        mask = exercise.reference(**case)
        windows = truncation_windows(case["T"], case["k1"], case["k2"])
        assert mask.shape == (len(windows), case["T"])
        for row, (start, end) in zip(mask, windows):
            np.testing.assert_array_equal(np.flatnonzero(row) + 1,
                                          np.arange(start, end + 1))


def test_truncated_windows_cases_cover_layouts():
    cases = _cases("bptt.truncated_windows")
    assert any(c["T"] % c["k1"] != 0 for c in cases)
    assert any(c["k1"] == c["k2"] for c in cases)
    assert any(c["k1"] < c["k2"] for c in cases)
    assert any(c["k2"] > c["k1"] and c["k1"] < c["k2"] - 1 for c in cases)
    assert all(c["k1"] <= c["k2"] for c in cases)


def test_truncated_windows_random_answer_has_no_diagnosis():
    result = check("bptt.truncated_windows",
                   lambda k1, k2, T: np.ones((-(-T // k1), T)))
    assert not result.passed
    assert result.diagnosis is None


def test_truncated_windows_integer_mask_is_explained():
    result = check("bptt.truncated_windows",
                   lambda k1, k2, T: np.zeros((-(-T // k1), T), dtype=int))
    assert not result.passed
    assert "floating-point" in result.message


# --- bptt.vanishing_bound ------------------------------------------------------------


def test_vanishing_bound_answer_passes():
    assert check("bptt.vanishing_bound", 0.8**10).passed
    assert check("bptt.vanishing_bound", 0.1074).passed


@pytest.mark.parametrize("wrong", [0.8**9, 0.8**11, 8.0, 1.0])
def test_vanishing_bound_mistake_is_explained(wrong):
    result = check("bptt.vanishing_bound", wrong)
    assert not result.passed
    assert result.diagnosis == f"mistake:{wrong}"
    assert "(9.8)" in result.message


def test_vanishing_bound_matches_measurement():
    # A network in its linear regime comes close to the bound from below.
    from bpcourse.rnn import gradient_norms_over_time

    result = gradient_norms_over_time(11, 0.8, input_scale=1e-4)
    assert result["norm"][0] <= 0.8**10 * (1 + 1e-12)
    assert result["norm"][0] > 0.99 * 0.8**10


# --- Equation numbers -----------------------------------------------------------------


@pytest.mark.parametrize(
    "constant, label",
    [
        ("EQ_DH", "eq-bptt-dh"),
        ("EQ_DELTA", "eq-bptt-delta"),
        ("EQ_WEIGHTS", "eq-bptt-weights"),
        ("EQ_BOUND", "eq-bptt-bound"),
        ("EQ_WINDOW", "eq-bptt-window"),
    ],
)
def test_equation_number_matches_chapter(constant, label):
    labels = equation_labels(CHAPTER)
    assert getattr(bptt, constant) == f"9.{labels.index(label) + 1}"
