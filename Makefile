# Quire: `make demo` and `make test` work on a fresh machine; each builds the venv it needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR := build/demo
PY_SOURCES := backend tests tools celery_worker.py gunicorn.conf.py $(wildcard bench)

.PHONY: venv demo demo-ocr test test-fast test-unit test-integration test-e2e lint typecheck format bench clean browser-deps ocr-deps serve

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

## demo: generate a 64-page French novel and process it end to end in embedded mode
demo: $(STAMP)
	mkdir -p $(DEMO_DIR)
	$(BIN)/python -m backend.demo.sample_book $(DEMO_DIR)/roman-exemple.pdf
	QUIRE_DATA_DIR=$(DEMO_DIR)/quire-data $(BIN)/quire process $(DEMO_DIR)/roman-exemple.pdf \
		--words 8 --pages-per-chunk 8 --overlap 1 --out $(DEMO_DIR)/roman-exemple.sentences.json

## demo-ocr: the same, on an 8-page "scan" of the novel (pages as images, 200 dpi, noise, skew): read by Tesseract
demo-ocr: $(STAMP) ocr-deps
	mkdir -p $(DEMO_DIR)
	$(BIN)/python -m backend.demo.sample_book $(DEMO_DIR)/roman-court.pdf 8
	$(BIN)/python -m backend.demo.scanned_book $(DEMO_DIR)/roman-court.pdf $(DEMO_DIR)/roman-scanne.pdf \
		--dpi 200 --noise 30 --skew 1.5
	QUIRE_DATA_DIR=$(DEMO_DIR)/quire-data $(BIN)/quire process $(DEMO_DIR)/roman-scanne.pdf \
		--words 8 --pages-per-chunk 4 --overlap 1 --out $(DEMO_DIR)/roman-scanne.sentences.json

## browser-deps: headless Chromium + chromedriver for the `browser` tests (Debian packages; root)
## If they cannot be installed the browser tests skip and say so, except under .ci/run (QUIRE_REQUIRE_TOOLS=1), where they fail.
browser-deps:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } \
		|| echo "browser-deps: chromium could not be installed; the browser tests will skip" >&2; \
	else echo "browser-deps: not root, cannot install chromium; the browser tests will skip" >&2; fi

## ocr-deps: Tesseract 5 with its French and English models, for OCR (Debian packages; root)
## The tesserocr wheel brings the library; these bring the models (and the CLI, bench's baseline).
## Without them the OCR tests skip and say so, except under .ci/run (QUIRE_REQUIRE_TOOLS=1), where they fail.
ocr-deps:
	@if command -v tesseract >/dev/null && [ -f /usr/share/tesseract-ocr/5/tessdata/fra.traineddata ] \
		&& [ -f /usr/share/tesseract-ocr/5/tessdata/eng.traineddata ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr tesseract-ocr-fra tesseract-ocr-eng; } \
		|| echo "ocr-deps: tesseract could not be installed; the OCR tests will skip" >&2; \
	else echo "ocr-deps: not root, cannot install tesseract; the OCR tests will skip" >&2; fi

## serve: the dashboard + API in embedded mode (prints its URL)
serve: $(STAMP)
	QUIRE_DATA_DIR=$(DEMO_DIR)/quire-data $(BIN)/quire serve

## test: the whole suite (unit, integration on Postgres, e2e on Redis + a real worker, browser)
# Two processes: the chaos suite kills, flushes and restarts its own servers and
# leaves its session-scoped ones running until the end; the rest must not share
# a process (Celery's default app, worker threads, sockets) with that.
test: $(STAMP) browser-deps ocr-deps
	$(BIN)/python -m pytest -p no:cacheprovider -q -m "not chaos"
	$(BIN)/python -m pytest -p no:cacheprovider -q -m chaos

test-unit: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider -q tests/unit

test-integration: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider -q tests/integration

test-e2e: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider -q tests/e2e

## lint: ruff, then pip-audit over the venv (fails on a known vulnerability;
## warns and passes when its vulnerability service cannot be reached)
lint: $(STAMP)
	$(BIN)/ruff check $(PY_SOURCES)
	$(BIN)/ruff format --check $(PY_SOURCES)
	$(BIN)/python -m tools.dependency_audit

format: $(STAMP)
	$(BIN)/ruff format $(PY_SOURCES)
	$(BIN)/ruff check --fix $(PY_SOURCES)

typecheck: $(STAMP)
	$(BIN)/mypy

## bench: benchmarks against baselines on private Redis/Postgres; writes docs/benchmarks.md
## (BENCH_ARGS=--quick for reduced sizes; not part of `make test`)
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf build $(VENV) quire-data
