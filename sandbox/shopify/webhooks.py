"""Webhook events: who gets them, what they carry, how they are signed and sent.

An event records one `WebhookDelivery` per subscription of its topic and queues a Celery task
after commit. The body is built when the task sends it, from the current state of the object
(as Shopify does: two quick changes can both arrive showing the final value); the snapshot taken
at trigger time is used only when the object is gone (a deleted location).

The knobs (`WebhookKnobs`) make delivery as unreliable as Shopify's: duplicates (same
`X-Shopify-Event-Id`), reordering (an event held back until the next one has been sent),
drops and a delay.
"""

import base64
import hashlib
import hmac
import random
import uuid
from datetime import UTC

from django.db import transaction
from django.utils import timezone

from . import gids
from .models import (
    API_VERSION,
    InventoryLevel,
    Location,
    Product,
    Variant,
    WebhookDelivery,
    WebhookKnobs,
    WebhookSubscription,
    topic_path,
)

# The topics the sandbox fires (GraphQL enum → object the payload describes).
TOPICS = {
    "INVENTORY_LEVELS_UPDATE": "InventoryLevel",
    "INVENTORY_ITEMS_UPDATE": "InventoryItem",
    "PRODUCTS_UPDATE": "Product",
    "LOCATIONS_CREATE": "Location",
    "LOCATIONS_UPDATE": "Location",
    "LOCATIONS_DELETE": "Location",
    "LOCATIONS_ACTIVATE": "Location",
    "LOCATIONS_DEACTIVATE": "Location",
}

_rng = random.Random()


def rest_time(value) -> str:
    """REST-style timestamps in webhook bodies: ISO 8601 with an offset."""
    return timezone.localtime(value, UTC).isoformat(timespec="seconds")


# --- payloads (REST resource shapes, as Shopify sends them) -----------------------------------


def level_payload(level: InventoryLevel) -> dict:
    return {
        "inventory_item_id": gids.legacy_id("InventoryItem", level.variant_id),
        "location_id": gids.legacy_id("Location", level.location_id),
        "available": level.available if level.variant.tracked else None,
        "updated_at": rest_time(level.updated_at),
        "admin_graphql_api_id": gids.level_gid(level.pk, level.variant_id),
    }


def item_payload(variant: Variant) -> dict:
    return {
        "id": gids.legacy_id("InventoryItem", variant.pk),
        "sku": variant.sku,
        "created_at": rest_time(variant.created_at),
        "updated_at": rest_time(variant.updated_at),
        "requires_shipping": True,
        "cost": None,
        "country_code_of_origin": None,
        "province_code_of_origin": None,
        "harmonized_system_code": None,
        "tracked": variant.tracked,
        "country_harmonized_system_codes": [],
        "admin_graphql_api_id": gids.gid("InventoryItem", variant.pk),
    }


def product_payload(product: Product) -> dict:
    variants = list(product.variants.prefetch_related("levels__location").order_by("pk"))
    return {
        "id": gids.legacy_id("Product", product.pk),
        "title": product.title,
        "handle": product.handle,
        "status": product.status.lower(),
        "created_at": rest_time(product.created_at),
        "updated_at": rest_time(product.updated_at),
        "variants": [
            {
                "id": gids.legacy_id("ProductVariant", v.pk),
                "product_id": gids.legacy_id("Product", product.pk),
                "title": v.title,
                "sku": v.sku,
                "position": v.position,
                "inventory_policy": v.inventory_policy.lower(),
                "inventory_item_id": gids.legacy_id("InventoryItem", v.pk),
                "inventory_quantity": sum(
                    lv.available for lv in v.levels.all() if lv.location.is_active
                ),
                "created_at": rest_time(v.created_at),
                "updated_at": rest_time(v.updated_at),
                "admin_graphql_api_id": gids.gid("ProductVariant", v.pk),
            }
            for v in variants
        ],
        "admin_graphql_api_id": gids.gid("Product", product.pk),
    }


def location_payload(location: Location) -> dict:
    return {
        "id": gids.legacy_id("Location", location.pk),
        "name": location.name,
        "active": location.is_active,
        "legacy": False,
        "address1": None,
        "address2": None,
        "city": None,
        "zip": None,
        "province": None,
        "country": "US",
        "country_code": "US",
        "country_name": "United States",
        "phone": None,
        "created_at": rest_time(location.created_at),
        "updated_at": rest_time(location.updated_at),
        "admin_graphql_api_id": gids.gid("Location", location.pk),
    }


_LOADERS = {
    "InventoryLevel": (
        lambda pk: InventoryLevel.objects.select_related("variant").filter(pk=pk).first(),
        level_payload,
    ),
    "InventoryItem": (lambda pk: Variant.objects.filter(pk=pk).first(), item_payload),
    "Product": (lambda pk: Product.objects.filter(pk=pk).first(), product_payload),
    "Location": (lambda pk: Location.objects.filter(pk=pk).first(), location_payload),
}


def payload_for(object_type: str, obj) -> dict:
    return _LOADERS[object_type][1](obj)


def current_payload(delivery: WebhookDelivery) -> dict:
    """The body as of now (Shopify builds it at send time); the snapshot if the object is gone."""
    if delivery.topic == "locations/delete":
        return {"id": gids.legacy_id("Location", delivery.object_id)}
    load, build = _LOADERS[delivery.object_type]
    obj = load(delivery.object_id)
    return delivery.snapshot if obj is None else build(obj)


# --- signing ---------------------------------------------------------------------------------


def sign(secret: str, body: bytes) -> str:
    """Shopify's X-Shopify-Hmac-Sha256: base64 of HMAC-SHA256 over the raw body."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def headers_for(delivery: WebhookDelivery, body: bytes) -> dict:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Shopify-Captain-Hook",
        "X-Shopify-Topic": delivery.topic,
        "X-Shopify-Hmac-Sha256": sign(delivery.shop.client_secret, body),
        "X-Shopify-Shop-Domain": delivery.shop.domain,
        "X-Shopify-API-Version": API_VERSION,
        "X-Shopify-Webhook-Id": str(delivery.webhook_id),
        "X-Shopify-Event-Id": str(delivery.event_id),
        "X-Shopify-Triggered-At": delivery.triggered_at.astimezone(UTC).isoformat(),
    }
    if delivery.subscription_id and delivery.subscription and delivery.subscription.name:
        headers["X-Shopify-Name"] = delivery.subscription.name
    return headers


# --- emitting --------------------------------------------------------------------------------


def emit(shop_id: int, topic: str, object_type: str, obj) -> list[WebhookDelivery]:
    """Record and queue the deliveries of one event (topic is the GraphQL enum name)."""
    subscriptions = list(WebhookSubscription.objects.filter(shop_id=shop_id, topic=topic))
    if not subscriptions:
        return []
    knobs = WebhookKnobs.load()
    event_id = uuid.uuid4()
    triggered_at = timezone.now()
    snapshot = (
        {"id": gids.legacy_id("Location", obj.pk)}
        if topic == "LOCATIONS_DELETE"
        else (payload_for(object_type, obj))
    )
    created = []
    to_queue: list[int] = []
    for subscription in subscriptions:
        common = {
            "shop_id": shop_id,
            "subscription": subscription,
            "topic": topic_path(topic),
            "uri": subscription.uri,
            "event_id": event_id,
            "triggered_at": triggered_at,
            "object_type": object_type,
            "object_id": obj.pk,
            "snapshot": snapshot,
        }
        if _rng.random() < knobs.drop_share:
            created.append(
                WebhookDelivery.objects.create(**common, status=WebhookDelivery.Status.DROPPED)
            )
            continue
        batch = [WebhookDelivery.objects.create(**common)]
        if _rng.random() < knobs.duplicate_share:
            batch.append(WebhookDelivery.objects.create(**common, is_duplicate=True))
        created += batch
        held = list(
            WebhookDelivery.objects.filter(
                subscription=subscription, status=WebhookDelivery.Status.HELD
            ).order_by("pk")
        )
        if not held and knobs.reorder_share and _rng.random() < knobs.reorder_share:
            WebhookDelivery.objects.filter(pk__in=[d.pk for d in batch]).update(
                status=WebhookDelivery.Status.HELD
            )
            continue
        # The newer event goes first, then whatever was held back: out of order.
        to_queue += [d.pk for d in batch]
        if held:
            WebhookDelivery.objects.filter(pk__in=[d.pk for d in held]).update(
                status=WebhookDelivery.Status.PENDING
            )
            to_queue += [d.pk for d in held]
    _queue(to_queue, knobs.delay_seconds)
    return created


def release_held(*, shop_id: int | None = None) -> int:
    """Send every delivery the reorder knob is holding back; how many were released."""
    held = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.HELD)
    if shop_id is not None:
        held = held.filter(shop_id=shop_id)
    pks = list(held.order_by("pk").values_list("pk", flat=True))
    WebhookDelivery.objects.filter(pk__in=pks).update(status=WebhookDelivery.Status.PENDING)
    _queue(pks, WebhookKnobs.load().delay_seconds)
    return len(pks)


def _queue(pks: list[int], delay: float) -> None:
    from .tasks import deliver_webhook

    if not pks:
        return

    for pk in pks:
        if delay:
            transaction.on_commit(lambda pk=pk: deliver_webhook.apply_async((pk,), countdown=delay))
        else:
            deliver_webhook.delay_on_commit(pk)
