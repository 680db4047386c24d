# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The console's front-end files: the State's design system (DSFR) it serves, axe-core for its tests.
# Pinned in services/console/package.json; `npm ci` checks each tarball against the integrity hash
# of package-lock.json, and check-assets.sh holds the lock to the published hashes below.
CONSOLE   := services/console
ASSETS    := $(CONSOLE)/node_modules/.installed
DSFR_VERSION   := 1.15.3
DSFR_INTEGRITY := sha512-R9AALZc1LfZjtytWZMOaUIOHWTkllBZ/sZlsL8TpKZVgF3qUKXt/uNYh+L1D1Fh4p92ZqWxbtNcebsigBZe5pQ==
AXE_VERSION    := 4.14.1
AXE_INTEGRITY  := sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==

.PHONY: assets install run lint test test-unit test-integration test-e2e chaos scenarios bench bench-quick bench-ready profile clean

$(STAMP): pyproject.toml
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

$(ASSETS): $(CONSOLE)/package.json $(CONSOLE)/package-lock.json
	$(CONSOLE)/check-assets.sh @gouvfr/dsfr $(DSFR_VERSION) $(DSFR_INTEGRITY)
	$(CONSOLE)/check-assets.sh axe-core $(AXE_VERSION) $(AXE_INTEGRITY)
	cd $(CONSOLE) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

assets: $(ASSETS)

install: $(STAMP) $(ASSETS)

run: $(STAMP) $(ASSETS)
	$(BIN)/aap up

# ruff (lint and format) and mypy (strict on aap_contract/ and every services/*/domain.py).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint $(ASSETS)
	$(BIN)/pytest -q -rs

test-unit: $(STAMP) $(ASSETS)
	$(BIN)/pytest -q tests/unit

test-integration: $(STAMP) $(ASSETS)
	$(BIN)/pytest -q tests/integration

test-e2e: $(STAMP) $(ASSETS)
	$(BIN)/pytest -q tests/e2e

# The fault suite (tests/chaos, a few minutes): services SIGKILLed, the broker killed, a cluster
# losing its stream leader, two instances of each, SMTP down; figures in tests/chaos/results.json.
chaos: $(STAMP) $(ASSETS)
	AAP_CHAOS=1 $(BIN)/pytest -q -rs tests/chaos

scenarios: $(STAMP)
	@for f in tests/scenarios/*.json; do echo "== $$f"; $(BIN)/aap scenario run $$f > /dev/null || exit 1; done

$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]' > /dev/null 2>&1
	@touch $@

# The whole system measured (bench/system.py): one table, and bench/results.json. ~5 min; bench-quick ~1 min.
bench: $(VENV)/.bench-installed $(ASSETS)
	$(BIN)/python -m bench.system $(BENCH_ARGS)
	$(BIN)/python -m bench.console

bench-quick:
	$(MAKE) bench BENCH_ARGS=--quick

# Time to ready at 1 000 000 events, with and without a view snapshot (bench/ready.py; READY_ARGS=200000 for less).
bench-ready: $(VENV)/.bench-installed
	$(BIN)/python -m bench.ready $(READY_ARGS)

# Flame graphs (py-spy) of services under the intake load: bench/profiles/<service>.svg.
profile: $(VENV)/.bench-installed
	$(BIN)/python -m bench.profile $(PROFILE_ARGS)

clean:
	rm -rf $(VENV) .aap .pytest_cache $(CONSOLE)/node_modules
