"""Convergence figures (docs/convergence.md): time until every affected listing shows its
Result after an outage, a SIGKILL of every worker, corrected credentials and a capped sale.

Runs tests/workers/test_convergence_with_workers.py (real worker processes on PostgreSQL and
Redis, the sandbox over HTTP), which measure and assert each figure, and prints them as one
JSON line. Needs DATABASE_URL and REDIS_URL (PostgreSQL and Redis), as `make test-services`.

    .venv/bin/python bench/convergence.py --outage 300
"""

import argparse
import json
import os
import re
import subprocess
import sys

from _common import PYTHON, ROOT, machine

FIGURES = {
    "outage": r"convergence after a (\d+) s outage: ([\d.]+) s from recovery",
    "sigkill": r"convergence after SIGKILL of every worker: ([\d.]+) s",
    "credentials": r"Amazon shows every Result ([\d.]+) s after the credentials were saved",
    "capped_sale": r"capped listing set back ([\d.]+) s after the order import",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outage", type=float, default=300.0, help="outage length, seconds")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("set DATABASE_URL to a PostgreSQL database and REDIS_URL (see the docstring)")
    env = dict(os.environ, STOCKLINK_OUTAGE_SECONDS=str(args.outage))
    run = subprocess.run(
        [PYTHON, "-m", "pytest", "-p", "no:xdist", "-m", "workers", "-s", "-q"]
        + ["tests/workers/test_convergence_with_workers.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    found = {}
    for name, pattern in FIGURES.items():
        match = re.search(pattern, run.stdout)
        if match:
            found[name] = float(match.groups()[-1])
    print(
        json.dumps(
            {
                "outage_seconds": args.outage,
                "seconds_until_every_result": found,
                "tests_passed": run.returncode == 0,
                "machine": machine(),
            }
        )
    )
    if run.returncode:
        sys.stderr.write(run.stdout[-5000:])
    sys.exit(run.returncode)


if __name__ == "__main__":
    main()
