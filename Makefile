# The two commands (see README): `make demo` and `make test`. Everything else is detail.
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
SESSION ?= resolvedkit-btc15m

.PHONY: demo test lint typecheck pytest system-deps bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

## demo: install, import the bundled real session (resolvedkit BTC 15m), replay it, print the summary
demo: $(VENV)/.installed
	$(BIN)/polyarb import resolvedkit
	$(BIN)/polyarb demo --session $(SESSION)

## system-deps: Debian packages the tests need (browser, node for the local chain); idempotent
system-deps:
	bash scripts/install-system-deps.sh

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check polyarb tests benchmarks
	$(BIN)/ruff format --check polyarb tests benchmarks

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

pytest: $(VENV)/.installed-dev
	$(BIN)/pytest

## test: install everything (venv, dev extras, system packages), lint, type-check, run all tests
test: $(VENV)/.installed-dev system-deps lint typecheck pytest

## bench: run the benchmarks (they print measured ratios; never part of `make test`)
bench: $(VENV)/.installed-dev
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
