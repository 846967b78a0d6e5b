"""The grading spec of an assignment: its exercises, points, limits and seed.

``bpcourse assign`` writes one spec per instructor notebook to
``release/instructor/<name>.json``; ``bpcourse grade`` reads it. The spec
contains the seed of the hidden tests, so it stays with the instructor.
"""

import ast
import hashlib
import json
import os
import secrets
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bpcourse import __version__
from bpcourse.exercises.core import get_exercise

SPEC_FORMAT = 1
#: Default points of a coding exercise, split evenly over its hidden cases.
CODING_POINTS = 2.0
#: Default points of a short answer.
SHORT_POINTS = 1.0


@dataclass
class Limits:
    """What the process that runs one submission may use.

    Attributes
    ----------
    question_seconds : float
        Wall-clock time for one question: running its definitions and every
        call of the function on the hidden inputs.
    submission_seconds : float
        Wall-clock time for the whole submission; questions not reached in
        time score 0.
    memory_mb : int
        Address space of the process (``RLIMIT_AS``).
    cpu_seconds : int or None
        CPU time of the process (``RLIMIT_CPU``); by default the submission's
        wall-clock limit plus 5 s.
    file_mb : int
        Largest file it may write (``RLIMIT_FSIZE``).
    processes : int
        Processes and threads of its uid (``RLIMIT_NPROC``).
    output_kb : int
        Printed output kept of each of stdout and stderr; the rest is read
        and dropped.
    startup_seconds : float
        Time to start the interpreter and import numpy.
    """

    question_seconds: float = 10.0
    submission_seconds: float = 60.0
    memory_mb: int = 1024
    cpu_seconds: int | None = None
    file_mb: int = 16
    processes: int = 64
    output_kb: int = 256
    startup_seconds: float = 30.0

    @classmethod
    def from_dict(cls, data):
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


@dataclass
class Question:
    """One graded exercise of an assignment."""

    id: str
    kind: str  # "coding" or "short"
    points: float
    function: str | None = None
    cases: int | None = None


@dataclass
class Spec:
    """The grading spec of one assignment."""

    assignment: str
    questions: list
    seed: int
    limits: Limits = field(default_factory=Limits)
    source: str | None = None
    student_notebook: str | None = None
    format: int = SPEC_FORMAT
    bpcourse_version: str = __version__

    @property
    def max_points(self):
        return sum(q.points for q in self.questions)

    def to_dict(self):
        data = asdict(self)
        data["max_points"] = self.max_points
        return data

    @classmethod
    def from_dict(cls, data):
        if not isinstance(data, dict) or "assignment" not in data:
            raise ValueError("the grading spec has no assignment name")
        if data.get("format", SPEC_FORMAT) > SPEC_FORMAT:
            raise ValueError(
                f"the grading spec has format {data['format']}; this version of "
                f"bpcourse reads format {SPEC_FORMAT}"
            )
        questions = [Question(**q) for q in data["questions"]]
        return cls(
            assignment=data["assignment"],
            questions=questions,
            seed=int(data["seed"]),
            limits=Limits.from_dict(data.get("limits", {})),
            source=data.get("source"),
            student_notebook=data.get("student_notebook"),
            format=data.get("format", SPEC_FORMAT),
            bpcourse_version=data.get("bpcourse_version", __version__),
        )

    def fingerprint(self):
        """A hash of everything that decides the grades."""
        data = self.to_dict()
        data.pop("bpcourse_version", None)
        text = json.dumps(data, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


def exercise_seed(seed, exercise_id):
    """The seed of one exercise's hidden inputs: the spec's seed and the id, hashed."""
    digest = hashlib.sha256(f"{int(seed)}:{exercise_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def new_seed():
    """A random seed for hidden tests, from the operating system's generator."""
    return secrets.randbits(63)


def find_exercise_ids(notebook):
    """The ids of the exercises the notebook checks, in order of first use.

    An exercise is a code cell calling ``check("<id>", ...)``; cells that do not
    parse (with magics, say) are searched line by line instead.
    """
    from bpcourse.grading.extract import _clean_cell, _is_check_call

    found = []
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        code = _clean_cell(source) or ""
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if _is_check_call(node) and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    if first.value not in found:
                        found.append(first.value)
    return found


def build_spec(name, exercise_ids, points=None, seed=None, limits=None, source=None,
               student_notebook=None):
    """Make the spec of an assignment from its exercise ids.

    ``points`` maps exercise ids to points that replace the defaults. Raises
    ``ValueError`` for an unknown exercise id, or a ``points`` entry for an
    exercise the assignment does not have.
    """
    points = dict(points or {})
    unknown = sorted(set(points) - set(exercise_ids))
    if unknown:
        raise ValueError(
            f"--points names {', '.join(unknown)}, which {name} does not check"
        )
    seed = new_seed() if seed is None else int(seed)
    questions = []
    for exercise_id in exercise_ids:
        exercise = get_exercise(exercise_id)
        if exercise.kind == "coding":
            cases = len(exercise.make_cases(exercise_seed(seed, exercise_id)))
            question = Question(exercise_id, "coding", CODING_POINTS,
                                function=exercise.function_name, cases=cases)
        else:
            question = Question(exercise_id, "short", SHORT_POINTS)
        if exercise_id in points:
            value = float(points[exercise_id])
            if value < 0:
                raise ValueError(f"points of {exercise_id} must not be negative")
            question.points = value
        questions.append(question)
    return Spec(
        assignment=name,
        questions=questions,
        seed=seed,
        limits=limits or Limits(),
        source=source,
        student_notebook=student_notebook,
    )


def write_json(data, path, mode=0o600):
    """Write JSON atomically: a temporary file in the same folder, then a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(data, file, indent=2, sort_keys=True, ensure_ascii=False)
            file.write("\n")
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def load_spec(path):
    """Read a spec file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"cannot read the grading spec {path}: {error}") from error
    return Spec.from_dict(data)


def find_spec(name_or_path, release="release"):
    """Find a spec by path, or by assignment name under ``release/instructor``."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".json" or candidate.is_file():
        if not candidate.is_file():
            raise ValueError(f"the grading spec {candidate} does not exist")
        return load_spec(candidate), candidate
    path = Path(release) / "instructor" / f"{name_or_path}.json"
    if not path.is_file():
        available = sorted(p.stem for p in (Path(release) / "instructor").glob("*.json"))
        hint = f"; the specs in {path.parent} are: {', '.join(available)}" if available else ""
        raise ValueError(f"no grading spec for {name_or_path!r} at {path}{hint}")
    return load_spec(path), path
