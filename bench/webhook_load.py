"""Webhook load against the production topology's web tier: gunicorn + PostgreSQL + Redis.

.venv/bin/python bench/webhook_load.py [--runs 3] [--seconds 20] [--users 16]
                                       [--configs sync-new,sync-persistent,...]

Per run: a fresh PostgreSQL database (created and dropped here), one Shopify store, gunicorn
started with config/gunicorn.py under config.settings.staging (production's settings, sandbox
off), a Redis broker (db STOCKLINK_BENCH_REDIS_DB, default 12, must be empty; flushed after).
No Celery worker runs: the queued processing tasks pile up in Redis, which is what a webhook
burst does to the web tier. Then locust (bench/_locust_webhooks.py, headless, one process)
keeps `--users` webhooks in flight for `--seconds`: each is signed, carries a new event id, and
is verified, inserted and queued by the view. Everything is on 127.0.0.1.

Configurations: worker model (gunicorn `sync` or `gthread` with 4 threads; 2 processes per
core) × database connections (`new`: a connection per request, CONN_MAX_AGE=0; `persistent`:
CONN_MAX_AGE=600 with CONN_HEALTH_CHECKS, the committed default; `pool`: psycopg-pool). Prints
one JSON line: per configuration the medians over runs (taken round-robin) of req/s, p50,
p99 and failures.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _common import PYTHON, ROOT, machine
from _stack import PG_ADMIN_URL, REDIS_HOST_URL, Unavailable, _pg_connect, _redis, free_port

BIN = Path(PYTHON).parent
CONFIGS = {
    "sync-new": {"GUNICORN_WORKER_CLASS": "sync", "DJANGO_CONN_MAX_AGE": "0"},
    "sync-persistent": {"GUNICORN_WORKER_CLASS": "sync", "DJANGO_CONN_MAX_AGE": "600"},
    "sync-pool": {"GUNICORN_WORKER_CLASS": "sync", "DJANGO_DB_POOL": "true"},
    "gthread-new": {"GUNICORN_WORKER_CLASS": "gthread", "DJANGO_CONN_MAX_AGE": "0"},
    "gthread-persistent": {"GUNICORN_WORKER_CLASS": "gthread", "DJANGO_CONN_MAX_AGE": "600"},
    "gthread-pool": {"GUNICORN_WORKER_CLASS": "gthread", "DJANGO_DB_POOL": "true"},
}
SHOP = "bench-shop.myshopify.com"
SECRET = "bench-webhook-secret"
SEED = f"""
from accounts.models import ShopifyStore
ShopifyStore.objects.create(
    name="Bench", shop_domain="{SHOP}", access_token="shpat_bench", webhook_secret="{SECRET}",
    base_url="http://127.0.0.1:9/no-shopify",
)
"""


def run_once(config: str, *, seconds: int, users: int, redis_db: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="stocklink-bench-webhooks-"))
    pg_name = f"stocklink_bench_webhooks_{os.getpid()}_{int(time.time())}"
    redis_client = _redis(redis_db)
    if redis_client.dbsize():
        raise Unavailable(f"Redis db {redis_db} is not empty: set STOCKLINK_BENCH_REDIS_DB")
    with _pg_connect() as conn:
        conn.execute(f'CREATE DATABASE "{pg_name}"')
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.staging",
        "SANDBOX_ENABLED": "false",
        "DJANGO_SECRET_KEY": "bench-" + "k" * 50,
        "STOCKLINK_ENCRYPTION_KEYS": "ZGV2LW9ubHktZW5jcnlwdGlvbi1rZXktMzJieXRlcyE=",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{pg_name}",
        "CELERY_BROKER_URL": f"{REDIS_HOST_URL}/{redis_db}",
        "REDIS_URL": f"{REDIS_HOST_URL}/{redis_db}",
        "DJANGO_LOG_LEVEL": "WARNING",
        "GUNICORN_LOG_LEVEL": "warning",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics"),
        "BENCH_WEBHOOK_SECRET": SECRET,
        "BENCH_SHOP_DOMAIN": SHOP,
        **CONFIGS[config],
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    (tmp / "metrics").mkdir()
    web = None
    try:
        manage = [PYTHON, "manage.py"]
        subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=300)
        subprocess.run(
            [*manage, "shell", "-c", SEED],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=60,
            capture_output=True,
        )
        with open(tmp / "gunicorn.log", "wb") as log:
            web = subprocess.Popen(
                [str(BIN / "gunicorn"), "-c", "config/gunicorn.py", "config.wsgi"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/health/web/", timeout=2)
                break
            except OSError:
                if web.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((tmp / "gunicorn.log").read_text()[-3000:]) from None
                time.sleep(0.3)
        subprocess.run(
            [
                str(BIN / "locust"),
                "-f",
                "bench/_locust_webhooks.py",
                "--headless",
                "--host",
                url,
                "--users",
                str(users),
                "--spawn-rate",
                str(users),
                "--run-time",
                f"{seconds}s",
                "--csv",
                str(tmp / "locust"),
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=seconds + 60,
        )
        with open(tmp / "locust_stats.csv") as f:
            row = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
        return {
            "rps": float(row["Requests/s"]),
            "p50_ms": float(row["50%"]),
            "p99_ms": float(row["99%"]),
            "requests": int(row["Request Count"]),
            "failures": int(row["Failure Count"]),
        }
    finally:
        if web is not None and web.poll() is None:
            os.killpg(web.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                web.wait(timeout=20)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(web.pid, signal.SIGKILL)
        with _pg_connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        redis_client.flushdb()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--configs", default=",".join(CONFIGS))
    args = parser.parse_args()
    redis_db = int(os.environ.get("STOCKLINK_BENCH_REDIS_DB", "12"))
    configs = args.configs.split(",")
    samples: dict[str, list[dict]] = {config: [] for config in configs}
    results: dict[str, dict] = {}
    # Round-robin over configurations, so that load from elsewhere on a shared machine falls on
    # every configuration alike; medians over runs are reported.
    for _ in range(args.runs):
        for config in configs:
            if config in results:
                continue
            try:
                sample = run_once(config, seconds=args.seconds, users=args.users, redis_db=redis_db)
            except Unavailable as exc:
                results[config] = {"skipped": str(exc)}
                continue
            samples[config].append(sample)
            print(config, sample, file=sys.stderr, flush=True)
    for config, runs in samples.items():
        if runs:
            results[config] = {
                key: round(statistics.median(r[key] for r in runs), 1)
                for key in ("rps", "p50_ms", "p99_ms", "failures")
            } | {"runs": [round(r["rps"], 1) for r in runs]}
    print(
        json.dumps(
            {
                "benchmark": "webhook_load",
                "machine": machine(),
                "users": args.users,
                "seconds": args.seconds,
                "runs": args.runs,
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
