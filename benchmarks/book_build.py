"""Time the book: a full build, an unchanged rebuild, and nbval over every chapter.

A full build starts from an empty output folder, so Jupyter Book executes
every notebook (its execution cache is empty) and writes every page. A
rebuild runs the same command again with nothing changed: the notebooks come
from the cache and Sphinx rereads no page. A rebuild after a change to
``bpcourse/`` is a full build, since ``tools/package_cache.py`` then clears
the cache. nbval re-runs every notebook and compares its outputs with the
stored ones, on two workers as in the test command.

    .venv/bin/python benchmarks/book_build.py
    .venv/bin/python benchmarks/book_build.py --quick --output /tmp/book.md

Each build writes to a temporary folder (``--path-output``), so the build in
``_build/`` is neither used nor changed. ``--quick`` builds a book of the
introduction and the first chapter instead, and runs nbval on that chapter,
to check that the script runs.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

import _common as common

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
QUICK_CHAPTER = "book/01_forward"
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1"}


def run(command, cwd=ROOT):
    """Run ``command`` and return its wall time in seconds, or raise with its output."""
    # One BLAS thread for the notebooks, as in the Makefile: with two cores,
    # two workers of two threads each would compete for them.
    env = {**os.environ, **ONE_THREAD}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        tail = (done.stdout + done.stderr)[-3000:]
        raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{tail}")
    return seconds


def quick_toc(folder):
    """Write a table of contents with the introduction and one chapter, and return its path."""
    toc = {"format": "jb-book", "root": "book/intro",
           "parts": [{"caption": "Chapters", "numbered": True,
                      "chapters": [{"file": QUICK_CHAPTER}]}]}
    path = folder / "_toc.yml"
    path.write_text(yaml.safe_dump(toc, sort_keys=False), encoding="utf-8")
    return path


def build_command(output, toc=None):
    command = [str(BIN / "jupyter-book"), "build", str(ROOT), "--path-output", str(output)]
    if toc is not None:
        # The quick book links to chapters it leaves out, so warnings are not errors.
        command += ["--toc", str(toc)]
    else:
        command += ["-W", "--keep-going"]
    return command


def nbval_command(notebooks):
    return [str(BIN / "python"), "-m", "pytest", "--nbval", *notebooks,
            "--nbval-sanitize-with", "tests/nbval_sanitize.cfg", "-p", "no:cacheprovider",
            "-q", "-n", "2", "--dist", "loadfile"]


def count_pages(html):
    """Count the chapter and guide pages, leaving out the index, search and redirect pages."""
    return len(list((html / "book").glob("*.html")))


def _notebooks(count):
    return f"{count} notebook" + ("" if count == 1 else "s")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="build the introduction and one chapter only; writes no "
                             "table unless --output is given")
    parser.add_argument("--rebuilds", type=int, default=3,
                        help="unchanged rebuilds to time (default 3)")
    parser.add_argument("--output", type=Path, default=None,
                        help="where to write the Markdown table")
    args = parser.parse_args(argv)
    os.environ.update(ONE_THREAD)
    threads = common.Threads(1)
    output = common.output_path(args, "book_build")

    with tempfile.TemporaryDirectory(prefix="bench-book-") as folder:
        folder = Path(folder)
        toc = quick_toc(folder) if args.quick else None
        target = folder / "build"
        full = run(build_command(target, toc))
        html = target / "_build" / "html"
        pages = count_pages(html)
        print(f"full build: {full:.1f} s ({pages} pages)")
        rebuilds = np.array([run(build_command(target, toc)) for _ in range(args.rebuilds)])
        q50, q25, q75 = common.median_spread(rebuilds)
        print(f"unchanged rebuild: {q50:.1f} s (25th–75th percentile {q25:.1f}–{q75:.1f} s, "
              f"{args.rebuilds} runs)")

    if args.quick:
        notebooks = [f"{QUICK_CHAPTER}.ipynb"]
    else:
        notebooks = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "book").glob("*.ipynb"))
    nbval = run(nbval_command(notebooks))
    print(f"nbval: {nbval:.1f} s ({_notebooks(len(notebooks))}, 2 workers)")
    print(f"ratio full build / unchanged rebuild: {full / q50:.1f}")

    rows = [
        ["full build (every notebook executed)", f"{full:.1f}",
         f"{pages} pages"],
        [f"unchanged rebuild (median of {args.rebuilds})",
         f"{q50:.1f} ({q25:.1f}–{q75:.1f})", "execution cache, no page reread"],
        ["nbval, every cell compared", f"{nbval:.1f}",
         f"{_notebooks(len(notebooks))}, 2 workers"],
    ]
    note = ("Wall time in seconds, with one BLAS thread per process "
            "(`OPENBLAS_NUM_THREADS=1`).")
    if args.quick:
        note += " Quick run: the introduction and the first chapter only."
    common.write_markdown(output, "Building and checking the book",
                          [("", ["step", "seconds", "what"], rows)], threads, note=note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
