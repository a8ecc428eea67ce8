"""Shopify webhooks: HMAC on the raw body, dedupe, staleness, and processing by re-reading."""

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from accounts.models import InventoryLevel
from sync.clients.factory import substitute
from sync.clients.shopify_data import ItemStock
from sync.clients.shopify_data import Location as RemoteLocation
from sync.inbound.events import webhook_event_process
from sync.inbound.webhooks import webhooks_subscribe
from sync.models import PushState, QtyPush, WebhookEvent, WebhookRejection
from tests.factories import InventoryLevelFactory, ShopifyStoreFactory, stocked_listing
from tests.sync.fakes import FakeShopify


def process(*, event_pk, shopify):
    with substitute(shopify=lambda store: shopify):
        return webhook_event_process(event_pk=event_pk)


def subscribe(store, shopify):
    with substitute(shopify=lambda store: shopify):
        return webhooks_subscribe(store=store)


pytestmark = pytest.mark.django_db

URL = "/webhooks/shopify/"


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def deliver(
    client,
    store,
    payload,
    *,
    topic="inventory_levels/update",
    event_id="evt-1",
    triggered_at=None,
    signature=None,
    body=None,
):
    body = body if body is not None else json.dumps(payload).encode()
    headers = {
        "HTTP_X_SHOPIFY_TOPIC": topic,
        "HTTP_X_SHOPIFY_SHOP_DOMAIN": store.shop_domain,
        "HTTP_X_SHOPIFY_EVENT_ID": event_id,
        "HTTP_X_SHOPIFY_TRIGGERED_AT": (triggered_at or timezone.now()).isoformat(),
    }
    if signature is None:
        signature = sign(store.webhook_secret, body)
    if signature:
        headers["HTTP_X_SHOPIFY_HMAC_SHA256"] = signature
    return client.post(URL, data=body, content_type="application/json", **headers)


def rejections(reason=None):
    rows = WebhookRejection.objects.all()
    if reason:
        rows = rows.filter(reason=reason)
    return rows.aggregate(n=Sum("count"))["n"] or 0


def level_payload(level, available=5):
    return {
        "inventory_item_id": level.variant.inventory_item_id,
        "location_id": level.location.shopify_id,
        "available": available,
        "updated_at": timezone.now().isoformat(),
    }


def test_signed_delivery_is_stored_and_answered_200(client):
    level = InventoryLevelFactory()
    response = deliver(client, level.variant.store, level_payload(level))

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.topic == "inventory_levels/update" and event.event_id == "evt-1"
    assert event.payload["available"] == 5 and event.triggered_at is not None


@pytest.mark.parametrize("signature", ["forged==", ""])
def test_forged_or_missing_signature_is_401_nothing_stored_counter_up(client, signature):
    store = ShopifyStoreFactory()

    response = deliver(client, store, {"inventory_item_id": 1}, signature=signature)

    assert response.status_code == 401
    assert WebhookEvent.objects.count() == 0
    assert rejections() == 1


def test_a_body_signed_with_another_secret_is_refused(client):
    store = ShopifyStoreFactory()
    body = b'{"inventory_item_id": 1}'

    response = deliver(client, store, None, body=body, signature=sign("not-the-secret", body))

    assert response.status_code == 401
    assert rejections(WebhookRejection.Reason.BAD_SIGNATURE) == 1


def test_a_rotated_webhook_secret_takes_effect_on_the_next_delivery(client):
    store = ShopifyStoreFactory(webhook_secret="first-secret")
    body = b'{"inventory_item_id": 1}'
    assert deliver(client, store, None, body=body, event_id="a").status_code == 200

    store.webhook_secret = "second-secret"
    store.save()

    old = deliver(
        client, store, None, body=body, event_id="b", signature=sign("first-secret", body)
    )
    new = deliver(client, store, None, body=body, event_id="c")
    assert (old.status_code, new.status_code) == (401, 200)
    assert rejections(WebhookRejection.Reason.BAD_SIGNATURE) == 1


def test_a_delivery_decrypts_only_the_webhook_secret(client, monkeypatch):
    from accounts import crypto
    from sync.inbound import webhooks

    store = ShopifyStoreFactory(webhook_secret="only-this", access_token="shpat_not_this")
    body = b'{"inventory_item_id": 1}'
    signature = sign("only-this", body)
    webhooks._webhook_secret.cache_clear()
    decrypted = []
    real = crypto.decrypt
    monkeypatch.setattr(
        crypto, "decrypt", lambda token: decrypted.append(real(token)) or real(token)
    )
    monkeypatch.setattr(webhooks, "decrypt", crypto.decrypt)

    for event_id in ("a", "b"):
        response = deliver(client, store, None, body=body, event_id=event_id, signature=signature)
        assert response.status_code == 200
    assert decrypted == ["only-this"]  # once per process, and no other secret


def test_unknown_shop_is_401_and_counted(client):
    store = ShopifyStoreFactory.build(shop_domain="nobody.myshopify.com")

    response = deliver(client, store, {"x": 1})

    assert response.status_code == 401
    assert rejections(WebhookRejection.Reason.UNKNOWN_SHOP) == 1


def test_rejections_add_up_in_one_counter_row_per_day(client):
    store = ShopifyStoreFactory()
    for _ in range(3):
        deliver(client, store, {"x": 1}, signature="bad")
    assert WebhookRejection.objects.get().count == 3


def test_duplicate_event_id_is_200_and_done_once(client):
    level = InventoryLevelFactory()
    store = level.variant.store

    first = deliver(client, store, level_payload(level), event_id="same")
    second = deliver(client, store, level_payload(level), event_id="same")

    assert first.status_code == second.status_code == 200
    assert b"Duplicate" in second.content
    assert WebhookEvent.objects.count() == 1


def test_malformed_json_with_a_good_signature_is_400_with_a_clear_message(client):
    store = ShopifyStoreFactory()

    response = deliver(client, store, None, body=b"{not json")

    assert response.status_code == 400
    assert b"not a JSON object" in response.content
    assert WebhookEvent.objects.count() == 0
    assert rejections(WebhookRejection.Reason.MALFORMED) == 1


def test_only_post_is_accepted(client):
    assert client.get(URL).status_code == 405


def test_processing_re_reads_the_item_and_queues_a_push():
    listing = stocked_listing(10, last_sent_quantity=10)
    level = listing.variant.levels.get()
    event = WebhookEvent.objects.create(
        store=listing.variant.store,
        topic="inventory_levels/update",
        event_id="e1",
        triggered_at=timezone.now(),
        payload=level_payload(level, available=99),  # the payload is only a signal
    )
    item = listing.variant.inventory_item_id
    shopify = FakeShopify(
        {item: ItemStock(item, listing.sku, True, {level.location.shopify_id: 4})}
    )

    summary = process(event_pk=event.pk, shopify=shopify)

    level.refresh_from_db()
    assert level.available == 4  # what Shopify says now, not the payload's 99
    assert shopify.reads == [[item]]
    assert QtyPush.objects.get(state=PushState.PENDING).quantity == 4
    event.refresh_from_db()
    assert event.processed_at is not None and summary.queued == 1
    # Idempotent: processing the same event again reads nothing.
    process(event_pk=event.pk, shopify=shopify)
    assert len(shopify.reads) == 1


def test_a_stale_event_older_than_the_level_we_hold_is_ignored():
    listing = stocked_listing(10)
    level = listing.variant.levels.get()
    event = WebhookEvent.objects.create(
        store=listing.variant.store,
        topic="inventory_levels/update",
        event_id="old",
        triggered_at=level.updated_at - timedelta(minutes=1),
        payload=level_payload(level),
    )
    shopify = FakeShopify()

    summary = process(event_pk=event.pk, shopify=shopify)

    assert summary.stale == 1 and shopify.reads == []
    event.refresh_from_db()
    assert event.processed_at is not None and event.outcome.startswith("Stale")


def test_burst_of_events_is_coalesced_into_one_re_read():
    listings = [stocked_listing(10) for _ in range(3)]
    store = listings[0].variant.store
    for other in listings[1:]:
        other.variant.store = store
    events = []
    stock = {}
    for n, listing in enumerate(listings):
        level = listing.variant.levels.get()
        level.variant.store_id = store.pk
        level.variant.save()
        level.location.store_id = store.pk
        level.location.save()
        events.append(
            WebhookEvent.objects.create(
                store=store,
                topic="inventory_levels/update",
                event_id=f"e{n}",
                triggered_at=timezone.now(),
                payload=level_payload(level),
            )
        )
        item = listing.variant.inventory_item_id
        stock[item] = ItemStock(item, listing.sku, True, {level.location.shopify_id: n})
    shopify = FakeShopify(stock)

    process(event_pk=events[0].pk, shopify=shopify)

    assert len(shopify.reads) == 1 and len(shopify.reads[0]) == 3
    assert WebhookEvent.objects.filter(processed_at__isnull=True).count() == 0


def test_an_item_no_longer_tracked_flags_its_listings():
    listing = stocked_listing(10, last_sent_quantity=10)
    item = listing.variant.inventory_item_id
    location = listing.variant.levels.get().location.shopify_id
    event = WebhookEvent.objects.create(
        store=listing.variant.store,
        topic="inventory_items/update",
        event_id="i1",
        triggered_at=timezone.now(),
        payload={"id": item, "tracked": False},
    )

    process(
        event_pk=event.pk, shopify=FakeShopify({item: ItemStock(item, "", False, {location: 10})})
    )

    listing.refresh_from_db()
    assert listing.stock_missing and not listing.variant.tracked


def test_a_deactivated_location_stops_counting_and_recomputes():
    listing = stocked_listing([6, 4], last_sent_quantity=10)
    store = listing.variant.store
    levels = list(InventoryLevel.objects.filter(variant=listing.variant).select_related("location"))
    for level in levels:
        level.location.store = store
        level.location.save()
    gone = levels[1].location
    remote = [
        RemoteLocation(levels[0].location.shopify_id, "gid", levels[0].location.name, True),
        RemoteLocation(gone.shopify_id, "gid", gone.name, False),
    ]
    event = WebhookEvent.objects.create(
        store=store,
        topic="locations/deactivate",
        event_id="l1",
        triggered_at=timezone.now(),
        payload={"id": gone.shopify_id},
    )

    process(event_pk=event.pk, shopify=FakeShopify(locations=remote))

    gone.refresh_from_db()
    assert not gone.is_active
    assert QtyPush.objects.get(state=PushState.PENDING).quantity == 6


def test_subscribe_webhooks_creates_every_topic_at_our_address(settings):
    settings.STOCKLINK_BASE_URL = "https://stocklink.example.com/"
    shopify = FakeShopify()

    created = subscribe(ShopifyStoreFactory(), shopify)

    assert "inventory_levels/update" in created and "locations/deactivate" in created
    assert {uri for _, uri in shopify.created} == {
        "https://stocklink.example.com/webhooks/shopify/"
    }


def test_a_non_ascii_forged_signature_is_401_not_a_server_error(client):
    store = ShopifyStoreFactory()
    response = deliver(client, store, {"inventory_item_id": 1}, signature="ünïcödé==")
    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()


def test_a_signed_but_malformed_event_is_set_aside_and_the_others_go_on(client):
    level = InventoryLevelFactory(available=3)
    store = level.variant.store
    deliver(client, store, {"inventory_item_id": "not-a-number"}, event_id="bad")
    deliver(client, store, level_payload(level, 9), event_id="good")
    shopify = FakeShopify(
        stock={
            level.variant.inventory_item_id: ItemStock(
                level.variant.inventory_item_id,
                level.variant.sku,
                True,
                {level.location.shopify_id: 9},
            )
        }
    )

    process(event_pk=WebhookEvent.objects.get(event_id="bad").pk, shopify=shopify)

    level.refresh_from_db()
    assert level.available == 9
    bad = WebhookEvent.objects.get(event_id="bad")
    assert bad.processed_at is not None and "Malformed" in bad.outcome


def test_events_left_unprocessed_are_picked_up_again(client):
    from sync.inbound.events import stranded_events

    level = InventoryLevelFactory()
    deliver(client, level.variant.store, level_payload(level), event_id="lost")
    event = WebhookEvent.objects.get(event_id="lost")
    assert stranded_events() == []  # just received: its task is on its way
    WebhookEvent.objects.filter(pk=event.pk).update(
        received_at=timezone.now() - timedelta(minutes=5)
    )
    assert stranded_events() == [event.pk]


def test_a_store_deleted_after_its_deliveries_verified_is_an_unknown_shop(client):
    store = ShopifyStoreFactory()
    body = b'{"inventory_item_id": 1}'
    assert deliver(client, store, None, body=body, event_id="a").status_code == 200

    store.delete()

    assert deliver(client, store, None, body=body, event_id="b").status_code == 401
    assert not WebhookEvent.objects.exists()
    assert rejections(WebhookRejection.Reason.UNKNOWN_SHOP) == 1


def test_a_shop_domain_moved_to_another_store_stores_the_delivery_under_that_store(client):
    first = ShopifyStoreFactory(webhook_secret="same-secret")
    body = b'{"inventory_item_id": 1}'
    assert deliver(client, first, None, body=body, event_id="a").status_code == 200
    domain = first.shop_domain
    first.shop_domain = "renamed.myshopify.com"
    first.save()
    second = ShopifyStoreFactory(shop_domain=domain, webhook_secret="same-secret")

    assert deliver(client, second, None, body=body, event_id="b").status_code == 200
    assert WebhookEvent.objects.get(event_id="b").store_id == second.pk
