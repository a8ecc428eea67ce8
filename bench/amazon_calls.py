"""Amazon calls per N changed listings, and the time to confirm N listings by patches vs a feed.

.venv/bin/python bench/amazon_calls.py [--sizes 1,10,100,1000,5000] [--feed-delay 30]
                                       [--patch-sizes 10,50,100] [--skip-timing]

The app's web server (`manage.py runserver`: Stocklink and the sandbox) on a fresh SQLite
database, the sandbox's rate limits on. The driver process plays the worker and the beat: it
calls the sync services itself (pushes_send, pushes_confirm when due, feed_poll when
its next_poll_at is due), so every Amazon call goes over HTTP through the real SP-API client.

1. Calls: a shop and seller with 1.05 x max(sizes) + 100 SKUs (1 location) are connected (catalogue
   import, Link by SKU). For each N, the stock of N listings changes (inventory_levels_apply,
   the path a webhook takes), then the pushes are sent with the default SYNC_FEED_THRESHOLD and
   driven until every one is confirmed. Calls are the sandbox's per-operation request counters
   (RateBucket.requests_count) before and after; the feed document upload and the processing
   report download (pre-signed URLs, not SP-API operations) are listed apart. Then a recompute
   of every listing with unchanged stock and a send: 0 calls expected.
2. Timing: N listings confirmed by patches (paced by the shared limiter at 5 req/s x 0.9) for
   --patch-sizes, and by one feed with the sandbox's feed processing delay at --feed-delay
   seconds, polled on the engine's own schedule (first poll after 5 s, then 8, 16, 32 … s).

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from _common import ROOT, machine

US = "ATVPDKIKX0DER"


def _setup():
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _connect(variants: int):
    from _world import connect_world

    return connect_world(variants=variants, domain="bench-calls.myshopify.com", bulk=False)


def _calls(seller_id: str) -> dict:
    from sandbox.amazon.models import RateBucket

    return dict(
        RateBucket.objects.filter(seller_id=seller_id).values_list("operation", "requests_count")
    )


def _delta(before: dict, after: dict) -> dict:
    return {op: n - before.get(op, 0) for op, n in sorted(after.items()) if n - before.get(op, 0)}


def _busy():
    from sync.models import PushState, QtyPush

    return QtyPush.objects.filter(state__in=[PushState.PENDING, PushState.SENDING, PushState.SENT])


def _drive(account, *, feed_threshold=None, timeout=900.0) -> dict:
    """Send, then confirm / poll as the beat would (each when due) until nothing is in flight."""
    from django.utils import timezone

    from sync.models import AmazonFeed
    from sync.outbound.confirm import pushes_confirm
    from sync.outbound.feeds import feed_poll
    from sync.outbound.send import pushes_send

    start = time.monotonic()
    sent = pushes_send(account_id=account.pk, feed_threshold=feed_threshold)
    deadline = start + timeout
    while _busy().exists() and time.monotonic() < deadline:
        now = timezone.now()
        for feed_pk in AmazonFeed.objects.filter(
            applied_at__isnull=True, next_poll_at__lte=now
        ).values_list("pk", flat=True):
            feed_poll(feed_pk=feed_pk)
        pushes_confirm(account_id=account.pk)
        if _busy().filter(state="pending", next_attempt_at__lte=timezone.now()).exists():
            pushes_send(account_id=account.pk, feed_threshold=feed_threshold)
        time.sleep(0.1)
    return {
        "s": round(time.monotonic() - start, 2),
        "claimed": sent.claimed,
        "feeds": len(sent.feeds),
        "settled": not _busy().exists(),
    }


def _change(store, listings, bump: int) -> int:
    """New stock for these listings' variants, through the webhook's ingestion path."""
    from django.utils import timezone

    from accounts.models import InventoryLevel
    from sync.inbound.stock import LevelUpdate, inventory_levels_apply

    now = timezone.now()
    levels = InventoryLevel.objects.filter(
        variant_id__in=[lst.variant_id for lst in listings]
    ).select_related("variant", "location")
    summary = inventory_levels_apply(
        store=store,
        levels=[
            LevelUpdate(
                inventory_item_id=lv.variant.inventory_item_id,
                location_id=lv.location.shopify_id,
                available=max(lv.available, 0) + bump,
                updated_at=now,
            )
            for lv in levels
        ],
    )
    return summary.recompute.queued if summary.recompute else 0


def drive(args) -> None:
    _setup()
    from django.conf import settings

    from sandbox.amazon.models import Document, SandboxSettings, throttled_count
    from selling_lists.models import Listing, ListingStatus
    from sync import queues
    from sync.outbox.recompute import listings_recompute

    # The driver is the worker: tasks queued on commit are not needed (memory broker anyway).
    queues.send_pushes_soon = lambda account_ids: None

    sizes = [int(s) for s in args.sizes.split(",")]
    store, account = _connect(int(max(sizes) * 1.05) + 100)  # 2% are untracked
    _drive(account)  # whatever linking queued
    usable = list(
        Listing.objects.filter(
            amazon_account=account, status=ListingStatus.LINKED, variant__tracked=True
        ).order_by("pk")
    )
    knobs = SandboxSettings.load()
    knobs.rate_limits_enabled = True
    knobs.feed_processing_delay_seconds = 0
    knobs.save()

    calls = []
    for i, n in enumerate(sizes):
        queued = _change(store, usable[:n], bump=10 + i)
        before = _calls(account.seller_id)
        docs = Document.objects.filter(seller__seller_id=account.seller_id).count()
        run = _drive(account)
        calls.append(
            {
                "n": n,
                "queued": queued,
                "transport": "feed" if run["feeds"] else "patch",
                "sp_api_calls": _delta(before, _calls(account.seller_id)),
                "documents": Document.objects.filter(seller__seller_id=account.seller_id).count()
                - docs,
                "one_call_per_listing": n,
                **run,
            }
        )
        calls[-1]["total_sp_api_calls"] = sum(calls[-1]["sp_api_calls"].values())

    before = _calls(account.seller_id)
    summary = listings_recompute(
        variant_ids=[lst.variant_id for lst in usable], reason="stock_change"
    )
    run = _drive(account)
    unchanged = {
        "listings": summary.listings,
        "queued": summary.queued,
        "sp_api_calls": sum(_delta(before, _calls(account.seller_id)).values()),
    }

    timing = {}
    if not args.skip_timing:
        patches = []
        for i, n in enumerate(int(s) for s in args.patch_sizes.split(",")):
            _change(store, usable[:n], bump=100 + i)
            patches.append({"n": n, **_drive(account, feed_threshold=10**9)})
        knobs.feed_processing_delay_seconds = args.feed_delay
        knobs.save()
        n = int(args.patch_sizes.split(",")[-1])
        _change(store, usable[:n], bump=200)
        before = _calls(account.seller_id)
        feed = {"n": n, "processing_delay_s": args.feed_delay, **_drive(account, feed_threshold=1)}
        feed["sp_api_calls"] = _delta(before, _calls(account.seller_id))
        timing = {"patches": patches, "feed": feed}

    print(
        json.dumps(
            {
                "calls": calls,
                "unchanged": unchanged,
                "timing": timing,
                "feed_threshold": settings.SYNC_FEED_THRESHOLD,
                "throttled": throttled_count(account.seller_id),
            }
        )
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,10,100,1000,5000")
    parser.add_argument("--patch-sizes", default="10,50,100")
    parser.add_argument("--feed-delay", type=float, default=30.0)
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--drive", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        drive(args)
        return

    from _stack import Stack

    with Stack(config="sqlite", worker=False, beat=False, broker=False) as stack:
        forwarded = [
            f"--sizes={args.sizes}",
            f"--patch-sizes={args.patch_sizes}",
            f"--feed-delay={args.feed_delay}",
            *(["--skip-timing"] if args.skip_timing else []),
        ]
        out = stack.run_driver(["bench/amazon_calls.py", "--drive", *forwarded], timeout=2400)
    result = json.loads(out.strip().splitlines()[-1])
    print(json.dumps({"benchmark": "amazon_calls", **result, "machine": machine()}))


if __name__ == "__main__":
    main()
