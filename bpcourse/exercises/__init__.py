"""The course's exercises, one module per chapter, registered by id.

>>> from bpcourse.exercises import get_exercise
>>> get_exercise("forward.affine").signature  # doctest: +SKIP
'affine(W, a_prev, b)'
"""

from bpcourse.exercises.core import (
    CodingExercise,
    Output,
    Pitfall,
    ShortAnswer,
    all_exercises,
    get_exercise,
    register,
)

__all__ = [
    "CodingExercise",
    "Output",
    "Pitfall",
    "ShortAnswer",
    "all_exercises",
    "get_exercise",
    "register",
]
