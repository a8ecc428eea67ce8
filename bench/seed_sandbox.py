"""How long `manage.py sandbox_seed --variants N --locations K` takes on a fresh SQLite database.

.venv/bin/python bench/seed_sandbox.py [--variants 100000] [--locations 2] [--runs 3]
"""

import argparse

from _common import PYTHON, fresh_sqlite_env, report, timed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--variants", type=int, default=100_000)
    parser.add_argument("--locations", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    samples = []
    for _ in range(args.runs):
        env = fresh_sqlite_env()
        seconds, _ = timed(
            [
                PYTHON,
                "manage.py",
                "sandbox_seed",
                "--variants",
                str(args.variants),
                "--locations",
                str(args.locations),
            ],
            env,
        )
        samples.append(seconds)
    report("sandbox_seed", samples, variants=args.variants, locations=args.locations)


if __name__ == "__main__":
    main()
