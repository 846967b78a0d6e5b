"""Copy the JavaScript the book serves itself from node_modules into book/vendor.

The folder is deliberately not called ``_static``: Jupyter Book adds every
``.js`` and ``.css`` file under a ``_static`` folder to every page.  The
files land in ``_build/html/_static/`` through ``html_static_path``.

Run after ``npm ci``; ``make assets`` does both.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE = ROOT / "node_modules"
VENDOR = ROOT / "book" / "vendor"

# (source under node_modules, destination under book/vendor, files to skip)
COPIES = [
    # MathJax 3 loads its components and fonts relative to its own file.
    ("mathjax/es5", "mathjax", ()),
    ("@jupyter-widgets/html-manager/dist", "html-manager", ("*.map", "embed.js", "libembed-amd.js")),
    ("requirejs/require.js", "requirejs/require.js", ()),
]


def main() -> int:
    if not NODE.is_dir():
        print("node_modules not found: run 'make assets' (or 'npm ci') first", file=sys.stderr)
        return 1
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    for src, dst, skip in COPIES:
        source = NODE / src
        target = VENDOR / dst
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns(*skip))
        else:
            shutil.copy2(source, target)
    files = sum(1 for p in VENDOR.rglob("*") if p.is_file())
    print(f"copied {files} files into {VENDOR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
