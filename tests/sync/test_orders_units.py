"""Order import and ledger rules with small fakes for the two vendors (no HTTP)."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import AmazonAccount
from profiles.models import default_profile
from selling_lists.models import Listing, SellingList
from sync import conf
from sync.clients.amazon_data import AmazonOrder as RemoteOrder
from sync.clients.amazon_data import AmazonOrderItem as RemoteItem
from sync.clients.factory import substitute
from sync.orders import apply, intake, matching, placement, selectors
from sync.orders.models import AmazonOrder, AmazonOrderItem, OrderStockEntry
from tests.conftest import job_page_text
from tests.factories import (
    AmazonAccountFactory,
    GlobalProfileFactory,
    InventoryLevelFactory,
    LocationFactory,
    ShopifyStoreFactory,
    VariantFactory,
)
from tests.sync.fakes import FakeAmazon, FakeShopify

pytestmark = pytest.mark.django_db
US = "ATVPDKIKX0DER"
State = OrderStockEntry.State


@pytest.fixture
def world(monkeypatch):
    """An account selling SKU-1 (a variant with 10 units at one location), fakes for vendors."""
    # Sync to Amazon off: these tests are about Shopify's side; Results are still computed.
    # Sync off so nothing is pushed; orders still change Shopify (the seed-001 switch off).
    account = AmazonAccountFactory(inventory_sync_enabled=False, orders_stop_with_sync=False)
    AmazonAccount.objects.filter(pk=account.pk).update(created_at=datetime(2026, 1, 1, tzinfo=UTC))
    account.refresh_from_db()
    store = ShopifyStoreFactory()
    location = LocationFactory(store=store)
    variant = VariantFactory(product__store=store, sku="SKU-1")
    InventoryLevelFactory(variant=variant, location=location, available=10)
    selling_list = SellingList.objects.create(
        name="US",
        amazon_account=account,
        marketplace_id=US,
        shopify_store=store,
        profile=default_profile(),
    )
    listing = Listing.objects.create(selling_list=selling_list, variant=variant, sku="SKU-1")
    amazon = FakeAmazon()
    shopify = FakeShopify(levels={(variant.inventory_item_id, location.shopify_id): 10})
    with substitute(amazon=lambda account, marketplace_id: amazon, shopify=lambda store: shopify):
        yield _world(locals())


def _world(values):

    class World:
        pass

    w = World()
    w.__dict__.update(values)
    return w


def remote(order_id="111-0000001-0000001", status="UNSHIPPED", updated=None, sku="SKU-1",
           quantity=1, fulfilled_by="MERCHANT"):  # fmt: skip
    updated = updated or datetime(2026, 3, 1, 12, 55, tzinfo=UTC)
    return RemoteOrder(
        order_id=order_id,
        created_time=datetime(2026, 3, 1, 11, tzinfo=UTC),
        last_updated_time=updated,
        marketplace_id=US,
        fulfilled_by=fulfilled_by,
        fulfillment_status=status,
        items=(RemoteItem(f"{order_id}-1", sku, "B000000001", quantity),),
    )


NOW = datetime(2026, 3, 1, 13, tzinfo=UTC)


def run(world, now=NOW, **kw):
    summary = intake.orders_import(account=world.account, now=now, **kw)
    apply.order_entries_apply_pending(account=world.account)
    world.account.refresh_from_db()
    return summary


# --- windows -----------------------------------------------------------------------------------


def test_first_window_starts_at_connection_and_later_ones_overlap_the_previous(world):
    world.account.created_at = NOW - timedelta(minutes=5)
    AmazonAccount.objects.filter(pk=world.account.pk).update(created_at=world.account.created_at)
    run(world)
    run(world, now=NOW + timedelta(minutes=10))

    assert world.amazon.windows == [NOW - timedelta(minutes=5), NOW - conf.orders_overlap()]
    assert world.account.orders_synced_until == NOW + timedelta(minutes=10)


def test_an_old_account_never_replays_history_on_its_first_import(world):
    run(world)
    assert world.amazon.windows == [NOW - conf.orders_overlap()]


def test_the_watermark_never_moves_back(world):
    run(world, now=NOW)
    run(world, now=NOW - timedelta(hours=1))
    assert world.account.orders_synced_until == NOW


def test_scheduled_imports_respect_the_search_orders_rate(world):
    run(world)
    assert not intake.orders_import_due(world.account, NOW + timedelta(seconds=179), 1)
    assert intake.orders_import_due(world.account, NOW + timedelta(seconds=180), 1)
    assert not intake.orders_import_due(world.account, NOW + timedelta(seconds=300), 2)


def test_every_page_of_search_orders_takes_a_token_of_the_sellers_bucket(world, settings):
    from sync.models import RateLimitBucket

    settings.REDIS_URL = ""  # the database bucket, whose state this test reads
    world.amazon.orders = [remote(f"111-0000001-{n:07d}") for n in range(250)]
    began = time.monotonic()
    summary = run(world)
    # What the bucket earned back while the import ran (much more on a loaded machine).
    refilled = intake.SEARCH_ORDERS_RATE.per_second * (time.monotonic() - began)

    assert summary.orders == 250
    bucket = RateLimitBucket.objects.get(key__endswith=f"{world.account.seller_id}:search_orders")
    assert 17 - 1e-6 <= bucket.tokens <= 17 + refilled + 1e-6  # burst 20, three pages of 100


def test_an_empty_budget_raises_rate_limited_and_keeps_the_window(world, settings):
    from sync.clients.errors import RateLimited

    settings.REDIS_URL = ""  # the database bucket, which this test empties
    from sync.models import RateLimitBucket
    from sync.ratelimit import bucket_key

    key = bucket_key(world.account.seller_id, world.account.region, "search_orders")
    RateLimitBucket.objects.create(key=key, tokens=0.0, refilled_at=timezone.now().timestamp())

    with pytest.raises(RateLimited) as raised:
        intake.orders_import(account=world.account, now=NOW)

    assert raised.value.retry_after > 150  # about one request per 180 s
    assert world.amazon.windows == []  # nothing was asked of Amazon
    world.account.refresh_from_db()
    assert world.account.orders_synced_until is None


def test_import_refuses_naive_datetimes(world):
    with pytest.raises(ValueError):
        intake.orders_import(account=world.account, now=datetime(2026, 3, 1))


# --- the ledger --------------------------------------------------------------------------------


def test_sale_then_cancellation_change_shopify_once_each(world):
    world.amazon.orders = [remote(quantity=2)]
    for _ in range(3):
        run(world)
    assert world.shopify.levels == {(world.variant.inventory_item_id, world.location.shopify_id): 8}

    world.amazon.orders = [remote(status="CANCELLED", updated=NOW - timedelta(minutes=1))]
    for _ in range(3):
        run(world)
    assert world.shopify.levels[(world.variant.inventory_item_id, world.location.shopify_id)] == 10
    assert sorted(OrderStockEntry.objects.values_list("action", "state")) == [
        ("decrement", "applied"),
        ("restore", "applied"),
    ]


def test_a_buyer_cancellation_request_alone_does_nothing(world):
    world.amazon.orders = [remote(quantity=2)]
    run(world)
    # The buyer asks to cancel: Amazon updates the order, its status stays UNSHIPPED.
    world.amazon.orders = [remote(quantity=2, updated=NOW - timedelta(minutes=2))]
    run(world)

    assert not OrderStockEntry.objects.filter(action="restore").exists()
    assert world.shopify.levels[(world.variant.inventory_item_id, world.location.shopify_id)] == 8


def test_an_older_view_of_an_order_never_undoes_a_newer_one(world):
    world.amazon.orders = [remote(status="CANCELLED", updated=NOW - timedelta(minutes=1))]
    run(world)
    world.amazon.orders = [remote(status="UNSHIPPED", updated=NOW - timedelta(minutes=30))]
    run(world, since=NOW - timedelta(hours=1))

    assert AmazonOrder.objects.get().status == "CANCELLED"
    assert not OrderStockEntry.objects.exists()


def test_fba_orders_are_recorded_and_never_queued(world):
    world.amazon.orders = [remote(fulfilled_by="AMAZON")]
    summary = run(world)
    assert summary.fba == 1 and not OrderStockEntry.objects.exists()
    assert world.shopify.calls == 0


def test_orders_placed_before_the_account_was_connected_never_change_shopify(world):
    AmazonAccount.objects.filter(pk=world.account.pk).update(created_at=NOW)
    world.account.refresh_from_db()
    world.amazon.orders = [remote()]
    run(world, since=NOW - timedelta(hours=3))
    assert not AmazonOrder.objects.get().syncs_stock
    assert world.shopify.calls == 0


def test_reserved_counts_pending_and_failed_sales_only(world):
    world.amazon.orders = [
        remote("111-0000001-0000001", quantity=2),
        remote("111-0000001-0000002", quantity=3),
        remote("111-0000001-0000003", quantity=5),
    ]
    intake.orders_import(account=world.account, now=NOW)
    first, second, third = OrderStockEntry.objects.order_by("order_item__order__order_id")
    OrderStockEntry.objects.filter(pk=second.pk).update(state=State.FAILED, error="x")
    apply.order_entries_apply_pending(entry_ids=[first.pk])

    assert selectors.reserved_by_variant([world.variant.pk]) == {world.variant.pk: 8}
    assert selectors.reserved_by_variant([]) == {}


def test_import_recomputes_the_variants_whose_reserved_units_changed(world):
    world.amazon.orders = [remote()]
    intake.orders_import(account=world.account, now=NOW)

    # 10 in Shopify, 1 sold on Amazon and not yet taken off: the Result counts it as gone.
    assert Listing.objects.get(pk=world.listing.pk).computed_quantity == 9


def test_an_untracked_variant_is_recorded_but_never_written(world):
    world.variant.tracked = False
    world.variant.save()
    world.amazon.orders = [remote()]
    run(world)
    entry = OrderStockEntry.objects.get()
    assert entry.state == State.SKIPPED and "does not track" in entry.note
    assert world.shopify.calls == 0


def test_unmatched_items_are_matched_by_the_orders_action(world):
    world.amazon.orders = [remote(sku="SKU-LATER")]
    summary = run(world)
    assert summary.unmatched_items == 1
    item = AmazonOrderItem.objects.get()
    assert item.listing is None

    Listing.objects.filter(pk=world.listing.pk).update(sku="SKU-LATER")
    matched = matching.order_items_match_unmatched(order_ids=[item.order_id])
    apply.order_entries_apply_pending(entry_ids=matched.entry_ids)

    assert matched.matched == 1
    assert world.shopify.levels[(world.variant.inventory_item_id, world.location.shopify_id)] == 9


# --- the location rule -------------------------------------------------------------------------


def listing_on(store, variant, profile):
    selling_list = SellingList.objects.create(
        name=f"L{variant.pk}",
        amazon_account=AmazonAccountFactory(),
        marketplace_id=US,
        shopify_store=store,
        profile=profile,
    )
    return Listing.objects.create(selling_list=selling_list, variant=variant, sku=variant.sku)


@pytest.fixture
def three_locations():
    store = ShopifyStoreFactory()
    a, b, c = (LocationFactory(store=store, name=n) for n in "ABC")
    variant = VariantFactory(product__store=store)
    for location, available in ((a, 3), (b, 9), (c, 9)):
        InventoryLevelFactory(variant=variant, location=location, available=available)
    return store, variant, (a, b, c)


def test_one_chosen_warehouse_is_where_the_sale_is_taken(three_locations):
    store, variant, (a, b, c) = three_locations
    profile = GlobalProfileFactory(use_warehouse=True)
    profile.locations.set([a])
    assert placement.stock_target(listing_on(store, variant, profile)).location == a


def test_all_locations_use_the_default_location_when_it_stocks_the_variant(three_locations):
    store, variant, (a, b, c) = three_locations
    store.default_location = a
    store.save()
    profile = GlobalProfileFactory(use_warehouse=False)
    assert placement.stock_target(listing_on(store, variant, profile)).location == a


def test_without_a_default_the_most_stocked_location_wins_ties_by_lowest_id(three_locations):
    store, variant, (a, b, c) = three_locations
    profile = GlobalProfileFactory(use_warehouse=False)
    assert placement.stock_target(listing_on(store, variant, profile)).location == b


def test_a_default_outside_the_chosen_warehouses_is_not_used(three_locations):
    store, variant, (a, b, c) = three_locations
    store.default_location = a
    store.save()
    profile = GlobalProfileFactory(use_warehouse=True)
    profile.locations.set([b, c])
    assert placement.stock_target(listing_on(store, variant, profile)).location == b


def test_a_variant_stocked_nowhere_counted_fails_with_the_reason(three_locations):
    store, variant, (a, b, c) = three_locations
    other = LocationFactory(store=store, name="D")
    profile = GlobalProfileFactory(use_warehouse=True)
    profile.locations.set([other])
    target = placement.stock_target(listing_on(store, variant, profile))
    assert target.location is None and "not stocked" in target.problem


# --- admin and command -----------------------------------------------------------------------


def test_orders_changelist_shows_applied_and_failed_with_filters(world, admin_client):
    world.amazon.orders = [remote("111-0000001-0000001"), remote("111-0000001-0000002", sku="NOPE")]
    run(world)
    url = reverse("admin:sync_amazonorder_changelist")
    page = admin_client.get(url).content.decode()
    assert "1 of 1 applied" in page and "unmatched" in page and "Import orders now" in page
    assert "111-0000001-0000002" in admin_client.get(url, {"unmatched": "yes"}).content.decode()
    assert "111-0000001-0000001" not in admin_client.get(url, {"unmatched": "yes"}).content.decode()
    for query in ({"fulfilment": "FBA"}, {"shopify": "failed"}, {"shopify": "applied"}):
        assert admin_client.get(url, query).status_code == 200
    order = AmazonOrder.objects.get(order_id="111-0000001-0000001")
    detail = admin_client.get(reverse("admin:sync_amazonorder_change", args=[order.pk]))
    assert "Take off Shopify stock" in detail.content.decode()


def test_retry_action_applies_a_failed_entry_in_a_worker(
    world, admin_client, django_capture_on_commit_callbacks
):
    world.amazon.orders = [remote()]
    intake.orders_import(account=world.account, now=NOW)
    entry = OrderStockEntry.objects.get()
    OrderStockEntry.objects.filter(pk=entry.pk).update(state=State.FAILED, error="boom")

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = admin_client.post(
            reverse("admin:sync_amazonorder_changelist"),
            {"action": "retry", "_selected_action": [entry.order_item.order_id]},
            follow=True,
        )
    entry.refresh_from_db()
    assert entry.state == State.PENDING, "the request writes nothing to Shopify"
    assert "Retrying 1 Shopify stock change in the background" in response.content.decode()

    for callback in queued:  # the worker
        callback()
    entry.refresh_from_db()
    assert entry.state == State.APPLIED and "Retried by admin" in entry.note


def test_import_now_button_imports_every_account(
    world, admin_client, django_capture_on_commit_callbacks
):
    world.amazon.orders = [remote(updated=timezone.now())]
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:sync_amazonorder_import_now"), follow=True)
    assert "Importing Amazon orders of 1 account" in response.content.decode()
    assert AmazonOrder.objects.filter(account=world.account).count() == 1
    assert OrderStockEntry.objects.get().state == State.APPLIED


def test_import_orders_command_reports_what_it_did(world, capsys):
    world.amazon.orders = [remote(quantity=2, updated=timezone.now())]
    call_command("import_orders", "--account", world.account.name)
    out = capsys.readouterr().out
    assert "1 new: 1 FBM, 0 FBA" in out and "1 applied to Shopify" in out


def test_the_import_task_imports_then_applies(world, django_capture_on_commit_callbacks):
    from sync.orders.tasks import import_due_orders_task

    world.amazon.orders = [remote(updated=timezone.now())]
    with django_capture_on_commit_callbacks(execute=True):
        assert import_due_orders_task() == 1
    assert OrderStockEntry.objects.get().state == State.APPLIED
    world.account.refresh_from_db()
    assert world.account.orders_synced_until is not None
    assert timezone.now() - world.account.orders_synced_until < timedelta(minutes=1)


def admin_request(rf, admin_user):
    from django.contrib.messages.storage.fallback import FallbackStorage

    request = rf.post("/")
    request.user = admin_user
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def test_account_action_import_orders_now_warns_when_fbm_sync_is_off(
    world, rf, admin_user, django_capture_on_commit_callbacks
):
    from sync.orders.admin import import_orders_now

    AmazonAccount.objects.filter(pk=world.account.pk).update(sync_fbm_orders=False)
    world.amazon.orders = [remote(updated=timezone.now())]
    request = admin_request(rf, admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        import_orders_now(None, request, AmazonAccount.objects.filter(pk=world.account.pk))

    texts = [str(m) for m in request._messages]
    assert any("Importing Amazon orders of 1 account" in t for t in texts)
    assert any("is off for" in t for t in texts)
    assert AmazonOrder.objects.get().syncs_stock is False
    assert world.shopify.calls == 0


def test_listing_action_apply_unmatched_orders_takes_the_units_off_shopify(
    world, admin_client, run_job_request
):
    world.amazon.orders = [remote(sku="SKU-LATER", quantity=3)]
    run(world)
    Listing.objects.filter(pk=world.listing.pk).update(sku="SKU-LATER")

    _, job = run_job_request(
        lambda: admin_client.post(
            reverse("admin:selling_lists_listing_changelist"),
            {"action": "apply_unmatched_orders", "_selected_action": [world.listing.pk]},
        )
    )

    assert job.summary.startswith("1 order item is now matched")
    assert "1 order item is now matched" in job_page_text(admin_client, job)
    assert world.shopify.levels[(world.variant.inventory_item_id, world.location.shopify_id)] == 7
