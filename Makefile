# Gatehouse: `make run` serves the demo on the embedded default, `make test` runs the suite.
# Everything installs into .venv from the hash-checked lock files in requirements/.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Extra pytest arguments, e.g. `make test PYTEST_ARGS="-x identity"`; SDK_PYTEST_ARGS for sdk/'s suite.
PYTEST_ARGS ?=
SDK_PYTEST_ARGS ?=
# pytest-xdist workers for `make test` (one per core by default); PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= auto
# Extra pip-compile arguments, e.g. `make lock PIP_COMPILE_ARGS=--upgrade`.
PIP_COMPILE_ARGS ?=
PIP_COMPILE := $(BIN)/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe \
	--no-emit-index-url --no-emit-find-links $(PIP_COMPILE_ARGS)

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help run test test-all lint lint-imports typecheck lock demo-rp

help:
	@echo "make run       serve the demo at http://localhost:\$${PORT:-8000} (granian + Celery worker with beat)"
	@echo "make demo-rp   a demo app at http://127.0.0.1:\$${DEMO_RP_PORT:-4003} that signs in with \`make run\`'s Gatehouse (same PORT)"
	@echo "              and the demo Orders API it calls, at http://127.0.0.1:\$${DEMO_API_PORT:-4005}"
	@echo "make test      the tests that need nothing but Python (no browser, no services)"
	@echo "make test-all  every test, markers included (needs PostgreSQL, Redis, Chromium: see .ci/run)"
	@echo "make lint      ruff"
	@echo "make typecheck mypy with django-stubs on the production code ([tool.mypy] in pyproject.toml)"
	@echo "make lint-imports  import-linter: no import cycles, models and services below the views ([tool.importlinter])"
	@echo "make lock      regenerate requirements/main.txt and requirements/dev.txt from pyproject.toml"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# A stamp per lock file: pip runs again only when the lock file is newer than its stamp.
$(VENV)/.installed-main: requirements/main.txt | $(BIN)/python
	@echo "Installing requirements/main.txt into $(VENV)"
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/main.txt
	@touch $@

$(VENV)/.installed-dev: requirements/dev.txt | $(BIN)/python
	@echo "Installing requirements/dev.txt into $(VENV)"
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.txt
	@touch $@

run: $(VENV)/.installed-main
	$(BIN)/python bin/run-embedded

# The demo relying party (demo/rp.py): Authlib is a dev dependency. It finds Gatehouse at
# GATEHOUSE_ISSUER, else http://localhost:$PORT as `make run` does; DEMO_RP_PORT moves it off 4003.
# It also serves the demo Orders API (demo/orders_api.py, gatehouse-sdk from sdk/src, PyJWT from the dev
# lock) in a thread on 127.0.0.1:${DEMO_API_PORT:-4005}; Ctrl-C stops both.
demo-rp: $(VENV)/.installed-dev
	$(BIN)/python -m demo.rp

# Gatehouse's suite, then gatehouse-sdk's (sdk/, its own pytest configuration and Django settings, so a
# second invocation from sdk/). PYTEST_ARGS goes to the first, SDK_PYTEST_ARGS (paths relative to sdk/)
# to the second. pytest exits 5 when it collected nothing (say, a PYTEST_ARGS path with no tests):
# report it, don't fail. Both suites always run; a failure in either fails the target.
define pytest
	@status=0; $(BIN)/pytest $(1) $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest: no test collected (exit 5); nothing failed"; status=0; fi; \
	sdk=0; (cd sdk && ../$(BIN)/pytest -q $(SDK_PYTEST_ARGS)) || sdk=$$?; \
	if [ $$sdk -eq 5 ]; then echo "pytest (sdk): no test collected (exit 5); nothing failed"; sdk=0; fi; \
	if [ $$status -ne 0 ]; then exit $$status; fi; \
	exit $$sdk
endef

# `make test` runs on every core (pytest-xdist). Each worker is its own process with its own test
# database, caches and temporary folders; worksteal hands a worker tests from another's queue when its
# own runs out, so one slow file does not hold the run up.
# Bytecode is cached even where the environment sets PYTHONDONTWRITEBYTECODE: without it every worker and
# every manage.py subprocess compiles the project again, and pytest rewrites each test module's asserts
# again (~7 s a worker). The __pycache__ folders are gitignored.
test test-all: export PYTHONDONTWRITEBYTECODE :=
test: $(VENV)/.installed-dev
	$(call pytest,-q -m "not browser and not services" -n $(PYTEST_WORKERS) --dist worksteal)

# One process: the services tests share Redis databases 0 (the cache, which some tests clear) and 1 (the
# broker), so parallel workers would disturb each other's counters and queues.
test-all: $(VENV)/.installed-dev
	$(call pytest,-q)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

lint-imports: $(VENV)/.installed-dev
	$(BIN)/lint-imports --no-cache

lock: $(VENV)/.installed-dev
	$(PIP_COMPILE) --output-file=requirements/main.txt pyproject.toml
	$(PIP_COMPILE) --extra=dev --output-file=requirements/dev.txt pyproject.toml
	@! grep -nE '^--(index-url|extra-index-url|find-links)|file://' requirements/*.txt || \
		{ echo "make lock: a lock file names a local index; it must not be committed"; exit 1; }
