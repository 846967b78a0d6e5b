# Every target sets up what it needs first, so each works on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

# The book: every notebook executed (cached, see tools/package_cache.py),
# warnings are errors, and every page re-read so that no warning is hidden
# by an incremental build.  _build/html is written anew, so no page of an
# earlier table of contents is left in it; executions stay in _build/.jupyter_cache.
JB_FLAGS := -W --keep-going --all
NPM_STAMP := node_modules/.installed

# One BLAS thread: the notebooks' stored outputs were computed so, results do
# not then depend on the machine's thread count, and two processes (the two
# nbval workers) do not fight over the two cores.
export OPENBLAS_NUM_THREADS := 1
VENDOR_STAMP := book/vendor/.copied

.PHONY: venv assets book student live browser-deps test bench freeze clean

$(INSTALLED): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

venv: $(INSTALLED)

# JavaScript the book serves itself (MathJax 3, the ipywidgets HTML manager,
# RequireJS), pinned in package-lock.json and copied into book/vendor.
$(NPM_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

$(VENDOR_STAMP): $(NPM_STAMP) tools/vendor_assets.py
	$(PYTHON) tools/vendor_assets.py
	touch $@

assets: $(VENDOR_STAMP)

book: venv assets
	rm -rf _build/html
	$(BIN)/jupyter-book build . $(JB_FLAGS)
	@echo "The book is at $(CURDIR)/_build/html/index.html"

# The student edition: the same book with every solution stripped, checked
# for leftover solution text; the student notebooks land in _build/student.
student: venv assets
	$(BIN)/python tools/student_edition.py

# The chapters with live widgets, served by Voila on 127.0.0.1 (Ctrl-C stops).
live: venv
	$(BIN)/bpcourse live

# Debian's Chromium and its driver, for tests/test_browser.py.
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
		apt-get update && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
			chromium chromium-driver; \
	fi

test: venv assets browser-deps
	$(BIN)/python -m pytest tests/
	$(BIN)/python -m pytest --nbval book/ --nbval-sanitize-with tests/nbval_sanitize.cfg \
		-n 2 --dist loadfile

# Every benchmark, one after another; the tables land in benchmarks/results
# and the book's Benchmarks page includes them.  The BLAS thread setting above
# is lifted, so that the scripts' default is the machine's own.
bench: venv assets
	env -u OPENBLAS_NUM_THREADS $(BIN)/python benchmarks/run_all.py

freeze: venv
	{ head -n 2 requirements.txt; $(BIN)/python -m pip freeze --exclude-editable; } > requirements.new
	mv requirements.new requirements.txt

clean:
	rm -rf _build
