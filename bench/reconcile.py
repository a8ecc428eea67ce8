"""A reconcile pass at scale: Shopify by bulk operation, Amazon by one listings report.

.venv/bin/python bench/reconcile.py [--sizes 10000,100000,300000] [--runs 3] [--configs postgres]

Per configuration and size N: the app as `make run` runs it (`manage.py runserver`: Stocklink
and the sandbox over HTTP on 127.0.0.1; a Celery worker, which runs the sandbox's bulk
operations and would send the pushes: the driver keeps them from being queued), a fresh
database, and a sandbox shop and seller with N SKUs at one location, connected as the demo
connects them (catalogue import by bulk operation, one Selling List, Link by SKU; not timed).
Then `--runs` times: 1 % of the SKUs change stock in the sandbox's Shopify without a webhook,
and 1 % are edited on the sandbox's Amazon (drift), not timed; then `reconcile_run()` is timed
in the driver process, which plays the worker: the listings report, the bulk operation (the
sandbox builds the JSONL and the driver polls it), the upserts and the recompute of every
listing, with its SQL queries counted. The duration is also what `ReconcileRun` recorded (what
the admin shows). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import statistics
import sys
import time

from _common import ROOT, machine

INTERVAL_S = 3600  # STOCKLINK_RECONCILE_SECONDS' default
GOAL_S = 300  # issue 12: 300k listings in at most 5 minutes


def drive(size: int, runs: int, profile: str = "") -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from _world import connect_world
    from django.db import connection
    from django.db.models import F

    from sandbox.amazon.models import Listing as AmazonListing
    from sandbox.shopify.models import InventoryLevel as ShopifyLevel
    from selling_lists.models import Listing
    from sync import queues
    from sync.models import ReconcileRun
    from sync.reconcile import reconcile_run

    queues.send_pushes_soon = lambda account_ids: None  # pushes are queued, never sent
    start = time.perf_counter()
    connect_world(variants=size, domain="bench-reconcile.myshopify.com", bulk=True)
    setup_s = time.perf_counter() - start
    listings = Listing.objects.count()
    step = 100  # 1 %

    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    samples, per_run = [], []
    for run in range(runs):
        # Ids follow the seed's SKU numbers, and every 50th SKU is untracked (no Result, so no
        # drift): residues 0 and 50 would pick only those. 10+run and 60+run pick tracked ones.
        changed = ShopifyLevel.objects.extra(where=[f"id %% {step} = {10 + run % 40}"]).update(
            available=F("available") + 3
        )
        edited = AmazonListing.objects.extra(where=[f"id %% {step} = {60 + run % 40}"]).update(
            quantity=F("quantity") + 1
        )
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")  # as autovacuum would between passes
        queries = 0
        with connection.execute_wrapper(count):
            profiler = cProfile.Profile() if profile else None
            began = time.perf_counter()
            if profiler:
                profiler.enable()
            summary = reconcile_run()
            seconds = time.perf_counter() - began
            if profiler:
                profiler.disable()
                profiler.dump_stats(f"{profile}.{size}.{run}")
        recorded = ReconcileRun.objects.latest("started_at")
        samples.append(seconds)
        per_run.append(
            {
                "s": round(seconds, 2),
                "recorded_s": recorded.seconds,
                "queries": queries,
                "shopify_changed": changed,
                "amazon_edited": edited,
                "amazon_s": round(summary.amazon_seconds, 2),
                "shopify_s": round(summary.shopify_seconds, 2),
                "recompute_s": round(summary.recompute_seconds, 2),
                **sandbox_seconds(),
                "read_back": summary.read_back,
                "drifted": summary.drifted,
                "variants": summary.variants,
                "errors": summary.errors,
            }
        )
    print(
        json.dumps(
            {
                "listings": listings,
                "setup_s": round(setup_s, 1),
                "median_s": round(statistics.median(samples), 2),
                "min_s": round(min(samples), 2),
                "max_s": round(max(samples), 2),
                "within_interval": max(samples) < INTERVAL_S,
                "runs": per_run,
                "database": connection.vendor,
            }
        )
    )


def sandbox_seconds() -> dict:
    """How long the sandbox took to produce the pass's listings report and bulk operation file
    (Amazon's and Shopify's own work, which the pass waits for)."""
    from sandbox.amazon.models import Report
    from sandbox.shopify.models import BulkOperation

    report = Report.objects.latest("pk")
    operation = BulkOperation.objects.latest("pk")
    return {
        "sandbox_report_s": round(
            (report.processing_end_time - report.processing_start_time).total_seconds(), 2
        ),
        "sandbox_bulk_s": round((operation.completed_at - operation.created_at).total_seconds(), 2),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,300000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--configs", default="postgres")
    parser.add_argument("--profile", default="", help="dump cProfile stats of each pass here")
    parser.add_argument("--drive", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        drive(args.drive, args.runs, args.profile)
        return

    from _stack import drive_sizes

    # The stack's worker runs the sandbox's bulk operation (a task, as Shopify runs it apart).
    results = drive_sizes(
        "bench/reconcile.py",
        configs=args.configs,
        sizes=args.sizes,
        args=[f"--runs={args.runs}", *([f"--profile={args.profile}"] if args.profile else [])],
    )
    print(
        json.dumps(
            {
                "benchmark": "reconcile_pass",
                "goal_s": GOAL_S,
                "interval_s": INTERVAL_S,
                "results": results,
                "machine": machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
