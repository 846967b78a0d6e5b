import fcntl
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

# The tests import their helpers (reference implementations) as plain modules.
sys.path.insert(0, str(Path(__file__).parent))


# --- The built book, shared by test_book_build.py and test_browser.py --------

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build"
# The flags of 'make book': warnings are errors and every page is re-read.
JB_BUILD = [str(ROOT / ".venv" / "bin" / "jupyter-book"), "build", "-W", "--keep-going", "--all"]


def toc_docnames(toc: Path = ROOT / "_toc.yml") -> list[str]:
    """Every page of a jb-book _toc.yml, root first, e.g. 'book/intro'."""
    data = yaml.safe_load(toc.read_text())
    names = [data["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                names.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    walk(data.get("chapters"))
    for part in data.get("parts") or []:
        walk(part.get("chapters"))
    return [str(Path(n).with_suffix("")) for n in names]


@pytest.fixture(scope="session")
def book_html() -> Path:
    """Build the book once per session, as 'make book' does, and return _build/html."""
    if not (ROOT / "book" / "vendor" / ".copied").exists():
        pytest.fail("book/vendor is missing: run 'make assets' first")
    BUILD.mkdir(exist_ok=True)
    # One build at a time, also under pytest-xdist.
    with open(BUILD / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        # Start from an empty html folder so that no page of an earlier toc is left.
        # Executed notebooks stay in _build/.jupyter_cache.
        shutil.rmtree(BUILD / "html", ignore_errors=True)
        done = subprocess.run(
            [*JB_BUILD, "."], cwd=ROOT, capture_output=True, text=True
        )
    if done.returncode != 0:
        pytest.fail(f"the book build failed:\n{done.stdout[-6000:]}\n{done.stderr[-6000:]}")
    return BUILD / "html"


# --- Equation labels, shared by the test_exercises_*.py files -----------------


def equation_labels(path: Path) -> list[str]:
    """Return a notebook's equation labels in the order the page numbers them.

    A labelled display equation opens with a line such as ``$$ (eq-bptt-dh)``.
    """
    notebook = json.loads(path.read_text(encoding="utf-8"))
    markdown = "\n".join(
        "".join(cell["source"]) for cell in notebook["cells"]
        if cell["cell_type"] == "markdown"
    )
    label = r"^\$\$ \((eq-[a-z0-9-]+)\)$"
    return re.findall(label, markdown, flags=re.MULTILINE)
