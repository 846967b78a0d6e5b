"""The student edition: built with no solution text in any file."""

import subprocess
import sys
from pathlib import Path

import pytest

from bpcourse.notebooks import read_notebook, strip_solutions

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import student_edition  # noqa: E402


def test_toc_drops_instructor_pages():
    toc = student_edition._student_toc()
    text = repr(toc)
    assert "book/instructor_guide" not in text
    assert "book/01_forward" in text


def test_links_to_instructor_pages_become_words():
    text = student_edition._drop_instructor_links("see the {doc}`instructor_guide`.")
    assert text == "see the instructor guide (in the instructor edition)."


def test_find_leaks_reports_planted_solution(tmp_path, monkeypatch):
    monkeypatch.setattr(student_edition, "STUDENT", tmp_path)
    monkeypatch.setattr(student_edition, "NOTEBOOKS", tmp_path / "notebooks")
    (tmp_path / "notebooks").mkdir()
    html = tmp_path / "html"
    html.mkdir()
    instructor = {
        "book/x.ipynb": {
            "cells": [
                {
                    "cell_type": "code",
                    "source": "def f(W, a):\n    ### BEGIN SOLUTION\n"
                    "    return W @ a_prev + b_vector\n    ### END SOLUTION\n",
                }
            ]
        }
    }
    (html / "clean.html").write_text("<p>nothing here</p>")
    assert student_edition.find_leaks(html, instructor) == []
    (html / "leak.html").write_text(
        '<pre><span class="k">return</span> W <span class="o">@</span> '
        "a_prev + b_vector\n</pre>"
    )
    leaks = student_edition.find_leaks(html, instructor)
    assert len(leaks) == 1
    assert "leak.html" in leaks[0]
    assert student_edition.find_leaks(
        html, instructor, public_lines={"return W @ a_prev + b_vector"}
    ) == []


@pytest.mark.book
def test_student_edition_has_no_solutions(book_html):
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "student_edition.py")],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    student_html = student_edition.SOURCE / "_build" / "html"
    assert (student_html / "book" / "01_forward.html").is_file()
    assert not (student_html / "_sources").exists()
    assert not (student_html / "book" / "instructor_guide.html").exists()

    # The search is meaningful only if the instructor edition shows solutions.
    instructor = {path: read_notebook(path) for path in (ROOT / "book").glob("*.ipynb")}
    public = {
        student_edition._normalize(line)
        for notebook in instructor.values()
        for line in student_edition._notebook_lines(strip_solutions(notebook))
    }
    texts = student_edition.solution_texts(instructor, public)
    assert texts

    def visible(folder):
        lines = set()
        for path in folder.rglob("*.html"):
            lines |= student_edition._visible_lines(path)
        return lines

    shown = [text for text in texts if text in visible(book_html / "book")]
    assert shown, "no solution line is visible in the instructor edition"
    leaked = [text for text in shown if text in visible(student_html)]
    assert leaked == []
