"""Processing stored Shopify webhook events: re-read what changed, mirror it, recompute.

webhook_events_drain(store_id=...)    the drain task's job: all of a store's unprocessed events
webhook_event_process(event_pk=...)   one event (and the store's others)
stranded_events()                     events stored but never processed (beat re-queues)
refresh_items(store, client, item_ids, summary)   re-read items (also Update Qty's re-read)
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from accounts.models import InventoryLevel, Location, ShopifyStore, Variant

from ..clients.errors import RateLimited, TransientError
from ..clients.factory import shopify_client
from ..clients.protocols import ShopifyApi
from ..models import PushReason, WebhookEvent
from ..outbox.recompute import listings_recompute
from .stock import LevelUpdate, inventory_levels_apply
from .wakeup import DrainFlag, publish_drain
from .webhooks import ITEM_TOPICS, LOCATION_TOPICS

logger = logging.getLogger(__name__)

# Items re-read together: one GraphQL page (the client splits larger sets itself).
COALESCE_ITEMS = 100
# How far our clock may run ahead of Shopify's before a real change looks stale.
STALE_MARGIN = timedelta(seconds=5)


@dataclass
class ProcessSummary:
    events: int = 0
    stale: int = 0
    items_read: int = 0
    levels_changed: int = 0
    queued: int = 0
    notes: list[str] = field(default_factory=list)


class MalformedPayload(ValueError):
    """A signed payload without the ids its topic promises."""


def _item_ids(event: WebhookEvent) -> set[int]:
    try:
        return _read_item_ids(event)
    except (TypeError, ValueError, AttributeError) as exc:
        raise MalformedPayload(f"Malformed {event.topic} payload: {exc}") from exc


def _read_item_ids(event: WebhookEvent) -> set[int]:
    payload = event.payload
    if event.topic.startswith("inventory_levels/"):
        return {int(payload["inventory_item_id"])} if payload.get("inventory_item_id") else set()
    if event.topic == "inventory_items/update":
        return {int(payload["id"])} if payload.get("id") else set()
    if event.topic == "products/update":
        return {
            int(v["inventory_item_id"])
            for v in payload.get("variants") or []
            if v.get("inventory_item_id")
        }
    return set()


def _is_stale(event: WebhookEvent) -> bool:
    """True when we hold a newer state of what the event is about than its trigger time."""
    if event.triggered_at is None:
        return False
    payload = event.payload
    if event.topic == "inventory_levels/update" and str(payload.get("location_id", "")).isdigit():
        held = (
            InventoryLevel.objects.filter(
                variant__store_id=event.store_id,
                variant__inventory_item_id=payload.get("inventory_item_id"),
                location__store_id=event.store_id,
                location__shopify_id=payload.get("location_id"),
            )
            .values_list("updated_at", flat=True)
            .first()
        )
        # Our read time against Shopify's trigger time: a margin keeps a clock running a little
        # ahead of Shopify's from discarding a real change (reconcile would only catch it later).
        return held is not None and held >= event.triggered_at + STALE_MARGIN
    return False


def webhook_event_process(*, event_pk: int) -> ProcessSummary:
    """Act on one stored event (and on the store's other unprocessed item events with it).

    Item topics: re-read the current levels and tracked flag of the inventory items concerned
    (`inventory_levels_for_items`), mirror them (stale levels ignored) and recompute the
    listings they feed. Location topics: re-read the store's locations. Idempotent: a processed
    event is skipped, and re-reading twice writes nothing the second time.
    """
    summary = ProcessSummary()
    event = WebhookEvent.objects.select_related("store").filter(pk=event_pk).first()
    if event is None or event.processed_at is not None:
        return summary
    store = event.store
    client = shopify_client(store)
    if event.topic in LOCATION_TOPICS:
        _refresh_locations(store, client, summary)
        _mark_processed([event], "Locations re-read.")
        summary.events = 1
        return summary

    events = [event] + list(
        WebhookEvent.objects.filter(store=store, processed_at__isnull=True, topic__in=ITEM_TOPICS)
        .exclude(pk=event.pk)
        .order_by("pk")[: COALESCE_ITEMS - 1]
    )
    item_ids: set[int] = set()
    fresh, stale = [], []
    malformed = []
    for candidate in events:
        try:
            ids = _item_ids(candidate)
        except MalformedPayload as exc:
            # One bad event must not hold up the store's others: set it aside with the reason.
            malformed.append((candidate, str(exc)))
            continue
        if _is_stale(candidate):
            stale.append(candidate)
            continue
        if len(item_ids | ids) > COALESCE_ITEMS and item_ids:
            continue  # left for the next run
        item_ids |= ids
        fresh.append(candidate)
    summary.events = len(fresh) + len(stale)
    summary.stale = len(stale)
    _mark_processed(stale, "Stale: we already hold a newer state.")
    for bad, reason in malformed:
        _mark_processed([bad], reason)
    if item_ids:
        refresh_items(store, client, item_ids, summary)
    _mark_processed(fresh, f"Re-read {len(item_ids)} inventory item(s) from Shopify.")
    return summary


@dataclass
class DrainSummary:
    batches: int = 0
    events: int = 0
    follow_up: str = ""

    def __str__(self):
        text = f"{self.events} event(s) in {self.batches} batch(es)"
        return text + (f"; {self.follow_up}" if self.follow_up else "")


def webhook_events_drain(*, store_id: int, budget_seconds: float = 20.0) -> DrainSummary:
    """Process every stored event of the store not processed yet, a batch at a time, until
    none is left; queued by the delivery that found no drain of the store on its way
    (`wakeup.drain_soon`). Stores drain in parallel, each one drain at a time.

    Holds the store's wake-up flag while it works and deletes it before its last look for
    events, so an event committed before that look is processed here and any later one queues
    the next drain (sync/inbound/wakeup.py). A rate limit or a transient error queues another
    drain after the wait (a few seconds for the latter); any other error leaves the events to
    the next delivery's drain and beat's sweep. After `budget_seconds` it queues another drain
    to go on, keeping within the task's time limit.
    """
    summary = DrainSummary()
    flag = DrainFlag(store_id)
    deadline = time.monotonic() + budget_seconds
    while True:
        flag.hold()
        first = _first_unprocessed(store_id)
        if first is None:
            flag.release()
            # The last look: anything committed before the release is seen here.
            if _first_unprocessed(store_id) is None or not flag.take():
                return summary  # nothing left, or a delivery took the flag and queued a drain
            continue
        try:
            done = webhook_event_process(event_pk=first)
        except TransientError as exc:  # RateLimited included
            wait = max(exc.retry_after, 1.0) if isinstance(exc, RateLimited) else 5.0
            summary.follow_up = f"{exc.__class__.__name__}: another drain in {wait:.0f} s"
            publish_drain(flag, countdown=wait)  # still holding the flag until then
            return summary
        except Exception:
            flag.release()  # the next delivery tries again; beat's sweep meanwhile
            raise
        summary.batches += 1
        summary.events += done.events
        if time.monotonic() > deadline:
            summary.follow_up = "budget spent: another drain queued"
            publish_drain(flag)  # still holding the flag: deliveries meanwhile publish nothing
            return summary


def _first_unprocessed(store_id: int) -> int | None:
    """The store's oldest unprocessed event."""
    return (
        WebhookEvent.objects.filter(store_id=store_id, processed_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )


def stranded_events(*, older_than: timedelta = timedelta(minutes=1)) -> list[int]:
    """One unprocessed event per store left behind (broker down at queue time, a task that
    gave up): processing one picks up the store's others."""
    cutoff = timezone.now() - older_than
    firsts = (
        WebhookEvent.objects.filter(processed_at__isnull=True, received_at__lt=cutoff)
        .values("store_id")
        .annotate(first=Min("pk"))
    )
    return [row["first"] for row in firsts]


def _mark_processed(events: list[WebhookEvent], outcome: str) -> None:
    if events:
        WebhookEvent.objects.filter(pk__in=[e.pk for e in events]).update(
            processed_at=timezone.now(), outcome=outcome[:255]
        )


def refresh_items(
    store: ShopifyStore, client: ShopifyApi, item_ids: set[int], summary: ProcessSummary
):
    """Re-read these inventory items' levels from Shopify, mirror them, recompute."""
    known = set(
        Variant.objects.filter(store=store, inventory_item_id__in=item_ids).values_list(
            "inventory_item_id", flat=True
        )
    )
    if not known:
        summary.notes.append("No variant of ours uses these inventory items.")
        return
    locations = Location.objects.filter(store=store).count()
    # Read time, taken before the call: a level read now is newer than any event before it,
    # and an older read finishing later cannot overwrite it.
    read_at = timezone.now()
    stocks = client.inventory_levels_for_items(sorted(known), max_locations=max(locations, 1))
    summary.items_read = len(stocks)
    held: dict[int, set[int]] = {}
    for item_id, location_id in InventoryLevel.objects.filter(
        variant__store=store, variant__inventory_item_id__in=known
    ).values_list("variant__inventory_item_id", "location__shopify_id"):
        held.setdefault(item_id, set()).add(location_id)
    levels = []
    for item_id, stock in stocks.items():
        for location_id, available in stock.available.items():
            levels.append(LevelUpdate(item_id, location_id, available, read_at))
        if locations <= 250:  # the read was complete: levels it lacks are gone
            for location_id in held.get(item_id, set()) - set(stock.available):
                levels.append(LevelUpdate(item_id, location_id, None, read_at))
    result = inventory_levels_apply(
        store=store,
        levels=levels,
        tracked={item_id: stock.tracked for item_id, stock in stocks.items()},
        reason=PushReason.STOCK_CHANGE,
    )
    summary.levels_changed = result.levels_changed
    summary.queued = result.recompute.queued if result.recompute else 0


def _refresh_locations(store: ShopifyStore, client: ShopifyApi, summary: ProcessSummary) -> None:
    remote = {loc.id: loc for loc in client.locations()}
    changed: list[int] = []
    with transaction.atomic():
        ours = {
            loc.shopify_id: loc for loc in Location.objects.select_for_update().filter(store=store)
        }
        for shopify_id, loc in remote.items():
            mine = ours.get(shopify_id)
            if mine is None:
                Location.objects.create(
                    store=store, shopify_id=shopify_id, name=loc.name, is_active=loc.is_active
                )
                continue
            if mine.is_active != loc.is_active or mine.name != loc.name:
                if mine.is_active != loc.is_active:
                    changed.append(mine.pk)
                mine.is_active, mine.name = loc.is_active, loc.name
                mine.save(update_fields=["is_active", "name"])
        for shopify_id, mine in ours.items():
            if shopify_id not in remote and mine.is_active:
                # Deleted in Shopify: its stock no longer counts anywhere.
                mine.is_active = False
                mine.save(update_fields=["is_active"])
                changed.append(mine.pk)
        if changed:
            variant_ids = set(
                InventoryLevel.objects.filter(location_id__in=changed).values_list(
                    "variant_id", flat=True
                )
            )
            if variant_ids:
                result = listings_recompute(variant_ids=variant_ids, reason=PushReason.STOCK_CHANGE)
                summary.queued = result.queued
    summary.notes.append(f"{len(changed)} location(s) changed active state.")
