"""Measure how many submissions per minute ``bpcourse grade`` grades.

The benchmark registers a 3-question assignment (three coding exercises),
writes 100 submissions (by default) to a temporary folder: mostly correct,
some partly correct, some broken (a syntax error, a missing function, a
wrong shape, an exception, an unreadable file) and one with an infinite loop,
then grades them with the spec's default limits and prints the rate.

    .venv/bin/python benchmarks/grading_throughput.py
    .venv/bin/python benchmarks/grading_throughput.py --count 200 --workers 2
    .venv/bin/python benchmarks/grading_throughput.py --output benchmarks/results/grading.md

With ``--nbgrader`` it also tries to install nbgrader from PyPI into a
temporary venv and to time ``nbgrader autograde`` on the same submissions;
it says so plainly when that is not possible.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import _common as common
from bpcourse.exercises import core
from bpcourse.exercises.core import CodingExercise, Output, Pitfall
from bpcourse.grading import build_spec, grade


def _affine_cases(rng):
    return [dict(W=rng.normal(size=(d, k)), a_prev=rng.normal(size=(k, n)),
                 b=rng.normal(size=(d, 1)))
            for d, k, n in [(3, 2, 1), (4, 3, 5), (5, 5, 8), (2, 6, 3)]]


def _relu_cases(rng):
    return [dict(z=rng.normal(size=shape)) for shape in [(3, 1), (4, 5), (6, 7)]]


def _softmax(z):
    shifted = z - z.max(axis=0, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=0, keepdims=True)


EXERCISES = [
    CodingExercise("bench.affine", 1, "Affine map", "affine(W, a_prev, b)",
                   lambda W, a_prev, b: W @ a_prev + b, _affine_cases,
                   [Output("z", "z", "(d, N)")],
                   [Pitfall("bias_missing", "The bias is missing.",
                            lambda W, a_prev, b: W @ a_prev)]),
    CodingExercise("bench.relu", 1, "ReLU", "relu(z)", lambda z: np.maximum(z, 0),
                   _relu_cases, [Output("a", "a", "(d, N)")]),
    CodingExercise("bench.softmax", 1, "Softmax", "softmax(z)", _softmax, _relu_cases,
                   [Output("p", "p", "(K, N)")],
                   [Pitfall("wrong_axis", "Normalised over the wrong axis.",
                            lambda z: np.exp(z) / np.exp(z).sum(axis=1, keepdims=True))]),
]

CORRECT = {
    "affine": "def affine(W, a_prev, b):\n    return W @ a_prev + b\n",
    "relu": "def relu(z):\n    return np.maximum(z, 0)\n",
    "softmax": ("def softmax(z):\n    e = np.exp(z - z.max(axis=0, keepdims=True))\n"
                "    return e / e.sum(axis=0, keepdims=True)\n"),
}
WRONG = {
    "affine": "def affine(W, a_prev, b):\n    return W @ a_prev\n",
    "relu": "def relu(z):\n    return z.T\n",
    "softmax": ("def softmax(z):\n    return np.exp(z) / np.exp(z).sum(axis=1, "
                "keepdims=True)\n"),
}
BROKEN = {
    "affine": "def affine(W, a_prev, b)\n    return W @ a_prev + b\n",  # syntax error
    "relu": "def relu(z):\n    raise ValueError('not done')\n",
    "softmax": None,  # the function is missing
}
LOOP = "def relu(z):\n    while True:\n        pass\n"


def _notebook(sources):
    cells = ["import numpy as np\nfrom bpcourse.check import check\n", *sources]
    return {
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}",
                   "metadata": {}, "outputs": [], "source": s}
                  for i, s in enumerate(cells)],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }


def write_submissions(folder, count):
    """Write ``count`` submissions; return how many of each kind were written."""
    kinds = {"correct": 0, "partly correct": 0, "broken": 0, "infinite loop": 0}
    for number in range(count):
        if number == count // 2:
            kind, answers = "infinite loop", {**CORRECT, "relu": LOOP}
        elif number % 10 in (1, 4):
            kind, answers = "partly correct", {**CORRECT, "softmax": WRONG["softmax"],
                                               "relu": WRONG["relu"]}
        elif number % 10 == 7:
            kind, answers = "broken", BROKEN
        else:
            kind, answers = "correct", CORRECT
        kinds[kind] += 1
        sources = [code + f'check("bench.{name}", {name})\n'
                   for name, code in answers.items() if code is not None]
        path = folder / f"student{number:03d}.ipynb"
        if number % 10 == 7 and number % 20 == 17:
            path.write_text('{"cells": [', encoding="utf-8")  # unreadable
        else:
            path.write_text(json.dumps(_notebook(sources)), encoding="utf-8")
    return kinds


def time_nbgrader(folder, count):
    """Try to time nbgrader autograde; return seconds or a reason it could not run."""
    work = Path(tempfile.mkdtemp(prefix="bench-nbgrader-"))
    try:
        venv = work / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
             "nbgrader", "numpy"], capture_output=True, text=True)
        if pip.returncode != 0:
            return None, "nbgrader did not install: " + pip.stderr.strip()[-300:]
        course = work / "course"
        source = course / "source" / "bench"
        source.mkdir(parents=True)
        notebook = _notebook([CORRECT["affine"], CORRECT["relu"], CORRECT["softmax"]])
        notebook["cells"] = notebook["cells"][:1] + [
            {**cell, "source": cell["source"].replace("from bpcourse.check import check\n", "")}
            for cell in notebook["cells"][1:]]
        tests = [
            "W = np.ones((2, 2)); a = np.ones((2, 1)); b = np.ones((2, 1))\n"
            "assert np.allclose(affine(W, a, b), W @ a + b)\n",
            "z = np.array([[-1.0], [2.0]])\nassert np.allclose(relu(z), np.maximum(z, 0))\n",
            "z = np.array([[1.0], [2.0]])\nassert np.allclose(softmax(z).sum(axis=0), 1)\n",
        ]
        for index, test in enumerate(tests):
            notebook["cells"].append({
                "cell_type": "code", "execution_count": None, "id": f"t{index}",
                "metadata": {"nbgrader": {"grade": True, "grade_id": f"test{index}",
                                          "locked": True, "points": 1,
                                          "schema_version": 3, "solution": False,
                                          "task": False}},
                "outputs": [], "source": test})
        notebook["cells"][0]["source"] = "import numpy as np\n"
        (source / "bench.ipynb").write_text(json.dumps(notebook))
        (course / "nbgrader_config.py").write_text(
            "c = get_config()\nc.CourseDirectory.root = %r\n"
            "c.ExecutePreprocessor.timeout = 10\n" % str(course))
        nbgrader = str(venv / "bin" / "nbgrader")
        # nbgrader runs alembic and jupyter from its venv's bin folder.
        environment = {**os.environ,
                       "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
        step = subprocess.run([nbgrader, "generate_assignment", "bench", "--force"],
                              cwd=course, capture_output=True, text=True,
                              env=environment)
        if step.returncode != 0:
            return None, "nbgrader generate_assignment failed: " + step.stderr[-300:]
        for path in sorted(folder.glob("*.ipynb")):
            target = course / "submitted" / path.stem / "bench"
            target.mkdir(parents=True)
            shutil.copy(path, target / "bench.ipynb")
        started = time.perf_counter()
        step = subprocess.run([nbgrader, "autograde", "bench", "--force"], cwd=course,
                              capture_output=True, text=True, env=environment)
        seconds = time.perf_counter() - started
        if step.returncode != 0 and "autograded" not in (step.stdout + step.stderr):
            return None, "nbgrader autograde failed: " + step.stderr[-300:]
        return seconds, None
    except (OSError, subprocess.CalledProcessError) as error:
        return None, f"nbgrader could not be set up: {error}"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def grade_once(folder, results, spec, workers):
    """Grade every submission in ``folder``; return (results, seconds)."""
    shutil.rmtree(results, ignore_errors=True)
    started = time.perf_counter()
    graded = grade(spec, folder, results, workers=workers, progress=False)
    return graded, time.perf_counter() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100, help="submissions to grade")
    parser.add_argument("--workers", type=int, default=None,
                        help="submissions graded at once (default: the number of cores)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="times the same submissions are graded (default 3)")
    parser.add_argument("--nbgrader", action="store_true",
                        help="also time nbgrader autograde in a temporary venv")
    parser.add_argument("--output", type=Path, default=None,
                        help="where to write the Markdown table (default: none)")
    args = parser.parse_args(argv)
    for exercise in EXERCISES:
        core.REGISTRY[exercise.id] = exercise
    workers = args.workers or os.cpu_count()
    base = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        folder = base / "submissions"
        folder.mkdir()
        kinds = write_submissions(folder, args.count)
        spec = build_spec("bench", [e.id for e in EXERCISES], seed=1)
        seconds = []
        for _ in range(args.repeat):
            results, elapsed = grade_once(folder, base / "results", spec, args.workers)
            seconds.append(elapsed)
        rates = len(results) / np.array(seconds) * 60
        rate, q25, q75 = common.median_spread(rates)
        kinds_text = ", ".join(f"{n} {kind}" for kind, n in kinds.items())
        print(kinds_text)
        print(f"limits: {spec.limits.question_seconds:g} s a question, "
              f"{spec.limits.submission_seconds:g} s a submission")
        print(f"graded {len(results)} submissions {args.repeat} times, in "
              f"{', '.join(f'{t:.1f}' for t in seconds)} s, with {workers} workers "
              f"on {os.cpu_count()} cores")
        print(f"bpcourse grade: {rate:.0f} submissions per minute "
              f"(25th–75th percentile {q25:.0f}–{q75:.0f})")
        looped = [s for s, r in results.items()
                  if any(q["status"] == "timeout" for q in r["questions"].values())]
        print(f"timed out: {', '.join(looped) or 'none'}")
        rows = [["`bpcourse grade`", f"{rate:.0f} ({q25:.0f}–{q75:.0f})",
                 f"median of {args.repeat} runs, {workers} workers"]]
        if args.nbgrader:
            nb_seconds, reason = time_nbgrader(folder, args.count)
            if nb_seconds is None:
                print(f"nbgrader autograde: not measured ({reason})")
                rows.append(["`nbgrader autograde`", "not measured", reason])
            else:
                nb_rate = len(results) / nb_seconds * 60
                print(f"nbgrader autograde: {nb_rate:.0f} submissions per minute "
                      f"({nb_seconds:.1f} s); bpcourse grade is {rate / nb_rate:.1f} "
                      "times as fast")
                print(f"ratio bpcourse grade / nbgrader autograde rate: {rate / nb_rate:.1f}")
                rows.append(["`nbgrader autograde`", f"{nb_rate:.0f}",
                             "one run, its default of one notebook at a time"])
        else:
            print("nbgrader autograde: not measured (pass --nbgrader to try)")
        note = (f"{len(results)} submissions of a 3-question assignment: {kinds_text}. "
                f"Limits {spec.limits.question_seconds:g} s a question and "
                f"{spec.limits.submission_seconds:g} s a submission.")
        common.write_markdown(args.output, "Grading throughput",
                              [("", ["grader", "submissions per minute", "how"], rows)],
                              common.Threads(None), note=note)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
