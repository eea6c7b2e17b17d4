# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

BENCH_VENV  ?= .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed

.PHONY: install demo test lint crawl bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,fast-sqlite]'
	touch $(STAMP)

install: $(STAMP)

## Main job on the loopback replica: serve it, crawl it, show the archive and a search.
demo: $(STAMP)
	$(BIN)/kantkg demo

## The test suite (lint first: it is quick and catches breakage early).
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

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
	rm -rf $(VENV) $(BENCH_VENV) build *.egg-info
