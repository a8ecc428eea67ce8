"""Amazon orders reach Shopify stock exactly once: end to end over HTTP with the sandbox.

The real Amazon client (python-amazon-sp-api, searchOrders 2026-01-01) and the real Shopify
GraphQL client talk to the sandbox through pytest-django's live server; stock is checked where
the merchant would see it, in the sandbox's Shopify.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AmazonAccount, InventoryLevel
from profiles.models import GlobalProfile, default_profile
from sandbox.amazon.models import Listing as AmazonListing
from sandbox.amazon.models import throttled_count
from sandbox.amazon.orders import cancel_order, place_order
from sandbox.shopify.models import AdjustmentGroup
from sandbox.shopify.services import level_for, set_available
from selling_lists.models import Listing, SellingList
from selling_lists.selectors import listings_with_stock
from sync.clients.shopify import ShopifyClient
from sync.inbound.catalogue import catalogue_import
from sync.linking import selling_list_link_by_sku
from sync.orders.apply import order_entries_apply_pending, order_entries_retry, order_entry_apply
from sync.orders.intake import orders_import
from sync.orders.matching import order_items_match_unmatched
from sync.orders.models import AmazonOrder, AmazonOrderItem, OrderStockEntry
from sync.orders.selectors import reserved_by_variant
from sync.outbox.results import compute_results
from tests.sandbox_world import CA, US

pytestmark = pytest.mark.django_db(transaction=True)

SKU = "SKU-000001"
State = OrderStockEntry.State


class WorkerKilled(BaseException):
    """Stands for SIGKILL: not an Exception, so no `except Exception` in the app catches it."""


def connect(
    sandbox_world, *, stock=10, skus=(SKU,), marketplaces=(US,), profile=None, locations=1, **kw
):
    """A sandbox shop and seller, catalogue imported, every marketplace linked by SKU.

    Each SKU in `skus` is set to `stock` at the shop's first location before the import, and to
    at least `stock` units on Amazon so orders can be placed.
    """
    world = sandbox_world(marketplaces=marketplaces, locations=locations, **kw)
    for sku in skus:
        set_available(level=level_for(shop=world.shop["shop"], sku=sku), quantity=stock)
        AmazonListing.objects.filter(seller__seller_id=world.account.seller_id, sku=sku).update(
            quantity=stock
        )
    catalogue_import(store=world.store)
    for market in marketplaces:
        selling_list = SellingList.objects.create(
            name=f"List {market}",
            amazon_account=world.account,
            marketplace_id=market,
            shopify_store=world.store,
            profile=profile or default_profile(),
        )
        selling_list_link_by_sku(selling_list=selling_list)
    world.account.refresh_from_db()
    return world


def sell(world, sku=SKU, quantity=1, marketplace=US, fulfilled_by=None):
    listing = AmazonListing.objects.get(
        seller__seller_id=world.account.seller_id, sku=sku, marketplace_id=marketplace
    )
    if listing.quantity < quantity:
        listing.set_amazon_quantity(quantity)
        listing.save()
    return place_order(listing=listing, quantity=quantity, fulfilled_by=fulfilled_by)


def shopify_available(world, sku=SKU) -> int:
    return level_for(shop=world.shop["shop"], sku=sku).available


def amazon_quantities(world, sku=SKU) -> dict[str, int]:
    return dict(
        AmazonListing.objects.filter(
            seller__seller_id=world.account.seller_id, sku=sku
        ).values_list("marketplace_id", "quantity")
    )


def sync_orders(world, **kwargs):
    account = AmazonAccount.objects.get(pk=world.account.pk)
    summary = orders_import(account=account, **kwargs)
    order_entries_apply_pending(account=account)
    return summary


def entries(order):
    return OrderStockEntry.objects.filter(order_item__order__order_id=order.order_id)


# --- the sale -------------------------------------------------------------------------------


def test_mfn_order_lowers_shopify_available_once(sandbox_world):
    world = connect(sandbox_world, stock=10)
    order = sell(world, quantity=2)

    summary = sync_orders(world)

    assert (summary.new_orders, summary.fbm, summary.fba) == (1, 1, 0)
    assert shopify_available(world) == 8
    entry = entries(order).get()
    assert (entry.action, entry.state, entry.quantity_after) == ("decrement", "applied", 8)
    assert entry.applied_at is not None
    # Shopify's inventory history shows which Amazon order took the units.
    group = AdjustmentGroup.objects.get(idempotency_key__startswith=entry.idempotency_key)
    assert group.reference_document_uri == f"gid://stocklink/AmazonOrder/{order.order_id}"
    # The mirror follows at once, so the next recompute starts from 8.
    assert InventoryLevel.objects.get(variant=entry.variant, location=entry.location).available == 8


def test_afn_order_is_recorded_and_never_touches_shopify(sandbox_world):
    world = connect(sandbox_world, stock=10, fba_skus={SKU})
    order = sell(world, quantity=3)  # an FBA SKU sells as AMAZON-fulfilled

    summary = sync_orders(world)

    assert (summary.fbm, summary.fba) == (0, 1)
    recorded = AmazonOrder.objects.get(order_id=order.order_id)
    assert recorded.fulfilled_by == "AMAZON" and not recorded.syncs_stock
    assert recorded.items.get().listing is not None
    assert not entries(order).exists()
    assert shopify_available(world) == 10
    assert AdjustmentGroup.objects.count() == 0


def test_importing_the_same_window_five_times_decrements_once(sandbox_world):
    world = connect(sandbox_world, stock=10)
    order = sell(world)
    since = world.account.created_at

    for _ in range(5):
        sync_orders(world, since=since)

    assert shopify_available(world) == 9
    assert entries(order).count() == 1
    assert AmazonOrderItem.objects.filter(order__order_id=order.order_id).count() == 1
    assert AdjustmentGroup.objects.count() == 1
    # Paced by the seller's shared bucket: Amazon never had to answer 429.
    assert throttled_count(world.account.seller_id, "searchOrders") == 0


def test_overlapping_windows_decrement_each_order_item_once(sandbox_world):
    world = connect(sandbox_world, stock=10, skus=(SKU, "SKU-000002"))
    first = sell(world, quantity=1)
    start = timezone.now()
    sync_orders(world, now=start)
    second = sell(world, sku="SKU-000002", quantity=2)

    # The next window starts before the previous one ended (the overlap) and sees both orders.
    account = AmazonAccount.objects.get(pk=world.account.pk)
    assert account.orders_synced_until == start
    later = sync_orders(world)
    sync_orders(world, since=start - timedelta(hours=1))

    assert later.orders == 2 and later.new_orders == 1
    assert shopify_available(world) == 9
    assert shopify_available(world, "SKU-000002") == 8
    assert entries(first).count() == entries(second).count() == 1
    assert OrderStockEntry.objects.filter(state=State.APPLIED).count() == 2


# --- a worker dies between Shopify's write and ours --------------------------------------------


def kill_after_shopify_write(monkeypatch):
    real = ShopifyClient.adjust_available

    def write_then_die(self, *args, **kwargs):
        real(self, *args, **kwargs)
        raise WorkerKilled

    monkeypatch.setattr(ShopifyClient, "adjust_available", write_then_die)


def test_worker_killed_after_the_shopify_write_still_decrements_once(sandbox_world, monkeypatch):
    world = connect(sandbox_world, stock=10)
    order = sell(world, quantity=2)
    orders_import(account=world.account)
    kill_after_shopify_write(monkeypatch)

    with pytest.raises(WorkerKilled):
        order_entries_apply_pending(account=world.account)
    monkeypatch.undo()

    entry = entries(order).get()
    assert shopify_available(world) == 8  # Shopify applied it; we never wrote that down
    assert entry.state == State.PENDING and entry.in_doubt and entry.change_from == 10
    assert reserved_by_variant([entry.variant_id]) == {entry.variant_id: 2}

    for _ in range(3):
        order_entries_apply_pending(account=world.account)
        sync_orders(world)

    entry.refresh_from_db()
    assert shopify_available(world) == 8
    assert entry.state == State.APPLIED and not entry.in_doubt and entry.attempts == 1
    # Shopify replayed the first answer for the same @idempotent key: one adjustment in all.
    assert AdjustmentGroup.objects.exclude(changes=[]).count() == 1
    assert reserved_by_variant([entry.variant_id]) == {}


def test_worker_killed_and_shopify_forgetting_the_key_still_decrements_once(
    sandbox_world, monkeypatch
):
    world = connect(sandbox_world, stock=10)
    order = sell(world, quantity=2)
    orders_import(account=world.account)
    kill_after_shopify_write(monkeypatch)
    with pytest.raises(WorkerKilled):
        order_entries_apply_pending(account=world.account)
    monkeypatch.undo()
    # Shopify's idempotency "fails": the key is no longer known, a resend would be new to it.
    AdjustmentGroup.objects.all().delete()

    order_entries_apply_pending(account=world.account)

    entry = entries(order).get()
    assert shopify_available(world) == 8
    assert entry.state == State.APPLIED and entry.quantity_after == 8
    assert "re-reading showed it had been applied" in entry.note
    # The resend was refused as stale (changeFromQuantity 10 ≠ 8), so nothing applied twice.
    assert AdjustmentGroup.objects.get().user_errors[0]["code"] == "CHANGE_FROM_QUANTITY_STALE"


def test_an_attempt_in_doubt_with_foreign_stock_changes_is_flagged_not_written_twice(
    sandbox_world, monkeypatch
):
    world = connect(sandbox_world, stock=10)
    order = sell(world, quantity=2)
    orders_import(account=world.account)
    kill_after_shopify_write(monkeypatch)
    with pytest.raises(WorkerKilled):
        order_entries_apply_pending(account=world.account)
    monkeypatch.undo()
    AdjustmentGroup.objects.all().delete()
    # Meanwhile Shopify sells one unit itself: 8 → 7. Was our call applied? Only a human knows.
    level = level_for(shop=world.shop["shop"], sku=SKU)
    set_available(level=level, quantity=7)

    order_entries_apply_pending(account=world.account)

    entry = entries(order).get()
    assert shopify_available(world) == 7
    assert entry.state == State.FAILED and entry.error.startswith("Needs review")
    # Still reserved: Amazon keeps showing the sale as taken until someone decides.
    assert reserved_by_variant([entry.variant_id]) == {entry.variant_id: 2}

    # The merchant checks Shopify's history, finds it missing, and retries: one fresh write.
    set_available(level=level, quantity=10)
    order_entries_apply_pending(entry_ids=order_entries_retry(entry_ids=[entry.pk]))
    entry.refresh_from_db()
    assert entry.state == State.APPLIED and shopify_available(world) == 8


def test_stale_change_from_quantity_is_re_read_and_retried(sandbox_world):
    world = connect(sandbox_world, stock=10)
    order = sell(world, quantity=1)
    # Shopify moved on since our mirror was taken (no webhook reached us).
    set_available(level=level_for(shop=world.shop["shop"], sku=SKU), quantity=6)

    sync_orders(world)

    entry = entries(order).get()
    assert shopify_available(world) == 5
    assert (entry.state, entry.attempts, entry.quantity_after) == (State.APPLIED, 2, 5)


def test_two_workers_applying_the_same_entry_write_once(sandbox_world):
    world = connect(sandbox_world, stock=10)
    order = sell(world, quantity=1)
    orders_import(account=world.account)
    entry = entries(order).get()
    # A second worker holds the lease: this one leaves the entry alone.
    OrderStockEntry.objects.filter(pk=entry.pk).update(
        lease_until=timezone.now() + timedelta(minutes=1)
    )
    assert order_entry_apply(entry_id=entry.pk).state == State.PENDING
    assert shopify_available(world) == 10

    OrderStockEntry.objects.filter(pk=entry.pk).update(lease_until=None)
    assert order_entry_apply(entry_id=entry.pk).state == State.APPLIED
    assert order_entry_apply(entry_id=entry.pk).state == State.APPLIED
    assert shopify_available(world) == 9


# --- cancellations ------------------------------------------------------------------------------


def test_a_cancellation_restores_exactly_once(sandbox_world):
    world = connect(sandbox_world, stock=10)
    order = sell(world, quantity=3)
    sync_orders(world)
    assert shopify_available(world) == 7

    cancel_order(order=order)
    for _ in range(3):
        sync_orders(world, since=world.account.created_at)

    assert shopify_available(world) == 10
    restore = entries(order).get(action="restore")
    assert restore.state == State.APPLIED and restore.location_id == (
        entries(order).get(action="decrement").location_id
    )
    assert AmazonOrder.objects.get(order_id=order.order_id).status == "CANCELLED"


def test_an_order_cancelled_before_its_decrement_never_touches_shopify(sandbox_world):
    world = connect(sandbox_world, stock=10)
    order = sell(world, quantity=2)
    orders_import(account=world.account)  # recorded, not yet written to Shopify
    cancel_order(order=order)

    sync_orders(world)

    decrement = entries(order).get()
    assert decrement.state == State.SKIPPED
    assert shopify_available(world) == 10
    assert reserved_by_variant([decrement.variant_id]) == {}
    assert AdjustmentGroup.objects.count() == 0


# --- unmatched SKUs and the account switch --------------------------------------------------


def test_an_unmatched_item_is_kept_and_applied_when_its_sku_is_linked(sandbox_world):
    world = connect(sandbox_world, stock=10)
    Listing.objects.filter(sku=SKU).delete()  # sold on Amazon before the SKU was linked
    order = sell(world, quantity=2)

    sync_orders(world)
    item = AmazonOrderItem.objects.get(order__order_id=order.order_id)
    assert item.listing is None and not entries(order).exists()
    assert shopify_available(world) == 10

    selling_list_link_by_sku(selling_list=SellingList.objects.get(amazon_account=world.account))
    listing = Listing.objects.get(sku=SKU)
    summary = order_items_match_unmatched(listing_ids=[listing.pk])
    order_entries_apply_pending(entry_ids=summary.entry_ids)
    order_items_match_unmatched(listing_ids=[listing.pk])  # twice changes nothing

    item.refresh_from_db()
    assert summary.matched == 1 and item.listing == listing
    assert shopify_available(world) == 8
    assert entries(order).get().state == State.APPLIED


def test_fbm_orders_switch_off_records_orders_and_keeps_shopify_stock(sandbox_world):
    world = connect(sandbox_world, stock=10, sync_fbm_orders=False)
    order = sell(world, quantity=2)

    sync_orders(world)
    AmazonAccount.objects.filter(pk=world.account.pk).update(sync_fbm_orders=True)
    sync_orders(world, since=world.account.created_at)  # seen again with the switch on

    recorded = AmazonOrder.objects.get(order_id=order.order_id)
    assert recorded.fulfilled_by == "MERCHANT" and not recorded.syncs_stock
    assert not entries(order).exists()
    assert shopify_available(world) == 10


# --- locations ---------------------------------------------------------------------------------


def test_a_sale_is_taken_from_the_stores_default_location(sandbox_world):
    world = connect(sandbox_world, stock=10, locations=2)
    second = world.store.locations.order_by("shopify_id").last()
    world.store.default_location = second
    world.store.save()
    before = level_for(shop=world.shop["shop"], sku=SKU, location=second.name).available
    order = sell(world, quantity=1)

    sync_orders(world)

    entry = entries(order).get()
    assert entry.location == second
    assert level_for(shop=world.shop["shop"], sku=SKU, location=second.name).available == (
        before - 1
    )


# --- the oversell guard ------------------------------------------------------------------------


def test_a_shopify_stock_event_between_sale_and_decrement_does_not_resell_the_units(
    sandbox_world,
):
    # One variant sold in two marketplaces: the US sale must lower what Canada is offered at
    # once, and a Shopify stock event before the decrement must not bring the units back.
    world = connect(sandbox_world, stock=10, marketplaces=(US, CA))
    sell(world, quantity=4, marketplace=US)
    orders_import(account=world.account)  # imported; the Shopify decrement has not run yet
    level = level_for(shop=world.shop["shop"], sku=SKU)
    set_available(level=level, quantity=12)  # a restock lands in Shopify in between
    catalogue_import(store=world.store)  # the mirror and every listing follow the stock event

    listings = list(listings_with_stock(Listing.objects.filter(sku=SKU)))
    variant_id = listings[0].variant_id
    results = compute_results(listings, reserved=reserved_by_variant([variant_id]))
    for listing in listings:
        rule, result = results[listing.pk]
        assert result.quantity == 8, listing.marketplace_id  # 12 in Shopify − 4 sold
        assert "Minus 4 sold on Amazon, not yet taken off in Shopify = 8" in result.trace
        assert Listing.objects.get(pk=listing.pk).computed_quantity == 8

    order_entries_apply_pending(account=world.account)
    assert shopify_available(world) == 8
    listings = list(listings_with_stock(Listing.objects.filter(sku=SKU)))
    results = compute_results(listings, reserved=reserved_by_variant([variant_id]))
    assert {result.quantity for _, result in results.values()} == {8}
    assert all(Listing.objects.get(pk=x.pk).computed_quantity == 8 for x in listings)


# --- fixed quantities after a sale -----------------------------------------------------------


@pytest.mark.parametrize(("after_sale", "amazon_after"), [("lower", 4), ("restore", 5)])
def test_a_fixed_quantity_listing_follows_its_profile_after_a_sale(
    sandbox_world, after_sale, amazon_after
):
    from sync.outbox.recompute import listings_recompute

    profile = GlobalProfile.objects.create(
        name=f"Custom quantity 5, {after_sale}",
        mode="fixed",
        quantity=5,
        fixed_after_sale=after_sale,
    )
    world = connect(sandbox_world, stock=10, profile=profile)
    listing = Listing.objects.get(sku=SKU)
    listings_recompute(listing_ids=[listing.pk], reason="manual")  # Update Qty: Amazon shows 5
    assert amazon_quantities(world) == {US: 5}

    sell(world, quantity=1)  # Amazon takes the unit off: 4
    sync_orders(world)

    # Salestio (seed 000) lets the sale lower Amazon; Codisto (seed 001) sets it back to N.
    assert amazon_quantities(world) == {US: amazon_after}
    assert shopify_available(world) == 9  # Shopify stock goes down either way


# --- with the sync engine: webhooks and pushes --------------------------------------------------


def test_a_sale_in_one_marketplace_reaches_shopify_and_every_listing_of_the_variant(
    sandbox_world, settings
):
    from sync.inbound.webhooks import webhooks_subscribe
    from sync.models import QtyPush, WebhookEvent

    world = connect(sandbox_world, stock=10, marketplaces=(US, CA))
    settings.STOCKLINK_BASE_URL = world.base_url
    webhooks_subscribe(store=world.store)
    assert amazon_quantities(world) == {US: 10, CA: 10}

    sell(world, quantity=3, marketplace=US)
    orders_import(account=world.account)
    # Reserved at once: Canada stops offering the 3 units before Shopify is even told.
    assert amazon_quantities(world) == {US: 7, CA: 7}

    order_entries_apply_pending(account=world.account)

    assert shopify_available(world) == 7
    # Shopify's inventory_levels/update for our own write came back and was processed...
    assert WebhookEvent.objects.filter(processed_at__isnull=False).exists()
    # ...and every listing of the variant, in both marketplaces, shows the 7 left.
    assert amazon_quantities(world) == {US: 7, CA: 7}
    assert set(Listing.objects.filter(sku=SKU).values_list("computed_quantity", flat=True)) == {7}
    ca_pushes = QtyPush.objects.filter(listing__marketplace_id=CA, reason="order").order_by("pk")
    at_import = ca_pushes.first()  # queued by the import, before Shopify was told
    assert at_import.quantity == 7
    assert "Minus 3 sold on Amazon, not yet taken off in Shopify = 7" in at_import.trace
    assert {push.quantity for push in ca_pushes} == {7}


def test_a_shopify_stock_event_before_the_decrement_never_pushes_the_old_quantity(
    sandbox_world, settings
):
    from sync.inbound.webhooks import webhooks_subscribe
    from sync.models import QtyPush

    world = connect(sandbox_world, stock=10, marketplaces=(US, CA))
    settings.STOCKLINK_BASE_URL = world.base_url
    webhooks_subscribe(store=world.store)
    sell(world, quantity=4, marketplace=US)
    orders_import(account=world.account)
    first_push = QtyPush.objects.order_by("pk").last().pk

    # Interleaved: a Shopify stock event (its webhook recomputes) lands before our decrement.
    level = level_for(shop=world.shop["shop"], sku=SKU)
    set_available(level=level, quantity=11)
    assert amazon_quantities(world) == {US: 7, CA: 7}  # 11 − 4 reserved, never 11
    order_entries_apply_pending(account=world.account)

    assert shopify_available(world) == 7
    assert amazon_quantities(world) == {US: 7, CA: 7}
    later = QtyPush.objects.filter(pk__gt=first_push, listing__sku=SKU)
    assert later.exists() and max(later.values_list("quantity", flat=True)) == 7
    assert any(
        "Minus 4 sold on Amazon, not yet taken off in Shopify = 7" in push.trace for push in later
    )
