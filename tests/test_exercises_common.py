"""Checks that apply to every registered coding exercise.

Each reference passes its own check and leaves its arguments unchanged. Each
pitfall is diagnosed by name, with its message and the number of the equation it
breaks, on the self-check's inputs and on those of seeds 1, 2 and 3. Every
equation number "C.k" that a pitfall or an ``EQ_*`` constant of an exercise
module gives exists in chapter C: its notebook has at least k labelled display
equations. The chapter files test what is particular to each exercise.
"""

import copy
import functools
import importlib
import pkgutil

import numpy as np
import pytest

from bpcourse.check import check
from bpcourse.exercises.core import load_all
from conftest import ROOT, equation_labels

CODING = sorted(
    (exercise for exercise in load_all().values() if exercise.kind == "coding"),
    key=lambda exercise: (exercise.chapter, exercise.id),
)

EXERCISES = [pytest.param(exercise, id=exercise.id) for exercise in CODING]


def _pitfall_param(exercise, pitfall):
    return pytest.param(exercise.id, pitfall, id=f"{exercise.id}:{pitfall.name}")


PITFALLS = [
    _pitfall_param(exercise, pitfall)
    for exercise in CODING
    for pitfall in exercise.pitfalls
]

CITED_PITFALLS = [
    _pitfall_param(exercise, pitfall)
    for exercise in CODING
    for pitfall in exercise.pitfalls
    if pitfall.equation
]


def _exercise_modules():
    package = importlib.import_module("bpcourse.exercises")
    names = [info.name for info in pkgutil.iter_modules(package.__path__)]
    return [
        importlib.import_module(f"bpcourse.exercises.{name}")
        for name in names
        if name != "core"
    ]


def _equation_numbers():
    """Return every equation number the exercise modules give, with a readable id."""
    numbers = [
        pytest.param(pitfall.equation, id=f"{exercise.id}:{pitfall.name}")
        for exercise in CODING
        for pitfall in exercise.pitfalls
        if pitfall.equation
    ]
    for module in _exercise_modules():
        topic = module.__name__.rsplit(".", 1)[1]
        for name, value in vars(module).items():
            if name.startswith("EQ_"):
                numbers.append(pytest.param(value, id=f"{topic}.{name}"))
    return numbers


@functools.cache
def _chapter_labels(chapter):
    notebooks = sorted((ROOT / "book").glob(f"{chapter:02d}_*.ipynb"))
    assert len(notebooks) == 1, notebooks
    return equation_labels(notebooks[0])


def _assert_unchanged(value, before, name):
    """Assert that an argument equals its deep copy ``before``, callables aside."""
    if callable(value):
        return
    if isinstance(value, np.ndarray):
        np.testing.assert_array_equal(value, before, err_msg=name)
    elif isinstance(value, (list, tuple)):
        assert len(value) == len(before), name
        for index, (item, item_before) in enumerate(zip(value, before)):
            _assert_unchanged(item, item_before, f"{name}[{index}]")
    elif hasattr(value, "__dict__"):
        for key in vars(value):
            item, item_before = getattr(value, key), getattr(before, key)
            _assert_unchanged(item, item_before, f"{name}.{key}")
    else:
        assert value == before, name


def test_every_chapter_has_coding_exercises():
    notebooks = (ROOT / "book").glob("[0-9][0-9]_*.ipynb")
    chapters = {int(notebook.name[:2]) for notebook in notebooks}
    assert {exercise.chapter for exercise in CODING} == chapters


@pytest.mark.parametrize("exercise", EXERCISES)
def test_reference_passes_its_check(exercise):
    result = check(exercise.id, exercise.reference)
    assert result.passed, str(result)
    assert result.diagnosis is None


@pytest.mark.parametrize("exercise", EXERCISES)
def test_reference_leaves_arguments_unchanged(exercise):
    for case in exercise.make_cases(0):
        before = copy.deepcopy(case)
        exercise.reference(**case)
        for name, value in case.items():
            _assert_unchanged(value, before[name], name)


@pytest.mark.parametrize("exercise_id, pitfall", PITFALLS)
def test_pitfall_is_diagnosed(exercise_id, pitfall):
    result = check(exercise_id, pitfall.wrong)
    assert not result.passed
    assert result.diagnosis == pitfall.name
    assert pitfall.message in result.message


@pytest.mark.parametrize("exercise_id, pitfall", CITED_PITFALLS)
def test_pitfall_message_cites_equation(exercise_id, pitfall):
    result = check(exercise_id, pitfall.wrong)
    assert f"equation ({pitfall.equation})" in result.message


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("exercise_id, pitfall", PITFALLS)
def test_pitfall_holds_for_other_seeds(exercise_id, pitfall, seed):
    result = check(exercise_id, pitfall.wrong, seed=seed)
    assert result.diagnosis == pitfall.name


@pytest.mark.parametrize("number", _equation_numbers())
def test_equation_number_is_in_chapter(number):
    chapter, position = (int(part) for part in number.split("."))
    assert len(_chapter_labels(chapter)) >= position
