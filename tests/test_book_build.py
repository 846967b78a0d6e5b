"""The book builds with -W, and the built HTML is complete and self-contained."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from bs4 import BeautifulSoup
from conftest import JB_BUILD, ROOT, toc_docnames

pytestmark = pytest.mark.book

# <link rel=...> values that are navigation, not something the page loads.
NAVIGATION_RELS = {
    "index", "search", "next", "prev", "previous", "canonical", "alternate",
    "author", "license", "help", "first", "last", "up", "top", "contents",
    "start", "glossary", "copyright",
}
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)|@import\s+['"]([^'"]+)['"]""")


def html_pages(html: Path) -> list[Path]:
    """Return the pages of the book, leaving out the theme's HTML templates in _static."""
    return sorted(p for p in html.rglob("*.html") if "_static" not in p.relative_to(html).parts)


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def is_remote(url: str) -> bool:
    """Return True for a URL that a browser would fetch from another host."""
    url = url.strip()
    return url.startswith("//") or urlsplit(url).scheme in {"http", "https", "ftp", "ws", "wss"}


def local_target(page: Path, url: str) -> Path:
    """Return the file that a relative URL in ``page`` points at."""
    return (page.parent / unquote(urlsplit(url).path)).resolve()


def css_urls(text: str) -> list[str]:
    """Return the targets of every url() and @import in CSS text."""
    return [url or imported for url, imported in CSS_URL.findall(text)]


def loaded_urls(page: Path) -> list[tuple[str, str]]:
    """Return (kind, url) for every script, stylesheet, font, image and frame the page loads."""
    doc = soup(page)
    found = []
    for tag in doc.find_all(["script", "img", "iframe", "source", "video", "audio", "embed"]):
        for attr in ("src", "srcset", "poster", "data"):
            value = tag.get(attr)
            if value:
                for part in value.split(",") if attr == "srcset" else [value]:
                    found.append((f"<{tag.name} {attr}>", part.strip().split(" ")[0]))
    for tag in doc.find_all("link", href=True):
        rels = {r.lower() for r in tag.get("rel", [])}
        if not rels or not rels <= NAVIGATION_RELS:
            found.append((f"<link rel={' '.join(sorted(rels))}>", tag["href"]))
    for tag in doc.find_all("style"):
        found += [("<style> url()", url) for url in css_urls(tag.get_text())]
    for tag in doc.find_all(style=True):
        found += [("style= url()", url) for url in css_urls(tag["style"])]
    return found


def test_every_toc_page_is_built(book_html):
    assert (book_html / "index.html").is_file()
    missing = [d for d in toc_docnames() if not (book_html / f"{d}.html").is_file()]
    assert not missing, f"pages in _toc.yml that were not built: {missing}"


def test_no_page_outside_the_toc_is_built(book_html):
    expected = {f"{d}.html" for d in toc_docnames()}
    expected |= {"index.html", "genindex.html", "search.html"}
    built = {p.relative_to(book_html).as_posix() for p in html_pages(book_html)}
    assert built - expected == set()


def test_math_is_left_for_mathjax(book_html):
    intro = soup(book_html / f"{toc_docnames()[0]}.html")
    assert intro.select("span.math, div.math"), "the intro page has no math"
    for page in html_pages(book_html):
        doc = soup(page)
        if not doc.select("span.math, div.math"):
            continue
        scripts = [s["src"] for s in doc.find_all("script", src=True) if "mathjax" in s["src"]]
        assert scripts, f"{page.name} has math but does not load MathJax"
        for src in scripts:
            assert not is_remote(src), f"{page.name} loads MathJax from {src}"
            assert local_target(page, src).is_file(), f"{page.name}: {src} is missing"


def test_mathjax_has_its_components_and_fonts(book_html):
    mathjax = book_html / "_static" / "mathjax"
    assert (mathjax / "tex-mml-chtml.js").is_file()
    assert list((mathjax / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
    assert (mathjax / "input" / "tex" / "extensions" / "ams.js").is_file()


def test_images_exist_on_disk(book_html):
    broken = []
    for page in html_pages(book_html):
        for img in soup(page).find_all("img", src=True):
            src = img["src"]
            if src.startswith("data:"):
                continue
            if is_remote(src) or not local_target(page, src).is_file():
                broken.append(f"{page.relative_to(book_html)}: {src}")
    assert not broken, "images that are missing or on another host:\n" + "\n".join(broken)


def test_nothing_is_loaded_from_another_host(book_html):
    remote = [
        f"{page.relative_to(book_html)}: {kind} {url}"
        for page in html_pages(book_html)
        for kind, url in loaded_urls(page)
        if is_remote(url)
    ]
    for css in sorted(book_html.rglob("*.css")):
        for url in css_urls(css.read_text(encoding="utf-8", errors="replace")):
            if is_remote(url):
                remote.append(f"{css.relative_to(book_html)}: url() {url}")
    assert not remote, "loaded from another host:\n" + "\n".join(remote)


def test_local_scripts_and_stylesheets_exist(book_html):
    missing = []
    for page in html_pages(book_html):
        for kind, url in loaded_urls(page):
            if is_remote(url) or url.startswith(("data:", "#", "blob:")) or not url:
                continue
            if not local_target(page, url).is_file():
                missing.append(f"{page.relative_to(book_html)}: {kind} {url}")
    assert not missing, "\n".join(missing)


def test_widget_state_is_saved_for_every_widget(book_html):
    pages_with_widgets = 0
    for page in html_pages(book_html):
        doc = soup(page)
        views = doc.find_all("script", type="application/vnd.jupyter.widget-view+json")
        if not views:
            continue
        pages_with_widgets += 1
        states = doc.find_all("script", type="application/vnd.jupyter.widget-state+json")
        assert states, f"{page.name} shows widgets but has no saved widget state"
        state = json.loads(states[0].get_text())["state"]
        for view in views:
            model = json.loads(view.get_text())["model_id"]
            assert model in state, f"{page.name}: no state for widget {model}"
        srcs = [s["src"] for s in doc.find_all("script", src=True)]
        assert any("html-manager/embed-amd.js" in s for s in srcs), page.name
        assert any("requirejs/require.js" in s for s in srcs), page.name
    assert pages_with_widgets, "no page of the book shows a widget"


def test_solutions_are_collapsed(book_html):
    for page in html_pages(book_html):
        for solution in soup(page).select("div.solution"):
            assert "dropdown" in solution.get("class", []), f"{page.name}: open solution"


# --- The notebook cache follows the package ----------------------------------

PROBE_NOTEBOOK = {
    "cells": [
        {"cell_type": "markdown", "id": "title", "metadata": {}, "source": "# Probe"},
        {
            "cell_type": "code", "id": "call", "metadata": {}, "execution_count": None,
            "outputs": [], "source": "from bpcourse import _cache_probe\n\n_cache_probe.greet()",
        },
    ],
    "metadata": {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    },
    "nbformat": 4,
    "nbformat_minor": 5,
}


def probe_module(message: str) -> str:
    return f"def greet():\n    print({message!r})\n"


def build_copy(copy: Path, *, reread: bool) -> str:
    """Build the copy; without ``reread`` Sphinx reads only the pages it thinks changed."""
    env = {**os.environ, "PYTHONPATH": str(copy)}  # the kernel imports the copy
    flags = JB_BUILD if reread else [f for f in JB_BUILD if f != "--all"]
    done = subprocess.run([*flags, "."], cwd=copy, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-4000:] + done.stdout[-4000:]
    return done.stdout


def test_changing_the_package_reexecutes_the_notebooks(tmp_path):
    copy = tmp_path / "repo"
    copy.mkdir()
    shutil.copy(ROOT / "_config.yml", copy / "_config.yml")
    shutil.copytree(ROOT / "tools", copy / "tools", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "bpcourse", copy / "bpcourse", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "book" / "static", copy / "book" / "static")
    (copy / "book" / "vendor").mkdir()  # html_static_path must exist; no page here needs it
    (copy / "book" / "probe.ipynb").write_text(json.dumps(PROBE_NOTEBOOK))
    (copy / "_toc.yml").write_text("format: jb-book\nroot: book/probe\n")
    probe = copy / "bpcourse" / "_cache_probe.py"
    page = copy / "_build" / "html" / "book" / "probe.html"

    probe.write_text(probe_module("first message from the package"))
    build_copy(copy, reread=False)
    assert "first message from the package" in page.read_text()

    # Nothing changed: every page is read again, and the outputs come from the cache.
    log = build_copy(copy, reread=True)
    assert "Executing notebook" not in log
    assert "Using cached notebook" in log

    # An incremental build must notice the change in the package on its own.
    probe.write_text(probe_module("second message from the package"))
    log = build_copy(copy, reread=False)
    assert "Executing notebook" in log
    html = page.read_text()
    assert "second message from the package" in html
    assert "first message from the package" not in html


def test_launch_buttons_follow_the_repository_setting(book_html):
    """Every chapter links to Binder, Colab and JupyterHub, all built from repository.url."""
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    repository = config["repository"]["url"].rstrip("/")
    owner_name = urlsplit(repository).path.strip("/")  # e.g. "bpcourse/bpcourse"
    branch = config["repository"]["branch"]
    buttons = config["launch_buttons"]
    chapters = [name for name in toc_docnames() if (ROOT / f"{name}.ipynb").is_file()]
    assert chapters
    for name in chapters:
        links = {a["href"] for a in soup(book_html / f"{name}.html").find_all("a", href=True)}
        notebook = f"{name}.ipynb"
        expected = {
            "Binder": f"{buttons['binderhub_url']}/v2/gh/{owner_name}/{branch}"
                      f"?urlpath=lab/tree/{notebook}",
            "Colab": f"{buttons['colab_url']}/github/{owner_name}/blob/{branch}/{notebook}",
        }
        for service, url in expected.items():
            assert url in links, f"{name}: no {service} link {url}"
        hub = [link for link in links if link.startswith(buttons["jupyterhub_url"])]
        assert len(hub) == 1, f"{name}: no JupyterHub link"
        assert "git-pull?repo=" + repository.replace("https://", "https%3A//") in hub[0]
        assert f"{notebook}&branch={branch}" in hub[0]


def test_binder_installs_the_course():
    """Binder (repo2docker) reads binder/: the pinned requirements, then the package."""
    requirements = (ROOT / "binder" / "requirements.txt").read_text(encoding="utf-8")
    assert requirements.split() == ["-r", "../requirements.txt"]
    post_build = ROOT / "binder" / "postBuild"
    assert os.access(post_build, os.X_OK)
    assert "pip install --no-deps -e ." in post_build.read_text(encoding="utf-8")


def test_colab_installs_the_course_first():
    """Colab opens a chapter without the package, so its first code cell installs it there."""
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    repository = config["repository"]["url"].rstrip("/")
    chapters = [name for name in toc_docnames() if (ROOT / f"{name}.ipynb").is_file()]
    assert chapters
    for name in chapters:
        notebook = json.loads((ROOT / f"{name}.ipynb").read_text(encoding="utf-8"))
        first = next(c for c in notebook["cells"] if c["cell_type"] == "code")
        source = "".join(first["source"])
        assert 'if "google.colab" in sys.modules:' in source, name
        assert f'%pip install --quiet "bpcourse @ git+{repository}"' in source, name
        # Only Colab readers need it: the book leaves it out, elsewhere it does nothing.
        assert "remove-cell" in first["metadata"].get("tags", []), name
        assert first["outputs"] == [], name


def test_colab_cell_is_not_in_the_built_pages(book_html):
    for name in toc_docnames():
        if (ROOT / f"{name}.ipynb").is_file():
            text = (book_html / f"{name}.html").read_text(encoding="utf-8")
            assert "google.colab" not in text, name


def test_every_figure_has_alt_text_and_a_caption(book_html):
    missing = []
    for page in html_pages(book_html):
        article = soup(page).find("article")
        if article is None:
            continue
        for image in article.find_all("img"):
            where = f"{page.relative_to(book_html)}: {image.get('src', '')[-40:]}"
            if not (image.get("alt") or "").strip():
                missing.append(f"{where} has no alt text")
            classes = image.get("class") or []
            if "bp-frames-image" in classes:
                continue  # an explorer: its alt text changes with every frame
            figure = image.find_parent("figure")
            if figure is None or figure.find("figcaption") is None:
                missing.append(f"{where} has no caption")
    assert not missing, "\n".join(missing)


def test_headings_are_in_order(book_html):
    """One h1 a page, and no level skipped on the way down (h2 to h4, say)."""
    wrong = []
    for page in html_pages(book_html):
        article = soup(page).find("article")
        if article is None:
            continue
        levels = [int(h.name[1]) for h in article.find_all(re.compile(r"^h[1-6]$"))]
        name = page.relative_to(book_html)
        if levels.count(1) != 1 or levels[0] != 1:
            wrong.append(f"{name}: levels {levels}")
        wrong += [f"{name}: h{a} followed by h{b}"
                  for a, b in zip(levels, levels[1:]) if b > a + 1]
    assert not wrong, "\n".join(wrong)
