"""Real Celery worker processes on PostgreSQL and Redis, for the tests that are about workers.

They run with `make test-services` (CI sets DATABASE_URL and REDIS_URL); on the embedded
default they are skipped, since SQLite in memory cannot be shared with other processes.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent.parent
# A Redis database of its own, emptied before each test (another number when several checkouts
# share one Redis server).
BROKER_DB = int(os.environ.get("STOCKLINK_TEST_BROKER_DB", "15"))


def _needs_services():
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine or not settings.REDIS_URL:
        pytest.skip("needs PostgreSQL and Redis: run `make test-services` (CI does)")


@pytest.fixture
def real_workers(live_server, tmp_path):
    """`real_workers(3)` starts 3 worker processes and a beat; returns the workers."""
    _needs_services()
    import redis

    from config.celery import app

    broker = settings.REDIS_URL.rsplit("/", 1)[0] + f"/{BROKER_DB}"
    redis.Redis.from_url(broker).flushdb()
    # A drain killed with the previous test's workers may have left its flag (sync/inbound/
    # wakeup.py): this test's first webhook must queue a drain, not wait for it to expire.
    from sync.inbound.wakeup import DrainFlag, redis_client

    pattern = DrainFlag(0).key.rsplit(":", 1)[0] + ":*"
    for key in redis_client(settings.REDIS_URL).scan_iter(pattern):
        redis_client(settings.REDIS_URL).delete(key)
    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="config.settings.dev",
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=broker,
        CELERY_TASK_ALWAYS_EAGER="false",
        REDIS_URL=settings.REDIS_URL,
        STOCKLINK_BASE_URL=live_server.url,
        DJANGO_LOG_LEVEL="WARNING",
    )
    saved = {k: app.conf.get(k) for k in ("broker_url", "broker_transport", "task_always_eager")}
    # The embedded default names its own transport class; Redis brings its own.
    app.conf.update(broker_url=broker, broker_transport=None, task_always_eager=False)
    _reset_connections(app)
    processes: list[subprocess.Popen] = []

    def start(
        count: int = 2, *, beat: bool = True, extra_env: dict[str, str] | None = None
    ) -> list[subprocess.Popen]:
        """Start `count` workers (and beat); `extra_env` adds settings for these processes."""
        process_env = dict(env, **(extra_env or {}))
        if beat:
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "config",
                        "beat",
                        "--loglevel=WARNING",
                        f"--schedule={tmp_path / 'beat-schedule'}",
                    ],
                    cwd=ROOT,
                    env=process_env,
                )
            )
        for i in range(count):
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "config",
                        "worker",
                        # Every queue, as the demo's worker (scripts/run_demo.sh).
                        "-Q",
                        ",".join(settings.STOCKLINK_QUEUES),
                        "--pool=prefork",
                        "--concurrency=1",
                        f"--hostname=test{len(processes)}-{i}@%h",
                        "--loglevel=WARNING",
                        "--without-gossip",
                        "--without-mingle",
                    ],
                    cwd=ROOT,
                    env=process_env,
                )
            )
        workers = [p for p in processes if "worker" in p.args and p.poll() is None]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            replies = app.control.ping(timeout=1.0) or []
            if len(replies) >= len(workers):
                return workers
        raise RuntimeError(f"only {len(replies)} of {len(workers)} workers answered")

    yield start
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    app.conf.update(**saved)
    _reset_connections(app)


def _reset_connections(app) -> None:
    """Drop pooled broker connections so the next task uses the broker set just now."""
    from kombu import pools

    pools.reset()  # kombu keeps producer pools per connection URL, process-wide
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.amqp._producer_pool = None


def wait_until(predicate, *, timeout: float = 60.0, interval: float = 0.2, what: str = ""):
    """Poll `predicate` until it is true; fail with `what` when the timeout passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or predicate}")
