# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run lint test test-unit test-integration test-e2e scenarios bench bench-quick profile clean

$(STAMP): pyproject.toml
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/aap up

# ruff (lint and format) and mypy (strict on aap_contract/ and every services/*/domain.py).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q -rs

test-unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

test-integration: $(STAMP)
	$(BIN)/pytest -q tests/integration

test-e2e: $(STAMP)
	$(BIN)/pytest -q tests/e2e

scenarios: $(STAMP)
	@for f in tests/scenarios/*.json; do echo "== $$f"; $(BIN)/aap scenario run $$f > /dev/null || exit 1; done

$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]' > /dev/null 2>&1
	@touch $@

# The whole system measured (bench/system.py): one table, and bench/results.json. ~5 min; bench-quick ~1 min.
bench: $(VENV)/.bench-installed
	$(BIN)/python -m bench.system $(BENCH_ARGS)

bench-quick:
	$(MAKE) bench BENCH_ARGS=--quick

# Flame graphs (py-spy) of services under the intake load: bench/profiles/<service>.svg.
profile: $(VENV)/.bench-installed
	$(BIN)/python -m bench.profile $(PROFILE_ARGS)

clean:
	rm -rf $(VENV) .aap .pytest_cache
