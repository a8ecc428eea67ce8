"""Webhook deliveries: Shopify's headers and signature, retries, and the unreliability knobs."""

import base64
import hashlib
import hmac
import json
import uuid

from sandbox.shopify import gids, services
from sandbox.shopify.models import InventoryLevel, Location, WebhookDelivery
from sync.clients.shopify_data import verify_webhook

from .shopify_fixtures import *  # noqa: F403  (pytest fixtures)

REF = "gid://stocklink/Test/1"
# The sandbox deletes subscriptions as Shopify does; Stocklink itself never needs to.
WEBHOOK_DELETE_MUTATION = """
mutation StocklinkWebhookDelete($id: ID!) {
  webhookSubscriptionDelete(id: $id) {
    deletedWebhookSubscriptionId
    userErrors { field message }
  }
}
"""


def _subscribe(client, receiver, topic="inventory_levels/update"):
    return client.create_webhook(topic, receiver.url)


def _adjust(client, level, delta):
    return client.adjust_available(
        gids.legacy_id("InventoryItem", level.variant_id),
        gids.legacy_id("Location", level.location_id),
        delta,
        change_from=None,
        idempotency_key=str(uuid.uuid4()),
        reference_uri=REF,
    )


def test_a_stock_change_is_delivered_signed_with_shopifys_headers_and_payload(
    shopify_shop, shopify_client, webhook_receiver
):
    creds, _ = shopify_shop(variants=2, locations=1)
    client = shopify_client(creds)
    _subscribe(client, webhook_receiver)
    level = InventoryLevel.objects.order_by("pk").first()
    after = _adjust(client, level, -1)

    [delivery] = webhook_receiver.wait_for(1)
    headers = {k.lower(): v for k, v in delivery.headers.items()}
    # Shopify's documented check, written out here independently of the client.
    expected = base64.b64encode(
        hmac.new(creds["client_secret"].encode(), delivery.body, hashlib.sha256).digest()
    ).decode()
    assert hmac.compare_digest(expected, headers["x-shopify-hmac-sha256"])
    assert verify_webhook(creds["client_secret"], delivery.body, headers["x-shopify-hmac-sha256"])
    assert not verify_webhook("another-secret", delivery.body, headers["x-shopify-hmac-sha256"])
    assert headers["x-shopify-topic"] == "inventory_levels/update"
    assert headers["x-shopify-shop-domain"] == creds["shop"]
    assert headers["x-shopify-api-version"] == "2026-07"
    assert {"x-shopify-webhook-id", "x-shopify-event-id", "x-shopify-triggered-at"} <= set(headers)
    payload = json.loads(delivery.body)
    assert set(payload) == {
        "inventory_item_id",
        "location_id",
        "available",
        "updated_at",
        "admin_graphql_api_id",
    }
    assert payload["available"] == after
    assert payload["inventory_item_id"] == gids.legacy_id("InventoryItem", level.variant_id)
    assert payload["admin_graphql_api_id"].startswith("gid://shopify/InventoryLevel/")
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.DELIVERED


def test_duplicate_knob_delivers_an_event_twice_with_the_same_event_id(
    shopify_shop, shopify_client, shopify_knobs, webhook_receiver
):
    creds, _ = shopify_shop(variants=1, locations=1)
    shopify_knobs(duplicate_share=1.0)
    client = shopify_client(creds)
    _subscribe(client, webhook_receiver)
    _adjust(client, InventoryLevel.objects.get(), 2)
    first, second = webhook_receiver.wait_for(2)
    assert first.headers["X-Shopify-Event-Id"] == second.headers["X-Shopify-Event-Id"]
    assert first.headers["X-Shopify-Webhook-Id"] != second.headers["X-Shopify-Webhook-Id"]


def test_reorder_knob_delivers_events_out_of_order_built_at_send_time(
    shopify_shop, shopify_client, shopify_knobs, webhook_receiver
):
    creds, _ = shopify_shop(variants=1, locations=1)
    shopify_knobs(reorder_share=1.0)
    client = shopify_client(creds)
    _subscribe(client, webhook_receiver)
    level = InventoryLevel.objects.get()
    _adjust(client, level, 5)
    assert webhook_receiver.received == []  # held back
    final = _adjust(client, level, 1)

    received = webhook_receiver.wait_for(2)
    triggered = [r.headers["X-Shopify-Triggered-At"] for r in received]
    assert triggered == sorted(triggered, reverse=True)  # the later event arrived first
    # Built at send time: both show the current quantity, as Shopify's do.
    assert [json.loads(r.body)["available"] for r in received] == [final, final]


def test_drop_knob_records_the_event_but_never_sends_it(
    shopify_shop, shopify_client, shopify_knobs, webhook_receiver
):
    creds, _ = shopify_shop(variants=1, locations=1)
    shopify_knobs(drop_share=1.0)
    client = shopify_client(creds)
    _subscribe(client, webhook_receiver)
    _adjust(client, InventoryLevel.objects.get(), 1)
    assert webhook_receiver.wait_for(1, timeout=0.5) == []
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.DROPPED


def test_a_failed_delivery_is_retried_until_it_succeeds(
    shopify_shop, shopify_client, shopify_knobs, webhook_receiver
):
    creds, _ = shopify_shop(variants=1, locations=1)
    shopify_knobs(retry_base_seconds=0.01)
    webhook_receiver.fail_next = 2
    client = shopify_client(creds)
    _subscribe(client, webhook_receiver)
    _adjust(client, InventoryLevel.objects.get(), 1)
    assert len(webhook_receiver.wait_for(1)) == 1
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.Status.DELIVERED, 3)


def test_editing_a_level_in_the_sandbox_admin_fires_the_webhook(
    shopify_shop, shopify_client, webhook_receiver, admin_client
):
    creds, _ = shopify_shop(variants=1, locations=1)
    _subscribe(shopify_client(creds), webhook_receiver)
    level = InventoryLevel.objects.get()
    response = admin_client.post(
        f"/admin/sandbox_shopify/inventorylevel/{level.pk}/change/",
        {
            "variant": level.variant_id,
            "location": level.location_id,
            "available": 77,
            "committed": 0,
            "incoming": 0,
        },
    )
    assert response.status_code == 302, response.content[:500]
    [delivery] = webhook_receiver.wait_for(1)
    assert json.loads(delivery.body)["available"] == 77


def test_sandbox_helpers_and_location_changes_fire_their_topics(
    shopify_shop, shopify_client, webhook_receiver
):
    creds, _ = shopify_shop(variants=1, locations=1)
    client = shopify_client(creds)
    for topic in ("inventory_levels/update", "locations/deactivate", "locations/update"):
        _subscribe(client, webhook_receiver, topic)
    level = services.level_for(shop=creds["shop"], sku="SKU-000001")
    services.adjust_available(level=level, delta=-4)
    location = Location.objects.get()
    location.is_active = False
    location.save()
    topics = sorted(r.headers["X-Shopify-Topic"] for r in webhook_receiver.wait_for(3))
    assert topics == ["inventory_levels/update", "locations/deactivate", "locations/update"]


def test_webhook_subscriptions_can_be_listed_and_deleted(
    shopify_shop, shopify_client, webhook_receiver
):
    creds, _ = shopify_shop(variants=1, locations=1)
    client = shopify_client(creds)
    created = _subscribe(client, webhook_receiver)
    assert client.webhooks() == [created]
    assert created.topic == "INVENTORY_LEVELS_UPDATE" and created.uri == webhook_receiver.url
    answer = client.execute(WEBHOOK_DELETE_MUTATION, {"id": created.gid})
    assert answer["webhookSubscriptionDelete"]["userErrors"] == []
    assert client.webhooks() == []
