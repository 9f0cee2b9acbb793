# speech-lrp: the two-command promise.
#   make test   -> creates .venv, installs everything, builds the smoke book, runs the whole test suite
#   make book   -> creates .venv, installs everything, builds the book into _build/html
#   make pdf    -> the same book, also as one PDF: _build/speech-lrp.pdf (printed by Chromium, offline)
#   make student -> the classroom edition: student book, student notebooks, offline autograders
# For everyday development: make unit -> the unit tests alone (no book, no notebooks, no browser).
# Variables: PYTHON (interpreter used to create the venv), PROFILE (smoke | cpu | paper).

PYTHON  ?= python3.11
VENV    := .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip
STAMP   := $(VENV)/.installed
PROFILE ?= cpu

.PHONY: all install test unit book pdf student benchmark tools data clean distclean

all: test

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=/path/to/python3.11 ...'" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Re-install whenever the package list changes. pyproject.toml pins the torch trio
# (torch/torchaudio 2.9.1, torchvision 0.24.1 for the test oracle Zennit) and jupyter-book<2.
$(STAMP): $(PY) pyproject.toml
	$(PIP) install --progress-bar off -e '.[test,book]'
	@touch $(STAMP)

install: $(STAMP)

# The smoke-profile book that the browser check looks at (kept apart from _build/html). It is built
# on the CPU, like the nbval references (tests/nbval/regenerate.py): their re-execution loads the
# models this build trains, so a GPU here must not change the checked numbers.
TEST_BOOK := _build/test

# The smoke book, its student edition (_build/test/student/html, from the same executed chapters)
# and its PDF (where Chromium is installed), then one pytest session over tests/: the unit tests, the nbval
# references (the nbval flags are in pyproject.toml's addopts, so a plain `pytest` does the same),
# the book in headless Chromium and the PDF read back by poppler.
test: $(STAMP) tools
	$(PY) book/build.py --profile smoke --device cpu --output $(TEST_BOOK) --student $$(command -v chromium >/dev/null && echo --pdf)
	SPEECH_LRP_BOOK_HTML=$(TEST_BOOK)/html SPEECH_LRP_BOOK_PDF=$(TEST_BOOK)/speech-lrp.pdf $(PY) -m pytest tests

# The unit tests alone: no book build, no nbval references, no browser.
unit: $(STAMP)
	$(PY) -m pytest tests --ignore=tests/nbval --ignore=tests/test_book_browser.py

# Debian's Chromium (the rendered-book check, printing the PDF) and poppler-utils (reading the PDF
# back), where apt-get is available (as on CI).
tools:
	@{ command -v chromium && command -v pdftoppm; } >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils >/dev/null; \
	  else \
	    echo "note: Chromium or poppler-utils is missing and cannot be installed here; the PDF cannot be printed and the browser and PDF checks will be skipped (install the 'chromium' and 'poppler-utils' packages)"; \
	  fi; }

book: $(STAMP)
	$(PY) book/build.py --profile $(PROFILE)

pdf: $(STAMP) tools
	$(PY) book/build.py --profile $(PROFILE) --pdf

# The classroom edition (issue 13), under _build/student/: notebooks/ (one student notebook per
# assignment of assignments/, solutions stripped), autograder/ (one otter-grader autograder zip per
# assignment; grade offline: otter run -a _build/student/autograder/NAME.zip SUBMISSION.ipynb),
# solutions/ (the reference solutions) and html/ (the student book: the PROFILE book without
# solutions, built from the chapters `make book` executed when they are there, executed otherwise).
STUDENT := _build/student

student: $(STAMP)
	$(PY) -m lrp_utils.classroom assign assignments $(STUDENT)
	$(PY) book/build.py --profile $(PROFILE) --student --no-html \
	  $$(grep -qs 'built with profile \*\*`$(PROFILE)`\*\*' _build/source/book/executed/run.md && echo --reuse-executed)

benchmark: $(STAMP)
	$(PY) benchmarks/lrp_speed.py

# The real corpora, for users with internet (about 1 GB + 0.5 GB of downloads; each is verified and
# installed only when complete, and an interrupted download resumes when re-run).
data: $(STAMP)
	$(PY) -m data_scripts.audiomnist --dest data/audiomnist
	$(PY) -m data_scripts.speechocean762 --dest data/speechocean762

clean:
	rm -rf _build .pytest_cache

distclean: clean
	rm -rf $(VENV) artifacts
