"""gunicorn's configuration: `gunicorn -c config/gunicorn.py config.wsgi`.

Environment (docs/deployment.md has the sizing):
    PORT (8000), GUNICORN_BIND (0.0.0.0:$PORT)
    WEB_CONCURRENCY      worker processes (default 1 per core)
    GUNICORN_WORKER_CLASS  gthread (default) or sync
    GUNICORN_THREADS     threads per gthread worker (default 8; keep DJANGO_DB_POOL_MAX ≥ it)
    PROMETHEUS_MULTIPROC_DIR  where the workers' metrics meet (default: a fresh temporary folder)
"""

import os
import shutil
import tempfile

_cores = os.cpu_count() or 1
bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
# One process per core with 8 threads took less CPU per webhook than 2 per core with 4, and
# answered more of them, in each paired round (docs/BENCHMARKS.md, "Webhook load").
workers = int(os.environ.get("WEB_CONCURRENCY", _cores))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# Webhooks answer in milliseconds; Shopify gives up after 5 s. Anything near 30 s is a bug.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak never becomes an outage.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "20000"))
max_requests_jitter = max_requests // 10
# Behind a proxy that sets X-Forwarded-Proto (Django trusts it: SECURE_PROXY_SSL_HEADER).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Requests are counted by django-prometheus; gunicorn's access log is off unless asked for.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
if os.environ.get("DJANGO_LOG_FORMAT", "json") == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            }
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "level": loglevel.upper()},
            "gunicorn.access": {
                "handlers": ["console"] if accesslog else [],
                "level": "INFO",
                "propagate": False,
            },
        },
    }

# Each worker process keeps its own metrics; prometheus_client's multiprocess mode adds them
# up at /metrics. The folder must be empty when the server starts.
_metrics_dir = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="stocklink-metrics-")
)


def on_starting(server):
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    os.makedirs(_metrics_dir, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
