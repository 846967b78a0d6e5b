"""Functions that exercises pass to learners' code as inputs.

This module holds no reference answer, so its source may be given to the
process that runs student code (see ``bpcourse.grading.extract``).
"""

import numpy as np


class SmoothFunction:
    """The smooth test function f(x) = Σ sin(scales · x) + ½ Σ weights · x².

    Instances compare equal when their parameters are equal, so the check can
    tell whether a learner's function changed one. The grader sends instances
    to the process that runs student code as their class name and parameters.
    """

    def __init__(self, weights, scales):
        self.weights = weights
        self.scales = scales

    def __call__(self, x):
        value = np.sum(np.sin(self.scales * x)) + 0.5 * np.sum(self.weights * x * x)
        return float(value)

    def __eq__(self, other):
        return (
            isinstance(other, SmoothFunction)
            and np.array_equal(self.weights, other.weights)
            and np.array_equal(self.scales, other.scales)
        )

    __hash__ = None
