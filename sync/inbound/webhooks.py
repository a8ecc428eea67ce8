"""Shopify webhooks in: receive (verify, dedupe, store, queue) and subscribe.

    webhook_receive(headers=..., raw_body=...)   the view's whole job, in milliseconds
    webhook_rejections_flush()                    Redis's rejection counts → WebhookRejection
    webhooks_subscribe(store=...)                 webhookSubscriptionCreate for every topic

A payload is only a "something changed" signal: Shopify builds it when it sends it, deliveries
repeat and arrive out of order. `events.py` re-reads what changed when it processes them.
Hostile input answers 4xx, never 5xx, on SQLite and PostgreSQL (docs/security.md, "Webhooks").
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import NamedTuple

import redis
from celery import current_app
from django.db import IntegrityError, connection, transaction
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from accounts.crypto import decrypt
from accounts.models import ShopifyStore

from .. import conf
from ..clients.factory import shopify_client
from ..clients.shopify_data import topic_enum, verify_webhook
from ..models import WebhookEvent, WebhookRejection
from . import wakeup
from .payloads import parse_payload, parse_triggered_at
from .wakeup import drain_soon

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/shopify/"
ITEM_TOPICS = frozenset(
    {
        "inventory_levels/update",
        "inventory_levels/connect",
        "inventory_levels/disconnect",
        "inventory_items/update",
        "products/update",
    }
)
LOCATION_TOPICS = frozenset(
    {
        "locations/create",
        "locations/update",
        "locations/delete",
        "locations/activate",
        "locations/deactivate",
    }
)
# What we subscribe to (the sandbox fires exactly these, as Shopify does).
SUBSCRIBED_TOPICS = (
    "inventory_levels/update",
    "inventory_items/update",
    "products/update",
    "locations/create",
    "locations/update",
    "locations/delete",
    "locations/activate",
    "locations/deactivate",
)
# Stored whole or refused: a longer header is not Shopify's (its event ids are UUIDs).
STORED_HEADERS = (
    ("topic", "X-Shopify-Topic"),
    ("event_id", "X-Shopify-Event-Id"),
    ("webhook_id", "X-Shopify-Webhook-Id"),
)
FLUSH_REJECTIONS = "sync.flush_webhook_rejections"
# A first rejection queues a flush this much later; the ones until then only touch Redis.
REJECTIONS_FLUSH_DELAY = 10


@dataclass(frozen=True)
class WebhookOutcome:
    status: int
    message: str
    event_id: int | None = None


def webhook_receive(*, headers: Mapping[str, str], raw_body: bytes) -> WebhookOutcome:
    """Verify, dedupe and store one delivery, and queue its processing.

    The HMAC is checked on the raw body before anything is parsed or stored: an unknown shop,
    a missing or wrong signature → 401, nothing stored, a rejection counted (in Redis when
    there is one). A signed body that is not a JSON object, or a header too long to store
    whole → 400 (Shopify retries it). A repeated X-Shopify-Event-Id → 200 and nothing done.

    Queries: one INSERT … SELECT … ON CONFLICT DO NOTHING for a store this process has seen
    verify before (`_KNOWN`: its id, domain and secret's ciphertext, which the INSERT's WHERE
    checks are still the store's, so a rotated secret or a deleted store inserts nothing). Any
    other answer (a first delivery, a refusal, a duplicate, a store changed) is decided afresh:
    the store's id and webhook secret read, then one INSERT … ON CONFLICT DO NOTHING.
    """
    domain = (headers.get("X-Shopify-Shop-Domain") or "").strip().lower()
    known = _KNOWN.get(domain)
    if known is not None:
        checked = _checked_event(headers, raw_body, known)
        if isinstance(checked, WebhookEvent):
            pk = _insert_unless_duplicate(checked, guard=(domain, known.ciphertext))
            if pk is not None:
                return _accepted(checked, pk)
        _KNOWN.pop(domain, None)  # decided afresh below, with the store as it is now
    store = _store_and_secret(domain) if domain and _storable_text(domain) else None
    if store is None:
        _count_rejection(None, WebhookRejection.Reason.UNKNOWN_SHOP)
        return WebhookOutcome(401, "Unknown shop.")
    checked = _checked_event(headers, raw_body, store)
    if not isinstance(checked, WebhookEvent):
        status, message, reason = checked
        _count_rejection(store.id, reason)
        return WebhookOutcome(status, message)
    pk = _insert_unless_duplicate(checked)
    if len(_KNOWN) >= 1024:
        _KNOWN.clear()
    _KNOWN[domain] = store  # its signature verified: the next delivery skips the read
    if pk is None:
        return WebhookOutcome(200, "Duplicate event: already received.")
    return _accepted(checked, pk)


class StoreKey(NamedTuple):
    id: int
    ciphertext: str
    secret: str


# Stores whose deliveries verified in this process, by shop domain (bounded by the stores).
_KNOWN: dict[str, StoreKey] = {}
Refusal = tuple[int, str, str]  # HTTP status, message, WebhookRejection.Reason


def _checked_event(
    headers: Mapping[str, str], raw_body: bytes, store: StoreKey
) -> WebhookEvent | Refusal:
    """The unsaved event when the delivery is signed with `store`'s secret and storable."""
    signature = headers.get("X-Shopify-Hmac-Sha256") or ""
    if not signature:
        return 401, "Missing X-Shopify-Hmac-Sha256.", WebhookRejection.Reason.MISSING_SIGNATURE
    if not verify_webhook(store.secret, raw_body, signature):
        return 401, "Invalid signature.", WebhookRejection.Reason.BAD_SIGNATURE
    try:
        payload = parse_payload(raw_body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        reason = exc if isinstance(exc, ValueError) else "nested too deeply"
        message = f"The body is not a JSON object: {reason}"
        return 400, message, WebhookRejection.Reason.MALFORMED
    values = {}
    for field, header in STORED_HEADERS:
        values[field] = (headers.get(header) or "").strip()
        if not _storable_text(values[field]):
            message = (
                f"{header} must be printable text of at most "
                f"{WebhookEvent.HEADER_MAX_LENGTH} characters."
            )
            return 400, message, WebhookRejection.Reason.BAD_HEADER
    topic = values["topic"].lower()
    event_id = values["event_id"]
    if not event_id:
        # Older deliveries may lack it; the same body on the same topic is the same event.
        event_id = "sha256:" + hashlib.sha256(topic.encode() + b"\0" + raw_body).hexdigest()
    handled = topic in ITEM_TOPICS or topic in LOCATION_TOPICS
    return WebhookEvent(
        store_id=store.id,
        topic=topic,
        event_id=event_id,
        webhook_id=values["webhook_id"],
        triggered_at=parse_triggered_at(headers.get("X-Shopify-Triggered-At") or ""),
        payload=payload,
        processed_at=None if handled else timezone.now(),
        outcome="" if handled else "Topic not used by Stocklink.",
    )


def _accepted(event: WebhookEvent, pk: int) -> WebhookOutcome:
    if event.processed_at is not None:
        return WebhookOutcome(200, "Ignored topic.", pk)
    drain_soon(event.store_id)  # one drain for many deliveries (wakeup.py)
    return WebhookOutcome(200, "Queued.", pk)


def _store_and_secret(domain: str) -> StoreKey | None:
    """The store's id and webhook secret, or None for an unknown shop.

    Reads two columns, not the whole store with its other secrets, in plain SQL (the ORM would
    compile the same statement on every delivery); the secret's ciphertext is decrypted once per
    process (`_webhook_secret`). Saving a secret writes a new ciphertext (Fernet encrypts with a
    fresh IV), which the next delivery reads: a rotated secret takes effect at once.
    """
    meta = ShopifyStore._meta
    quote = connection.ops.quote_name
    sql = "SELECT {}, {} FROM {} WHERE {} = %s".format(
        quote(meta.pk.column),
        quote(meta.get_field("webhook_secret").column),
        quote(meta.db_table),
        quote(meta.get_field("shop_domain").column),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [domain])
        row = cursor.fetchone()
    return None if row is None else StoreKey(row[0], row[1], _webhook_secret(row[1]))


@lru_cache(maxsize=1024)
def _webhook_secret(ciphertext: str) -> str:
    return decrypt(ciphertext) if ciphertext else ""


def _storable_text(value: str) -> bool:
    """Fits a header column whole and has no NUL or other control character."""
    return len(value) <= WebhookEvent.HEADER_MAX_LENGTH and value.isprintable()


def _insert_unless_duplicate(event: WebhookEvent, *, guard: tuple[str, str] | None = None):
    """INSERT … ON CONFLICT (store, event id) DO NOTHING RETURNING id: the new row's id, or
    None for a delivery we already have. One statement, no savepoint (SQLite ≥ 3.35, PG).

    With `guard` (shop domain, secret's ciphertext) the row comes from a SELECT on the store
    that matches its id and both: None too when the store no longer has them."""
    meta = WebhookEvent._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    placeholders = ", ".join(["%s"] * len(fields))
    params = [f.get_db_prep_save(f.pre_save(event, add=True), connection) for f in fields]
    source = f"VALUES ({placeholders})"
    if guard is not None:
        store = ShopifyStore._meta
        source = "SELECT {} FROM {} WHERE {} = %s AND {} = %s AND {} = %s".format(
            placeholders,
            quote(store.db_table),
            quote(store.pk.column),
            quote(store.get_field("shop_domain").column),
            quote(store.get_field("webhook_secret").column),
        )
        params += [event.store_id, *guard]
    sql = "INSERT INTO {} ({}) {} ON CONFLICT ({}, {}) DO NOTHING RETURNING {}".format(
        quote(meta.db_table),
        ", ".join(quote(f.column) for f in fields),
        source,
        quote(meta.get_field("store").column),
        quote(meta.get_field("event_id").column),
        quote(meta.pk.column),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


# --- rejection counters --------------------------------------------------------------------
#
# With Redis (production), a refused delivery costs one Redis round trip and no database write:
# a flood of forged requests must not slow genuine deliveries down. The first one queues a flush
# REJECTIONS_FLUSH_DELAY seconds later, and beat flushes every minute in case a flush was lost.
# Without Redis (the embedded default) the counters are written at once, as the rate limiter's
# buckets are (sync/ratelimit.py).

Counts = dict[tuple[date, int | None, str], tuple[int, datetime]]


def _redis_keys() -> tuple[str, str, str]:
    """Counts, last times and the "flush queued" flag, per database (tests share a Redis)."""
    base = f"stocklink:{connection.settings_dict['NAME']}:webhook-rejections"
    return f"{base}:count", f"{base}:last", f"{base}:flush-queued"


def _count_rejection(store_id: int | None, reason: str) -> None:
    now = timezone.now()
    key = (timezone.localdate(now), store_id, reason)
    url = conf.redis_url()
    if url:
        try:
            if _count_in_redis(wakeup.redis_client(url), key, now):
                _queue_flush()
            return
        except redis.RedisError:
            logger.warning("Redis refused a webhook rejection count; writing it to the database")
    _add_counts({key: (1, now)})


def _count_in_redis(client: redis.Redis, key, now: datetime) -> bool:
    """Count one rejection; True when no flush was queued yet (one round trip)."""
    day, store_id, reason = key
    field = f"{day.isoformat()}|{store_id or ''}|{reason}"
    counts, lasts, flag = _redis_keys()
    pipe = client.pipeline(transaction=False)
    pipe.hincrby(counts, field, 1)
    pipe.hset(lasts, field, now.isoformat())
    # Expires on its own, so a lost flush cannot stop later ones being queued.
    pipe.set(flag, "1", nx=True, ex=REJECTIONS_FLUSH_DELAY * 6)
    return bool(pipe.execute()[2])


def _queue_flush() -> None:
    try:
        current_app.tasks[FLUSH_REJECTIONS].apply_async(countdown=REJECTIONS_FLUSH_DELAY)
    except Exception:  # the broker is down: beat's flush catches up; the answer stays a 401
        logger.warning("Could not queue %s", FLUSH_REJECTIONS, exc_info=True)


def webhook_rejections_flush() -> int:
    """Add the rejection counts gathered in Redis to `WebhookRejection`; returns the rows
    touched. Taking the counts is atomic; if the database refuses them they go back."""
    url = conf.redis_url()
    if not url:
        return 0
    client = wakeup.redis_client(url)
    counts_key, lasts_key, flag_key = _redis_keys()
    client.delete(flag_key)  # rejections from now on queue the next flush
    pipe = client.pipeline(transaction=True)
    pipe.hgetall(counts_key)
    pipe.hgetall(lasts_key)
    pipe.delete(counts_key, lasts_key)
    raw_counts, raw_lasts, _ = pipe.execute()
    counts: Counts = {}
    for field, number in raw_counts.items():
        day, store_id, reason = field.decode().split("|")
        last = raw_lasts.get(field)
        last_at = datetime.fromisoformat(last.decode()) if last else timezone.now()
        counts[(date.fromisoformat(day), int(store_id) if store_id else None, reason)] = (
            int(number),
            last_at,
        )
    try:
        _add_counts(counts, stores_may_be_gone=True)
    except Exception:
        back = client.pipeline(transaction=False)
        for field, number in raw_counts.items():
            back.hincrby(counts_key, field, int(number))
            if field in raw_lasts:
                back.hset(lasts_key, field, raw_lasts[field])
        back.execute()
        raise
    return len(counts)


def _add_counts(counts: Counts, *, stores_may_be_gone: bool = False) -> None:
    store_ids = {store_id for _, store_id, _ in counts if store_id is not None}
    if stores_may_be_gone and store_ids:
        # A deleted store's counters went with it (CASCADE); its late counts go too.
        store_ids = set(ShopifyStore.objects.filter(pk__in=store_ids).values_list("pk", flat=True))
    with transaction.atomic():
        for (day, store_id, reason), (number, last_at) in sorted(
            counts.items(), key=lambda item: (item[0][0], item[0][1] or 0, item[0][2])
        ):
            if store_id is not None and store_id not in store_ids:
                continue
            rows = WebhookRejection.objects.filter(store_id=store_id, reason=reason, day=day)
            later = Greatest(F("last_at"), Value(last_at, output_field=DateTimeField()))
            if rows.update(count=F("count") + number, last_at=later):
                continue
            try:
                with transaction.atomic():
                    WebhookRejection.objects.create(
                        store_id=store_id, reason=reason, day=day, count=number, last_at=last_at
                    )
            except IntegrityError:  # another process created this counter first
                rows.update(count=F("count") + number, last_at=later)


# --- subscriptions -----------------------------------------------------------------------------


def webhook_address() -> str:
    return conf.base_url() + WEBHOOK_PATH


def webhooks_subscribe(*, store: ShopifyStore) -> list[str]:
    """Subscribe the store to every topic Stocklink uses; returns the topics newly subscribed.

    Idempotent: topics already subscribed at our address are left alone.
    """
    client = shopify_client(store)
    address = webhook_address()
    existing = {hook.topic for hook in client.webhooks() if hook.uri == address}
    created = []
    for topic in SUBSCRIBED_TOPICS:
        if topic_enum(topic) in existing:
            continue
        client.create_webhook(topic, address)
        created.append(topic)
    return created
