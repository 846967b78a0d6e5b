"""Build the student edition of the book: every page, and no solution anywhere.

1. Copy the book's sources into ``_build/student/src`` with the solutions
   stripped (``bpcourse.notebooks``): solution regions of code cells become
   ``raise NotImplementedError``, ``{solution}`` blocks are removed.
2. Build that copy with Jupyter Book and the instructor configuration plus
   ``student_edition_ext``, which turns off source copies and downloads. The
   notebooks are not executed again: a cell that held a solution shows no
   output, every other cell shows its stored output.
3. Search every file of the built HTML, and the student notebooks, for
   solution text; any hit fails the build.

The student notebooks are also written to ``_build/student/notebooks`` for
handing out. Run it with ``make student``.
"""

import argparse
import html as html_module
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from bpcourse.notebooks import solution_lines
from bpcourse.notebooks import (
    read_notebook,
    solution_leftovers,
    strip_markdown_solutions,
    strip_solutions,
    write_notebook,
)

ROOT = Path(__file__).resolve().parent.parent
STUDENT = ROOT / "_build" / "student"
SOURCE = STUDENT / "src"
NOTEBOOKS = STUDENT / "notebooks"
# Built, read-only or large parts of book/ that are linked, not copied.
LINKED = {"vendor"}
JB_FLAGS = ["-W", "--keep-going", "--all"]
# Pages for instructors only: they show the solution markers and the grader.
INSTRUCTOR_ONLY = {"book/instructor_guide"}
TEXT_SUFFIXES = {".html", ".js", ".txt", ".ipynb", ".md", ".json", ".css", ".xml"}
# Shorter solution lines ("return z", "pass") also occur in ordinary text.
MIN_LEAK_LENGTH = 16


def _student_config():
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config["title"] = f"{config.get('title', 'bpcourse')} (student edition)"
    # The stored outputs are current (nbval re-runs every notebook against
    # them), and the student copies keep them for every cell that holds no
    # solution, so the student edition is built without running anything.
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    sphinx = config.setdefault("sphinx", {})
    sphinx.setdefault("local_extensions", {})["student_edition_ext"] = "tools/"
    extensions = sphinx.setdefault("config", {}).get("extensions")
    if extensions is not None and "student_edition_ext" not in extensions:
        extensions.append("student_edition_ext")
    return config


def _drop_instructor_links(text):
    """Replace {doc} links to instructor-only pages with plain words."""
    for page in INSTRUCTOR_ONLY:
        name = page.split("/")[-1]
        text = re.sub(
            r"\{doc\}`(?:([^`<]*?)\s*<)?[./]*(?:book/)?" + re.escape(name) + r">?`",
            lambda match: (match.group(1) or name.replace("_", " ")).strip()
            + " (in the instructor edition)",
            text,
        )
    return text


def _student_toc():
    """Return the table of contents without the instructor-only pages."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))

    def keep(entries):
        kept = []
        for entry in entries or []:
            if entry.get("file") in INSTRUCTOR_ONLY:
                continue
            for key in ("sections", "chapters"):
                if key in entry:
                    entry[key] = keep(entry[key])
            kept.append(entry)
        return kept

    if "chapters" in toc:
        toc["chapters"] = keep(toc["chapters"])
    if "parts" in toc:
        parts = []
        for part in toc["parts"]:
            part["chapters"] = keep(part.get("chapters"))
            if part["chapters"]:
                parts.append(part)
        toc["parts"] = parts
    return toc


def prepare_sources():
    """Write the stripped sources to ``SOURCE``.

    Returns the instructor notebooks by path, and the set of normalized lines
    of every student source and stored output (for ``find_leaks``).
    """
    for entry in SOURCE.iterdir() if SOURCE.exists() else []:
        if entry.name == "_build":
            continue  # keeps the execution cache between builds
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    SOURCE.mkdir(parents=True, exist_ok=True)
    NOTEBOOKS.mkdir(parents=True, exist_ok=True)
    (SOURCE / "bpcourse").symlink_to(ROOT / "bpcourse")  # hashed by package_cache
    shutil.copytree(ROOT / "tools", SOURCE / "tools",
                    ignore=shutil.ignore_patterns("__pycache__"))
    # The benchmarks page includes the stored result tables.
    shutil.copytree(ROOT / "benchmarks" / "results", SOURCE / "benchmarks" / "results")
    (SOURCE / "_toc.yml").write_text(
        yaml.safe_dump(_student_toc(), sort_keys=False), encoding="utf-8"
    )
    (SOURCE / "_config.yml").write_text(
        yaml.safe_dump(_student_config(), sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )
    instructor = {}
    public = set()
    for path in sorted((ROOT / "book").rglob("*")):
        relative = path.relative_to(ROOT)
        target = SOURCE / relative
        if relative.parts[1] in LINKED:
            if len(relative.parts) == 2:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(path)
            continue
        if ".ipynb_checkpoints" in relative.parts or path.is_dir():
            continue
        if relative.with_suffix("").as_posix() in INSTRUCTOR_ONLY:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".ipynb":
            notebook = read_notebook(path)
            instructor[relative] = notebook
            student = strip_solutions(notebook)
            public.update(_normalize(line) for line in _notebook_lines(student))
            write_notebook(student, target)
            write_notebook(student, NOTEBOOKS / path.name)
        elif path.suffix == ".md":
            text, _ = strip_markdown_solutions(path.read_text(encoding="utf-8"), path)
            text = _drop_instructor_links(text)
            public.update(_normalize(line) for line in text.splitlines())
            target.write_text(text, encoding="utf-8")
        else:
            shutil.copy2(path, target)
    return instructor, public


def build():
    """Build the student copy; return the folder of its HTML."""
    # No page of an earlier build may survive; the execution cache does.
    shutil.rmtree(SOURCE / "_build" / "html", ignore_errors=True)
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", *JB_FLAGS,
               str(SOURCE)]
    subprocess.run(command, check=True, cwd=SOURCE)
    return SOURCE / "_build" / "html"


# Markup that the source has and the rendered page does not, or the reverse:
# math delimiters, inline code and emphasis.
_MARKUP = re.compile(r"\$|\\\(|\\\)|\\\[|\\\]|`|\*\*?")


def _normalize(line):
    """Fold white space and markup so a source line matches its rendered form."""
    return " ".join(_MARKUP.sub("", line).split())


def _notebook_lines(notebook):
    """Yield every line of a notebook's cell sources and text outputs."""
    for cell in notebook.get("cells", []):
        pieces = [cell.get("source", "")]
        for output in cell.get("outputs", []) or []:
            pieces.append(output.get("text", ""))
            pieces.extend((output.get("data") or {}).values())
        for piece in pieces:
            text = "".join(piece) if isinstance(piece, list) else str(piece)
            yield from text.splitlines()


def _visible_lines(path):
    """Return the normalized lines a reader of this file could see."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".ipynb":
        lines = _notebook_lines(read_notebook(path))
    elif path.suffix == ".html":
        lines = html_module.unescape(re.sub(r"<[^>]+>", "", text)).splitlines()
    else:
        lines = text.splitlines()
    return {_normalize(line) for line in lines}


def _markdown_solution_lines(notebook):
    """Return the lines that stripping removes from a notebook's markdown cells."""
    found = set()
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else source
        kept = set(strip_markdown_solutions(text)[0].splitlines())
        found |= {line for line in text.splitlines() if line not in kept}
    return found


def solution_texts(instructor, public_lines=frozenset()):
    """Return the solution lines worth searching for in the built student book.

    A line counts when it is at least ``MIN_LEAK_LENGTH`` characters long and
    is not also a line of the student sources or their outputs: a line the
    chapter itself shows (the package's own code, say) gives nothing away.
    """
    lines = set()
    for notebook in instructor.values():
        lines |= solution_lines(notebook) | _markdown_solution_lines(notebook)
    candidates = {_normalize(line) for line in lines}
    return sorted(
        line for line in candidates
        if len(line) >= MIN_LEAK_LENGTH and line not in public_lines
        and not line.startswith((":::", "```", ":class:", ":label:"))
    )


def find_leaks(html, instructor, public_lines=frozenset()):
    """Return every solution text found in the built HTML or the notebooks.

    Each file is searched for the solution markers and directives, and for
    every line of ``solution_texts`` as a whole line of what it shows.
    """
    texts = solution_texts(instructor, public_lines)
    problems = []
    files = [p for p in html.rglob("*") if p.is_file() and p.suffix in TEXT_SUFFIXES]
    files += sorted(NOTEBOOKS.glob("*.ipynb"))
    for path in files:
        if "vendor" in path.parts or "mathjax" in path.parts:
            continue
        where = path.relative_to(STUDENT)
        raw = path.read_text(encoding="utf-8", errors="replace")
        for problem in solution_leftovers(raw):
            problems.append(f"{where}: {problem}")
        visible = _visible_lines(path)
        for line in texts:
            if line in visible:
                problems.append(f"{where}: solution text {line!r}")
    return sorted(set(problems))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-build", action="store_true",
                        help="only write the stripped sources and notebooks")
    args = parser.parse_args(argv)
    instructor, public_lines = prepare_sources()
    print(f"student notebooks written to {NOTEBOOKS}")
    if args.no_build:
        return 0
    html = build()
    leaks = find_leaks(html, instructor, public_lines)
    if leaks:
        print("solution text found in the student edition:", file=sys.stderr)
        for leak in leaks[:50]:
            print(f"  {leak}", file=sys.stderr)
        return 1
    print(f"The student edition is at {html / 'index.html'}; no solution text found.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
