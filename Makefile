# Every target sets up what it needs first, so each works on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: venv book test freeze clean

$(INSTALLED): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

venv: $(INSTALLED)

test: venv
	$(BIN)/python -m pytest

freeze: venv
	{ head -n 2 requirements.txt; $(BIN)/python -m pip freeze --exclude-editable; } > requirements.new
	mv requirements.new requirements.txt

clean:
	rm -rf _build
