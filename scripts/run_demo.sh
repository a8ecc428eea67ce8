#!/usr/bin/env bash
# The demo on the embedded default: SQLite, the sandbox, seeded data, a Celery worker and beat
# (filesystem broker, no server needed) and the admin on http://127.0.0.1:${PORT:-8000}/admin/.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
CELERY=.venv/bin/celery
PORT=${PORT:-8000}
export DJANGO_SETTINGS_MODULE=config.settings.dev
export STOCKLINK_BASE_URL=${STOCKLINK_BASE_URL:-http://127.0.0.1:$PORT}

mkdir -p var/broker/processed var/log
$PY manage.py migrate --noinput
$PY manage.py demo_seed
$PY manage.py demo_admin

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

$CELERY -A config worker --loglevel=INFO --concurrency=2 --hostname=demo@%h \
  >var/log/worker.log 2>&1 &
pids+=($!)
$CELERY -A config beat --loglevel=INFO --schedule=var/celerybeat-schedule \
  >var/log/beat.log 2>&1 &
pids+=($!)

echo "Worker and beat are running (logs in var/log/). Admin: $STOCKLINK_BASE_URL/admin/"
$PY manage.py runserver "127.0.0.1:$PORT" --noreload
