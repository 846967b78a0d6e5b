"""Instructor grading: release student notebooks, grade submissions in bulk.

``bpcourse assign`` turns instructor notebooks into student notebooks and
grading specs (``assign.release``); ``bpcourse grade`` grades a folder of
submissions against a spec (``grader.grade``) and writes the gradebook, the
feedback and the class report (``report``). Student code runs in separate,
limited processes (``sandbox``); what it returns is compared with the
reference answers in the grader's process only.
"""

from bpcourse.grading.grader import Grader, GradingError, find_submissions, grade
from bpcourse.grading.spec import Limits, Spec, build_spec, find_spec, load_spec

__all__ = [
    "Grader",
    "GradingError",
    "Limits",
    "Spec",
    "build_spec",
    "find_spec",
    "find_submissions",
    "grade",
    "load_spec",
]
