"""Webhook load against the production topology's web tier: gunicorn + PostgreSQL + Redis.

.venv/bin/python bench/webhook_load.py [--runs 3] [--seconds 20] [--users 16]
                                       [--configs gthread-pool,sync-persistent,...]
                                       [--generator wrk|locust] [--workers N] [--threads N]

Per run: a fresh PostgreSQL database (created and dropped here), one Shopify store, gunicorn
started with config/gunicorn.py under config.settings.staging (production's settings, sandbox
off), a Redis broker (db STOCKLINK_BENCH_REDIS_DB, default 12, must be empty; flushed after).
No Celery worker runs: the stored events pile up, which is what a webhook burst does to the web
tier; with no drain to release it, the drain flag (sync/inbound/wakeup.py) expires and is taken
again every 30 s, so a run publishes a drain about that often (a draining worker would hold the
flag while it works and release it when it finds nothing left). Then the load generator keeps
`--users` webhooks in flight for `--seconds`: each is signed, carries a new event id, and is
verified, inserted and queued (the flag's SET NX) by the view. Everything is on 127.0.0.1.

Load generator: wrk (`bench/_wrk_webhooks.lua`, one thread, `--users` connections) when it is
installed; if it is not, the script installs the Debian package when it runs as root with apt-get
and says so, else it falls back to locust and says so. On a 2-core machine the generator shares
the server's cores: wrk uses a tenth of a core where locust uses most of one (the output's
`generator_cpu`: the generator's user + system CPU seconds per wall second, measured with
getrusage), which is why wrk is the default (docs/BENCHMARKS.md, "Webhook load").

Configurations: worker model (gunicorn `sync` or `gthread` with 4 threads; 2 processes per
core) × database connections (`new`: a connection per request, CONN_MAX_AGE=0; `persistent`:
CONN_MAX_AGE=600 with CONN_HEALTH_CHECKS, the committed default; `pool`: psycopg-pool). Prints
one JSON line: per configuration the medians over runs (taken round-robin) of req/s, p50,
p99, failures, the generator's CPU and the whole machine's busy cores during the run, and the
load average before each run.

Environment: STOCKLINK_BENCH_PG (admin URL), STOCKLINK_BENCH_PG_PREFIX (database names,
default stocklink_bench_webhooks), STOCKLINK_BENCH_REDIS(_DB), STOCKLINK_BENCH_PORT (default:
any free port).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import csv
import hashlib
import hmac
import json
import os
import resource
import shutil
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
BODY = json.dumps(
    {"inventory_item_id": 424242, "location_id": 1, "available": 7, "updated_at": "now"}
).encode()
SEED = f"""
from accounts.models import ShopifyStore
ShopifyStore.objects.create(
    name="Bench", shop_domain="{SHOP}", access_token="shpat_bench", webhook_secret="{SECRET}",
    base_url="http://127.0.0.1:9/no-shopify",
)
"""


def staging_env(pg_name: str, redis_db: int) -> dict[str, str]:
    """Production's settings (`config.settings.staging`) on a benchmark's own database and
    Redis db, with the sandbox off."""
    return {
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
    }


def wrk_binary() -> tuple[str | None, str]:
    """wrk's path (installing the Debian package when root may), and a note saying how."""
    found = shutil.which("wrk")
    if found:
        return found, "wrk (found)"
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk not found: apt-get install -y wrk", file=sys.stderr, flush=True)
        done = subprocess.run(["apt-get", "install", "-y", "wrk"], capture_output=True)
        if done.returncode == 0 and shutil.which("wrk"):
            return shutil.which("wrk"), "wrk (installed by this script with apt-get)"
    print("wrk not available: falling back to locust", file=sys.stderr, flush=True)
    return None, "locust (wrk not available)"


def _busy_jiffies() -> tuple[int, int]:
    """(busy, total) CPU jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def _cpu_seconds(pids) -> float:
    """User + system CPU seconds used so far by these processes (gone ones count 0)."""
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, ValueError):
                if os.getpgid(int(entry)) == pgid:
                    pids.append(int(entry))
    return pids


def _backend_pids(pg_name: str) -> list[int]:
    with _pg_connect() as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [pg_name])
        return [pid for (pid,) in rows.fetchall()]


def _generate(generator: str | None, url: str, *, seconds: int, users: int, env, tmp) -> dict:
    """Run the load generator once; the figures it measured."""
    if generator:  # wrk
        signature = base64.b64encode(hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest())
        done = subprocess.run(
            [
                generator,
                "-t1",
                f"-c{users}",
                f"-d{seconds}s",
                "--timeout",
                "5s",
                "-s",
                "bench/_wrk_webhooks.lua",
                url,
                "--",
                SHOP,
                signature.decode(),
                BODY.decode(),
                tmp.name,
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        )
        out = json.loads(done.stdout.strip().splitlines()[-1])
        return {
            "rps": out["requests"] / (out["duration_us"] / 1e6),
            "p50_ms": out["p50_us"] / 1000,
            "p99_ms": out["p99_us"] / 1000,
            "requests": out["requests"],
            "failures": out["non_2xx"] + out["socket_errors"],
        }
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


def run_once(config: str, *, seconds: int, users: int, redis_db: int, generator, extra) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="stocklink-bench-webhooks-"))
    prefix = os.environ.get("STOCKLINK_BENCH_PG_PREFIX", "stocklink_bench_webhooks")
    pg_name = f"{prefix}_{os.getpid()}_{int(time.time())}"
    redis_client = _redis(redis_db)
    if redis_client.dbsize():
        raise Unavailable(f"Redis db {redis_db} is not empty: set STOCKLINK_BENCH_REDIS_DB")
    with _pg_connect() as conn:
        conn.execute(f'CREATE DATABASE "{pg_name}"')
    port = int(os.environ.get("STOCKLINK_BENCH_PORT") or free_port())
    env = {
        **os.environ,
        **staging_env(pg_name, redis_db),
        "GUNICORN_LOG_LEVEL": "warning",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics"),
        "BENCH_WEBHOOK_SECRET": SECRET,
        "BENCH_SHOP_DOMAIN": SHOP,
        **CONFIGS[config],
        **extra,
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
        time.sleep(2)  # let the workers finish booting before the clock starts
        load_before = os.getloadavg()[0]
        web_pids = _group_pids(web.pid)
        web_cpu, db_cpu = _cpu_seconds(web_pids), _cpu_seconds(_backend_pids(pg_name))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy_before, total_before = _busy_jiffies()
        wall = time.monotonic()
        sample = _generate(generator, url, seconds=seconds, users=users, env=env, tmp=tmp)
        wall = time.monotonic() - wall
        busy_after, total_after = _busy_jiffies()
        # gunicorn's workers, and PostgreSQL's backends for this database (the pool keeps them).
        web_cpu = _cpu_seconds(web_pids) - web_cpu
        db_cpu = _cpu_seconds(_backend_pids(pg_name)) - db_cpu
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        cores = os.cpu_count() or 1
        return sample | {
            "generator_cpu": used / wall,
            "machine_busy_cores": cores * (busy_after - busy_before) / (total_after - total_before),
            "load_before": load_before,
            "web_cpu_ms_per_req": 1000 * web_cpu / max(sample["requests"], 1),
            "db_cpu_ms_per_req": 1000 * db_cpu / max(sample["requests"], 1),
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
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--configs", default="gthread-pool")
    parser.add_argument("--generator", choices=["wrk", "locust"], default="wrk")
    parser.add_argument("--workers", type=int, help="WEB_CONCURRENCY (config/gunicorn.py's)")
    parser.add_argument("--threads", type=int, help="GUNICORN_THREADS (config/gunicorn.py's)")
    args = parser.parse_args()
    generator, generator_note = wrk_binary() if args.generator == "wrk" else (None, "locust")
    extra = {}
    if args.workers:
        extra["WEB_CONCURRENCY"] = str(args.workers)
    if args.threads:
        extra["GUNICORN_THREADS"] = str(args.threads)
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
                sample = run_once(
                    config,
                    seconds=args.seconds,
                    users=args.users,
                    redis_db=redis_db,
                    generator=generator,
                    extra=extra,
                )
            except Unavailable as exc:
                results[config] = {"skipped": str(exc)}
                continue
            samples[config].append(sample)
            print(config, sample, file=sys.stderr, flush=True)
    for config, runs in samples.items():
        if runs:
            results[config] = (
                {
                    key: round(statistics.median(r[key] for r in runs), 1)
                    for key in ("rps", "p50_ms", "p99_ms", "failures", "load_before")
                }
                | {
                    key: round(statistics.median(r[key] for r in runs), 2)
                    for key in (
                        "generator_cpu",
                        "machine_busy_cores",
                        "web_cpu_ms_per_req",
                        "db_cpu_ms_per_req",
                    )
                }
                | {"runs": [round(r["rps"], 1) for r in runs]}
            )
    print(
        json.dumps(
            {
                "benchmark": "webhook_load",
                "machine": machine(),
                "generator": generator_note,
                "users": args.users,
                "gunicorn": extra,
                "seconds": args.seconds,
                "runs": args.runs,
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
