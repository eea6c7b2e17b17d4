# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

BENCH_VENV  ?= .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed

PYWB_VENV    ?= .venv-pywb
PYWB_VERSION := 2.10.0
PYWB_STAMP   := $(PYWB_VENV)/.installed-$(PYWB_VERSION)

.PHONY: install demo test lint crawl bench clean

## What a server needs: kantkg, its SQLite, Datasette; no test or lint tools. pip says
## what it downloads (the first run takes a minute or so).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --progress-bar on -e '.[fast-sqlite,serve]'
	touch $(STAMP)

## ... and the tools of `make test` (pytest, ruff, mypy).
$(DEV_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,fast-sqlite,serve]'
	touch $(DEV_STAMP)

install: $(STAMP)

## Main job on the loopback replica: serve it, crawl it, show the archive and a search.
demo: $(STAMP)
	$(BIN)/kantkg demo

## pywb, which replays `kantkg export --warc` in tests/test_warc_export.py, in a virtualenv
## of its own: its old pins (redis<3, fakeredis, brotlipy, gevent) never reach $(VENV).
$(PYWB_STAMP):
	$(PYTHON) -m venv $(PYWB_VENV)
	$(PYWB_VENV)/bin/pip install --quiet "pywb==$(PYWB_VERSION)"
	touch $(PYWB_STAMP)

## The test suite (lint, format and types first: quick, and they catch breakage early).
## Three workers, a test file each at a time: most of the suite waits on crawls (timeouts,
## back-offs, politeness), so it takes half the time on two cores (11 min -> 6).
test: lint $(PYWB_STAMP)
	$(BIN)/python -m pytest -q -n 3 --dist loadfile

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## Crawl the real kant.kg into data/kant.db (needs internet).
crawl: $(STAMP)
	$(BIN)/scrapy crawl kant

$(BENCH_STAMP): pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/pip install --quiet -e '.[bench,fast-sqlite]'
	touch $(BENCH_STAMP)

## Benchmarks (not tests, never in CI): bench/results/latest.json and latest.md.
bench: $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python bench/run.py

clean:
	rm -rf $(VENV) $(BENCH_VENV) $(PYWB_VENV) build *.egg-info
