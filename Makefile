# Shibei Attract — every target installs what it needs into .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: install browser postgres run test test-fast lint docs bench load wrk clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## run: build the demo universe, train and promote the models, print the top leads of both
## tracks, simulate the plan period 2021–2025 (pipeline, landings, tax records), check realised
## against predicted tax and print the plan's KPIs, create an analyst API key and serve the API
## and pages on http://127.0.0.1:8000
run: install
	$(BIN)/attract demo
	$(BIN)/attract db upgrade
	$(BIN)/attract train
	$(BIN)/attract promote
	$(BIN)/attract leads --track hq --top 10
	$(BIN)/attract leads --track bigdata --top 10
	$(BIN)/attract demo-history --if-empty
	$(BIN)/attract import table tax_records .attract/demo-history/tax_records.csv --out .attract/demo --append
	$(BIN)/attract monitor
	$(BIN)/attract kpis
	@$(BIN)/attract users create admin --role admin --display-name 'Demo admin' --exist-ok
	@echo "API key (analyst): $$($(BIN)/attract keys create --role analyst --label 'make run' 2>/dev/null | tail -n 1)"
	@echo "pages: http://127.0.0.1:8000/ (sign in as admin)   API docs: http://127.0.0.1:8000/docs"
	$(BIN)/attract serve --host 127.0.0.1 --port 8000

## browser: Debian's chromium + chromium-driver (and CJK fonts) for the browser tests, if missing
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    chromium chromium-driver fonts-noto-cjk >/dev/null; \
	fi

## postgres: Debian's postgresql server programs, for the tests' PostgreSQL run, if missing
postgres:
	@if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    postgresql postgresql-client >/dev/null; \
	fi

## test: lint (ruff), types (mypy --strict) and the test suite (pytest), browser tests included;
## the API, pipeline and reliability tests run on SQLite and on a PostgreSQL server they start;
## two pytest-xdist workers (the machines have two cores; each worker builds its own fixtures)
test: install browser postgres
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -n 2

## test-fast: the edit–test loop: lint and the tests that need neither the trained demo, the
## 200 k demo, PostgreSQL, a browser nor ../shared/data (markers slow, browser, shared_data)
test-fast: install
	$(BIN)/ruff check .
	$(BIN)/pytest -n 2 -m "not slow and not browser and not shared_data"

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

## docs: the guides (docs/, mkdocs.yml) as a static site in site/ — MkDocs, strict (a broken link or
## heading anchor fails), no network; open site/index.html, or serve site/ for the search
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet
	@echo "docs: site/index.html"

## bench: benchmarks of DESIGN.md's table; prints a table, writes bench/results/*.json
bench: install wrk
	$(BIN)/python -m bench.run

## load: the two-minute mixed load (leads, enterprises, chains, outreach writes, pipeline reads
## and updates) against `attract serve` over the 1 M demo; prints throughput, percentiles,
## errors, writes stored; then 8 clients × 50 pipeline leads × 60 s on SQLite and PostgreSQL
load: install wrk postgres
	$(BIN)/python -m bench.run mixed_load pipeline_concurrency

wrk:
	@if ! command -v wrk >/dev/null; then \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	fi

clean:
	rm -rf $(VENV) .attract .pytest_cache .mypy_cache .ruff_cache
