"""Exercise definitions: coding exercises with their pitfalls, and short answers.

Every exercise has one stable id, such as ``backward.delta_recursion``, used in
the book, by ``bpcourse.check.check``, in student notebooks and as the gradebook
column. Chapter modules in this package define their exercises with
``register``; ``get_exercise`` finds them by id.
"""

import difflib
import importlib
import pkgutil
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

EXERCISE_ID = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Output:
    """One array a coding exercise returns.

    Attributes
    ----------
    name : str
        Its Python name, such as ``"delta"``.
    symbol : str
        Its symbol in the book, such as ``"δ^ℓ"``.
    shape : str
        Its shape in the course's notation, such as ``"(d_ℓ, N)"``.
    """

    name: str
    symbol: str
    shape: str


@dataclass(frozen=True)
class Pitfall:
    """A named wrong variant of a reference answer.

    Attributes
    ----------
    name : str
        A stable identifier, such as ``"sigma_prime_missing"``; it is the
        diagnosis the check reports and the gradebook counts.
    message : str
        What the mistake is, in the book's words, without the answer's code.
    wrong : callable
        The wrong answer, with the reference's signature.
    equation : str, optional
        The number of the equation the mistake breaks, as the book prints it
        (for example ``"3.2"``).
    """

    name: str
    message: str
    wrong: Callable
    equation: str | None = None


@dataclass(frozen=True)
class CodingExercise:
    """An exercise where the learner writes a function.

    Attributes
    ----------
    id : str
        ``"<topic>.<name>"``, lower case.
    chapter : int
    title : str
    signature : str
        The function the learner writes, such as ``"affine(W, a_prev, b)"``.
    reference : callable
        The correct function; never shown to learners.
    cases : callable
        ``cases(rng) -> list of dict``: keyword arguments for seeded random
        test inputs of varied shapes, N = 1 among them.
    outputs : list of Output
        What the function returns: one array, or a tuple in this order.
    pitfalls : list of Pitfall
    rtol, atol : float
        Tolerances of the comparison with the reference.
    in_place_reason : str, optional
        The reason this function must not write into its arguments, shown
        to a learner whose function does. The check has a general reason for
        exercises that give none.
    """

    id: str
    chapter: int
    title: str
    signature: str
    reference: Callable
    cases: Callable[[np.random.Generator], list]
    outputs: list
    pitfalls: list = field(default_factory=list)
    rtol: float = 1e-7
    atol: float = 1e-10
    in_place_reason: str | None = None

    kind = "coding"

    @property
    def function_name(self):
        """The name of the function the learner writes."""
        return self.signature.split("(")[0].strip()

    def make_cases(self, seed):
        """Return the list of keyword-argument dicts drawn from ``seed``."""
        return list(self.cases(np.random.default_rng(seed)))


@dataclass(frozen=True)
class ShortAnswer:
    """An exercise answered with a number, a shape or a choice.

    Attributes
    ----------
    id, chapter, title : as for ``CodingExercise``
    prompt : str
    answer : float, tuple of int, or str
        A number, a shape, or one of ``choices``.
    rtol, atol : float
        Tolerances for a numeric answer.
    choices : list of str, optional
    mistakes : dict
        Known wrong answers mapped to the message that explains them.
    tuple_name : str
        What a tuple answer is, as messages name it: ``"shape"`` unless the
        tuple is something else, such as the boundaries of segments.
    """

    id: str
    chapter: int
    title: str
    prompt: str
    answer: Any
    rtol: float = 1e-6
    atol: float = 0.0
    choices: list | None = None
    mistakes: dict = field(default_factory=dict)
    tuple_name: str = "shape"

    kind = "short"


REGISTRY = {}


def register(exercise):
    """Add an exercise to the registry and return it.

    Raises ``ValueError`` for a malformed or duplicate id.
    """
    if not EXERCISE_ID.match(exercise.id):
        raise ValueError(
            f"exercise id {exercise.id!r} is malformed: use '<topic>.<name>' in "
            "lower case, such as 'forward.affine'"
        )
    if exercise.id in REGISTRY and REGISTRY[exercise.id] is not exercise:
        raise ValueError(f"exercise id {exercise.id!r} is registered twice")
    if isinstance(exercise, CodingExercise):
        names = [p.name for p in exercise.pitfalls]
        if len(names) != len(set(names)):
            raise ValueError(f"exercise {exercise.id!r} repeats a pitfall name")
    if isinstance(exercise, ShortAnswer) and exercise.choices is not None:
        if exercise.answer not in exercise.choices:
            raise ValueError(
                f"exercise {exercise.id!r}: the answer is not one of its choices"
            )
    REGISTRY[exercise.id] = exercise
    return exercise


def load_all():
    """Import every chapter module of this package so their exercises register."""
    package = importlib.import_module("bpcourse.exercises")
    for module in pkgutil.iter_modules(package.__path__):
        if module.name != "core":
            importlib.import_module(f"bpcourse.exercises.{module.name}")
    return REGISTRY


def get_exercise(exercise_id):
    """Return the exercise with this id.

    Raises
    ------
    ValueError
        For an unknown id, suggesting the closest known ones.
    """
    load_all()
    if exercise_id in REGISTRY:
        return REGISTRY[exercise_id]
    close = difflib.get_close_matches(str(exercise_id), list(REGISTRY), n=3)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(f"unknown exercise id {exercise_id!r}{hint}")


def all_exercises():
    """Return every registered exercise, sorted by chapter and id."""
    load_all()
    return sorted(REGISTRY.values(), key=lambda ex: (ex.chapter, ex.id))
