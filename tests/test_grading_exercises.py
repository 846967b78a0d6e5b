"""Exercises the grading tests grade, and the notebooks that answer them.

``install()`` registers them; the tests call it through the ``exercises``
fixture of test_grading.py, which restores the registry afterwards, and the
tests that start ``bpcourse grade`` in a new process import this module there.
"""

import json

import numpy as np

from bpcourse.exercises import core
from bpcourse.exercises.core import CodingExercise, Output, Pitfall, ShortAnswer


def _affine(W, a_prev, b):
    return W @ a_prev + b


def _affine_cases(rng):
    cases = []
    for d, d_prev, N in [(3, 2, 1), (4, 3, 5), (2, 5, 4)]:
        cases.append(dict(W=rng.normal(size=(d, d_prev)),
                          a_prev=rng.normal(size=(d_prev, N)),
                          b=rng.normal(size=(d, 1))))
    return cases


def _sigmoid(z):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def _sigmoid_cases(rng):
    return [
        dict(z=rng.normal(size=(3, 1))),
        dict(z=rng.normal(size=(4, 5)) * 3),
        # Very negative inputs: exp(1000) overflows to inf, which is harmless here.
        dict(z=np.concatenate([np.full((2, 1), -1000.0), rng.normal(size=(2, 1))])),
    ]


def _scale(x, factor):
    return x * factor


def _scale_cases(rng):
    return [dict(x=rng.normal(size=(2, 2)), factor=2.5),
            dict(x=rng.normal(size=(3, 1)), factor=-1.0)]


AFFINE = CodingExercise(
    id="gtest.affine",
    chapter=1,
    title="The affine map",
    signature="affine(W, a_prev, b)",
    reference=_affine,
    cases=_affine_cases,
    outputs=[Output("z", "z^ℓ", "(d_ℓ, N)")],
    pitfalls=[Pitfall("bias_missing", "The bias b is left out.",
                      lambda W, a_prev, b: W @ a_prev, equation="1.1")],
)

SIGMOID = CodingExercise(
    id="gtest.sigmoid",
    chapter=1,
    title="The logistic sigmoid",
    signature="sigmoid(z)",
    reference=_sigmoid,
    cases=_sigmoid_cases,
    outputs=[Output("a", "a^ℓ", "(d_ℓ, N)")],
    pitfalls=[Pitfall("sign_flipped", "The sign of z is flipped.",
                      lambda z: _sigmoid(-z))],
)

SCALE = CodingExercise(
    id="gtest.scale",
    chapter=1,
    title="Scaling",
    signature="scale(x, factor)",
    reference=_scale,
    cases=_scale_cases,
    outputs=[Output("y", "y", "(d, N)")],
)

SHAPE = ShortAnswer(
    id="gtest.shape",
    chapter=1,
    title="The shape of z",
    prompt="What is the shape of z?",
    answer=(3, 5),
    mistakes={(5, 3): "examples are columns"},
)

ALL = [AFFINE, SIGMOID, SCALE, SHAPE]
IDS = [exercise.id for exercise in ALL]


def install(registry=None):
    """Register the test exercises in ``registry`` (the global one by default)."""
    registry = core.REGISTRY if registry is None else registry
    for exercise in ALL:
        registry[exercise.id] = exercise


# --- notebooks ---------------------------------------------------------------

CORRECT = {
    "affine": "def affine(W, a_prev, b):\n    return W @ a_prev + b\n",
    "sigmoid": "def sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n",
    "scale": "def scale(x, factor):\n    return x * factor\n",
}


def notebook(*cells, shape="(3, 5)"):
    """A student notebook whose code cells are ``cells`` (strings)."""
    sources = ["from bpcourse.check import check\nimport numpy as np\n", *cells]
    if shape is not None:
        sources.append(f'check("gtest.shape", {shape})\n')
    return {
        "cells": [
            {"cell_type": "code", "execution_count": None, "id": f"c{i}",
             "metadata": {}, "outputs": [], "source": source}
            for i, source in enumerate(sources)
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def correct_cells():
    return [
        CORRECT["affine"] + 'check("gtest.affine", affine)\n',
        CORRECT["sigmoid"] + 'check("gtest.sigmoid", sigmoid)\n',
        CORRECT["scale"] + 'check("gtest.scale", scale)\n',
    ]


def write_notebook(path, *cells, shape="(3, 5)"):
    path.write_text(json.dumps(notebook(*cells, shape=shape)), encoding="utf-8")
    return path


def test_references_pass_their_own_cases():
    from bpcourse.check import evaluate, run_attempts

    for exercise in ALL:
        if exercise.kind != "coding":
            continue
        cases = exercise.make_cases(3)
        attempts, repeat = run_attempts(exercise.reference, cases)
        assert evaluate(exercise, cases, attempts, repeat).passed


def test_test_function_instance_reaches_sandbox():
    from bpcourse.functions import SmoothFunction
    from bpcourse.grading.transfer import encode_case

    f = SmoothFunction(weights=np.array([1.0, 2.0]), scales=np.array([0.5, 1.5]))
    encoded = encode_case({"f": f}, "gradients.central_difference")
    assert encoded["f"]["t"] == "course_instance"
    assert encoded["f"]["class"] == "SmoothFunction"
    assert "def __call__" in encoded["f"]["source"]
