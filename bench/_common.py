"""Helpers shared by the benchmark scripts: a fresh database per run, timing, the machine."""

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def machine() -> str:
    cpus = os.cpu_count()
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    arch = platform.processor() or platform.machine()
    return f"{arch}, {cpus} cores{mem}, Python {platform.python_version()}"


def fresh_sqlite_env() -> dict:
    """Environment for a subprocess using a new, migrated SQLite database file."""
    path = Path(tempfile.mkdtemp(prefix="stocklink-bench-")) / "bench.sqlite3"
    env = dict(
        os.environ, DATABASE_URL=f"sqlite:///{path}", DJANGO_SETTINGS_MODULE="config.settings.dev"
    )
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    return env


def timed(cmd: list[str], env: dict) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return time.perf_counter() - start, out.stdout


def report(name: str, samples: list[float], unit: str = "s", **extra) -> dict:
    result = {
        "benchmark": name,
        "runs": len(samples),
        f"median_{unit}": round(statistics.median(samples), 3),
        f"min_{unit}": round(min(samples), 3),
        f"max_{unit}": round(max(samples), 3),
        "machine": machine(),
        **extra,
    }
    print(json.dumps(result))
    return result
