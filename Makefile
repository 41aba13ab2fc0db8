# NEXON developer entry points. `make serve` and `make test` set up everything they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv serve test lint typecheck clean mongoeco-venv system-deps web

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
	$(BIN)/ruff check nexon tests bench

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

# Debian packages the tests drive: Chromium for the UI tests, docker-compose to validate compose.yaml.
system-deps:
	@if ! command -v docker-compose >/dev/null 2>&1 || ! test -x /usr/bin/chromium; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose chromium fonts-dejavu-core >/dev/null; \
	  else \
	    echo "the tests need Debian's chromium and docker-compose: sudo apt-get install chromium docker-compose" >&2; exit 1; \
	  fi; \
	fi

web/node_modules/.installed: web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

# The web UI: built (served by nexon serve from web/dist) and its Vitest unit tests.
web: web/node_modules/.installed
	cd web && npm run build && npm test

test: venv lint typecheck mongoeco-venv system-deps web
	$(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(MONGOECO_VENV) nexon/stubs build *.egg-info web/node_modules web/dist
