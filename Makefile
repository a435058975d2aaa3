# The two front-door commands (see README):
#   make run   - install everything pinned and start the whole embedded stack
#   make test  - install everything pinned and run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-requirements

.PHONY: install run test bench stack clean-data

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

run: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m lkk.cli dev run

test: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest $(PYTEST_ARGS)

# Figures against the limits and the peer; writes docs/performance.md (about 8 min at
# the defaults on 2 cores). Smaller: make bench BENCH_ARGS="--duration 5 --pending 500"
BENCH_ARGS ?=
bench: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m bench.run $(BENCH_ARGS)

clean-data:
	rm -rf var
