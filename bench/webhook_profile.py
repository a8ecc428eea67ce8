"""The webhook request's own cost, in one process, under production settings.

.venv/bin/python bench/webhook_profile.py [--requests 1000] [--profile] [--top 40]

Calls the WSGI application gunicorn serves (config/wsgi.py: the webhook's own middleware, the
URL resolver, the view, the request_finished signal that returns the database connection),
for signed deliveries with new event ids against PostgreSQL (a fresh database, created and
dropped here) and Redis (db STOCKLINK_BENCH_REDIS_DB, default 12, flushed after), under
config.settings.staging with psycopg-pool. Prints wall and CPU milliseconds per request, per
Celery publish (`apply_async` of the drain task, what a delivery does when it finds no drain
on its way), per drain-flag SET NX (what every other delivery does) and per bare Redis LPUSH
of a message of a publish's size; `--profile` adds cProfile's top functions. No HTTP and no load
generator: this is the CPU a gunicorn worker spends per request, on top of parsing HTTP.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import hashlib
import hmac
import io
import json
import os
import pstats
import sys
import tempfile
import time
import uuid

from _common import ROOT, machine
from _stack import _pg_connect, _redis
from webhook_load import BODY, SECRET, SEED, SHOP, staging_env


def per_call(fn, n: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(n):
        fn(i)
    return 1000 * (time.perf_counter() - wall) / n, 1000 * (time.process_time() - cpu) / n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    redis_db = int(os.environ.get("STOCKLINK_BENCH_REDIS_DB", "12"))
    broker = _redis(redis_db)
    prefix = os.environ.get("STOCKLINK_BENCH_PG_PREFIX", "stocklink_bench_webhooks")
    pg_name = f"{prefix}_profile_{os.getpid()}"
    with _pg_connect() as conn:
        conn.execute(f'CREATE DATABASE "{pg_name}"')
    os.environ.update(
        {
            **staging_env(pg_name, redis_db),
            "DJANGO_DB_POOL": "true",
            "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="stocklink-bench-metrics-"),
        }
    )
    os.environ.pop("CELERY_TASK_ALWAYS_EAGER", None)
    sys.path.insert(0, str(ROOT))
    try:
        import django

        django.setup()
        from celery import current_app
        from django.core.management import call_command
        from django.db import connections

        from sync import queues
        from sync.inbound.wakeup import DrainFlag

        call_command("migrate", verbosity=0)
        exec(SEED)  # noqa: S102 - our own seed text, shared with webhook_load.py
        from config.wsgi import application as app

        signature = base64.b64encode(hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest())

        def deliver(_i):
            environ = {
                "REQUEST_METHOD": "POST",
                "PATH_INFO": "/webhooks/shopify/",
                "SCRIPT_NAME": "",
                "SERVER_NAME": "127.0.0.1",
                "SERVER_PORT": "80",
                "HTTP_HOST": "127.0.0.1",
                "REMOTE_ADDR": "127.0.0.1",
                "wsgi.url_scheme": "http",
                "wsgi.input": io.BytesIO(BODY),
                "wsgi.errors": sys.stderr,
                "CONTENT_LENGTH": str(len(BODY)),
                "CONTENT_TYPE": "application/json",
                "HTTP_X_SHOPIFY_TOPIC": "inventory_levels/update",
                "HTTP_X_SHOPIFY_SHOP_DOMAIN": SHOP,
                "HTTP_X_SHOPIFY_HMAC_SHA256": signature.decode(),
                "HTTP_X_SHOPIFY_EVENT_ID": uuid.uuid4().hex,
            }
            status = []
            response = app(environ, lambda s, headers, exc_info=None: status.append(s))
            b"".join(response)
            response.close()
            if not status[0].startswith("200"):
                raise RuntimeError(f"the webhook answered {status[0]}")

        task = current_app.tasks[queues.DRAIN_WEBHOOKS]
        message = json.dumps({"body": base64.b64encode(BODY).decode() * 4}).encode()
        n = args.requests
        per_call(deliver, 50)  # warm up: connections, caches, imports
        results = {
            "request": per_call(deliver, n),
            "celery_apply_async": per_call(lambda i: task.apply_async(args=(1,)), n),
            "drain_flag_set_nx": per_call(lambda i: DrainFlag(1).take(), n),
            "redis_lpush": per_call(lambda i: broker.lpush("bench-lpush", message), n),
        }
        print(
            json.dumps(
                {
                    "benchmark": "webhook_profile",
                    "machine": machine(),
                    "load_average": round(os.getloadavg()[0], 1),
                    "calls": n,
                    "ms_per_call": {
                        name: {"wall": round(wall, 3), "cpu": round(cpu, 3)}
                        for name, (wall, cpu) in results.items()
                    },
                }
            )
        )
        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(per_call, deliver, n)
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(args.top)
        connections.close_all()
    finally:
        broker.flushdb()
        with _pg_connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
