"""A Shopify stock change reaches Amazon: end to end over HTTP with the sandbox.

The sandbox's Shopify signs and POSTs real webhooks to the live server; the view stores and
queues; the (eager) task re-reads with the real GraphQL client, recomputes and sends with the
real SP-API client (python-amazon-sp-api); the read-back confirms. Quantities are checked where
the merchant looks: the sandbox's Amazon listing and the listing's status and history.
"""

import base64
import hashlib
import hmac
import json

import pytest
import requests

from profiles.models import GlobalProfile, default_profile
from sandbox.amazon.models import Listing as AmazonListing
from sandbox.amazon.models import SandboxSettings, throttled_count
from sandbox.shopify.models import WebhookKnobs
from sandbox.shopify.services import level_for, set_available
from selling_lists.models import Listing, ListingStatus, SellingList
from sync.inbound.catalogue import catalogue_import
from sync.inbound.webhooks import webhooks_subscribe
from sync.linking import selling_list_link_by_sku
from sync.models import PushState, PushTransport, QtyPush, WebhookEvent, WebhookRejection
from sync.outbound.confirm import pushes_confirm
from sync.outbound.feeds import feed_poll
from sync.outbound.send import pushes_send
from sync.outbox.actions import listings_update_qty as update_qty
from tests.sandbox_world import US

pytestmark = pytest.mark.django_db(transaction=True)

SKU = "SKU-000001"


def connect(sandbox_world, settings, *, stock=10, profile=None, variants=3, **kw):
    world = sandbox_world(variants=variants, locations=1, **kw)
    settings.STOCKLINK_BASE_URL = world.base_url
    for sku, _ in world.stock:
        set_available(level=level_for(shop=world.shop["shop"], sku=sku), quantity=stock)
        AmazonListing.objects.filter(seller__seller_id=world.account.seller_id, sku=sku).update(
            quantity=stock
        )
    catalogue_import(store=world.store)
    selling_list = SellingList.objects.create(
        name="US",
        amazon_account=world.account,
        marketplace_id=US,
        shopify_store=world.store,
        profile=profile or default_profile(),
    )
    selling_list_link_by_sku(selling_list=selling_list)
    drain(world)  # whatever linking queued is sent and confirmed first
    webhooks_subscribe(store=world.store)
    world.account.refresh_from_db()
    return world


def drain(world, rounds=20):
    """What the beat does: send what is due and confirm what was accepted, until settled."""
    for _ in range(rounds):
        QtyPush.objects.filter(state__in=[PushState.PENDING, PushState.SENT]).update(
            next_attempt_at="2000-01-01T00:00:00Z"
        )
        pushes_send(account_id=world.account.pk)
        pushes_confirm(account_id=world.account.pk)
        if not QtyPush.objects.filter(
            state__in=[PushState.PENDING, PushState.SENDING, PushState.SENT]
        ).exists():
            return


def amazon_quantity(world, sku=SKU):
    return AmazonListing.objects.get(
        seller__seller_id=world.account.seller_id, sku=sku, marketplace_id=US
    ).quantity


def change_stock(world, quantity, sku=SKU):
    # A stock edit in the sandbox's Shopify: it fires inventory_levels/update to our webhook.
    set_available(level=level_for(shop=world.shop["shop"], sku=sku), quantity=quantity)


@pytest.mark.parametrize(
    "mode,n,stock,expected",
    # Seed tables: Inventory Level; Max 15 with stock 20 → 15; Buffer 2 with stock 4 → 2.
    [("product", None, 4, 4), ("cap", 15, 20, 15), ("buffer", 2, 4, 2)],
)
def test_a_shopify_stock_change_reaches_amazon_for_each_stock_mode(
    sandbox_world, settings, mode, n, stock, expected
):
    profile = GlobalProfile.objects.create(name=f"P {mode}", mode=mode, quantity=n)
    world = connect(sandbox_world, settings, profile=profile)

    change_stock(world, stock)
    drain(world)

    assert amazon_quantity(world) == expected
    listing = Listing.objects.get(sku=SKU)
    assert listing.status == ListingStatus.LINKED
    assert listing.last_sent_quantity == expected
    push = QtyPush.objects.filter(listing=listing, reason="stock_change").latest("pk")
    assert push.state == PushState.DONE and push.transport == PushTransport.PATCH
    assert push.amazon_status == "ACCEPTED" and push.trace[-1] == f"Amazon gets {expected}"
    assert WebhookEvent.objects.filter(topic="inventory_levels/update").exists()
    assert throttled_count(world.account.seller_id) == 0


@pytest.mark.parametrize("mode,n,expected", [("fixed", 5, 5), ("single", None, 1)])
def test_static_modes_ignore_stock_changes_and_follow_update_qty(
    sandbox_world, settings, mode, n, expected
):
    profile = GlobalProfile.objects.create(name=f"P {mode}", mode=mode, quantity=n)
    world = connect(sandbox_world, settings, profile=profile)

    change_stock(world, 4)
    drain(world)
    assert amazon_quantity(world) == 10  # not touched by a stock change (seed 000)

    update_qty(listing_ids=[Listing.objects.get(sku=SKU).pk], acting_user=None)
    drain(world)
    assert amazon_quantity(world) == expected


def test_with_auto_update_off_stock_waits_for_update_qty(sandbox_world, settings):
    world = connect(sandbox_world, settings, auto_update_qty=False)

    change_stock(world, 6)
    drain(world)
    assert amazon_quantity(world) == 10

    listing = Listing.objects.get(sku=SKU)
    update_qty(listing_ids=[listing.pk], acting_user=None)
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PENDING
    drain(world)

    listing.refresh_from_db()
    assert amazon_quantity(world) == 6
    assert listing.status == ListingStatus.LINKED


def test_with_inventory_sync_off_nothing_reaches_amazon(sandbox_world, settings):
    world = connect(sandbox_world, settings)
    world.account.inventory_sync_enabled = False
    world.account.save()

    change_stock(world, 2)
    summary = update_qty(
        listing_ids=list(Listing.objects.values_list("pk", flat=True)), acting_user=None
    )
    drain(world)

    assert amazon_quantity(world) == 10
    assert summary.sync_off_accounts == [world.account.name]
    assert Listing.objects.get(sku=SKU).status == ListingStatus.SYNC_OFF


def test_fba_listings_are_skipped(sandbox_world, settings):
    world = connect(sandbox_world, settings, fba_skus={SKU})

    change_stock(world, 1)
    drain(world)

    listing = Listing.objects.get(sku=SKU)
    assert listing.status == ListingStatus.FBA
    assert not QtyPush.objects.filter(listing=listing).exists()


def test_an_invalid_answer_marks_the_listing_failed_with_amazons_message(sandbox_world, settings):
    world = connect(sandbox_world, settings)
    Listing.objects.filter(sku=SKU).update(product_type="NOT_ITS_TYPE")

    change_stock(world, 3)
    drain(world)

    listing = Listing.objects.get(sku=SKU)
    assert listing.status == ListingStatus.FAILED
    assert "does not match the product type" in listing.status_message
    assert amazon_quantity(world) == 10


def test_a_429_storm_delays_but_loses_nothing_and_never_exceeds_the_rate(sandbox_world, settings):
    world = connect(sandbox_world, settings, variants=6)
    knobs = SandboxSettings.load()
    knobs.fault_429_share = 0.5
    knobs.save()

    for sku, _ in world.stock:
        change_stock(world, 2, sku=sku)
    drain(world, rounds=60)

    assert {amazon_quantity(world, sku) for sku, _ in world.stock} == {2}
    assert set(Listing.objects.values_list("status", flat=True)) == {ListingStatus.LINKED}
    assert throttled_count(world.account.seller_id) == 0


def test_a_large_batch_goes_by_feed(sandbox_world, settings, monkeypatch):
    world = connect(sandbox_world, settings, variants=5)
    settings.SYNC_FEED_THRESHOLD = 3
    # Several stock changes land before the worker runs: one feed carries them all.
    with monkeypatch.context() as m:
        m.setattr("sync.queues.send_pushes_soon", lambda account_ids: None)
        for sku, _ in world.stock:
            change_stock(world, 1, sku=sku)

    summary = pushes_send(account_id=world.account.pk)
    assert summary.fed == 5 and len(summary.feeds) == 1
    status = feed_poll(feed_pk=summary.feeds[0])

    assert status == "DONE"
    assert {amazon_quantity(world, sku) for sku, _ in world.stock} == {1}
    assert set(QtyPush.objects.filter(transport="feed").values_list("state", flat=True)) == {
        PushState.DONE
    }


def test_duplicated_and_reordered_webhooks_end_with_the_latest_stock(sandbox_world, settings):
    world = connect(sandbox_world, settings)
    knobs = WebhookKnobs.load()
    knobs.duplicate_share = 1.0
    knobs.reorder_share = 1.0
    knobs.save()

    for quantity in (7, 5, 3, 8):
        change_stock(world, quantity)
    drain(world)

    assert amazon_quantity(world) == 8
    assert Listing.objects.get(sku=SKU).last_sent_quantity == 8
    events = WebhookEvent.objects.filter(topic="inventory_levels/update")
    assert events.count() == len(set(events.values_list("event_id", flat=True)))


def test_a_forged_webhook_over_http_is_refused_and_counted(sandbox_world, settings):
    world = connect(sandbox_world, settings)
    body = json.dumps({"inventory_item_id": 1, "location_id": 1, "available": 0}).encode()
    forged = base64.b64encode(hmac.new(b"guess", body, hashlib.sha256).digest()).decode()

    response = requests.post(
        f"{world.base_url}/webhooks/shopify/",
        data=body,
        headers={
            "X-Shopify-Topic": "inventory_levels/update",
            "X-Shopify-Shop-Domain": world.store.shop_domain,
            "X-Shopify-Hmac-Sha256": forged,
            "X-Shopify-Event-Id": "forged-1",
        },
        timeout=10,
    )

    assert response.status_code == 401
    assert not WebhookEvent.objects.filter(event_id="forged-1").exists()
    assert WebhookRejection.objects.get(reason="bad_signature").count == 1
    assert amazon_quantity(world) == 10
