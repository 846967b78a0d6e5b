"""Sphinx extension: make the notebook cache depend on the ``bpcourse`` package.

Jupyter Book's ``execute_notebooks: cache`` keys each notebook on its code
cells only, so editing ``bpcourse`` would leave stale outputs in the book.
This extension hashes every file of the package (next to ``_config.yml``) and

* clears the jupyter cache when the hash differs from the one stored in it, so
  every notebook is executed again, and
* records the hash as a config value that triggers a re-read of every page,
  so Sphinx does not reuse its pickled doctrees either.

It is listed under ``sphinx: local_extensions`` in ``_config.yml``.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

HASH_FILE = "bpcourse-package.sha256"
SKIP_DIRS = {"__pycache__", ".ipynb_checkpoints"}
SKIP_SUFFIXES = {".pyc", ".pyo"}


def package_hash(package: Path) -> str:
    """Return the SHA-256 of the relative path and bytes of every file in ``package``."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        rel = path.relative_to(package)
        if not path.is_file() or path.suffix in SKIP_SUFFIXES:
            continue
        if SKIP_DIRS.intersection(rel.parts):
            continue
        digest.update(rel.as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def cache_folder(app) -> Path:
    """Return the jupyter cache folder, with the same default as myst-nb."""
    configured = app.config.nb_execution_cache_path
    if configured:
        return Path(configured).resolve()
    return Path(app.outdir).parent.joinpath(".jupyter_cache").resolve()


def sync_cache(app, config) -> None:
    package = Path(app.confdir) / "bpcourse"
    current = package_hash(package) if package.is_dir() else "no-package"
    config.bpcourse_package_hash = current

    cache = cache_folder(app)
    stamp = cache / HASH_FILE
    stored = stamp.read_text().strip() if stamp.is_file() else None
    if stored != current:
        if cache.exists():
            logger.info("bpcourse changed: clearing the notebook cache %s", cache)
            shutil.rmtree(cache)
        cache.mkdir(parents=True, exist_ok=True)
        stamp.write_text(current + "\n")


def setup(app):
    # With rebuild="env", a new value makes Sphinx re-read (and so re-execute) all pages.
    app.add_config_value("bpcourse_package_hash", "", rebuild="env")
    # This runs before myst-nb opens the cache, which happens at builder-inited.
    app.connect("config-inited", sync_cache, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
