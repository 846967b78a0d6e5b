"""Bulk grading: hostile and broken submissions, feedback, gradebook and report.

Most tests read the results of one batch, graded once for the module: each
student id below is one way a submission can go wrong. The limits are short
(2 s a question) so the module runs in well under a minute on two cores.
"""

import csv
import json
import os
import socket
import textwrap
from pathlib import Path

import numpy as np
import pytest

import test_grading_exercises as tx
from bpcourse.exercises import core
from bpcourse.grading import GradingError, build_spec, find_submissions, grade
from bpcourse.grading.grader import Grader
from bpcourse.grading.spec import Limits, exercise_seed, write_json

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="isolation by uid needs root")
FAST = Limits(question_seconds=2.0, submission_seconds=30.0, memory_mb=1024)
SEED = 12345


@pytest.fixture(scope="module")
def registry():
    core.load_all()  # chapter modules register in the real registry first
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(core, "REGISTRY", dict(core.REGISTRY))
        tx.install()
        yield core.REGISTRY


def make_spec(limits=FAST, seed=SEED):
    return build_spec("demo", tx.IDS, seed=seed, limits=limits)


def cells_with(**replacements):
    """The correct notebook's code cells with some functions replaced."""
    cells = []
    for name, check_id in (("affine", "gtest.affine"), ("sigmoid", "gtest.sigmoid"),
                           ("scale", "gtest.scale")):
        body = replacements.get(name, tx.CORRECT[name])
        if body is None:
            continue  # the cell was deleted
        cells.append(textwrap.dedent(body) + f'check("{check_id}", {name})\n')
    return cells


def hostile_submissions(folder, out, port):
    """Write one submission per case; return the folder."""
    write = tx.write_notebook
    write(folder / "correct.ipynb", *tx.correct_cells())
    write(folder / "loop.ipynb", *cells_with(sigmoid="""
        def sigmoid(z):
            while True:
                pass
    """))
    write(folder / "memory.ipynb", *cells_with(sigmoid="""
        def sigmoid(z):
            blocks = []
            while True:
                blocks.append(np.empty(10**8))
    """))
    write(folder / "memory_setup.ipynb", *cells_with(scale="""
        HUGE = np.ones(10**11)
        def scale(x, factor):
            return x * factor + HUGE[0] * 0
    """))
    write(folder / "sysexit.ipynb", *cells_with(scale="""
        import sys
        def scale(x, factor):
            sys.exit(1)
    """))
    write(folder / "osexit.ipynb", *cells_with(affine="""
        import os
        def affine(W, a_prev, b):
            os._exit(3)
    """))
    write(folder / "segfault.ipynb", *cells_with(affine="""
        import ctypes
        def affine(W, a_prev, b):
            return ctypes.string_at(0)
    """))
    write(folder / "fork.ipynb", *cells_with(sigmoid="""
        import os, time
        def sigmoid(z):
            if os.fork() == 0:
                time.sleep(60)
            return 1 / (1 + np.exp(-z))
    """, scale="""
        import os
        def scale(x, factor):
            while True:
                os.fork()
    """))
    write(folder / "output.ipynb", *cells_with(affine="""
        def affine(W, a_prev, b):
            print("x" * 3_000_000)
            return W @ a_prev + b
    """))
    write(folder / "monkeypatch.ipynb", *cells_with(affine="""
        import builtins
        def affine(W, a_prev, b):
            np.allclose = lambda *args, **kwargs: True
            np.isfinite = lambda *args, **kwargs: True
            builtins.check = lambda *args, **kwargs: True
            return W @ a_prev
    """, sigmoid="""
        import builtins, json
        def sigmoid(z):
            builtins.isinstance = None
            builtins.len = None
            json.dumps = None
            return 1 / (1 + np.exp(-z))
    """))
    write(folder / "course_import.ipynb", *cells_with(affine="""
        from bpcourse.exercises.core import get_exercise
        def affine(W, a_prev, b):
            return get_exercise("gtest.affine").reference(W, a_prev, b)
    """, sigmoid="""
        def sigmoid(z):
            import importlib
            return importlib.import_module("bpcourse.network").sigmoid(z)
    """, scale="""
        def scale(x, factor):
            module = __import__("bp" + "course.check")
            return x * factor
    """))
    write(folder / "uses_activations.ipynb", *cells_with(sigmoid="""
        from bpcourse.activations import tanh
        def sigmoid(z):
            return (1 + tanh(z / 2)) / 2
    """))
    # A def of the student's own that only calls the package's function of
    # the same name, imported under another name or through its module.
    write(folder / "wraps_course_answer.ipynb", *cells_with(sigmoid="""
        from bpcourse.activations import sigmoid as course_sigmoid
        def sigmoid(z):
            return course_sigmoid(z)
    """))
    write(folder / "wraps_course_module.ipynb", *cells_with(sigmoid="""
        import bpcourse.activations as act
        def sigmoid(z):
            return act.sigmoid(z)
    """))
    # The exercise's function imported from the package instead of written.
    write(folder / "imported_answer.ipynb", *cells_with(sigmoid="""
        from bpcourse.activations import sigmoid
    """))
    # The student's own cell does not parse, so the import is all that is left.
    write(folder / "imported_after_syntax_error.ipynb",
          "from bpcourse.activations import sigmoid\n",
          *cells_with(sigmoid="""
        def sigmoid(z)
            return 1 / (1 + np.exp(-z))
    """))
    escape = f"/tmp/bpcourse-escape-{os.getpid()}"
    write(folder / "writes_outside.ipynb", *cells_with(scale=f"""
        def scale(x, factor):
            for path in ({str(out / 'grades.csv')!r}, {str(folder / 'correct.ipynb')!r},
                         {str(out / 'submissions' / 'correct.json')!r}, {escape!r},
                         "/work/escape-test", "/var/tmp/escape-test"):
                try:
                    with open(path, "w") as file:
                        file.write("overwritten")
                except OSError:
                    pass
            return x * factor
    """))
    write(folder / "reads_other.ipynb", *cells_with(affine=f"""
        def affine(W, a_prev, b):
            for path in ({str(folder / 'correct.ipynb')!r},
                         {str(out / 'submissions' / 'correct.json')!r}):
                try:
                    open(path).read()
                    return W * 0
                except OSError:
                    pass
            return W @ a_prev + b
    """))
    write(folder / "network.ipynb", *cells_with(affine=f"""
        import socket
        def affine(W, a_prev, b):
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=1).close()
                return W * 0
            except OSError:
                return W @ a_prev + b
    """))
    (folder / "malformed.ipynb").write_text('{"cells": [', encoding="utf-8")
    (folder / "not_utf8.ipynb").write_bytes(b'{"cells": "\xff\xfe\x00\x81"}')
    (folder / "empty.py").write_text("", encoding="utf-8")
    # Deleted, duplicated and reordered cells: a stale affine before the right
    # one, the helper after its user, and the sigmoid cell deleted.
    tx.write_notebook(
        folder / "reordered.ipynb",
        tx.CORRECT["scale"] + 'check("gtest.scale", scale)\n',
        "def affine(W, a_prev, b):\n    return W\n",
        "def affine(W, a_prev, b):\n    return add(W @ a_prev, b)\n"
        'check("gtest.affine", affine)\n',
        "def add(x, y):\n    return x + y + OFFSET\n",
        "OFFSET = 0.0\n",
        tx.CORRECT["scale"] + 'check("gtest.scale", scale)\n',
    )
    write(folder / "wrong_signature.ipynb", *cells_with(affine="""
        def affine(W, x, b):
            return W @ x + b
    """))
    write(folder / "wrong_shape.ipynb", *cells_with(affine="""
        def affine(W, a_prev, b):
            return (W @ a_prev + b).T
    """))
    write(folder / "nan.ipynb", *cells_with(sigmoid="""
        def sigmoid(z):
            return np.full(z.shape, np.nan)
    """))
    write(folder / "as_list.ipynb", *cells_with(scale="""
        def scale(x, factor):
            return (x * factor).tolist()
    """))
    write(folder / "partial.ipynb", *cells_with(scale="""
        def scale(x, factor):
            return x * factor if factor > 0 else x * 0
    """, affine="""
        def affine(W, a_prev, b):
            return W @ a_prev + b + 1.0
    """))
    (folder / "script.py").write_text(
        "import numpy as np\n\n" + "\n".join(tx.CORRECT.values())
        + "\nshape_of_z = (3, 5)\ncheck('gtest.shape', shape_of_z)\n",
        encoding="utf-8",
    )
    tx.write_notebook(
        folder / "magics.ipynb",
        "%matplotlib inline\n!pip install nothing\n" + tx.correct_cells()[0],
        "%%bash\necho not python\n",
        "%%time\n" + tx.correct_cells()[1],
        "np.exp?\n" + tx.correct_cells()[2],
        shape="np.zeros((3, 5)).shape",
    )
    tx.write_notebook(
        folder / "syntax_error.ipynb",
        tx.correct_cells()[0],
        "def sigmoid(z)\n    return 1 / (1 + np.exp(-z))\n",
        tx.correct_cells()[2],
    )
    write(folder / "leaks_inputs.ipynb", *cells_with(affine="""
        import warnings
        def affine(W, a_prev, b):
            print(W, a_prev, b)
            warnings.warn(f"inputs {W.tolist()} {a_prev.tolist()}")
            raise ValueError(f"W = {W!r}, a_prev = {a_prev.tolist()}, b = {b}")
    """, sigmoid="""
        def sigmoid(z):
            return 1 / (1 + np.exp(z))
    """))
    return escape


@pytest.fixture(scope="module")
def batch(registry, tmp_path_factory):
    base = tmp_path_factory.mktemp("batch")
    folder, out = base / "submissions", base / "results"
    folder.mkdir()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    escape = hostile_submissions(folder, out, server.getsockname()[1])
    spec = make_spec()
    instructor = base / "instructor"
    write_json(spec.to_dict(), instructor / "demo.json")
    try:
        results = grade(spec, folder, out, workers=2, progress=False,
                        extra_hidden=[instructor])
    finally:
        server.close()
    return {"results": results, "out": out, "folder": folder, "spec": spec,
            "escape": escape}


def question(batch, student, exercise_id):
    return batch["results"][student]["questions"][exercise_id]


def points(batch, student):
    return {qid: q["points"] for qid, q in batch["results"][student]["questions"].items()}


FULL = {"gtest.affine": 2.0, "gtest.sigmoid": 2.0, "gtest.scale": 2.0, "gtest.shape": 1.0}


def test_correct_submission_full_marks(batch):
    assert points(batch, "correct") == FULL
    assert batch["results"]["correct"]["total"] == 7.0
    assert all(q["passed"] for q in batch["results"]["correct"]["questions"].values())


def test_infinite_loop_times_out_one_question(batch):
    looped = question(batch, "loop", "gtest.sigmoid")
    assert looped["status"] == "timeout"
    assert looped["points"] == 0.0
    assert looped["passed"] is False
    assert "timed out" in looped["message"]
    assert points(batch, "loop") == {**FULL, "gtest.sigmoid": 0.0}


def test_unbounded_memory_hits_memory_limit(batch):
    grown = question(batch, "memory", "gtest.sigmoid")
    assert grown["diagnosis"] == "memory_limit"
    assert "memory" in grown["message"]
    assert grown["points"] == 0.0
    huge = question(batch, "memory_setup", "gtest.scale")
    assert huge["status"] == "memory"
    assert huge["points"] == 0.0
    assert points(batch, "memory_setup")["gtest.affine"] == 2.0


def test_sys_exit_fails_only_its_question(batch):
    exited = question(batch, "sysexit", "gtest.scale")
    assert exited["points"] == 0.0
    assert "sys.exit(1)" in exited["message"]
    assert points(batch, "sysexit") == {**FULL, "gtest.scale": 0.0}


def test_os_exit_and_segfault_are_crashes(batch):
    exited = question(batch, "osexit", "gtest.affine")
    assert exited["status"] == "crashed"
    assert exited["diagnosis"] == "process_exited"
    assert "status 3" in exited["message"]
    crashed = question(batch, "segfault", "gtest.affine")
    assert crashed["diagnosis"] == "segfault"
    assert "segmentation fault" in crashed["message"]
    # The questions after the crash ran in a new process.
    for student in ("osexit", "segfault"):
        assert points(batch, student) == {**FULL, "gtest.affine": 0.0}


def test_fork_and_fork_bomb(batch):
    forked = question(batch, "fork", "gtest.sigmoid")
    assert forked["passed"], forked["message"]
    bomb = question(batch, "fork", "gtest.scale")
    assert bomb["points"] == 0.0
    assert bomb["status"] in ("graded", "timeout", "crashed")
    assert points(batch, "fork")["gtest.affine"] == 2.0


def test_megabytes_of_output_are_capped(batch):
    result = batch["results"]["output"]
    assert points(batch, "output") == FULL
    assert result["output_bytes"]["stdout"] >= 9_000_000
    assert any("printed" in note for note in result["notes"])
    log = (batch["out"] / "logs" / "output.txt").read_text()
    assert len(log) < 2 * FAST.output_kb * 1024


def test_monkeypatching_numpy_and_builtins_is_harmless(batch):
    patched = question(batch, "monkeypatch", "gtest.affine")
    assert patched["points"] == 0.0
    assert patched["diagnosis"] == "bias_missing"
    # Builtins are restored before the results are encoded.
    assert question(batch, "monkeypatch", "gtest.sigmoid")["passed"]
    assert question(batch, "monkeypatch", "gtest.scale")["passed"]


def test_bpcourse_imports_are_rejected(batch):
    for exercise_id in ("gtest.affine", "gtest.sigmoid"):
        rejected = question(batch, "course_import", exercise_id)
        assert rejected["status"] == "course_import"
        assert rejected["diagnosis"] == "imports_bpcourse"
        assert "bpcourse" in rejected["message"]
        assert rejected["points"] == 0.0
    # An import the static check cannot see fails when it runs.
    hidden_import = question(batch, "course_import", "gtest.scale")
    assert hidden_import["points"] == 0.0
    assert "ImportError" in hidden_import["message"]


@ROOT_ONLY
def test_writes_outside_its_folder_fail(batch):
    assert question(batch, "writes_outside", "gtest.scale")["passed"]
    assert not Path(batch["escape"]).exists()
    assert not Path("/work/escape-test").exists()
    assert not Path("/var/tmp/escape-test").exists()
    assert (batch["folder"] / "correct.ipynb").read_text().startswith('{"cells"')
    stored = json.loads((batch["out"] / "submissions" / "correct.json").read_text())
    assert stored["student"] == "correct"


@ROOT_ONLY
def test_other_students_files_are_unreadable(batch):
    assert question(batch, "reads_other", "gtest.affine")["passed"]


@ROOT_ONLY
def test_network_is_cut(batch):
    isolation = batch["results"]["network"]["isolation"]
    if not isolation.get("namespaces"):
        pytest.skip("this kernel does not allow network namespaces")
    assert question(batch, "network", "gtest.affine")["passed"]


@pytest.mark.parametrize("student, words", [
    ("malformed", "not valid JSON"),
    ("not_utf8", "not UTF-8"),
    ("empty", "empty"),
])
def test_unreadable_files_score_zero(batch, student, words):
    result = batch["results"][student]
    assert result["total"] == 0.0
    for entry in result["questions"].values():
        assert entry["status"] == "unreadable"
        assert words in entry["message"]


def test_reordered_duplicated_deleted_cells(batch):
    assert question(batch, "reordered", "gtest.affine")["passed"]
    assert question(batch, "reordered", "gtest.scale")["passed"]
    missing = question(batch, "reordered", "gtest.sigmoid")
    assert missing["status"] == "missing"
    assert "`sigmoid`" in missing["message"]


def test_activations_module_may_be_imported(batch):
    assert points(batch, "uses_activations") == FULL


@pytest.mark.parametrize("student", ["wraps_course_answer", "wraps_course_module"])
def test_wrapped_course_answer_scores_zero(batch, student):
    wrapped = question(batch, student, "gtest.sigmoid")
    assert wrapped["points"] == 0
    assert "sigmoid from the bpcourse package" in wrapped["message"]
    assert "this exercise's answer" in wrapped["message"]


def test_imported_answer_scores_zero(batch):
    imported = question(batch, "imported_answer", "gtest.sigmoid")
    assert imported["points"] == 0
    assert imported["diagnosis"] == "missing_function"
    assert "is imported" in imported["message"]
    assert "from bpcourse.activations import sigmoid" in imported["message"]


def test_import_left_after_syntax_error_scores_zero(batch):
    imported = question(batch, "imported_after_syntax_error", "gtest.sigmoid")
    assert imported["points"] == 0
    assert "is imported" in imported["message"]
    assert "syntax error" in imported["message"]


def test_wrong_signature_is_explained(batch):
    wrong = question(batch, "wrong_signature", "gtest.affine")
    assert wrong["diagnosis"] == "wrong_signature"
    assert "affine(W, x, b)" in wrong["message"]
    assert "affine(W, a_prev, b)" in wrong["message"]


def test_wrong_shape_nan_and_list(batch):
    assert question(batch, "wrong_shape", "gtest.affine")["diagnosis"] == "wrong_shape"
    assert "nan or inf" in question(batch, "nan", "gtest.sigmoid")["message"]
    as_list = question(batch, "as_list", "gtest.scale")
    assert "Python list" in as_list["message"]
    assert as_list["points"] == 0.0


def test_partial_credit_and_zero_credit(batch):
    half = question(batch, "partial", "gtest.scale")
    assert half["score"] == 0.5
    assert half["points"] == 1.0
    none = question(batch, "partial", "gtest.affine")
    assert none["score"] == 0.0
    assert none["points"] == 0.0
    rows = {row["Student"]: row for row in csv.DictReader(
        (batch["out"] / "grades.csv").open())}
    assert rows["partial"]["gtest.affine"] == "0"
    assert rows["partial"]["gtest.scale"] == "1"


def test_script_and_magics_submissions(batch):
    assert points(batch, "script") == FULL
    assert points(batch, "magics") == FULL


def test_syntax_error_cell_is_skipped_with_a_note(batch):
    result = batch["results"]["syntax_error"]
    assert result["questions"]["gtest.sigmoid"]["status"] == "missing"
    assert "syntax error" in result["questions"]["gtest.sigmoid"]["message"]
    assert result["questions"]["gtest.affine"]["passed"]
    assert result["questions"]["gtest.scale"]["passed"]


def test_overflow_warning_keeps_full_credit(batch):
    sigmoid = question(batch, "correct", "gtest.sigmoid")
    assert sigmoid["passed"]
    assert sigmoid["points"] == 2.0
    assert any("overflow" in w for w in sigmoid["warnings"])
    feedback = (batch["out"] / "feedback" / "correct.md").read_text()
    assert "RuntimeWarning: overflow encountered in exp" in feedback


def _hidden_values(spec):
    """Texts of every hidden input and expected value, as code might print them."""
    texts = set()
    for q in spec.questions:
        exercise = core.get_exercise(q.id)
        if exercise.kind != "coding":
            continue
        for case in exercise.make_cases(exercise_seed(spec.seed, q.id)):
            arrays = list(case.values()) + [exercise.reference(**case)]
            for array in arrays:
                for value in np.ravel(np.asarray(array, dtype=float)):
                    if not np.isfinite(value) or value == round(value, 1):
                        continue
                    texts.update({repr(float(value)), f"{value:.4f}", f"{value:.8f}"})
    return texts


def test_feedback_never_shows_hidden_values(batch):
    texts = _hidden_values(batch["spec"])
    assert len(texts) > 50
    leaked = question(batch, "leaks_inputs", "gtest.affine")
    assert "ValueError" in leaked["message"]
    flipped = question(batch, "leaks_inputs", "gtest.sigmoid")
    assert flipped["diagnosis"] == "sign_flipped"
    feedback = batch["out"] / "feedback"
    for path in sorted(feedback.iterdir()):
        content = path.read_text()
        found = [text for text in texts if text in content]
        assert not found, f"{path.name} shows hidden values {found[:3]}"
    text = (feedback / "leaks_inputs.md").read_text()
    assert "`gtest.sigmoid`" in text
    assert "sign_flipped" in text


def test_gradebook_layout(batch):
    rows = list(csv.reader((batch["out"] / "grades.csv").open()))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                       *tx.IDS, "Total", "Maximum"]
    students = [row[0] for row in rows[1:]]
    assert students == sorted(batch["results"])
    correct = rows[1 + students.index("correct")]
    assert correct[3] == "correct"
    assert correct[-2:] == ["7", "7"]
    canvas = list(csv.reader((batch["out"] / "canvas.csv").open()))
    assert canvas[0][-1] == "demo"
    assert canvas[1][0] == "Points Possible"
    assert canvas[1][-1] == "7"


def test_class_report_item_analysis(batch):
    out = batch["out"]
    report = (out / "report.md").read_text()
    assert "histogram.png" in report
    assert "`bias_missing`" in report
    # reordered and syntax_error lack the sigmoid; imported_answer and
    # imported_after_syntax_error import it
    assert "`missing_function` (4)" in report
    assert "3 submissions could not be read" in report
    assert "`unreadable_submission`" not in report
    assert (out / "histogram.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "report.html").read_text()
    assert "<img src=\"histogram.png\"" in page
    assert "Pass rate" in page


def test_feedback_html_is_escaped(batch):
    page = (batch["out"] / "feedback" / "leaks_inputs.html").read_text()
    assert "<script" not in page
    assert page.startswith("<!DOCTYPE html>")


def test_twenty_submissions_one_infinite_loop(registry, tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    for number in range(19):
        tx.write_notebook(folder / f"s{number:02d}.ipynb", *tx.correct_cells())
    tx.write_notebook(folder / "s19.ipynb", *cells_with(affine="""
        def affine(W, a_prev, b):
            while True:
                pass
    """))
    limits = Limits(question_seconds=1.5, submission_seconds=20)
    results = grade(make_spec(limits), folder, tmp_path / "out", workers=2,
                    progress=False)
    assert len(results) == 20
    assert all(results[f"s{n:02d}"]["total"] == 7.0 for n in range(19))
    looped = results["s19"]["questions"]
    assert looped["gtest.affine"]["status"] == "timeout"
    assert [looped[i]["passed"] for i in tx.IDS] == [False, True, True, True]
    rows = list(csv.reader((tmp_path / "out" / "grades.csv").open()))
    assert len(rows) == 21
    assert "`gtest.affine`: `timed_out` (1)" in (tmp_path / "out" / "report.md").read_text()


def test_duplicate_ids_and_empty_folder(tmp_path):
    with pytest.raises(GradingError, match="contains no submissions"):
        find_submissions(tmp_path)
    (tmp_path / "alice.ipynb").write_text("{}")
    (tmp_path / "alice.py").write_text("")
    (tmp_path / "bob.py").write_text("")
    with pytest.raises(GradingError, match="alice.ipynb and alice.py"):
        find_submissions(tmp_path)


def test_regrading_gives_same_gradebook_and_resume_reuses(registry, tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    tx.write_notebook(folder / "a.ipynb", *tx.correct_cells())
    tx.write_notebook(folder / "b.ipynb", *cells_with(affine="""
        def affine(W, a_prev, b):
            return W @ a_prev
    """))
    (folder / "c.py").write_text("def scale(x, factor):\n    return x * factor\n")
    first = grade(make_spec(), folder, tmp_path / "one", progress=False)
    second = grade(make_spec(), folder, tmp_path / "two", progress=False)
    grades = (tmp_path / "one" / "grades.csv").read_text()
    assert grades == (tmp_path / "two" / "grades.csv").read_text()
    assert {s: r["total"] for s, r in first.items()} == {
        s: r["total"] for s, r in second.items()}
    # Resume: one result lost, one submission changed.
    stored = tmp_path / "one" / "submissions"
    (stored / "b.json").unlink()
    kept = (stored / "a.json").stat().st_mtime_ns
    grade(make_spec(), folder, tmp_path / "one", resume=True, progress=False)
    assert (stored / "a.json").stat().st_mtime_ns == kept
    assert (tmp_path / "one" / "grades.csv").read_text() == grades
    (folder / "c.py").write_text("def scale(x, factor):\n    return x\n")
    grade(make_spec(), folder, tmp_path / "one", resume=True, progress=False)
    assert (tmp_path / "one" / "grades.csv").read_text() != grades


def test_other_seed_other_hidden_inputs(registry):
    one = core.get_exercise("gtest.affine").make_cases(exercise_seed(1, "gtest.affine"))
    two = core.get_exercise("gtest.affine").make_cases(exercise_seed(2, "gtest.affine"))
    assert not np.array_equal(one[0]["W"], two[0]["W"])
    assert exercise_seed(1, "gtest.affine") != exercise_seed(1, "gtest.sigmoid")


def test_child_receives_inputs_but_no_expected_values(registry, tmp_path):
    from bpcourse.grading.extract import parse_cells, question_code
    from bpcourse.grading.transfer import _npy

    spec = make_spec()
    grader = Grader(spec, tmp_path)
    submission = parse_cells([("cell 1", tx.CORRECT["affine"])])
    for item in grader.prepared:
        if item.question.kind != "coding":
            continue
        code = question_code(submission, item.exercise)
        payload = json.dumps(grader._payload(item, code, submission))
        for case in item.cases:
            expected = item.exercise.reference(**case)
            assert _npy(np.asarray(expected)) not in payload
            assert _npy(case[next(iter(case))]) in payload
        assert str(spec.seed) not in payload
