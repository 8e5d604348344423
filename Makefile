# Shibei Attract — every target installs what it needs into .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## run: build the demo universe (200,000 candidates) into .attract/demo and print its summary
run: install
	$(BIN)/attract demo

## test: lint (ruff), types (mypy --strict) and the test suite (pytest)
test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

## bench: benchmarks of DESIGN.md's table; prints a table, writes bench/results/*.json
bench: install
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .attract .pytest_cache .mypy_cache .ruff_cache
