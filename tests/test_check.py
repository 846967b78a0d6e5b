import numpy as np
import pytest

from bpcourse.check import (
    INPUT_MODIFIED,
    STATE_BETWEEN_CALLS,
    WRONG_ORDER,
    WRONG_SHAPE,
    WRONG_SIGNATURE,
    check,
    evaluate,
    evaluate_short_answer,
    run_attempts,
)
from bpcourse.exercises.core import (
    CodingExercise,
    Output,
    Pitfall,
    ShortAnswer,
    get_exercise,
    register,
)


def _relu_prime(z):
    return (z > 0).astype(z.dtype)


def _delta(W_next, delta_next, z):
    return (W_next.T @ delta_next) * _relu_prime(z)


def _cases(rng):
    cases = []
    for d, d_next, N in [(3, 2, 1), (4, 4, 5), (2, 3, 4)]:
        cases.append(
            dict(
                W_next=rng.normal(size=(d_next, d)),
                delta_next=rng.normal(size=(d_next, N)),
                z=rng.normal(size=(d, N)),
            )
        )
    return cases


PITFALLS = [
    Pitfall(
        "sigma_prime_missing",
        "σ′(z^ℓ) is left out.",
        lambda W_next, delta_next, z: W_next.T @ delta_next,
        equation="3.2",
    ),
    Pitfall(
        "W_not_transposed",
        "W is used where Wᵀ belongs.",
        lambda W_next, delta_next, z: (W_next @ delta_next) * _relu_prime(z),
        equation="3.2",
    ),
    Pitfall(
        "sign_flipped",
        "The sign is flipped.",
        lambda W_next, delta_next, z: -(W_next.T @ delta_next) * _relu_prime(z),
    ),
]

EXERCISE = CodingExercise(
    id="testing.delta",
    chapter=3,
    title="The δ-recursion",
    signature="delta(W_next, delta_next, z)",
    reference=_delta,
    cases=_cases,
    outputs=[Output("delta", "δ^ℓ", "(d_ℓ, N)")],
    pitfalls=PITFALLS,
)


def _check(function, exercise=EXERCISE, hidden=False):
    cases = exercise.make_cases(7)
    attempts, repeat_differs = run_attempts(function, cases)
    return evaluate(exercise, cases, attempts, repeat_differs, hidden=hidden)


def test_reference_passes():
    result = _check(_delta)
    assert result.passed
    assert result.score == 1.0
    assert result.diagnosis is None
    assert "all 3 cases match" in str(result)


@pytest.mark.parametrize("pitfall", PITFALLS, ids=lambda p: p.name)
def test_each_pitfall_is_diagnosed(pitfall):
    result = _check(pitfall.wrong)
    assert not result.passed
    assert result.diagnosis == pitfall.name
    assert pitfall.message in result.message
    if pitfall.equation:
        assert f"equation ({pitfall.equation})" in result.message


def test_square_case_makes_transpose_a_value_mistake():
    result = _check(PITFALLS[1].wrong)
    # W @ delta raises on the non-square cases; the square case gives wrong
    # values, and those are enough to name the pitfall.
    failed = [c.message for c in result.cases if not c.passed]
    assert sum("raised ValueError" in m for m in failed) == 2
    assert sum("wrong values" in m for m in failed) == 1
    assert result.diagnosis == "W_not_transposed"


def test_random_wrong_answer_has_no_diagnosis():
    def perturbed(W_next, delta_next, z):
        return _delta(W_next, delta_next, z) + 0.3 * np.sin(3 * z)

    result = _check(perturbed)
    assert not result.passed
    assert result.diagnosis is None
    assert "wrong values" in result.message


def test_shape_message_in_notation():
    result = _check(lambda W_next, delta_next, z: _delta(W_next, delta_next, z).T)
    assert result.diagnosis == WRONG_SHAPE
    assert "δ^ℓ should have shape (3, 1), that is (d_ℓ, N); yours has (1, 3)" in (
        result.message
    )
    assert "examples are columns" in result.message


def test_summed_over_every_axis_message():
    result = _check(lambda W_next, delta_next, z: np.sum(_delta(W_next, delta_next, z)))
    assert "yours has ()" in result.message


def test_learner_exception_shows_own_traceback():
    def broken(W_next, delta_next, z):
        return W_next.T @ delta_nxt  # noqa: F821

    result = _check(broken)
    assert not result.passed
    assert "NameError" in result.message
    assert "broken" in result.traceback
    assert "delta_nxt" in result.traceback
    assert "bpcourse/check.py" not in result.traceback


def test_not_implemented_message():
    def stub(W_next, delta_next, z):
        raise NotImplementedError

    result = _check(stub)
    assert result.message.startswith("not implemented yet")
    assert result.traceback is None


@pytest.mark.parametrize(
    "function, pattern",
    [
        (lambda W_next, delta_next, z: None, "returned None"),
        (lambda W_next, delta_next, z: _delta(W_next, delta_next, z).tolist(),
         "Python list"),
        (lambda W_next, delta_next, z: _delta(W_next, delta_next, z).astype(int),
         "dtype int64"),
        (lambda W_next, delta_next, z: "delta", "is a str"),
    ],
)
def test_unusable_return_values(function, pattern):
    result = _check(function)
    assert not result.passed
    assert pattern in result.message


def test_nan_result_message():
    result = _check(lambda W_next, delta_next, z: np.full(z.shape, np.nan))
    assert "nan or inf" in result.message


def test_in_place_modification_is_diagnosed():
    def in_place(W_next, delta_next, z):
        z *= _relu_prime(z)  # writes into the cached pre-activation
        return (W_next.T @ delta_next) * (z != 0)

    result = _check(in_place)
    assert not result.passed
    assert result.diagnosis == INPUT_MODIFIED
    assert "`z`" in result.message
    assert "compute a new array" in result.message


def test_wrong_parameter_name_is_named():
    def delta(W_next, d_next, z):
        return _delta(W_next, d_next, z)

    result = _check(delta)
    assert result.diagnosis == WRONG_SIGNATURE
    assert "no parameter named `delta_next`" in result.message
    assert "delta(W_next, delta_next, z)" in result.message
    assert result.traceback is None


def test_self_check_shows_the_learners_definition():
    def affine(W, x, b):
        return W @ x + b

    result = check("forward.affine", affine)
    assert result.diagnosis == WRONG_SIGNATURE
    assert "no parameter named `a_prev`" in result.message
    assert "Yours is defined as affine(W, x, b)." in result.message


def test_missing_parameter_is_named():
    def delta(W_next, delta_next, z, mask):
        return _delta(W_next, delta_next, z) * mask

    result = _check(delta)
    assert result.diagnosis == WRONG_SIGNATURE
    assert "`mask` gets no value" in result.message


def test_inner_type_error_is_not_signature():
    def delta(W_next, delta_next, z):
        return np.sum(W_next.T @ delta_next, axes=0) * z

    result = _check(delta)
    assert result.diagnosis != WRONG_SIGNATURE
    assert "raised TypeError" in result.message
    assert result.traceback is not None


def test_state_between_calls_is_diagnosed():
    buffer = {}

    def accumulating(W_next, delta_next, z):
        key = z.shape
        buffer[key] = buffer.get(key, 0) + _delta(W_next, delta_next, z)
        return buffer[key]

    result = _check(accumulating)
    assert not result.passed
    assert result.diagnosis == STATE_BETWEEN_CALLS
    assert "second call" in result.cases[0].message


def test_hidden_mode_lists_no_case():
    result = _check(PITFALLS[0].wrong, hidden=True)
    text = str(result)
    assert "case 1" not in text
    assert "(3, 2)" not in text
    assert "hidden cases failed" in text
    assert "case 1" not in result._repr_html_()


def test_partial_score():
    def right_for_one_example(W_next, delta_next, z):
        if z.shape[1] == 1:
            return _delta(W_next, delta_next, z)
        return np.zeros_like(z)

    result = _check(right_for_one_example)
    assert result.score == pytest.approx(1 / 3)


def test_html_is_escaped():
    result = _check(lambda W_next, delta_next, z: "<script>")
    assert "<script>" not in result._repr_html_()


SHORT = ShortAnswer(
    id="testing.shape",
    chapter=1,
    title="A shape",
    prompt="shape of z²",
    answer=(3, 5),
    mistakes={(5, 3): "that is (N, d₂): examples are columns"},
)


def test_short_answer_shapes():
    assert evaluate_short_answer(SHORT, (3, 5)).passed
    assert evaluate_short_answer(SHORT, [3, 5]).passed
    wrong = evaluate_short_answer(SHORT, (5, 3))
    assert not wrong.passed
    assert "examples are columns" in wrong.message
    assert wrong.diagnosis == "mistake:(5, 3)"
    assert "expected a shape" in evaluate_short_answer(SHORT, "3x5").message


def test_short_answer_numbers_and_choices():
    number = ShortAnswer("testing.number", 2, "n", "p", answer=0.2628125,
                         mistakes={0.525625: "you left out the ½"})
    assert evaluate_short_answer(number, 0.26281250001).passed
    assert "left out the ½" in evaluate_short_answer(number, 0.525625).message
    assert "expected a number" in evaluate_short_answer(number, "0.26").message
    choice = ShortAnswer("testing.choice", 5, "c", "p", answer="diverges",
                         choices=["converges", "diverges"])
    assert evaluate_short_answer(choice, " Diverges ").passed
    assert "not one of the choices" in evaluate_short_answer(choice, "explodes").message
    assert not evaluate_short_answer(choice, "converges").passed


def test_register_rejects_bad_ids():
    with pytest.raises(ValueError, match="malformed"):
        register(ShortAnswer("NoDot", 1, "t", "p", answer=1.0))


def test_unknown_id_suggests_close_ones(monkeypatch):
    from bpcourse.exercises import core

    core.load_all()  # register the chapters before taking the copy
    monkeypatch.setattr(core, "REGISTRY", dict(core.REGISTRY))
    register(SHORT)
    with pytest.raises(ValueError, match="did you mean 'testing.shape'"):
        get_exercise("testing.shap")


def _softmax(z):
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def _naive_softmax(z):
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(z)
        return e / e.sum(axis=0, keepdims=True)


def test_nan_answer_matches_nan_pitfall():
    exercise = CodingExercise(
        id="testing.softmax",
        chapter=2,
        title="softmax",
        signature="softmax(z)",
        reference=_softmax,
        cases=lambda rng: [dict(z=rng.normal(size=(3, 2))),
                           dict(z=np.array([[1000.0], [0.0], [999.0]]))],
        outputs=[Output("a", "ŷ", "(K, N)")],
        pitfalls=[Pitfall("max_not_subtracted", "subtract the maximum", _naive_softmax)],
    )
    result = _check(_naive_softmax, exercise)
    assert not result.passed
    assert result.diagnosis == "max_not_subtracted"


def test_short_answer_none_is_not_answered():
    result = evaluate_short_answer(SHORT, None)
    assert not result.passed
    assert result.message == "not answered yet: replace None with your answer"


def test_function_arguments_are_not_changes():
    import functools

    def scaled(x, factor):
        return factor * x

    exercise = CodingExercise(
        id="testing.apply",
        chapter=4,
        title="apply",
        signature="apply(f, x)",
        reference=lambda f, x: f(x),
        cases=lambda rng: [dict(f=functools.partial(scaled, factor=2.0),
                                x=rng.normal(size=(2, 3))),
                           dict(f=np.tanh, x=rng.normal(size=(3, 1)))],
        outputs=[Output("y", "y", "(d, N)")],
    )
    result = _check(lambda f, x: f(x), exercise)
    assert result.passed, str(result)


def test_repeated_failure_not_listed_per_case():
    def stub(W_next, delta_next, z):
        raise NotImplementedError

    result = _check(stub)
    assert "case 1" not in str(result)
    assert "case 1" not in result._repr_html_()
    assert str(result).count("not implemented yet") == 1


_SHAPE_QUESTION = ShortAnswer("test.shape", 1, "Shape of z", "the shape of z?", answer=(3, 5))


@pytest.mark.parametrize("answer", ["35", ("3", "5"), (3.9, 5.99), (True, 5), 35, None])
def test_shape_answer_must_be_whole_numbers(answer):
    result = evaluate_short_answer(_SHAPE_QUESTION, answer)
    assert not result.passed
    if answer is not None:
        assert "tuple of whole numbers" in result.message
        assert repr(answer) in result.message


@pytest.mark.parametrize("answer", [(3, 5), [3, 5], (np.int64(3), np.int64(5))])
def test_shape_answer_as_tuple_list_or_numpy_ints(answer):
    assert evaluate_short_answer(_SHAPE_QUESTION, answer).passed


def _naive_ce_delta_as_sum(z, Y):
    """Two mistakes: exp without subtracting the maximum, and no 1/N."""
    with np.errstate(over="ignore", invalid="ignore"):  # the overflow is the mistake
        e = np.exp(z)
        return e / e.sum(axis=0, keepdims=True) - Y


def test_two_mistakes_one_overflowing_are_both_named():
    exercise = get_exercise("loss.softmax_ce_delta")
    result = _check(_naive_ce_delta_as_sum, exercise)
    assert not result.passed
    assert result.diagnosis == "sum_not_mean"
    assert result.message.startswith("The 1/N is missing")
    assert "second mistake" in result.message
    assert "does not subtract the maximum" in result.message


def _sigma_prime_missing_then(last_case):
    """σ′ left out, and something else done to the case with d = 2 (the third)."""
    def wrong(W_next, delta_next, z):
        delta = W_next.T @ delta_next
        return last_case(delta) if z.shape[0] == 2 else delta
    return wrong


def test_overflow_without_a_matching_pitfall_is_described():
    result = _check(_sigma_prime_missing_then(lambda delta: delta * np.inf))
    assert result.diagnosis == "sigma_prime_missing"
    assert result.message.startswith("σ′(z^ℓ) is left out.")
    assert "second mistake: on case 3 your result contains nan or inf" in result.message


def test_second_mistake_in_hidden_mode_names_no_case():
    result = _check(_sigma_prime_missing_then(lambda delta: delta * np.inf), hidden=True)
    assert "on some of the cases your result contains nan or inf" in result.message
    assert "case 3" not in result.message


def test_unexplained_finite_rest_gives_no_diagnosis():
    result = _check(_sigma_prime_missing_then(lambda delta: delta + 0.5))
    assert result.diagnosis is None
    assert "second mistake" not in result.message


def test_overflow_alone_is_not_a_two_mistake_diagnosis():
    exercise = get_exercise("loss.softmax_ce_delta")
    wrong = next(p.wrong for p in exercise.pitfalls if p.name == "max_not_subtracted")
    result = _check(wrong, exercise)
    assert result.diagnosis == "max_not_subtracted"
    assert "second mistake" not in result.message


def test_package_function_is_not_an_answer():
    from bpcourse.activations import softmax

    result = check("loss.softmax", softmax)
    assert not result.passed
    assert result.diagnosis == "missing_function"
    assert "bpcourse.activations.softmax" in result.message
    assert "softmax(z) yourself" in result.message


def test_learners_own_wrapper_is_checked():
    from bpcourse.activations import softmax as course_softmax

    def softmax(z):
        return course_softmax(z)

    assert check("loss.softmax", softmax).passed


def test_dividing_by_classes_is_not_two_mistakes():
    def divided_by_classes(z, Y):
        return (_softmax(z) - Y) / z.shape[0]

    result = check("loss.softmax_ce_delta", divided_by_classes)
    assert not result.passed
    assert "second mistake" not in result.message


def test_mean_without_keepdims_is_not_two_mistakes():
    result = check("backward.bias_gradient", lambda delta: delta.mean(axis=1))
    assert not result.passed
    assert "second mistake" not in result.message


def test_generator_is_named():
    def delta(W_next, delta_next, z):
        yield _delta(W_next, delta_next, z)

    result = _check(delta)
    assert result.diagnosis != STATE_BETWEEN_CALLS
    assert "generator" in result.message
    assert "`yield`" in result.message


def test_one_element_tuple_is_named():
    result = _check(lambda W_next, delta_next, z: (_delta(W_next, delta_next, z),))
    assert "a tuple holding one array" in result.message
    assert "np.array(" not in result.message


def test_lower_precision_result_names_its_dtype():
    def single(W_next, delta_next, z):
        return _delta(W_next, delta_next, z).astype(np.float16)

    result = _check(single)
    assert not result.passed
    assert "float16" in result.message
    assert "float64" in result.message


def test_bool_result_is_not_called_an_integer():
    result = _check(lambda W_next, delta_next, z: z > 0)
    assert "dtype bool" in result.message
    assert "integer" not in result.message


def test_shape_in_symbols_is_not_repeated():
    exercise = CodingExercise(
        id="testing.total",
        chapter=2,
        title="a total",
        signature="total(z)",
        reference=lambda z: np.sum(z),
        cases=lambda rng: [dict(z=rng.normal(size=(3, 2)))],
        outputs=[Output("L", "L", "()")],
    )
    result = _check(lambda z: np.sum(z, axis=0), exercise)
    assert "L should have shape (); yours has (2,)" in result.message


def test_outputs_in_wrong_order_are_named():
    def sgd_step(W, b, dW, db, lr):
        return b - lr * db, W - lr * dW

    result = check("update.sgd_step", sgd_step)
    assert result.diagnosis == WRONG_ORDER
    assert "return (W, b), in that order" in result.message


def test_same_shape_outputs_in_wrong_order_are_named():
    exercise = get_exercise("update.sgd_step")

    def swapped(W, b, dW, db, lr):
        new_W, new_b = exercise.reference(W, b, dW, db, lr)
        return new_b, new_W

    # Square weights and a bias of the same shape differ only in their values.
    cases = [dict(W=np.eye(2), b=np.ones((2, 2)), dW=np.ones((2, 2)),
                  db=np.zeros((2, 2)), lr=0.5)]
    attempts, repeat = run_attempts(swapped, cases)
    result = evaluate(exercise, cases, attempts, repeat)
    assert result.diagnosis == WRONG_ORDER


def test_swapped_check_arguments_are_explained():
    with pytest.raises(TypeError, match=r"check\('testing.delta', _delta\)"):
        check(_delta, "testing.delta")


def test_sys_exit_in_learner_code_is_caught():
    import sys

    def leaves(W_next, delta_next, z):
        sys.exit(3)

    result = _check(leaves)
    assert not result.passed
    assert "raised SystemExit" in result.message


def test_numpy_number_answer_is_written_plainly():
    number = ShortAnswer("testing.number", 2, "n", "p", answer=0.25)
    result = evaluate_short_answer(number, np.float64(2.5))
    assert "np.float64" not in result.message
    assert "2.5 is not right" in result.message


def test_tuple_answer_other_than_shape_is_named():
    boundaries = get_exercise("memory.checkpoint_segments")
    wrong = evaluate_short_answer(boundaries, (0, 3, 6, 10))
    assert wrong.message.startswith("boundaries (0, 3, 6, 10) is not right")
    unusable = evaluate_short_answer(boundaries, "0, 4, 7, 10")
    assert "expected the boundaries as a tuple" in unusable.message
    assert "shape" not in unusable.message
