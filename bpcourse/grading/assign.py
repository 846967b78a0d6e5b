"""Release an assignment: student notebooks and the instructor's grading specs.

For each instructor notebook, ``release`` writes

* ``<out>/student/<name>.ipynb``: the notebook without its solutions, for the
  students;
* ``<out>/instructor/<name>.json``: the grading spec, with the hidden tests'
  seed. This folder is for the instructor only: it is made readable by its
  owner alone.
"""

import os
from pathlib import Path

from bpcourse.grading.spec import Limits, build_spec, find_exercise_ids, write_json
from bpcourse.notebooks import read_notebook, solution_leftovers, strip_solutions, write_notebook


def parse_points(entries):
    """Turn ``["forward.affine=3", …]`` into ``{"forward.affine": 3.0}``."""
    points = {}
    for entry in entries or []:
        exercise_id, sep, value = entry.partition("=")
        try:
            if not sep:
                raise ValueError
            points[exercise_id.strip()] = float(value)
        except ValueError:
            raise ValueError(
                f"--points {entry!r} is not of the form EXERCISE_ID=POINTS, such as "
                "forward.affine=3"
            ) from None
    return points


def release(sources, out, points=None, seed=None, limits=None):
    """Write the student notebook and the grading spec of each source notebook.

    Returns the list of ``(student_path, spec_path, spec)``. Raises
    ``ValueError`` when a notebook checks no exercise, when solution text is
    left after stripping, or when ``points`` names an exercise none of them
    checks.
    """
    out = Path(out)
    student_dir, instructor_dir = out / "student", out / "instructor"
    student_dir.mkdir(parents=True, exist_ok=True)
    instructor_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(instructor_dir, 0o700)
    points = dict(points or {})
    notebooks = [(Path(source), read_notebook(source)) for source in sources]
    found = {i for _, notebook in notebooks for i in find_exercise_ids(notebook)}
    unknown = sorted(set(points) - found)
    if unknown:
        raise ValueError(f"--points names {', '.join(unknown)}, which no notebook checks")
    written = []
    names = [source.stem for source, _ in notebooks]
    if len(set(names)) != len(names):
        raise ValueError("two source notebooks have the same name")
    for source, notebook in notebooks:
        ids = find_exercise_ids(notebook)
        if not ids:
            raise ValueError(f"{source} calls check(...) for no exercise")
        student = strip_solutions(notebook)
        leftovers = solution_leftovers(student, instructor=notebook)
        if leftovers:
            raise ValueError(f"{source}: solution text is left: " + "; ".join(leftovers[:5]))
        student_path = student_dir / source.name
        write_notebook(student, student_path)
        spec = build_spec(
            source.stem,
            ids,
            points={k: v for k, v in points.items() if k in ids},
            seed=seed,
            limits=limits or Limits(),
            source=str(source),
            student_notebook=str(student_path),
        )
        spec_path = instructor_dir / f"{source.stem}.json"
        write_json(spec.to_dict(), spec_path)
        written.append((student_path, spec_path, spec))
    return written
