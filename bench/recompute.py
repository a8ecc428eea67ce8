"""Recompute after a catalogue-wide stock change: wall time, peak memory, SQL queries.

.venv/bin/python bench/recompute.py [--sizes 10000,100000] [--runs 3] [--configs sqlite,postgres]
.venv/bin/python bench/recompute.py --build=N        # into DATABASE_URL (migrated), then
.venv/bin/python bench/recompute.py --measure        # measure DATABASE_URL as it is

Per configuration and size N, on a fresh database: one process builds the mirror with bulk
inserts (N variants of one store, each stocked at 2 locations, N listings in one Selling List on
the default profile, all Linked with Amazon told the current stock); a second, fresh process then
`--runs` times changes every inventory level (one UPDATE) and times

    listings_recompute(variant_ids=<all N>, reason="stock_change")

which writes N new targets and N pending pushes (the worst case: every listing changes). Between
runs the pushes are marked done and the listings told their target (not timed), so every run
does the same work. Then a recompute with nothing changed (0 pushes), and with --tracemalloc one
more changed run under tracemalloc for the Python allocation peak (5x slower; not the headline).

On PostgreSQL every catalogue-wide UPDATE made here (not timed) is followed by VACUUM ANALYZE,
as autovacuum would do between such changes in production; on this loaded machine autovacuum
fell behind and left statistics that turned the batch reads into sequential scans.

Nothing leaves the process: the Celery broker is `memory://`, and `send_pending.delay_on_commit`
(which listings_recompute calls once per account that got a push) is replaced by a counter for
the measurement, so no task is queued and no network is touched.

Peak memory is the process's maxrss (resource.getrusage: interpreter, Django and the recompute)
and, with --tracemalloc, tracemalloc's peak of the recompute's own allocations. Queries are
counted with `connection.execute_wrapper` (a bulk statement is one query). `postgres` uses a
database created and dropped here (postgres://postgres@127.0.0.1:5432). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time

from _common import ROOT, machine

US = "ATVPDKIKX0DER"
LOCATIONS = 2
CHUNK = 5000


def _setup():
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def build(size: int) -> None:
    _setup()
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import (
        AmazonAccount,
        InventoryLevel,
        Location,
        Marketplace,
        Product,
        ShopifyStore,
        Variant,
    )
    from profiles.models import default_profile
    from selling_lists.models import Listing, ListingStatus, SellingList

    now = timezone.now()
    store = ShopifyStore.objects.create(
        name="Bench shop",
        shop_domain="bench-recompute.myshopify.com",
        access_token="unused",
        webhook_secret="unused",
        base_url="http://127.0.0.1:9/unused",
    )
    account = AmazonAccount.objects.create(
        name="Bench seller",
        seller_id="ABENCHRECOMPUT",
        region="NA",
        lwa_client_id="unused",
        lwa_client_secret="unused",
        refresh_token="unused",
        endpoint="http://127.0.0.1:9/unused",
        token_url="http://127.0.0.1:9/unused",
    )
    account.marketplaces.set(Marketplace.objects.filter(pk=US))
    locations = Location.objects.bulk_create(
        [
            Location(store=store, shopify_id=i + 1, name=f"Location {i + 1}")
            for i in range(LOCATIONS)
        ]
    )
    selling_list = SellingList.objects.create(
        name="US",
        amazon_account=account,
        marketplace_id=US,
        shopify_store=store,
        profile=default_profile(),
    )
    for start in range(0, size, CHUNK):
        ids = range(start + 1, min(start + CHUNK, size) + 1)
        with transaction.atomic():
            Product.objects.bulk_create(
                [Product(pk=i, store=store, shopify_id=i, title=f"Product {i}") for i in ids]
            )
            Variant.objects.bulk_create(
                [
                    Variant(
                        pk=i,
                        store=store,
                        product_id=i,
                        product_title=f"Product {i}",
                        shopify_id=i,
                        title="Default",
                        sku=f"SKU-{i:06d}",
                        inventory_item_id=i,
                    )
                    for i in ids
                ]
            )
            InventoryLevel.objects.bulk_create(
                [
                    InventoryLevel(variant_id=i, location=loc, available=i % 50, updated_at=now)
                    for i in ids
                    for loc in locations
                ]
            )
            stock = {i: LOCATIONS * (i % 50) for i in ids}
            Listing.objects.bulk_create(
                [
                    Listing(
                        pk=i,
                        selling_list=selling_list,
                        amazon_account=account,
                        marketplace_id=US,
                        variant_id=i,
                        sku=f"SKU-{i:06d}",
                        status=ListingStatus.LINKED,
                        computed_quantity=stock[i],
                        computed_at=now,
                        last_sent_quantity=stock[i],
                        last_sent_at=now,
                        amazon_quantity=stock[i],
                    )
                    for i in ids
                ]
            )
    print(json.dumps({"built": size}))


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def measure(runs: int, trace: bool) -> None:
    _setup()
    import tracemalloc

    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from accounts.models import InventoryLevel, Variant
    from selling_lists.models import Listing, ListingStatus
    from sync import queues
    from sync.models import PushState, QtyPush
    from sync.outbox.recompute import listings_recompute

    queued_tasks = []
    # Counted, never sent (see the module docstring).
    queues.send_pushes_soon = lambda account_ids: queued_tasks.extend(account_ids)

    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    variant_ids = list(Variant.objects.values_list("pk", flat=True))
    baseline_mb = _maxrss_mb()

    def change_all_levels():
        # The catalogue-wide change: every level moves (one statement, not timed).
        InventoryLevel.objects.update(
            available=models_f("available") + 1, updated_at=timezone.now()
        )

    def settle():
        # As if every push had been sent and confirmed (not timed).
        QtyPush.objects.filter(state=PushState.PENDING).update(state=PushState.DONE)
        # Amazon's read-back too: `decide` compares the Result with what Amazon was read to
        # show, so without it the "unchanged" pass would queue every listing again.
        Listing.objects.update(
            last_sent_quantity=models_f("computed_quantity"),
            amazon_quantity=models_f("computed_quantity"),
            status=ListingStatus.LINKED,
        )
        vacuum()

    def vacuum():
        # The catalogue-wide UPDATEs above leave a dead row per live one; autovacuum clears
        # them between changes in production, and on a loaded machine here it falls behind,
        # leaving stale statistics (seq scans) that no steady state has. Not timed.
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")

    def recompute():
        nonlocal queries
        queries = 0
        queued_tasks.clear()
        with connection.execute_wrapper(count):
            start = time.perf_counter()
            summary = listings_recompute(variant_ids=variant_ids, reason="stock_change")
            seconds = time.perf_counter() - start
        return seconds, queries, summary

    samples, per_run = [], []
    vacuum()
    for _ in range(runs):
        change_all_levels()
        vacuum()
        seconds, n_queries, summary = recompute()
        samples.append(seconds)
        per_run.append(
            {
                "s": round(seconds, 3),
                "queries": n_queries,
                "listings": summary.listings,
                "queued_pushes": summary.queued,
                "send_tasks_counted": len(queued_tasks),
            }
        )
        settle()
    peak_rss_mb = _maxrss_mb()

    unchanged_s, unchanged_queries, unchanged = recompute()

    traced_s = traced_peak = None
    if trace:
        change_all_levels()
        vacuum()
        tracemalloc.start()
        traced_s, _, _ = recompute()
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

    print(
        json.dumps(
            {
                "listings": len(variant_ids),
                "median_s": round(statistics.median(samples), 3),
                "min_s": round(min(samples), 3),
                "max_s": round(max(samples), 3),
                "queries": per_run[0]["queries"],
                "batches": -(-len(variant_ids) // settings.SYNC_RECOMPUTE_BATCH_SIZE),
                "runs": per_run,
                "peak_rss_mb": round(peak_rss_mb, 1),
                "rss_before_recompute_mb": round(baseline_mb, 1),
                "tracemalloc_peak_mb": traced_peak and round(traced_peak / 2**20, 1),
                "tracemalloc_run_s": traced_s and round(traced_s, 3),
                "unchanged": {
                    "s": round(unchanged_s, 3),
                    "queries": unchanged_queries,
                    "queued_pushes": unchanged.queued,
                },
                "database": connection.vendor,
            }
        )
    )


def models_f(name):
    from django.db.models import F

    return F(name)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--configs", default="sqlite,postgres")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace allocations")
    parser.add_argument("--build", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        build(args.build)
        return
    if args.measure:
        measure(args.runs, args.tracemalloc)
        return

    from _stack import Stack, Unavailable

    results: dict = {}
    for config in args.configs.split(","):
        results[config] = {}
        for size in [int(s) for s in args.sizes.split(",")]:
            try:
                with Stack(
                    config=config,
                    worker=False,
                    beat=False,
                    web=False,
                    broker=False,
                    extra_env={"DJANGO_DEBUG": "false"},
                ) as st:
                    st.run_driver(["bench/recompute.py", f"--build={size}"], timeout=900)
                    out = st.run_driver(
                        [
                            "bench/recompute.py",
                            "--measure",
                            f"--runs={args.runs}",
                            *(["--tracemalloc"] if args.tracemalloc else []),
                        ],
                        timeout=1200,
                    )
                    results[config][str(size)] = json.loads(out.strip().splitlines()[-1])
            except Unavailable as exc:
                results[config] = {"skipped": str(exc)}
                break
    print(
        json.dumps(
            {
                "benchmark": "recompute_catalogue_wide_change",
                "targets": {"s_at_100k": 3.0, "unchanged_s_at_100k": 1.0, "peak_mb": 300},
                "batch_size": "SYNC_RECOMPUTE_BATCH_SIZE (default 10000)",
                "results": results,
                "machine": machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
