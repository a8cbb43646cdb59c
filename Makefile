# Two commands on a fresh machine: `make run` serves the site, `make test` tests it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# localhost, not 127.0.0.1: BASE_URL (the links in messages) says localhost, and a cookie set on one is not sent to the other.
HOST ?= localhost
PORT ?= 8000

.PHONY: run test install migrate screenshots bench clean

# How uvicorn runs hxauth, here, in tests/helpers.py's running_server and in docs/deploy.md: its own
# X-Forwarded-For handling off (it trusts 127.0.0.1 by default; the app trusts TRUSTED_PROXIES only); the h11
# parser, which refuses a request head over 16 KiB with a 400 at once (the default parser took a 32 MB header
# for 5 s and stalled every other request); idle keep-alive connections closed after 5 s; at most 512
# connections or requests at once (more: 503). Slow senders of a form: FORM_BODY_SECONDS (the app's 408).
UVICORN_OPTIONS = --no-proxy-headers --http h11 --h11-max-incomplete-event-size 16384 --timeout-keep-alive 5 --limit-concurrency 512

run: install
	$(BIN)/hxauth migrate
	$(BIN)/uvicorn app:app --host $(HOST) --port $(PORT) $(UVICORN_OPTIONS)

# The suite runs twice: on SQLite files, then on PostgreSQL (skipped with a reason
# when no server answers at TEST_POSTGRES_URL, a failure when CI=true).
TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/test

test: install
	$(BIN)/pytest $(PYTEST_ARGS)
	TEST_DATABASE_URL=$(TEST_POSTGRES_URL) $(BIN)/pytest $(PYTEST_ARGS) --ignore=tests/e2e

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

migrate: install
	$(BIN)/hxauth migrate

# PNGs of every page and state (desktop and mobile, light and dark) in docs/screenshots/,
# taken by Playwright with the system's Chromium (/usr/bin/chromium, or CHROMIUM=...);
# CI=true makes a missing browser an error rather than a skip.
screenshots: install
	CI=true $(BIN)/pytest -q tests/e2e/screenshots.py

# Requests per second, latency and memory against a bare Starlette page (the floor),
# logins against raw Argon2: see docs/performance.md. hxauth runs with UVICORN_OPTIONS, and
# on uvicorn's defaults beside it (what the options cost); the floor on uvicorn's defaults. Uses wrk when installed (apt-get
# install wrk), else bench/loadgen.py; writes bench/results/latest.{md,json}. The logged-in
# page on PostgreSQL too where one answers (--postgres-url, or BENCH_POSTGRES_URL: a database
# the bench may empty). A quick look: make bench BENCH_ARGS="--rounds 1 --duration 2 --storm 16";
# against an older commit, every page side by side: make bench BENCH_ARGS="--baseline main"
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules build *.egg-info
