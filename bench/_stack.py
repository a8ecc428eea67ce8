"""Run the app as the demo does, for a benchmark: a fresh database, `manage.py runserver`, a
Celery worker and beat, on loopback only; and stop every process it started, whatever happens.

    with Stack(config="sqlite") as stack:      # or "postgres" (PostgreSQL + Redis broker)
        stack.run_driver([...])                # a Python process with the stack's environment

Every process is started in its own session (process group) and killed as a group, so Celery's
pool children go too. A benchmark that is interrupted (Ctrl-C, SIGTERM, an exception) still stops
them and drops the PostgreSQL database it created.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from _common import PYTHON, ROOT

CELERY = str(Path(PYTHON).with_name("celery"))
PG_ADMIN_URL = os.environ.get("STOCKLINK_BENCH_PG", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_HOST_URL = os.environ.get("STOCKLINK_BENCH_REDIS", "redis://127.0.0.1:6379")
# Redis db 15 belongs to the test suite, 0 to `make test-services`.
DEFAULT_REDIS_DB = int(os.environ.get("STOCKLINK_BENCH_REDIS_DB", "12"))

_live: list[Stack] = []


def _stop_all(*_args) -> None:
    for stack in list(_live):
        stack.stop()


def _on_signal(signum, _frame):
    _stop_all()
    raise SystemExit(128 + signum)


atexit.register(_stop_all)
signal.signal(signal.SIGTERM, _on_signal)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Unavailable(Exception):
    """PostgreSQL or Redis cannot be reached: the configuration is skipped with this note."""


def _pg_connect():
    import psycopg

    try:
        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        raise Unavailable(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}") from exc


def _redis(db: int):
    import redis

    client = redis.Redis.from_url(f"{REDIS_HOST_URL}/{db}", socket_connect_timeout=3)
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001
        raise Unavailable(f"Redis not reachable at {REDIS_HOST_URL}: {exc}") from exc
    return client


class Stack:
    def __init__(
        self,
        *,
        config: str = "sqlite",
        worker: bool = True,
        beat: bool = True,
        web: bool = True,
        concurrency: int = 2,
        broker_poll: float | None = None,
        redis_db: int = DEFAULT_REDIS_DB,
        broker: bool = True,
        extra_env: dict | None = None,
    ):
        self.config = config
        self.want = {"worker": worker, "beat": beat, "web": web}
        self.concurrency = concurrency
        self.broker_poll = broker_poll
        self.redis_db = redis_db
        self.broker = broker  # False: an in-memory broker, nothing leaves the process
        self.extra_env = extra_env or {}
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.tmp = Path(tempfile.mkdtemp(prefix=f"stocklink-bench-{config}-"))
        self.pg_name: str | None = None
        self.redis_client = None
        self.port = int(os.environ.get("STOCKLINK_BENCH_PORT") or free_port())
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env: dict = {}

    # --- set-up ---------------------------------------------------------------------------

    def _database_url(self) -> str:
        if self.config == "sqlite":
            return f"sqlite:///{self.tmp / 'bench.sqlite3'}"
        # STOCKLINK_BENCH_PG_DB names it (replaced if it exists) on a machine shared with others;
        # STOCKLINK_BENCH_PORT is the web server's port there (default: a free one).
        self.pg_name = os.environ.get(
            "STOCKLINK_BENCH_PG_DB", f"stocklink_bench_{os.getpid()}_{int(time.time())}"
        )
        with _pg_connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}"')
            conn.execute(f'CREATE DATABASE "{self.pg_name}"')
        base = PG_ADMIN_URL.rsplit("/", 1)[0]
        return f"{base}/{self.pg_name}"

    def _broker_env(self) -> dict:
        if not self.broker:
            return {"CELERY_BROKER_URL": "memory://", "REDIS_URL": ""}
        if self.config == "sqlite":
            env = {
                "CELERY_BROKER_URL": "filesystem://",
                "STOCKLINK_BENCH_BROKER_DIR": str(self.tmp / "broker"),
            }
            if self.broker_poll is not None:
                env["STOCKLINK_BENCH_BROKER_POLL"] = str(self.broker_poll)
            return env
        client = _redis(self.redis_db)
        if client.dbsize():
            raise Unavailable(
                f"Redis db {self.redis_db} is not empty (someone else's): set "
                "STOCKLINK_BENCH_REDIS_DB to an empty one"
            )
        self.redis_client = client
        url = f"{REDIS_HOST_URL}/{self.redis_db}"
        return {"CELERY_BROKER_URL": url, "REDIS_URL": url}

    def start(self) -> Stack:
        _live.append(self)
        try:
            broker = self._broker_env()
            self.env = {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "bench._settings",
                "DATABASE_URL": self._database_url(),
                "STOCKLINK_BASE_URL": self.base_url,
                "SANDBOX_ENABLED": "true",
                "DJANGO_LOG_LEVEL": "WARNING",
                "PYTHONPATH": str(ROOT),
                **broker,
                **self.extra_env,
            }
            self.env.pop("CELERY_TASK_ALWAYS_EAGER", None)
            subprocess.run(
                [PYTHON, "manage.py", "migrate", "--noinput", "-v0"],
                cwd=ROOT,
                env=self.env,
                check=True,
                timeout=300,
            )
            if self.want["worker"]:
                self._spawn(
                    "worker",
                    [
                        CELERY,
                        "-A",
                        "config",
                        "worker",
                        "--loglevel=WARNING",
                        f"--concurrency={self.concurrency}",
                        f"--hostname=bench{os.getpid()}@%h",
                        "--without-gossip",
                        "--without-mingle",
                    ],
                )
            if self.want["beat"]:
                self._spawn(
                    "beat",
                    [
                        CELERY,
                        "-A",
                        "config",
                        "beat",
                        "--loglevel=WARNING",
                        f"--schedule={self.tmp / 'celerybeat-schedule'}",
                    ],
                )
            if self.want["web"]:
                self._spawn(
                    "web",
                    [PYTHON, "manage.py", "runserver", f"127.0.0.1:{self.port}", "--noreload"],
                )
                self._wait_for_web()
            if self.want["worker"]:
                time.sleep(2.0)  # the worker connects to the broker (no readiness probe)
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, name: str, cmd: list[str]) -> None:
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.procs.append((name, proc))

    def _wait_for_web(self, timeout: float = 60.0) -> None:
        web = dict(self.procs)["web"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if web.poll() is not None:
                raise RuntimeError(f"runserver exited: {self.log('web')[-2000:]}")
            try:
                urllib.request.urlopen(f"{self.base_url}/admin/login/", timeout=2)
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("runserver did not answer within 60 s")

    def log(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # --- use --------------------------------------------------------------------------------

    def run_driver(self, args: list[str], timeout: float) -> str:
        """Run a Python process with this stack's environment; its stdout (checked)."""
        out = subprocess.run(
            [PYTHON, *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            start_new_session=True,
        )
        if out.returncode:
            raise RuntimeError(f"driver failed ({out.returncode}): {out.stderr[-4000:]}")
        return out.stdout

    def exited(self) -> dict:
        """Processes of the stack that stopped by themselves, with their last log line."""
        out = {}
        for name, proc in self.procs:
            if proc.poll() is not None:
                lines = self.log(name).strip().splitlines() or [""]
                critical = [line for line in lines if "CRITICAL" in line]
                out[name] = (critical or lines)[-1][-300:]
        return out

    # --- tear-down --------------------------------------------------------------------------

    def stop(self) -> None:
        for _name, proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for _name, proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            # The group may hold pool children even after the leader exited.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        self.procs = []
        if self.pg_name:
            try:
                with _pg_connect() as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
            finally:
                self.pg_name = None
        if self.redis_client is not None:
            self.redis_client.flushdb()  # it was empty when we took it
            self.redis_client = None
        if self in _live:
            _live.remove(self)
        if os.environ.get("STOCKLINK_BENCH_KEEP") is None:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def drive_sizes(script: str, *, configs: str, sizes: str, args: list[str]) -> dict:
    """Per configuration and size, a fresh stack with a worker (no beat) and `script
    --drive=<size> <args>` run in it; {config: {size: its JSON line}}. A configuration whose
    services cannot be reached is skipped with the reason."""
    results: dict = {}
    for config in configs.split(","):
        results[config] = {}
        for size in [int(s) for s in sizes.split(",")]:
            try:
                with Stack(config=config, worker=True, beat=False) as st:
                    out = st.run_driver([script, f"--drive={size}", *args], timeout=7200)
                    results[config][str(size)] = json.loads(out.strip().splitlines()[-1])
            except Unavailable as exc:
                results[config] = {"skipped": str(exc)}
                break
    return results
