"""Grade a folder of submissions against an assignment's spec.

``grade`` reads every ``.ipynb`` and ``.py`` file of the folder (the student
id is the file name without its suffix), runs each one in its own sandboxed
process (see ``sandbox``), compares what the code returned with the reference
answers in this process, and writes each student's result to
``<out>/submissions/<student>.json`` as soon as it is known, atomically. The
gradebook, the feedback files and the class report are made from those
files at the end, so a run that was interrupted continues with
``resume=True`` and ends with the same gradebook.
"""

import hashlib
import json
import logging
import os
import queue
import re
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from bpcourse import __version__
from bpcourse.check import evaluate, evaluate_short_answer
from bpcourse.exercises.core import get_exercise
from bpcourse.grading.extract import SubmissionError, question_code, read_submission
from bpcourse.grading.sandbox import Sandbox
from bpcourse.grading.spec import exercise_seed, write_json
from bpcourse.grading.transfer import (
    TransferError,
    decode_attempts,
    decode_short_answer,
    decode_warnings,
    encode_case,
    mask_numbers,
)

log = logging.getLogger("bpcourse.grading")

#: Changes when a change of the grader can change a grade: results of another
#: version are graded again by ``resume``.
RESULT_FORMAT = 1
SUFFIXES = (".ipynb", ".py")
_SAFE_ID = re.compile(r"^[^/\\\x00-\x1f]{1,200}$")


class GradingError(ValueError):
    """The grading cannot start: no submissions, duplicate student ids, …"""


@dataclass
class _Prepared:
    """The exercise, hidden cases and encoded cases every submission is graded against."""

    question: object  # spec.Question
    exercise: object
    cases: list
    encoded: list


def find_submissions(folder):
    """Map student ids to their submission files.

    Raises ``GradingError`` when the folder has none, or when two files have
    the same student id (``alice.ipynb`` and ``alice.py``): the grader does
    not guess which one counts.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise GradingError(f"{folder} is not a folder of submissions")
    found = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.is_file() or path.suffix not in SUFFIXES:
            continue
        found.setdefault(path.stem, []).append(path)
    if not found:
        raise GradingError(
            f"{folder} contains no submissions: expected one .ipynb or .py file "
            "per student, named after the student id"
        )
    duplicates = {k: v for k, v in found.items() if len(v) > 1}
    if duplicates:
        listed = "; ".join(
            " and ".join(p.name for p in paths) for paths in duplicates.values()
        )
        raise GradingError(
            f"{len(duplicates)} student id(s) have more than one submission ({listed}): "
            "keep one file per student and grade again"
        )
    for student in found:
        if not _SAFE_ID.match(student):
            raise GradingError(f"the file name {student!r} cannot be a student id")
    return {student: paths[0] for student, paths in found.items()}


def _sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _private(path):
    """Make a folder readable by its owner only (root, when grading as root)."""
    try:
        os.chmod(path, 0o700)
    except OSError as error:
        log.warning("cannot restrict the permissions of %s: %s", path, error)


def _question_result(question, **fields):
    result = {
        "id": question.id,
        "kind": question.kind,
        "max_points": question.points,
        "points": 0.0,
        "score": 0.0,
        "passed": False,
        "status": "graded",
        "message": "",
        "diagnosis": None,
        "traceback": None,
        "warnings": [],
    }
    result.update(fields)
    return result


_CRASH_DIAGNOSES = (
    ("segmentation fault", "segfault"),
    ("CPU time", "cpu_limit"),
    ("file larger", "file_size_limit"),
    ("exited with status", "process_exited"),
    ("memory ran out", "memory_limit"),
)


class Grader:
    """Grades submissions of one assignment.

    Parameters
    ----------
    spec : Spec
    out : path
        The results folder.
    workers : int, optional
        Submissions graded at once; the number of cores by default.
    hide : list of paths
        Folders student code must not see, besides ``out``.
    user : int, optional
        Run all student code as this uid (see ``Sandbox``).
    """

    def __init__(self, spec, out, workers=None, hide=(), user=None, namespaces=True):
        self.spec = spec
        self.out = Path(out)
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.fingerprint = spec.fingerprint()
        self.prepared = []
        for question in spec.questions:
            exercise = get_exercise(question.id)
            if exercise.kind != question.kind:
                raise GradingError(
                    f"{question.id} is a {exercise.kind} exercise, but the spec says "
                    f"{question.kind}: make the spec again with bpcourse assign"
                )
            cases, encoded = [], []
            if exercise.kind == "coding":
                cases = exercise.make_cases(exercise_seed(spec.seed, question.id))
                encoded = [encode_case(case, question.id) for case in cases]
            self.prepared.append(_Prepared(question, exercise, cases, encoded))
        self.hide = [self.out, *hide]
        self.user = user
        self.namespaces = namespaces

    # --- one submission

    def grade_file(self, student, path, sandbox, slot):
        """Grade one submission and return its result (a JSON-ready dict)."""
        started = time.monotonic()
        result = {
            "format": RESULT_FORMAT,
            "student": student,
            "file": Path(path).name,
            "sha256": _sha256(path),
            "spec": self.fingerprint,
            "assignment": self.spec.assignment,
            "bpcourse_version": __version__,
            "notes": [],
            "questions": {},
        }
        try:
            submission = read_submission(path)
        except SubmissionError as error:
            message = f"the submission could not be read: {error}"
            result["notes"].append(message)
            for item in self.prepared:
                result["questions"][item.question.id] = _question_result(
                    item.question, status="unreadable", message=message,
                    diagnosis="unreadable_submission",
                )
            return self._finish(result, started)
        result["notes"].extend(submission.notes)
        payloads = {}
        for item in self.prepared:
            question, exercise = item.question, item.exercise
            code = question_code(submission, exercise)
            if code.problem:
                result["questions"][question.id] = _question_result(
                    question, status=code.problem, message=code.message,
                    diagnosis={"missing": "missing_function" if question.kind == "coding"
                               else "missing_answer",
                               "course_import": "imports_bpcourse",
                               "wrong_signature": "wrong_signature"}[code.problem],
                )
                continue
            if question.kind == "short" and code.has_literal:
                result["questions"][question.id] = self._short(
                    question, exercise, code.literal, [])
                continue
            payloads[question.id] = self._payload(item, code, submission)
        if payloads:
            report = sandbox.run(list(payloads.values()), slot, student,
                                 shared_modules=_shared_sources())
            for item in self.prepared:
                outcome = report.outcomes.get(item.question.id)
                if item.question.id in payloads and outcome is not None:
                    result["questions"][item.question.id] = self._from_outcome(
                        item, outcome, sandbox)
            result["output_bytes"] = {"stdout": report.stdout_bytes,
                                      "stderr": report.stderr_bytes}
            result["processes"] = report.processes
            result["isolation"] = report.isolation
            kept = self.spec.limits.output_kb * 1024
            if max(report.stdout_bytes, report.stderr_bytes) > kept:
                result["notes"].append(
                    f"your code printed {report.stdout_bytes + report.stderr_bytes:,} "
                    "bytes; printed output is not graded, and only the first "
                    f"{self.spec.limits.output_kb} kB of each stream was kept"
                )
            self._write_output_log(student, report)
        # Every question gets a result, in the spec's order.
        result["questions"] = {
            item.question.id: result["questions"].get(item.question.id)
            or _question_result(item.question, status="error",
                                message="this question was not graded (a grader error)",
                                diagnosis="grader_error")
            for item in self.prepared
        }
        return self._finish(result, started)

    def _finish(self, result, started):
        questions = result["questions"].values()
        result["total"] = round(sum(q["points"] for q in questions), 4)
        result["max_points"] = round(sum(q["max_points"] for q in questions), 4)
        result["seconds"] = round(time.monotonic() - started, 3)
        return result

    def _payload(self, item, code, submission):
        cells = {}
        statements = []
        for statement in code.statements:
            statements.append({"filename": statement.cell, "line": statement.line,
                               "source": statement.source})
            cells[statement.cell] = submission.cells.get(statement.cell, "")
        payload = {"id": item.question.id, "kind": item.question.kind,
                   "statements": statements, "cells": cells}
        if item.question.kind == "coding":
            payload.update(function=code.function, cases=item.encoded)
        else:
            payload["expression"] = code.expression
        return payload

    def _short(self, question, exercise, value, warnings):
        check = evaluate_short_answer(exercise, value)
        return _question_result(
            question,
            status="graded",
            passed=check.passed,
            score=1.0 if check.passed else 0.0,
            points=question.points if check.passed else 0.0,
            message=check.message,
            diagnosis=check.diagnosis,
            warnings=warnings,
        )

    def _from_outcome(self, item, outcome, sandbox):
        question, exercise = item.question, item.exercise
        data = outcome.data
        limits = self.spec.limits
        status = outcome.status
        if status == "ok":
            warnings = decode_warnings(data)
            if question.kind == "short":
                try:
                    value = decode_short_answer(data, 1 << 20)
                except TransferError as error:
                    return _question_result(question, status="error", message=(
                        f"what your code computed could not be read: {error}"),
                        diagnosis="unreadable_result")
                return self._short(question, exercise, value, warnings)
            try:
                attempts, repeat_differs = decode_attempts(
                    data, item.cases, 64 * 2**20)
            except TransferError as error:
                return _question_result(question, status="error", message=(
                    f"what your function returned could not be read: {error}"),
                    diagnosis="unreadable_result", warnings=warnings)
            check = evaluate(exercise, item.cases, attempts, repeat_differs, hidden=True)
            score = float(check.score)
            fields = dict(
                status="graded",
                passed=bool(check.passed),
                score=round(score, 6),
                points=round(question.points * score, 4),
                message=check.message,
                diagnosis=check.diagnosis,
                traceback=mask_numbers(check.traceback),
                warnings=warnings,
            )
            if data.get("memory_error") and not check.passed:
                fields["diagnosis"] = "memory_limit"
                fields["message"] = (
                    f"your function ran out of memory (the limit is {limits.memory_mb} "
                    f"MB): {check.message}"
                )
            return _question_result(question, **fields)
        if status in ("setup_error", "memory"):
            error = data.get("error") if isinstance(data.get("error"), str) else "Error"
            text = mask_numbers(data.get("error_message")) or ""
            memory = status == "memory" or error == "MemoryError"
            return _question_result(
                question,
                status="memory" if memory else "setup_error",
                message=(f"running the code of this answer ran out of memory (the limit "
                         f"is {limits.memory_mb} MB)" if memory else
                         f"running the code of this answer raised {error[:60]}: {text}"),
                diagnosis="memory_limit" if memory else "setup_error",
                traceback=mask_numbers(data.get("traceback")),
            )
        if status == "missing":
            return _question_result(
                question, status="missing",
                message=f"`{question.function}` is not a function once your code has run",
                diagnosis="missing_function",
            )
        if status == "timeout":
            return _question_result(
                question, status="timeout",
                message=(f"timed out: this question ran longer than its {outcome.detail} "
                         "limit and was stopped (an infinite loop?); the other questions "
                         "were graded separately"),
                diagnosis="timed_out",
            )
        if status == "submission_timeout":
            return _question_result(
                question, status="timeout",
                message=(f"not graded: the whole submission ran longer than its "
                         f"{outcome.detail} limit before this question finished"),
                diagnosis="timed_out",
            )
        if status == "crashed":
            diagnosis = "crashed"
            for words, name in _CRASH_DIAGNOSES:
                if words in outcome.detail:
                    diagnosis = name
            return _question_result(
                question, status="crashed",
                message=f"the process running your code stopped during this question: "
                        f"{outcome.detail}",
                diagnosis=diagnosis,
            )
        if status == "harness_error":
            error = data.get("error") if isinstance(data.get("error"), str) else "Error"
            return _question_result(
                question, status="error",
                message=(f"your code changed the Python environment so that its results "
                         f"could not be recorded ({error[:60]}: "
                         f"{mask_numbers(data.get('error_message')) or ''})"),
                diagnosis="environment_broken",
            )
        return _question_result(
            question, status="error",
            message=f"this question could not be graded: {outcome.detail or status}",
            diagnosis="grader_error",
        )

    def _write_output_log(self, student, report):
        if not (report.stdout or report.stderr):
            return
        folder = self.out / "logs"
        folder.mkdir(exist_ok=True)
        text = (
            f"stdout ({report.stdout_bytes} bytes):\n"
            + report.stdout.decode("utf-8", "replace")
            + f"\n\nstderr ({report.stderr_bytes} bytes):\n"
            + report.stderr.decode("utf-8", "replace")
        )
        _write_text(folder / f"{student}.txt", text)

    # --- the whole folder

    def _reusable(self, path, student, file):
        """Return the stored result of ``student`` if it was made from the same input."""
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if (
            isinstance(stored, dict)
            and stored.get("format") == RESULT_FORMAT
            and stored.get("spec") == self.fingerprint
            and stored.get("student") == student
            and stored.get("sha256") == _sha256(file)
        ):
            return stored
        return None

    def run(self, submissions_dir, resume=False, progress=True):
        """Grade every submission of the folder; return the results by student."""
        from tqdm.auto import tqdm

        submissions = find_submissions(submissions_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        stored_dir = self.out / "submissions"
        stored_dir.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            _private(self.out)
            _private(submissions_dir)
        results, todo = {}, []
        for student, path in submissions.items():
            stored = self._reusable(stored_dir / f"{student}.json", student, path) \
                if resume else None
            if stored is not None:
                results[student] = stored
            else:
                todo.append(student)
        if resume:
            log.info("resuming: %d of %d submissions already graded", len(results),
                     len(submissions))
        sandbox = Sandbox(self.spec.limits, hide=[*self.hide, submissions_dir],
                          user=self.user, namespaces=self.namespaces)
        try:
            isolation = sandbox.probe()
        except RuntimeError as error:
            sandbox.close()
            raise GradingError(str(error)) from None
        log.info("isolation of student code: %s", _describe_isolation(isolation))
        slots = queue.Queue()
        for slot in range(self.workers):
            slots.put(slot)
        bar = tqdm(total=len(submissions), initial=len(results), unit="submission",
                   desc=f"grading {self.spec.assignment}", file=sys.stderr,
                   disable=not progress)
        interrupted = threading.Event()

        def task(student):
            if interrupted.is_set():
                return student, None
            slot = slots.get()
            try:
                log.info("start %s", student)
                result = self.grade_file(student, submissions[student], sandbox, slot)
                if interrupted.is_set():
                    # Its processes may have been killed by the interruption:
                    # this result is not kept, so --resume grades it again.
                    log.info("stopped %s: the run was interrupted", student)
                    return student, None
                write_json(result, stored_dir / f"{student}.json")
                log.info("finish %s: %g of %g points in %.2f s", student,
                         result["total"], result["max_points"], result["seconds"])
                return student, result
            except Exception:
                log.exception("error %s", student)
                raise
            finally:
                slots.put(slot)

        try:
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                futures = {pool.submit(task, student) for student in todo}
                try:
                    while futures:
                        done, futures = wait(futures, return_when=FIRST_COMPLETED)
                        for future in done:
                            if future.exception() is not None:
                                continue
                            student, result = future.result()
                            if result is not None:
                                results[student] = result
                            bar.update(1)
                except BaseException:
                    interrupted.set()
                    for future in futures:
                        future.cancel()
                    sandbox.kill_all()
                    raise
        finally:
            bar.close()
            sandbox.close()
        failed = sorted(set(submissions) - set(results))
        if failed:
            raise GradingError(
                f"{len(failed)} submission(s) could not be graded because of a grader "
                f"error ({', '.join(failed[:10])}); see the log, then run again with "
                "--resume"
            )
        return {student: results[student] for student in sorted(results)}


def _shared_sources():
    """Return the source of each module graded code may import from bpcourse."""
    import importlib
    import inspect

    from bpcourse.grading.extract import SHAREABLE_MODULES

    return {name: inspect.getsource(importlib.import_module(name))
            for name in SHAREABLE_MODULES}


def _describe_isolation(isolation):
    parts = [f"uid {isolation.get('uid')}"]
    parts.append(f"network {isolation.get('network', 'shared')}")
    hidden = isolation.get("hidden") or []
    parts.append(f"hidden folders: {', '.join(hidden) if hidden else 'none'}")
    return "; ".join(parts)


def _write_text(path, text):
    """Write text atomically."""
    import tempfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def grade(spec, submissions_dir, out, workers=None, resume=False, progress=True,
          user=None, namespaces=True, extra_hidden=()):
    """Grade a folder and write the gradebook, the feedback and the class report.

    Returns the results by student id.
    """
    from bpcourse.grading import report

    grader = Grader(spec, out, workers=workers, hide=extra_hidden, user=user,
                    namespaces=namespaces)
    results = grader.run(submissions_dir, resume=resume, progress=progress)
    report.write_all(spec, results, Path(out))
    return results
