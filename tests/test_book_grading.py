"""Every chapter's exercises through the grader: the solutions score full marks.

The instructor notebook is graded as a submission (it holds the solutions)
and so is its student copy (it holds only stubs, which score nothing).
"""

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted(
    path for path in (ROOT / "book").glob("*.ipynb") if "check(" in path.read_text()
)


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_solutions_full_marks_stubs_none(notebook, tmp_path):
    bpcourse = [sys.executable, "-m", "bpcourse"]
    release = tmp_path / "release"
    subprocess.run([*bpcourse, "assign", str(notebook), "--out", str(release),
                    "--seed", "11"], check=True, capture_output=True)
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    shutil.copy(notebook, submissions / "instructor.ipynb")
    shutil.copy(release / "student" / notebook.name, submissions / "student.ipynb")
    spec = release / "instructor" / f"{notebook.stem}.json"
    done = subprocess.run(
        [*bpcourse, "grade", str(submissions), "--assignment", str(spec),
         "--out", str(tmp_path / "results"), "--workers", "1"],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with open(tmp_path / "results" / "grades.csv", newline="") as file:
        rows = {row["Student"]: row for row in csv.DictReader(file)}
    maximum = float(rows["instructor"]["Maximum"])
    assert maximum > 0
    assert float(rows["instructor"]["Total"]) == maximum
    assert float(rows["student"]["Total"]) == 0.0
