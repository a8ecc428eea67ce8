#!/usr/bin/env bash
# The production topology, natively (compose.yaml runs the same processes in containers):
# migrate and collect static files, then gunicorn, two Celery workers on their queues and beat,
# against PostgreSQL and Redis. Stops them all when one exits or on Ctrl-C / SIGTERM.
#
#   DATABASE_URL=postgres://… CELERY_BROKER_URL=redis://…/1 REDIS_URL=redis://…/0 \
#   DJANGO_SECRET_KEY=… STOCKLINK_ENCRYPTION_KEYS=… DJANGO_ALLOWED_HOSTS=… make serve-prod
#
# Settings default to config.settings.production. A rehearsal against the sandbox (CI does one):
# DJANGO_SETTINGS_MODULE=config.settings.staging SANDBOX_ENABLED=true DJANGO_SECURE_SSL_REDIRECT=false
# docs/deployment.md has every variable and the sizing.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-config.settings.production}
export PORT=${PORT:-8000}
: "${DATABASE_URL:?set DATABASE_URL (PostgreSQL)}"
: "${CELERY_BROKER_URL:?set CELERY_BROKER_URL (Redis)}"
: "${REDIS_URL:?set REDIS_URL (Redis: rate limits, locks, the beat heartbeat)}"
RUN_DIR=${STOCKLINK_RUN_DIR:-var/prod}
WORKER_CONCURRENCY=${WORKER_CONCURRENCY:-2}
mkdir -p "$RUN_DIR"

"$VENV/bin/python" manage.py migrate --noinput
"$VENV/bin/python" manage.py collectstatic --noinput -v0

pids=()
cleanup() {
  trap - EXIT INT TERM
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 143' INT TERM

# The web tier pools its database connections (psycopg-pool: measured best with gthread,
# docs/BENCHMARKS.md); Celery's forked workers keep persistent connections (CONN_MAX_AGE).
DJANGO_DB_POOL=${DJANGO_DB_POOL:-true} "$VENV/bin/gunicorn" -c config/gunicorn.py config.wsgi &
pids+=($!)
# Seconds matter here: Shopify's webhooks and the pushes they cause.
"$VENV/bin/celery" -A config worker -Q webhooks,pushes --hostname="realtime@%h" \
  --concurrency="$WORKER_CONCURRENCY" --loglevel=INFO --without-gossip --without-mingle &
pids+=($!)
# Minutes are fine here: Amazon orders, imports, reconcile (and the sandbox's own tasks).
"$VENV/bin/celery" -A config worker -Q orders,jobs --hostname="batch@%h" \
  --concurrency="$WORKER_CONCURRENCY" --loglevel=INFO --without-gossip --without-mingle &
pids+=($!)
# Exactly one beat per deployment.
"$VENV/bin/celery" -A config beat --loglevel=INFO --schedule="$RUN_DIR/celerybeat-schedule" &
pids+=($!)

echo "serve-prod: gunicorn on :$PORT, workers realtime (webhooks,pushes) and batch (orders,jobs), beat"
# Whichever process exits first takes the others down: a half topology is worse than none.
wait -n
exit 1
