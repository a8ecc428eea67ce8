"""Shopify webhooks in: receive (verify, dedupe, store, queue) and subscribe.

    webhook_receive(headers=..., raw_body=...)   the view's whole job, in milliseconds
    webhooks_subscribe(store=...)                 webhookSubscriptionCreate for every topic

A payload is only a "something changed" signal: Shopify builds it when it sends it, deliveries
repeat and arrive out of order. `events.py` re-reads what changed when it processes them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import ShopifyStore

from .. import conf, queues
from ..clients.factory import shopify_client
from ..clients.shopify_data import topic_enum, verify_webhook
from ..models import WebhookEvent, WebhookRejection

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


@dataclass(frozen=True)
class WebhookOutcome:
    status: int
    message: str
    event_id: int | None = None


def _count_rejection(store: ShopifyStore | None, reason: str) -> None:
    now = timezone.now()
    day = timezone.localdate(now)
    rows = WebhookRejection.objects.filter(store=store, reason=reason, day=day)
    with transaction.atomic():
        if rows.update(count=F("count") + 1, last_at=now):
            return
        try:
            with transaction.atomic():
                WebhookRejection.objects.create(
                    store=store, reason=reason, day=day, count=1, last_at=now
                )
        except IntegrityError:  # another request created today's counter first
            rows.update(count=F("count") + 1, last_at=now)


def _parse_triggered_at(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parse_datetime(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, timezone.UTC)
    return parsed


def webhook_receive(*, headers: Mapping[str, str], raw_body: bytes) -> WebhookOutcome:
    """Verify, dedupe and store one delivery, and queue its processing.

    The HMAC is checked on the raw body before anything is parsed or stored: an unknown shop,
    a missing or wrong signature → 401, nothing stored, a rejection counter goes up. A signed
    body that is not a JSON object → 400 (Shopify retries it). A repeated X-Shopify-Event-Id →
    200 and nothing done.
    """
    domain = (headers.get("X-Shopify-Shop-Domain") or "").strip().lower()
    store = ShopifyStore.objects.filter(shop_domain=domain).first() if domain else None
    if store is None:
        _count_rejection(None, WebhookRejection.Reason.UNKNOWN_SHOP)
        return WebhookOutcome(401, "Unknown shop.")
    signature = headers.get("X-Shopify-Hmac-Sha256") or ""
    if not signature:
        _count_rejection(store, WebhookRejection.Reason.MISSING_SIGNATURE)
        return WebhookOutcome(401, "Missing X-Shopify-Hmac-Sha256.")
    if not verify_webhook(store.webhook_secret, raw_body, signature):
        _count_rejection(store, WebhookRejection.Reason.BAD_SIGNATURE)
        return WebhookOutcome(401, "Invalid signature.")
    try:
        payload = json.loads(raw_body)
        if not isinstance(payload, dict):
            raise ValueError("expected a JSON object")
    except (ValueError, UnicodeDecodeError) as exc:
        _count_rejection(store, WebhookRejection.Reason.MALFORMED)
        return WebhookOutcome(400, f"The body is not a JSON object: {exc}")
    topic = (headers.get("X-Shopify-Topic") or "").strip().lower()
    event_id = (headers.get("X-Shopify-Event-Id") or "").strip()
    if not event_id:
        # Older deliveries may lack it; the same body on the same topic is the same event.
        event_id = "sha256:" + hashlib.sha256(topic.encode() + b"\0" + raw_body).hexdigest()
    handled = topic in ITEM_TOPICS or topic in LOCATION_TOPICS
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                store=store,
                topic=topic,
                event_id=event_id[:100],
                webhook_id=(headers.get("X-Shopify-Webhook-Id") or "")[:100],
                triggered_at=_parse_triggered_at(headers.get("X-Shopify-Triggered-At") or ""),
                payload=payload,
                processed_at=None if handled else timezone.now(),
                outcome="" if handled else "Topic not used by Stocklink.",
            )
            if handled:
                queues.enqueue_on_commit(queues.PROCESS_WEBHOOK, event.pk)
    except IntegrityError:
        return WebhookOutcome(200, "Duplicate event: already received.")
    return WebhookOutcome(200, "Queued." if handled else "Ignored topic.", event.pk)


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
