#!/usr/bin/env bash
# The demo on the embedded default: SQLite, the sandbox, seeded data, a Celery worker and beat
# (filesystem broker, no server needed) and the admin on http://127.0.0.1:${PORT:-8000}/admin/.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
CELERY=.venv/bin/celery
PORT=${PORT:-8000}
# Said explicitly: the Celery app, like the WSGI app, defaults to production settings.
export DJANGO_SETTINGS_MODULE=config.settings.dev
# One worker consumes every queue (config/settings/base.py, STOCKLINK_TASK_QUEUES).
QUEUES=webhooks,pushes,orders,jobs
export STOCKLINK_BASE_URL=${STOCKLINK_BASE_URL:-http://127.0.0.1:$PORT}

mkdir -p var/broker/processed var/log
$PY manage.py migrate --noinput

# The login first: it is ready before the admin answers (a new password each run).
$PY manage.py demo_admin

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT
# Ctrl-C or a TERM is how the demo is meant to stop: stop the processes and exit cleanly.
trap 'cleanup; exit 0' INT TERM

$CELERY -A config worker -Q "$QUEUES" --loglevel=INFO --concurrency=2 --hostname="demo@%h" \
  >var/log/worker.log 2>&1 &
pids+=($!)
$CELERY -A config beat --loglevel=INFO --schedule=var/celerybeat-schedule \
  >var/log/beat.log 2>&1 &
pids+=($!)
$PY manage.py runserver "127.0.0.1:$PORT" --noreload >var/log/web.log 2>&1 &
web=$!
pids+=($web)

# The demo data goes through the real clients to the sandbox over HTTP: wait for the server.
for _ in $(seq 60); do
  $PY -c "import urllib.request; urllib.request.urlopen('$STOCKLINK_BASE_URL/admin/login/')" \
    2>/dev/null && break
  kill -0 "$web" 2>/dev/null || { cat var/log/web.log; exit 1; }
  sleep 0.5
done
$PY manage.py demo_seed
echo
echo "Stocklink is running: web, Celery worker and beat (logs in var/log/). Ctrl-C stops them."
echo "To restart one by hand, in another shell: make demo-worker, make demo-beat."
echo "Admin: $STOCKLINK_BASE_URL/admin/ (the login is printed above)."
wait "$web"
