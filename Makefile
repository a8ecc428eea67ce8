# Stocklink — the two commands: `make run` (the demo) and `make test` (the whole suite).
# Both install what they need into .venv from requirements.lock.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum requirements.lock | cut -c1-12)

.PHONY: install run demo-worker demo-beat serve-prod test test-services lint browser-deps bench \
	bench-webhooks clean

$(STAMP): requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

## The demo: SQLite, the sandbox, seeded data, a Celery worker and beat, the admin on :8000.
run: install
	bash scripts/run_demo.sh

## The demo's worker and beat by hand (e.g. after stopping one): the demo's settings, every queue.
DEMO_ENV := DJANGO_SETTINGS_MODULE=config.settings.dev
demo-worker: install
	$(DEMO_ENV) $(VENV)/bin/celery -A config worker -Q webhooks,pushes,orders,jobs \
	  --loglevel=INFO --concurrency=2 --hostname="demo@%h"

demo-beat: install
	$(DEMO_ENV) $(VENV)/bin/celery -A config beat --loglevel=INFO --schedule=var/celerybeat-schedule

## The production topology natively: gunicorn, two workers on their queues, beat, against
## PostgreSQL and Redis (scripts/serve_prod.sh; docs/deployment.md).
serve-prod: install
	bash scripts/serve_prod.sh

## The whole suite on the embedded default (SQLite). CI also runs test-services.
test: install browser-deps lint
	$(PY) -m pytest -q -n 2

## The suite against PostgreSQL and Redis, with real Celery worker processes.
test-services: install browser-deps
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/stocklink} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} \
	$(PY) -m pytest -q -n 2 -m "not workers"
	# The worker tests share one Redis broker database: one at a time.
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/stocklink} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} \
	$(PY) -m pytest -q -p no:xdist -m workers

## ruff, the import-linter layer contracts (.importlinter) and models vs migrations.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(PY) manage.py makemigrations --check --dry-run

## Debian's chromium for the browser tests (Playwright drives it; no browser download).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "chromium could not be installed: browser tests will be skipped"; \
	  else echo "chromium is not installed (apt-get install chromium): browser tests will be skipped"; fi; }

## Every benchmark in bench/ (minutes; each prints one JSON line, see docs/BENCHMARKS.md).
bench: install
	for script in bench/[a-z]*.py; do $(PY) $$script || exit 1; done

## Webhook load against gunicorn + PostgreSQL + Redis (wrk, installed or found, else locust;
## docs/BENCHMARKS.md). bench/webhook_profile.py profiles one request in process.
bench-webhooks: install
	$(PY) bench/webhook_load.py

clean:
	rm -rf $(VENV) db.sqlite3* var staticfiles
