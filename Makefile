# NEXON developer entry points. `make serve` and `make test` set up everything they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv serve test lint typecheck clean mongoeco-venv

venv: $(STAMP)

$(STAMP): pyproject.toml setup.py $(wildcard protos/*.proto)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	$(BIN)/python -m pip install -q --no-deps 'silero-vad==6.2.3'  # its ONNX files, without torch
	touch $@

serve: venv
	$(BIN)/nexon serve

lint: venv
	$(BIN)/ruff check nexon tests

typecheck: venv
	$(BIN)/mypy

# The MongoDB-protocol server the GridFS tests talk to (mongoeco needs Python 3.13; its own venv).
MONGOECO_VENV ?= .venv-mongoeco
PYTHON313 ?= $(shell p=$$(pyenv prefix 3.13.0 2>/dev/null)/bin/python3.13; test -x "$$p" && echo "$$p" || command -v python3.13)

mongoeco-venv: $(MONGOECO_VENV)/.installed

$(MONGOECO_VENV)/.installed:
	@test -n "$(PYTHON313)" || { echo "mongoeco needs Python 3.13: pyenv install 3.13.0, or set PYTHON313" >&2; exit 1; }
	test -x $(MONGOECO_VENV)/bin/python || $(PYTHON313) -m venv $(MONGOECO_VENV)
	$(MONGOECO_VENV)/bin/python -m pip install -q 'mongoeco[wire]==4.11.0'
	touch $@

test: venv lint typecheck mongoeco-venv
	$(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(MONGOECO_VENV) nexon/stubs build *.egg-info
