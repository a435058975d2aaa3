# The two front-door commands (see README):
#   make run   - install everything pinned and start the whole embedded stack
#   make test  - install everything pinned and run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-requirements

.PHONY: install run test stack clean-data screenshots guides

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

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

run: install guides
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m lkk.cli dev run

test: install guides
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest $(PYTEST_ARGS)

clean-data:
	rm -rf var
