# NEXON developer entry points. `make serve` and `make test` set up everything they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv serve test lint typecheck clean

venv: $(STAMP)

$(STAMP): pyproject.toml setup.py $(wildcard protos/*.proto)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

serve: venv
	$(BIN)/nexon serve

lint: venv
	$(BIN)/ruff check nexon tests

typecheck: venv
	$(BIN)/mypy

test: venv lint typecheck
	$(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) nexon/stubs build *.egg-info
