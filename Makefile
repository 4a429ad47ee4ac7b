# Setup, demo and tests for a fresh machine with Python 3.11 and nothing else.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
# Kedro telemetry stays off for every command started from here.
export KEDRO_DISABLE_TELEMETRY := 1
export DO_NOT_TRACK := 1

.PHONY: setup demo test lint

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e ".[test]"
	touch $@

demo: setup
	$(BIN)/kedro run --env demo --pipelines demo

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check src tests
