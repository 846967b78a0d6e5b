"""Self-checks for the exercises, with a diagnosis of the mistake.

``check("backward.delta_recursion", my_function)`` runs a learner's function on
seeded random inputs, compares it with the reference answer and, when it is
wrong, names the closest known mistake (a *pitfall*) and the equation it
breaks. The check never shows the reference's code, and for a failing case it
shows the shapes involved and the size of the error, not the expected values.

The work is split in two steps so the grader can run them in different
processes: ``run_attempts`` calls the untrusted function and only records what
it returned; ``evaluate`` compares those records with the reference.
"""

import copy
import html
import inspect
import itertools
import re
import traceback
from dataclasses import dataclass, field

import numpy as np

from bpcourse.exercises.core import CodingExercise, ShortAnswer, get_exercise

#: Seed of the self-check's inputs; the grader uses a seed of its own.
SELF_CHECK_SEED = 2024

#: Diagnosis for a function that wrote into one of its arguments.
INPUT_MODIFIED = "input_modified_in_place"
#: Diagnosis for a function whose result changes when called again.
STATE_BETWEEN_CALLS = "accumulated_across_calls"
#: Diagnosis for a result of the wrong shape that matches no named pitfall.
WRONG_SHAPE = "wrong_shape"
#: Diagnosis for a function that returns the right arrays in another order.
WRONG_ORDER = "outputs_in_wrong_order"
#: Diagnosis for a function whose parameter names differ from the exercise's.
WRONG_SIGNATURE = "wrong_signature"

_UNEXPECTED_KEYWORD = re.compile(r"got an unexpected keyword argument '(\w+)'")
_MISSING_ARGUMENTS = re.compile(r"missing \d+ required (?:positional |keyword-only )?arguments?: (.*)")

#: The reason against writing into an argument, for exercises without one of their own.
_IN_PLACE_REASON = (
    "The caller still holds the arrays it passed in, such as the values the "
    "forward pass cached, and reads them again later, so they must stay as they "
    "were: compute a new array instead of writing into an argument (`*=`, `-=` "
    "or `a[...] = ...`)."
)


@dataclass
class Attempt:
    """What one call of the learner's function did.

    Attributes
    ----------
    value : object
        What it returned (None when it raised).
    error : str or None
        The exception's type name when it raised.
    error_message : str or None
    traceback : str or None
        The traceback of the learner's own frames.
    mutated : list of str
        Names of arguments the call changed in place.
    """

    value: object = None
    error: str | None = None
    error_message: str | None = None
    traceback: str | None = None
    mutated: list = field(default_factory=list)


def _same(a, b):
    """Return True when two argument structures hold identical values."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(
            a, b, equal_nan=True
        )
    if isinstance(a, (list, tuple)):
        return (
            type(a) is type(b)
            and len(a) == len(b)
            and all(_same(x, y) for x, y in zip(a, b))
        )
    if isinstance(a, dict):
        return (
            isinstance(b, dict)
            and a.keys() == b.keys()
            and all(_same(a[k], b[k]) for k in a)
        )
    if callable(a):
        if type(a).__eq__ is not object.__eq__ and hasattr(a, "__dict__"):
            return bool(a == b)  # a callable object that compares its parameters
        # A deep copy of a function, partial or closure is a new object that
        # computes the same thing, so it counts as unchanged.
        return callable(b)
    if hasattr(a, "__dict__"):
        return type(a) is type(b) and _same(vars(a), vars(b))
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return a is b


def _call(function, kwargs):
    """Call ``function`` on a deep copy of ``kwargs`` and record the outcome."""
    pristine = copy.deepcopy(kwargs)
    arguments = copy.deepcopy(kwargs)
    attempt = Attempt()
    try:
        attempt.value = function(**arguments)
    # The learner's code may raise anything, sys.exit() included; Ctrl-C
    # (KeyboardInterrupt) still stops the check.
    except (Exception, SystemExit) as error:
        attempt.error = type(error).__name__
        attempt.error_message = str(error)
        # Drop the frame of this module so the traceback starts in the
        # learner's code.
        attempt.traceback = "".join(
            traceback.format_exception(type(error), error, error.__traceback__.tb_next)
        )
    attempt.mutated = [
        name for name in kwargs if not _same(arguments[name], pristine[name])
    ]
    return attempt


def run_attempts(function, cases):
    """Call a learner's function on every case, and once more on the first.

    Returns
    -------
    attempts : list of Attempt
        One per case.
    repeat_differs : bool
        True when a second call on the first case returned something else,
        which means the function keeps state between calls.
    """
    attempts = [_call(function, case) for case in cases]
    repeat_differs = False
    # Two generators are never the same object; that is not state.
    if cases and attempts[0].error is None and not inspect.isgenerator(attempts[0].value):
        again = _call(function, cases[0])
        repeat_differs = again.error is not None or not _same(
            _plain(again.value), _plain(attempts[0].value)
        )
    return attempts, repeat_differs


def _plain(value):
    """Turn numpy scalars and sequences into arrays for a stable comparison."""
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, (np.ndarray, np.generic)):
        return np.asarray(value)
    return value


@dataclass
class CaseReport:
    """The outcome of one case."""

    index: int
    label: str
    passed: bool
    message: str


@dataclass
class CheckResult:
    """The outcome of a check, shown as HTML in a notebook and as text elsewhere.

    Attributes
    ----------
    exercise_id, title : str
    passed : bool
    message : str
        The headline: what is wrong, or that every case passed.
    diagnosis : str or None
        The name of the diagnosed pitfall (or a generic diagnosis).
    cases : list of CaseReport
    traceback : str or None
        The learner's traceback when their function raised.
    hidden : bool
        True when the inputs are hidden tests: the cases are then not listed.
    """

    exercise_id: str
    title: str
    passed: bool
    message: str
    diagnosis: str | None = None
    cases: list = field(default_factory=list)
    traceback: str | None = None
    hidden: bool = False

    @property
    def score(self):
        """The fraction of cases that passed, in [0, 1]."""
        if not self.cases:
            return 1.0 if self.passed else 0.0
        return sum(case.passed for case in self.cases) / len(self.cases)

    def _listed_cases(self):
        """Return the cases worth listing: none when each only repeats the headline."""
        if self.hidden or self.passed:
            return []
        if all(not case.passed and case.message in self.message for case in self.cases):
            return []
        return self.cases

    def _counts(self):
        failed = sum(not case.passed for case in self.cases)
        return failed, len(self.cases)

    def __str__(self):
        mark = "✓" if self.passed else "✗"
        lines = [f"{mark} {self.exercise_id}: {self.title}", f"  {self.message}"]
        if self.diagnosis and not self.passed:
            lines.append(f"  diagnosis: {self.diagnosis}")
        for case in self._listed_cases():
            status = "passed" if case.passed else case.message
            lines.append(f"  case {case.index} [{case.label}]: {status}")
        if self.traceback:
            lines.append("  your function raised:")
            lines.extend("    " + line for line in self.traceback.rstrip().splitlines())
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self):
        colour = "#1a7f37" if self.passed else "#b42318"
        background = "#f0faf2" if self.passed else "#fdf3f2"
        mark = "✓ passed" if self.passed else "✗ not yet"
        parts = [
            f'<div class="bpcourse-check" style="border-left: 4px solid {colour}; '
            f'background: {background}; padding: 0.4em 0.8em; margin: 0.4em 0;">',
            f"<strong>{mark}</strong> · <code>{html.escape(self.exercise_id)}</code> "
            f"· {html.escape(self.title)}",
            f"<p style='margin: 0.3em 0'>{html.escape(self.message)}</p>",
        ]
        if self.diagnosis and not self.passed:
            parts.append(
                f"<p style='margin: 0.3em 0'>diagnosis: "
                f"<code>{html.escape(self.diagnosis)}</code></p>"
            )
        if self._listed_cases():
            parts.append("<ul style='margin: 0.2em 0'>")
            for case in self._listed_cases():
                status = "passed" if case.passed else case.message
                parts.append(
                    f"<li>case {case.index} <code>{html.escape(case.label)}</code>: "
                    f"{html.escape(status)}</li>"
                )
            parts.append("</ul>")
        if self.traceback:
            parts.append(
                "<details><summary>your function raised</summary>"
                f"<pre>{html.escape(self.traceback)}</pre></details>"
            )
        parts.append("</div>")
        return "\n".join(parts)


def describe_case(kwargs):
    """Describe a case by its arguments' shapes, never their values."""
    parts = []
    for name, value in kwargs.items():
        parts.append(f"{name} {_describe(value)}")
    return ", ".join(parts)


def _describe(value):
    if isinstance(value, np.ndarray):
        return str(value.shape)
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_describe(v) for v in value)
        return f"[{inner}]"
    if callable(value):
        return getattr(value, "__name__", "function")
    if isinstance(value, (int, float, str, bool, np.number)):
        return repr(value)
    return type(value).__name__


def _as_outputs(value, exercise):
    """Split a return value into its arrays, or explain why it is not usable."""
    expected = exercise.outputs
    if value is None:
        return None, "your function returned None: did it forget to `return` the result?"
    if inspect.isgenerator(value):
        return None, (
            "your function returned a generator: it uses `yield` where `return` "
            "belongs"
        )
    if (len(expected) == 1 and isinstance(value, (tuple, list)) and len(value) == 1
            and isinstance(value[0], np.ndarray)):
        return None, (
            f"{expected[0].symbol} is a {type(value).__name__} holding one array: "
            "return the array itself (look for a trailing comma or brackets)"
        )
    if len(expected) > 1:
        if not isinstance(value, (tuple, list)) or len(value) != len(expected):
            names = ", ".join(o.name for o in expected)
            return None, (
                f"your function should return {len(expected)} arrays ({names}) as a "
                f"tuple; it returned {_kind(value)}"
            )
        values = list(value)
    else:
        values = [value]
    arrays = []
    for output, item in zip(expected, values):
        if isinstance(item, (list, tuple)):
            return None, (
                f"{output.symbol} is a Python {type(item).__name__}: return a numpy "
                "array (np.array(...) converts it)"
            )
        if isinstance(item, (int, float, np.number)) and not isinstance(item, bool):
            item = np.asarray(item)
        if not isinstance(item, np.ndarray):
            return None, (
                f"{output.symbol} is {_kind(item)}: expected a numpy array of shape "
                f"{output.shape}"
            )
        if item.dtype == np.bool_:
            return None, (
                f"{output.symbol} has dtype bool: expected floating-point numbers "
                "(convert it with `.astype(float)`)"
            )
        if not np.issubdtype(item.dtype, np.floating):
            return None, (
                f"{output.symbol} has dtype {item.dtype}: expected floating-point "
                "numbers (an integer array truncates; start from floats)"
            )
        arrays.append(item)
    return arrays, None


def _kind(value):
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of length {len(value)}"
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _shape_message(output, expected_shape, actual_shape):
    message = f"{output.symbol} should have shape {expected_shape}"
    if output.shape.replace(" ", "") != str(expected_shape).replace(" ", ""):
        message += f", that is {output.shape}"
    message += f"; yours has {actual_shape}"
    is_column = output.shape.replace(" ", "").endswith(",1)")
    if len(expected_shape) == 2 and actual_shape == expected_shape[::-1]:
        message += ": examples are columns, so check which matrix is transposed"
    elif len(actual_shape) < len(expected_shape) and is_column:
        message += ": a sum over the batch keeps the column (keepdims=True)"
        if actual_shape == ():
            message += ", and sums over one axis only"
    elif actual_shape == ():
        message += ": your function returned one number, not an array of that shape"
    elif len(actual_shape) < len(expected_shape):
        message += ": an axis is missing, as after a sum or an index that drops it"
    return message


def _precision_note(dtype, expected_dtype):
    """Name a result's lower precision, which may explain a small difference."""
    if (dtype == expected_dtype or not np.issubdtype(dtype, np.floating)
            or not np.issubdtype(expected_dtype, np.floating)):
        return ""
    eps = np.finfo(dtype).eps
    if eps <= np.finfo(expected_dtype).eps:
        return ""
    return (
        f"; yours is {dtype} where the expected result is {expected_dtype}, and "
        f"{dtype} rounds each operation by up to about {eps / 2:.0e} relative: "
        f"compute in {expected_dtype}, the precision of the inputs"
    )


def _matches(arrays, expected, exercise):
    return all(
        a.shape == e.shape
        and np.allclose(a, e, rtol=exercise.rtol, atol=exercise.atol, equal_nan=True)
        for a, e in zip(arrays, expected)
    )


def _reference_outputs(function, case, exercise):
    value = function(**copy.deepcopy(case))
    if len(exercise.outputs) == 1:
        value = [value]
    return [np.asarray(v) for v in value]


def evaluate(exercise, cases, attempts, repeat_differs=False, hidden=False):
    """Compare a learner's attempts with the reference and diagnose the mistake.

    Parameters
    ----------
    exercise : CodingExercise
    cases : list of dict
        The keyword arguments the attempts were made on.
    attempts : list of Attempt
        From ``run_attempts`` (possibly in another process).
    repeat_differs : bool
        From ``run_attempts``.
    hidden : bool
        Hidden tests: the result lists no case and no input shape.

    Returns
    -------
    CheckResult
    """
    expected = [_reference_outputs(exercise.reference, case, exercise) for case in cases]
    reports = []
    learner_arrays = []
    first_problem = None
    first_traceback = None
    shape_problem = False
    parameter_problem = False
    for index, (case, attempt, reference) in enumerate(
        zip(cases, attempts, expected), start=1
    ):
        label = describe_case(case)
        arrays = None
        if attempt.error is not None:
            if attempt.error == "NotImplementedError":
                problem = (
                    "not implemented yet: replace `raise NotImplementedError` with "
                    "your code"
                )
            elif _is_binding_error(attempt):
                problem = _parameter_message(exercise, attempt.error_message)
                parameter_problem = True
            else:
                problem = f"your function raised {attempt.error}: {attempt.error_message}"
                first_traceback = first_traceback or attempt.traceback
        else:
            arrays, problem = _as_outputs(attempt.value, exercise)
        if problem is None:
            for output, array, ref in zip(exercise.outputs, arrays, reference):
                if array.shape != ref.shape:
                    problem = _shape_message(output, ref.shape, array.shape)
                    shape_problem = True
                    break
                if not np.all(np.isfinite(array)) and np.all(np.isfinite(ref)):
                    problem = (
                        f"{output.symbol} contains nan or inf: look for an overflow "
                        "(exp of a large number) or a division by zero"
                    )
                    break
                if not np.allclose(array, ref, rtol=exercise.rtol, atol=exercise.atol):
                    error = float(np.max(np.abs(array - ref)))
                    problem = (
                        f"{output.symbol} has the right shape but wrong values "
                        f"(largest absolute difference {error:.3g})"
                    )
                    problem += _precision_note(array.dtype, ref.dtype)
                    break
        if problem is None and attempt.mutated:
            names = ", ".join(f"`{name}`" for name in attempt.mutated)
            plural = "s" if len(attempt.mutated) > 1 else ""
            problem = f"your function changed its argument{plural} {names} in place"
        if problem is None and index == 1 and repeat_differs:
            problem = "a second call on this input returned a different result"
        learner_arrays.append(arrays)
        passed = problem is None
        reports.append(CaseReport(index, label, passed, "passed" if passed else problem))
        if not passed and first_problem is None:
            first_problem = problem

    passed = all(report.passed for report in reports)
    result = CheckResult(
        exercise_id=exercise.id,
        title=exercise.title,
        passed=passed,
        message=f"all {len(reports)} cases match the expected result",
        cases=reports,
        traceback=first_traceback,
        hidden=hidden,
    )
    if passed:
        return result
    result.message = first_problem
    diagnosis, message = _diagnose(
        exercise, cases, attempts, learner_arrays, expected, repeat_differs, hidden
    )
    if diagnosis is None and parameter_problem:
        diagnosis = WRONG_SIGNATURE
    if diagnosis is None and shape_problem:
        diagnosis = WRONG_SHAPE
    if message is not None:
        result.message = message
    result.diagnosis = diagnosis
    if hidden:
        failed, total = result._counts()
        result.message += f" ({failed} of {total} hidden cases failed)"
    return result


def _is_binding_error(attempt):
    """Return True if the call failed before any line of the learner's function ran.

    Python raises a TypeError when the keyword arguments do not fit the
    parameters. The traceback then has no frame of the learner's code.
    """
    return (attempt.error == "TypeError"
            and "Traceback (most recent call last)" not in (attempt.traceback or ""))


def _parameter_message(exercise, error_message):
    call = (f"The check calls it as {exercise.signature}, passing each argument "
            "by name, so its parameters need exactly these names.")
    unexpected = _UNEXPECTED_KEYWORD.search(error_message or "")
    if unexpected:
        return f"your function has no parameter named `{unexpected.group(1)}`. {call}"
    missing = _MISSING_ARGUMENTS.search(error_message or "")
    if missing:
        names = re.findall(r"'(\w+)'", missing.group(1))
        listed = " and ".join(f"`{name}`" for name in names)
        verb = "gets" if len(names) == 1 else "get"
        return f"your function's parameter {listed} {verb} no value. {call}"
    return f"the check could not call your function: {error_message}. {call}"


def _diagnose(exercise, cases, attempts, learner_arrays, expected, repeat_differs,
              hidden=False):
    """Name the mistake: a generic one, or the pitfall the answer reproduces."""
    mutated = sorted({name for attempt in attempts for name in attempt.mutated})
    if mutated:
        names = ", ".join(f"`{name}`" for name in mutated)
        plural = "s" if len(mutated) > 1 else ""
        return INPUT_MODIFIED, (
            f"your function changed its argument{plural} {names} in place. "
            f"{exercise.in_place_reason or _IN_PLACE_REASON}"
        )
    if repeat_differs:
        return STATE_BETWEEN_CALLS, (
            "calling your function twice on the same input gave different results: "
            "it keeps state between calls, for example gradients added to a buffer "
            "that is never reset to zero."
        )
    usable = [i for i, arrays in enumerate(learner_arrays) if arrays is not None]
    if not usable:
        return None, None
    table = _PitfallTable(exercise, cases, learner_arrays, expected)
    for pitfall in exercise.pitfalls:
        if table.explains(pitfall, usable):
            return pitfall.name, _pitfall_message(pitfall)
    # After the pitfalls, which may name a swap more precisely (a VJP that
    # gives each input the other's gradient).
    order = _output_order(exercise, usable, learner_arrays, expected)
    if order is not None:
        names = ", ".join(output.name for output in exercise.outputs)
        return WRONG_ORDER, (
            "your function returns the right arrays in the wrong order: return "
            f"({names}), in that order"
        )
    return _two_mistakes(exercise, table, usable, learner_arrays, hidden)


def _output_order(exercise, usable, learner_arrays, expected):
    """Return the order that makes the learner's outputs right on every case, or None.

    Only an order other than the given one counts, and only for exercises
    with several outputs.
    """
    count = len(exercise.outputs)
    if count < 2:
        return None
    for order in itertools.permutations(range(count)):
        if order == tuple(range(count)):
            continue
        if all(
            _matches([learner_arrays[i][k] for k in order], expected[i], exercise)
            for i in usable
        ):
            return order
    return None


def _pitfall_message(pitfall):
    if pitfall.equation:
        return f"{pitfall.message} See equation ({pitfall.equation})."
    return pitfall.message


class _PitfallTable:
    """Each pitfall's outputs on each case, computed once, and how they compare."""

    def __init__(self, exercise, cases, learner_arrays, expected):
        self.exercise = exercise
        self.cases = cases
        self.learner = learner_arrays
        self.expected = expected
        self._outputs = {}

    def outputs(self, pitfall, i):
        """Return the pitfall's outputs on case i, or None where the wrong variant fails."""
        key = (id(pitfall), i)
        if key not in self._outputs:
            try:
                self._outputs[key] = _reference_outputs(
                    pitfall.wrong, self.cases[i], self.exercise
                )
            except Exception:  # a wrong variant may fail on some shapes
                self._outputs[key] = None
        return self._outputs[key]

    def reproduces(self, pitfall, i):
        """True if the learner's result on case i is the pitfall's."""
        wrong = self.outputs(pitfall, i)
        return (wrong is not None and _same_shapes(wrong, self.learner[i])
                and _matches(self.learner[i], wrong, self.exercise))

    def is_right(self, pitfall, i):
        """True if the pitfall gives the reference result on case i."""
        wrong = self.outputs(pitfall, i)
        return (wrong is not None and _same_shapes(wrong, self.expected[i])
                and _matches(wrong, self.expected[i], self.exercise))

    def explains(self, pitfall, indices):
        """Return True if the pitfall reproduces every case in indices and is wrong on one."""
        return (all(self.reproduces(pitfall, i) for i in indices)
                and not all(self.is_right(pitfall, i) for i in indices))


def _two_mistakes(exercise, table, usable, learner_arrays, hidden):
    """Name two mistakes when each case shows at most one of them.

    A mistake such as a missing maximum in a stable softmax only shows on the
    cases with large numbers. The first pitfall is the one that reproduces the
    learner on the most cases, and on more than half of them. The second must
    give the reference result on
    those cases and a wrong result on each of the others. Without such a
    second pitfall, the others must hold nan or inf to be named as a second
    mistake at all.
    """
    best = None
    for pitfall in exercise.pitfalls:
        explained = [i for i in usable if table.reproduces(pitfall, i)]
        rest = [i for i in usable if i not in explained]
        # It must explain most cases: a pitfall that agrees on one or two
        # special cases (N = 1, K = N) is a coincidence, not a diagnosis.
        if not rest or 2 * len(explained) <= len(usable):
            continue
        if not table.explains(pitfall, explained):
            continue
        if best is None or len(explained) > len(best[1]):
            best = (pitfall, explained, rest)
    if best is None:
        return None, None
    first, explained, rest = best
    second = next(
        (p for p in exercise.pitfalls if p is not first
         and all(table.is_right(p, i) for i in explained)
         and all(table.outputs(p, i) is not None and not table.is_right(p, i)
                 for i in rest)),
        None,
    )
    if hidden:
        where = "some of the cases"
    else:
        numbers = ", ".join(str(i + 1) for i in rest)
        where = f"case{'s' if len(rest) > 1 else ''} {numbers}"
    if second is not None:
        return first.name, (
            f"{_pitfall_message(first)} There is a second mistake, which shows on "
            f"{where}. {_pitfall_message(second)}"
        )
    if all(not all(np.all(np.isfinite(a)) for a in learner_arrays[i]) for i in rest):
        return first.name, (
            f"{_pitfall_message(first)} There is a second mistake: on {where} your "
            "result contains nan or inf. Look for an overflow (exp of a large "
            "number) or a division by zero."
        )
    return None, None


def _same_shapes(a, b):
    return all(x.shape == y.shape for x, y in zip(a, b))


def evaluate_short_answer(exercise, answer):
    """Compare a short answer (number, shape or choice) with the expected one."""
    expected = exercise.answer
    problem, diagnosis = None, None
    if answer is None:
        problem = "not answered yet: replace None with your answer"
    elif isinstance(expected, str):
        if not isinstance(answer, str):
            problem = f"expected one of the choices as a string; got {_kind(answer)}"
        else:
            given = answer.strip().lower()
            choices = [c.lower() for c in (exercise.choices or [expected])]
            if given not in choices:
                listed = ", ".join(repr(c) for c in exercise.choices or [])
                problem = f"{answer!r} is not one of the choices: {listed}"
            elif given != expected.lower():
                problem, diagnosis = _known_mistake(exercise, answer, "that choice")
    elif isinstance(expected, tuple):
        shape = _as_shape(answer)
        tuple_name = exercise.tuple_name
        if shape is None:
            if tuple_name == "shape":
                named, example = "a shape", "(3, 5)"
            else:
                named, example = f"the {tuple_name}", "(0, 1, 2)"
            problem = (f"expected {named} as a tuple of whole numbers, such as "
                       f"{example}; got {answer!r}")
        elif shape != expected:
            problem, diagnosis = _known_mistake(exercise, shape, f"{tuple_name} {shape}")
    else:
        if isinstance(answer, bool) or not isinstance(answer, (int, float, np.number)):
            problem = f"expected a number; got {_kind(answer)}"
        elif not np.isclose(answer, expected, rtol=exercise.rtol, atol=exercise.atol):
            problem, diagnosis = _known_mistake(exercise, answer, _number(answer))
    passed = problem is None
    return CheckResult(
        exercise_id=exercise.id,
        title=exercise.title,
        passed=passed,
        message="correct" if passed else problem,
        diagnosis=diagnosis,
    )


def _number(value):
    """Write a number as Python would, without numpy's ``np.float64(...)`` wrapper."""
    if isinstance(value, (np.integer, int)):
        return repr(int(value))
    return repr(float(value))


def _as_shape(answer):
    """Return ``answer`` as a tuple of ints, or None unless it is a tuple or list of integers.

    A string, a float such as 3.9 or a bool is not a dimension, so it is
    rejected rather than converted (int("35") or int(3.9) would hide the mistake).
    """
    if not isinstance(answer, (tuple, list)):
        return None
    if not all(isinstance(n, (int, np.integer)) and not isinstance(n, (bool, np.bool_))
               for n in answer):
        return None
    return tuple(int(n) for n in answer)


def _known_mistake(exercise, answer, description):
    for wrong, message in exercise.mistakes.items():
        same = (
            np.isclose(answer, wrong, rtol=exercise.rtol, atol=exercise.atol)
            if isinstance(wrong, (int, float)) and isinstance(answer, (int, float, np.number))
            else wrong == answer or (isinstance(wrong, str) and isinstance(answer, str)
                                     and wrong.lower() == answer.strip().lower())
        )
        if same:
            return f"{description} is not right: {message}", f"mistake:{wrong}"
    return f"{description} is not right; reread the section and try again", None


def _course_function(function):
    """Return the dotted name of a function from the course package, or None.

    The exercises' own references and pitfalls are left out, because the
    package's tests check them.
    """
    module = getattr(function, "__module__", None) or ""
    if module == "bpcourse" or (
        module.startswith("bpcourse.") and not module.startswith("bpcourse.exercises")
    ):
        return f"{module}.{getattr(function, '__qualname__', 'function')}"
    return None


def check(exercise_id, answer, seed=None):
    """Check an answer to the exercise ``exercise_id`` and return the result.

    Parameters
    ----------
    exercise_id : str
        Such as ``"backward.delta_recursion"``.
    answer : callable, or number, shape or string
        The learner's function for a coding exercise; the value for a short
        answer.
    seed : int, optional
        Seed of the random inputs; the default gives the same inputs every run.

    Returns
    -------
    CheckResult
        Displays itself as HTML in a notebook and as text in a terminal.
    """
    if callable(exercise_id) and isinstance(answer, str):
        raise TypeError(
            "check expects the exercise id first and your answer second, such as "
            f"check({answer!r}, {getattr(exercise_id, '__name__', 'your_function')})"
        )
    exercise = get_exercise(exercise_id)
    if isinstance(exercise, ShortAnswer):
        return evaluate_short_answer(exercise, answer)
    assert isinstance(exercise, CodingExercise)
    if not callable(answer):
        return CheckResult(
            exercise.id,
            exercise.title,
            passed=False,
            message=(
                f"pass your function itself, such as check({exercise.id!r}, "
                f"{exercise.function_name}); got {_kind(answer)}"
            ),
        )
    borrowed = _course_function(answer)
    if borrowed:
        return CheckResult(
            exercise.id,
            exercise.title,
            passed=False,
            message=(
                f"this is the course package's own {borrowed}, not a function you "
                f"wrote: define {exercise.signature} yourself with `def` and pass "
                "that function"
            ),
            diagnosis="missing_function",
        )
    cases = exercise.make_cases(SELF_CHECK_SEED if seed is None else seed)
    attempts, repeat_differs = run_attempts(answer, cases)
    result = evaluate(exercise, cases, attempts, repeat_differs)
    if result.diagnosis == WRONG_SIGNATURE:
        try:
            defined = f"{getattr(answer, '__name__', 'function')}{inspect.signature(answer)}"
        except (TypeError, ValueError):  # some built-in functions have no signature
            defined = None
        if defined:
            result.message += f" Yours is defined as {defined}."
    return result
