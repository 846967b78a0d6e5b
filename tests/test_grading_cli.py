"""The assign and grade commands, the spec, the transfer checks, and resuming."""

import base64
import csv
import io
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import test_grading_exercises as tx
from bpcourse.cli import main
from bpcourse.exercises import core
from bpcourse.grading import build_spec, grade
from bpcourse.grading.extract import parse_cells, question_code
from bpcourse.grading.spec import Limits, find_exercise_ids, load_spec
from bpcourse.grading.transfer import TransferError, decode_attempts, decode_value

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def registry(monkeypatch):
    core.load_all()
    monkeypatch.setattr(core, "REGISTRY", dict(core.REGISTRY))
    tx.install()
    return core.REGISTRY


def instructor_notebook():
    notebook = tx.notebook(
        "def affine(W, a_prev, b):\n    ### BEGIN SOLUTION\n    return W @ a_prev + b\n"
        "    ### END SOLUTION\n\ncheck(\"gtest.affine\", affine)\n",
        "%%time\ndef scale(x, factor):\n    ### BEGIN SOLUTION\n    return x * factor\n"
        "    ### END SOLUTION\ncheck('gtest.scale', scale)\n",
        shape="(3, 5)",
    )
    notebook["cells"].insert(0, {"cell_type": "markdown", "id": "m", "metadata": {},
                                 "source": ":::{solution}\nThe shape is (3, 5).\n:::\n"})
    return notebook


def test_find_exercise_ids_in_order():
    assert find_exercise_ids(instructor_notebook()) == [
        "gtest.affine", "gtest.scale", "gtest.shape"]


def test_default_and_overridden_points(registry):
    spec = build_spec("demo", tx.IDS, seed=3)
    assert [q.points for q in spec.questions] == [2.0, 2.0, 2.0, 1.0]
    assert spec.questions[0].cases == 3
    assert spec.max_points == 7.0
    spec = build_spec("demo", tx.IDS, seed=3, points={"gtest.shape": 4})
    assert spec.questions[-1].points == 4.0
    with pytest.raises(ValueError, match="gtest.nothing"):
        build_spec("demo", tx.IDS, points={"gtest.nothing": 1})


def test_assign_writes_student_notebook_and_private_spec(registry, tmp_path, capsys):
    source = tmp_path / "week1.ipynb"
    source.write_text(json.dumps(instructor_notebook()), encoding="utf-8")
    release = tmp_path / "release"
    status = main(["assign", str(source), "--out", str(release),
                   "--points", "gtest.scale=3", "--question-seconds", "4"])
    assert status == 0
    assert "week1: 3 exercises, 6 points" in capsys.readouterr().out
    student = (release / "student" / "week1.ipynb").read_text(encoding="utf-8")
    assert "W @ a_prev + b" not in student
    assert "The shape is (3, 5)" not in student
    assert "replace this line with your code" in student
    spec_path = release / "instructor" / "week1.json"
    data = json.loads(spec_path.read_text())
    assert data["assignment"] == "week1"
    assert [q["id"] for q in data["questions"]] == ["gtest.affine", "gtest.scale",
                                                    "gtest.shape"]
    assert [q["points"] for q in data["questions"]] == [2.0, 3.0, 1.0]
    assert data["limits"]["question_seconds"] == 4.0
    assert data["limits"]["submission_seconds"] == 60.0
    assert isinstance(data["seed"], int)
    assert str(data["seed"]) not in student
    assert stat.S_IMODE((release / "instructor").stat().st_mode) == 0o700
    assert stat.S_IMODE(spec_path.stat().st_mode) == 0o600
    # A second release draws another seed unless --seed is given.
    main(["assign", str(source), "--out", str(tmp_path / "again")])
    again = json.loads((tmp_path / "again" / "instructor" / "week1.json").read_text())
    assert again["seed"] != data["seed"]
    main(["assign", str(source), "--out", str(tmp_path / "fixed"), "--seed", "42"])
    assert load_spec(tmp_path / "fixed" / "instructor" / "week1.json").seed == 42


def test_assign_rejects_unknown_exercise(registry, tmp_path, capsys):
    notebook = tx.notebook('check("gtest.nope", 1)\n', shape=None)
    source = tmp_path / "bad.ipynb"
    source.write_text(json.dumps(notebook))
    assert main(["assign", str(source), "--out", str(tmp_path / "r")]) == 2
    assert "unknown exercise id 'gtest.nope'" in capsys.readouterr().err


def test_grade_command_writes_everything(registry, tmp_path, capsys):
    folder = tmp_path / "subs"
    folder.mkdir()
    tx.write_notebook(folder / "alice.ipynb", *tx.correct_cells())
    (folder / "bob.py").write_text("def affine(W, a_prev, b):\n    return W @ a_prev\n")
    spec = build_spec("demo", tx.IDS, seed=5, limits=Limits(question_seconds=3))
    release = tmp_path / "release"
    from bpcourse.grading.spec import write_json

    write_json(spec.to_dict(), release / "instructor" / "demo.json")
    out = tmp_path / "results"
    status = main(["grade", str(folder), "--assignment", "demo", "--release",
                   str(release), "--out", str(out), "--workers", "2", "--no-progress"])
    assert status == 0
    printed = capsys.readouterr()
    assert "graded 2 submissions" in printed.out
    for name in ("grades.csv", "canvas.csv", "report.md", "report.html",
                 "histogram.png", "feedback/alice.md", "feedback/alice.html",
                 "feedback/bob.md", "submissions/alice.json"):
        assert (out / name).exists(), name
    log = (out / "grading.log").read_text()
    for student in ("alice", "bob"):
        assert f"start {student}" in log
        assert f"finish {student}" in log
    assert "INFO start alice" in printed.err
    assert stat.S_IMODE(out.stat().st_mode) == 0o700 or os.geteuid() != 0


def test_grade_command_errors_are_clear(registry, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    spec = build_spec("demo", tx.IDS, seed=5)
    from bpcourse.grading.spec import write_json

    write_json(spec.to_dict(), tmp_path / "demo.json")
    status = main(["grade", str(empty), "--assignment", str(tmp_path / "demo.json"),
                   "--out", str(tmp_path / "out"), "--no-progress"])
    assert status == 2
    assert "contains no submissions" in capsys.readouterr().err
    assert main(["grade", str(empty), "--assignment", "missing", "--release",
                 str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "no grading spec for 'missing'" in capsys.readouterr().err


def _npy_text(array, allow_pickle=False):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return base64.b64encode(buffer.getvalue()).decode()


def test_decoder_rejects_pickles_and_bad_forms():
    pickled = _npy_text(np.array([object()], dtype=object), allow_pickle=True)
    with pytest.raises(TransferError):
        decode_value({"t": "ndarray", "npy": pickled}, 1 << 20)
    with pytest.raises(TransferError):
        decode_value({"t": "ndarray", "npy": "not base64!"}, 1 << 20)
    with pytest.raises(TransferError):
        decode_value({"t": "pickle", "v": "..."}, 1 << 20)
    with pytest.raises(TransferError):
        decode_value({"t": "npscalar", "npy": _npy_text(np.zeros(3))}, 1 << 20)
    with pytest.raises(TransferError):
        decode_value({"t": "int", "v": "7"}, 1 << 20)
    value = decode_value({"t": "other", "type": "dict"}, 1 << 20)
    assert type(value).__name__ == "dict"
    assert not isinstance(value, dict)
    assert type(decode_value({"t": "other", "type": "os.system()"}, 1)).__name__ == "object"
    array = decode_value({"t": "ndarray", "npy": _npy_text(np.eye(2))}, 1 << 20)
    assert np.array_equal(array, np.eye(2))


def test_attempts_are_checked_against_the_cases():
    cases = [{"x": np.zeros(2)}]
    good = {"attempts": [{"mutated": [], "value": {"t": "none"}}], "repeat_differs": False}
    attempts, repeat = decode_attempts(good, cases, 1 << 20)
    assert attempts[0].value is None
    assert repeat is False
    for bad in (
        {"attempts": [], "repeat_differs": False},
        {"attempts": [{"mutated": ["y"]}], "repeat_differs": False},
        {"attempts": [{"error": "not an identifier!"}], "repeat_differs": False},
        {"attempts": [{"mutated": []}], "repeat_differs": "yes"},
    ):
        with pytest.raises(TransferError):
            decode_attempts(bad, cases, 1 << 20)


def test_error_messages_mask_long_numbers():
    record = {"attempts": [{"mutated": [], "error": "ValueError",
                            "error_message": "W = [[0.4967141530112327, -1.234e-05]]",
                            "traceback": "x = 0.12345"}], "repeat_differs": False}
    attempts, _ = decode_attempts(record, [{"x": 1}], 1 << 20)
    assert "0.4967" not in attempts[0].error_message
    assert "1.234e-05" not in attempts[0].error_message
    assert "0.123" not in attempts[0].traceback


def test_extraction_helpers_and_bpcourse_star_import(registry):
    submission = parse_cells([
        ("cell 1", "from bpcourse.exercises.gtest import *\nimport numpy as np\n"),
        ("cell 2", "def affine(W, a_prev, b):\n    return reference_affine(W, a_prev, b)\n"),
        ("cell 3", "EPS = 1e-9\ndef scale(x, factor):\n    return helper(x) * factor + EPS\n"
                   "def helper(x):\n    return np.asarray(x)\n"),
    ])
    affine = question_code(submission, core.get_exercise("gtest.affine"))
    assert affine.problem == "course_import"
    assert "import *" in affine.message
    scale = question_code(submission, core.get_exercise("gtest.scale"))
    assert scale.problem is None
    assert [s.source.split("\n")[0] for s in scale.statements] == [
        "import numpy as np", "EPS = 1e-9", "def scale(x, factor):", "def helper(x):"]


def test_short_answer_forms(registry):
    shape = core.get_exercise("gtest.shape")
    literal = parse_cells([("c", "z = (3, 5)\ncheck('gtest.shape', z)\n")])
    assert question_code(literal, shape).literal == (3, 5)
    computed = parse_cells([("c", "import numpy as np\nz = np.zeros((3, 5)).shape\n"
                                  "check('gtest.shape', z)\n")])
    code = question_code(computed, shape)
    assert code.has_literal is False
    assert code.expression == "z"
    assert len(code.statements) == 2
    missing = parse_cells([("c", "x = 1\n")])
    assert question_code(missing, shape).problem == "missing"


GRADE_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
import test_grading_exercises
test_grading_exercises.install()
from bpcourse.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["kill", "ctrl_c"])
def test_stopped_run_resumes_to_same_gradebook(registry, tmp_path, stop):
    folder = tmp_path / "subs"
    folder.mkdir()
    for number in range(10):
        cells = tx.correct_cells() if number % 3 else [
            "def affine(W, a_prev, b):\n    return W @ a_prev\n"]
        tx.write_notebook(folder / f"s{number}.ipynb", *cells)
    tx.write_notebook(folder / "s99.ipynb", "import time\ndef affine(W, a_prev, b):\n"
                      "    time.sleep(1)\n    return W @ a_prev + b\n")
    spec = build_spec("demo", tx.IDS, seed=9, limits=Limits(question_seconds=5))
    from bpcourse.grading.spec import write_json

    spec_path = tmp_path / "instructor" / "demo.json"
    write_json(spec.to_dict(), spec_path)
    expected = tmp_path / "expected"
    grade(spec, folder, expected, workers=2, progress=False)

    out = tmp_path / "killed"
    script = GRADE_SCRIPT.format(tests=str(TESTS))
    command = [sys.executable, "-c", script, "grade", str(folder), "--assignment",
               str(spec_path), "--out", str(out), "--workers", "1", "--no-progress",
               "--quiet"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    stored = out / "submissions"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if stored.is_dir() and len(list(stored.glob("*.json"))) >= 3:
            break
        time.sleep(0.05)
    process.send_signal(stop)
    _, errors = process.communicate(timeout=60)
    if stop == signal.SIGINT:
        assert process.returncode == 130
        assert b"--resume" in errors
    graded_before = len(list(stored.glob("*.json")))
    assert 3 <= graded_before < 11
    assert not (out / "grades.csv").exists()
    # Each stored result is complete JSON: it was written atomically.
    for path in stored.glob("*.json"):
        json.loads(path.read_text())
    resumed = subprocess.run([*command, "--resume"], capture_output=True, text=True,
                             timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{graded_before} of 11 submissions already graded" in (
        out / "grading.log").read_text()
    assert (out / "grades.csv").read_text() == (expected / "grades.csv").read_text()
    rows = list(csv.reader((out / "grades.csv").open()))
    assert len(rows) == 12


def test_sandbox_that_cannot_start_stops_grading(registry, tmp_path, monkeypatch):
    from bpcourse.grading import GradingError, sandbox

    folder = tmp_path / "subs"
    folder.mkdir()
    tx.write_notebook(folder / "alice.ipynb", *tx.correct_cells())
    # Without numpy on its path the child cannot start.
    monkeypatch.setattr(sandbox, "numpy_site", lambda: str(tmp_path / "no-numpy"))
    spec = build_spec("demo", tx.IDS, seed=5, limits=Limits(startup_seconds=20))
    with pytest.raises(GradingError, match="did not start"):
        grade(spec, folder, tmp_path / "out", progress=False)
    assert not (tmp_path / "out" / "submissions" / "alice.json").exists()
