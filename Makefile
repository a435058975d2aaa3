# The two front-door commands (see README):
#   make run   - install everything pinned and start the whole embedded stack
#   make test  - install everything pinned and run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-requirements

.PHONY: install run test stack clean-data record-histories

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

# Re-record the determinism guard's histories (tests/histories, docs/ops.md).
record-histories: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m tests.histories.record

clean-data:
	rm -rf var
