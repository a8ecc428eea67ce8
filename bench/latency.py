"""Latency from a Shopify stock change to Amazon's patchListingsItem, with the app run as the demo
runs it: `manage.py runserver` (Stocklink and the sandbox), a Celery worker (concurrency 2) and
beat, on a fresh database; everything on loopback.

.venv/bin/python bench/latency.py [--changes 60] [--gap 0.5] [--configs sqlite,postgres]

Per configuration: seed a sandbox shop (1 location) and seller, connect them to Stocklink as
`demo_seed` does (import the catalogue, a Selling List on the default profile, Link by SKU,
subscribe webhooks), wait until the linking pushes are settled, then change stock in the sandbox's
Shopify one SKU at a time (`set_available`, which fires inventory_levels/update through the
worker), `--gap` seconds apart. Latency = the sandbox's Amazon listing `updated_at` (set while it
handles the PATCH) minus the moment before `set_available`. The path: sandbox webhook task →
POST /webhooks/shopify/ → webhook_event_process task (GraphQL re-read, recompute, outbox) →
send_pending task → PATCH. Three Celery hops. The first `--warmup` changes are not counted.

Configurations: `sqlite` is the embedded default (SQLite, filesystem broker in a private folder,
database rate-limit buckets); `postgres` is PostgreSQL (a database created and dropped here) with
a Redis broker and Redis rate-limit buckets (db STOCKLINK_BENCH_REDIS_DB, default 12, must be
empty; flushed at the end). `sqlite-poll1s` is the embedded default with the filesystem broker
polled every 1 s (kombu's default) instead of config's 50 ms. A configuration whose server is
unreachable is skipped with a note. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from _common import ROOT, machine

CONFIGS = {
    "sqlite": dict(config="sqlite"),
    "sqlite-poll1s": dict(config="sqlite", broker_poll=1.0),
    "postgres": dict(config="postgres"),
}
US = "ATVPDKIKX0DER"


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    rank = max(int(round(p / 100 * len(ordered) + 0.5)) - 1, 0)
    return ordered[min(rank, len(ordered) - 1)]


# --- the driver: runs inside the stack's environment ---------------------------------------------


def _connect(variants: int):
    from _world import connect_world

    domain = "bench-latency.myshopify.com"
    store, account = connect_world(variants=variants, domain=domain, webhooks=True)
    return store, account, domain


def _settle(timeout: float) -> bool:
    from sync.models import PushState, QtyPush

    deadline = time.monotonic() + timeout
    busy = [PushState.PENDING, PushState.SENDING, PushState.SENT]
    while time.monotonic() < deadline:
        if not QtyPush.objects.filter(state__in=busy).exists():
            return True
        time.sleep(0.5)
    return False


def drive(args) -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from datetime import UTC, datetime

    from sandbox.amazon.models import Listing as AmazonListing
    from sandbox.amazon.models import throttled_count
    from sandbox.shopify.models import InventoryLevel as ShopLevel
    from sandbox.shopify.services import set_available
    from selling_lists.models import Listing, ListingStatus
    from sync.models import PushReason, QtyPush, WebhookEvent

    started = time.monotonic()
    store, account, domain = _connect(args.variants)
    settled = _settle(120)
    setup_s = time.monotonic() - started

    # SKUs whose Amazon quantity is simply the stock: tracked, linked, FBM.
    linked = dict(
        Listing.objects.filter(
            amazon_account=account, status=ListingStatus.LINKED, variant__tracked=True
        ).values_list("sku", "pk")
    )
    levels = [
        level
        for level in ShopLevel.objects.select_related("variant")
        .filter(variant__shop__domain=domain, variant__tracked=True)
        .order_by("variant__sku")
        if level.variant.sku in linked
    ]
    if not levels:
        raise SystemExit("no linked SKU to change")

    samples, stages, misses = [], {"webhook": [], "recompute": [], "send": []}, 0
    total = args.warmup + args.changes
    for i in range(total):
        level = levels[i % len(levels)]
        level.refresh_from_db()
        quantity = 20 + i % 40
        if quantity == level.available:
            quantity += 41
        sku = level.variant.sku
        t0 = time.time()
        set_available(level=level, quantity=quantity)
        deadline = time.monotonic() + args.timeout
        seen = None
        while time.monotonic() < deadline:
            row = (
                AmazonListing.objects.filter(
                    seller__seller_id=account.seller_id, sku=sku, marketplace_id=US
                )
                .values_list("quantity", "updated_at")
                .first()
            )
            if row and row[0] == quantity:
                seen = row[1].timestamp()
                break
            time.sleep(0.01)
        if seen is None and i < args.warmup or misses >= 3:
            break  # nothing arrives any more (a process of the stack died): stop early
        if i >= args.warmup:
            if seen is None:
                misses += 1
            else:
                samples.append(seen - t0)
                after = datetime.fromtimestamp(t0, tz=UTC)
                event = (
                    WebhookEvent.objects.filter(store=store, received_at__gte=after)
                    .order_by("received_at")
                    .first()
                )
                push = (
                    QtyPush.objects.filter(
                        listing_id=linked[sku],
                        reason=PushReason.STOCK_CHANGE,
                        created_at__gte=after,
                    )
                    .order_by("pk")
                    .first()
                )
                if event and push:
                    stages["webhook"].append(event.received_at.timestamp() - t0)
                    stages["recompute"].append(
                        push.created_at.timestamp() - event.received_at.timestamp()
                    )
                    stages["send"].append(seen - push.created_at.timestamp())
        time.sleep(args.gap)

    def summary(values):
        if not values:
            return None
        return {
            "p50_s": round(percentile(values, 50), 3),
            "p95_s": round(percentile(values, 95), 3),
            "max_s": round(max(values), 3),
        }

    print(
        json.dumps(
            {
                "changes": len(samples),
                "missed": misses,
                "latency": summary(samples),
                "median_stage_s": {
                    name: round(statistics.median(v), 3) if v else None
                    for name, v in stages.items()
                },
                "stages": {name: summary(v) for name, v in stages.items()},
                "throttled": throttled_count(account.seller_id),
                "settled_before": settled,
                "setup_s": round(setup_s, 1),
            }
        )
    )


# --- the orchestrator ----------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--changes", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--gap", type=float, default=0.5, help="seconds between changes")
    parser.add_argument("--variants", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=20.0, help="per change, seconds")
    parser.add_argument("--configs", default="sqlite,postgres")
    parser.add_argument("--drive", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        drive(args)
        return

    from _stack import Stack, Unavailable

    results = {}
    for name in args.configs.split(","):
        try:
            with Stack(**CONFIGS[name]) as stack:
                out = stack.run_driver(
                    [
                        "bench/latency.py",
                        "--drive",
                        f"--changes={args.changes}",
                        f"--warmup={args.warmup}",
                        f"--gap={args.gap}",
                        f"--variants={args.variants}",
                        f"--timeout={args.timeout}",
                    ],
                    timeout=300 + (args.changes + args.warmup) * (args.gap + args.timeout),
                )
                results[name] = json.loads(out.strip().splitlines()[-1])
                dead = stack.exited()
                if dead:
                    results[name]["exited"] = dead
        except Unavailable as exc:
            results[name] = {"skipped": str(exc)}
    print(
        json.dumps(
            {
                "benchmark": "latency_stock_change_to_patch",
                "target_p95_s": 2.0,
                "gap_s": args.gap,
                "results": results,
                "machine": machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
