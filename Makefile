# The two front-door commands (see README):
#   make run   - install everything pinned and start the whole embedded stack
#   make test  - install everything pinned and run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-requirements

# The PostgreSQL leg of the tests: on when LKK_TEST_POSTGRES_URL is set, or when a
# server answers on 127.0.0.1:5432 (this project's machines and CI); without one the
# suite runs on SQLite only and says how to enable the leg.
PG_DEFAULT_URL := postgresql+psycopg://postgres@127.0.0.1:5432/test

# Every target here is the embedded stack or a dev tool: say so explicitly, since a
# process without LKK_ENVIRONMENT runs the production guard (a deployment sets its own).
export LKK_ENVIRONMENT ?= development
PG_PROBE := $(BIN)/python -c "import psycopg; psycopg.connect('postgresql://postgres@127.0.0.1:5432/test', connect_timeout=2).close()"

.PHONY: install bytecode run test bench stack clean-data migrate migration docs record-histories screenshots guides

# The dev venv: every pinned package (requirements-dev.txt includes requirements.txt, what
# the image installs) and the project itself, editable and without dependencies, so the
# `lkk` command (.venv/bin/lkk, lkkctl) runs this checkout's code.
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# Temporal's workflow sandbox re-imports the workflow modules for every new run; with
# PYTHONDONTWRITEBYTECODE set (as on these machines and in the image) that meant
# compiling them from source each time, a quarter of the worker's CPU under load.
# Stale bytecode is only ignored, never wrong. The image does the same (Dockerfile).
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q workflows activities lkk lkkctl api devstack worker.py

# Screenshots of every page (docs/img, for the README and the PDF guides) are taken
# from the real product in Chromium whenever a page's template, style or the walk
# changes, so the guides never drift from the pages. The PDFs themselves are built
# by the API from docs/guides/*.md + docs/img at start-up; `guides` also writes them
# to var/guides for a look.
SCREENSHOT_INPUTS := $(wildcard api/templates/*.html api/static/*) docs/tools/screenshots.py tests/browser/harness.py
SCREENSHOT_STAMP := docs/img/.generated

$(SCREENSHOT_STAMP): $(SCREENSHOT_INPUTS) | $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python docs/tools/screenshots.py docs/img
	touch $@

screenshots: $(SCREENSHOT_STAMP)

guides: screenshots
	$(BIN)/python -m lkk.guides.build var/guides

# The API builds the PDF guides at start-up from docs/guides/*.md and the committed
# screenshots, so starting the stack needs no browser. devstack/ is the embedded stack
# (never in the image); the admin commands are `.venv/bin/lkk …` (lkkctl).
run: install bytecode
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m devstack run

test: install guides
	@if [ -z "$$LKK_TEST_POSTGRES_URL" ] && $(PG_PROBE) 2>/dev/null; then \
	  export LKK_TEST_POSTGRES_URL="$(PG_DEFAULT_URL)"; fi; \
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest $(PYTEST_ARGS)

# Figures against the limits and the peer; writes docs/performance.md (2 h or more at the
# defaults on 2 cores: the pending curve and the mass expiry dominate). A quick look:
# make bench BENCH_ARGS="--duration 3 --repeats 3 --pending-curve 200,400 --mass-expiry 300 --skip-peer"
BENCH_ARGS ?=
bench: install bytecode
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m bench.run $(BENCH_ARGS)

# Migrate LKK_DATABASE_URL (default: the embedded SQLite) to the newest schema.
migrate: install
	$(BIN)/python -m lkkctl db upgrade

# After changing models: make migration m="what changed" (then review the file).
migration: install
	$(BIN)/python -m lkkctl db revision -m "$(m)"

# After changing lkk/settings.py: regenerate docs/configuration.md.
docs: install
	$(BIN)/python -m lkkctl.configdoc --write

# Re-record the determinism guard's histories (tests/histories, docs/ops.md).
record-histories: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m tests.histories.record

clean-data:
	rm -rf var
