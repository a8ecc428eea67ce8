"""A listing's history chart (sync/history.py): its points are what the engine recorded.

Pushes and orders come from the engine against the sandbox over live HTTP (an Amazon order
lowers Shopify, the recompute queues a push, the worker sends it and the read-back confirms
it), or from the factories where only their number matters (the query count).
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sandbox.shopify.services import level_for, set_available
from selling_lists.models import Listing
from selling_lists.selectors import listings_with_stock
from sync.history import MAX_EVENTS, listing_history
from sync.inbound.refresh import listings_refresh_stock
from sync.models import AmazonOrder, AmazonOrderItem, PushState, QtyPush
from sync.outbox.recompute import listings_recompute
from tests.factories import stocked_listing
from tests.sync.test_end_to_end import SKU, drain
from tests.sync.test_orders import connect, sell, sync_orders


def ms(moment):
    return int(moment.timestamp() * 1000)


@pytest.mark.django_db(transaction=True)
def test_an_order_and_the_push_it_caused_are_charted_from_what_the_engine_recorded(
    sandbox_world,
):
    world = connect(sandbox_world, stock=10)
    drain(world)
    listing = Listing.objects.get(sku=SKU, marketplace_id="ATVPDKIKX0DER")
    sell(world, quantity=2)
    sync_orders(world)  # Shopify and Amazon 10 → 8: nothing to push
    # The merchant receives 4 units in Shopify; Stocklink re-reads and queues the new Result.
    set_available(level=level_for(shop=world.shop["shop"], sku=SKU), quantity=12)
    listings_refresh_stock(listing_ids=[listing.pk])
    drain(world)  # sent, read back, confirmed

    push = QtyPush.objects.filter(listing=listing, state=PushState.DONE).latest("confirmed_at")
    order = AmazonOrder.objects.get(items__listing=listing)
    assert push.shopify_stock == 12  # the stock the Result was computed from, stored with it
    assert push.amazon_shown == push.quantity  # Amazon showed it at the read-back

    history = listing_history(listing_id=listing.pk)
    chart = history.chart()
    series = {s["key"]: s["points"] for s in chart["series"]}
    assert [ms(push.created_at), 12] in series["stock"]
    assert [ms(push.created_at), push.quantity] in series["result"]
    assert [ms(push.confirmed_at), push.quantity] in series["amazon"]
    marks = {(m["kind"], m["at"]) for m in chart["marks"]}
    assert ("push", ms(push.confirmed_at)) in marks
    assert ("order", ms(order.purchased_at)) in marks
    # The last point of each line is the listing as read now.
    now = listings_with_stock().get(pk=listing.pk)
    assert series["stock"][-1][1] == now.shopify_stock == 12
    assert series["amazon"][-1][1] == now.amazon_quantity
    assert history.orders == 1 and history.units == 2
    assert "1 Amazon order line (2 units)" in history.summary()


@pytest.mark.django_db
def test_a_failed_and_an_unconfirmed_push_get_their_own_marks():
    listing = stocked_listing(7)
    listings_recompute(listing_ids=[listing.pk], reason="manual", force=True)
    queued = QtyPush.objects.get(listing=listing)
    assert queued.shopify_stock == 7  # written by the recompute with the pending push
    sent_at = timezone.now()
    QtyPush.objects.filter(pk=queued.pk).update(state=PushState.SENT, sent_at=sent_at)
    QtyPush.objects.create(
        listing=listing,
        account=listing.amazon_account,
        quantity=3,
        shopify_stock=4,
        reason="manual",
        state=PushState.FAILED,
        message="The SKU is not in the seller's catalogue",
    )

    history = listing_history(listing_id=listing.pk)

    kinds = [e.kind for e in history.events if e.kind]
    assert sorted(kinds) == ["push-failed", "push-sent"]
    failed = next(e for e in history.events if e.kind == "push-failed")
    assert "not in the seller's catalogue" in failed.text
    assert history.pushes == {"sent": 1, "failed": 1}
    assert "2 pushes (1 sent, 1 failed)" in history.summary()


@pytest.mark.django_db
def test_a_listing_without_pushes_or_orders_has_an_empty_history():
    listing = stocked_listing(5)

    history = listing_history(listing_id=listing.pk)

    assert history.empty
    assert history.summary() == "No push and no Amazon order in the last 7 days."
    assert history.chart()["marks"] == []


@pytest.mark.django_db
def test_pushes_and_orders_older_than_the_window_are_left_out():
    listing = stocked_listing(5)
    old = timezone.now() - timedelta(days=8)
    push = QtyPush.objects.create(
        listing=listing, account=listing.amazon_account, quantity=5, reason="manual"
    )
    QtyPush.objects.filter(pk=push.pk).update(created_at=old, state=PushState.SUPERSEDED)
    add_orders(listing, 1, at=old)

    assert listing_history(listing_id=listing.pk).empty


def add_pushes(listing, n):
    now = timezone.now()
    QtyPush.objects.bulk_create(
        QtyPush(
            listing=listing,
            account=listing.amazon_account,
            quantity=i,
            shopify_stock=i + 2,
            amazon_shown=i,
            reason="stock_change",
            state=PushState.DONE,
            created_at=now - timedelta(minutes=2 * i + 1),
            sent_at=now - timedelta(minutes=2 * i + 1),
            confirmed_at=now - timedelta(minutes=2 * i),
        )
        for i in range(n)
    )


def add_orders(listing, n, at=None):
    for i in range(n):
        moment = at or timezone.now() - timedelta(minutes=3 * i)
        order = AmazonOrder.objects.create(
            account=listing.amazon_account,
            marketplace=listing.marketplace,
            order_id=f"111-{listing.pk}-{i:07d}",
            status="UNSHIPPED",
            fulfilled_by="MERCHANT",
            purchased_at=moment,
            last_updated=moment,
        )
        AmazonOrderItem.objects.create(
            order=order, order_item_id=str(i), sku=listing.sku, quantity=1, listing=listing
        )


def queries(listing):
    with CaptureQueriesContext(connection) as captured:
        listing_history(listing_id=listing.pk).chart()
    return len(captured)


@pytest.mark.django_db
def test_the_history_costs_the_same_queries_for_one_or_many_pushes_and_orders():
    few, many = stocked_listing(5), stocked_listing(5)
    add_pushes(few, 1)
    add_orders(few, 1)
    add_pushes(many, MAX_EVENTS + 20)
    add_orders(many, 30)

    assert queries(few) == queries(many)
    history = listing_history(listing_id=many.pk)
    assert history.pushes == {"confirmed": MAX_EVENTS}  # the newest, bounded
    assert history.orders == 30


@pytest.mark.django_db
def test_the_listing_page_says_so_when_there_is_no_history(admin_client):
    listing = stocked_listing(5)

    body = admin_client.get(f"/admin/selling_lists/listing/{listing.pk}/change/").content.decode()

    assert "History: the last 7 days" in body
    assert "No push and no Amazon order in the last 7 days" in body
    assert 'class="line-chart"' not in body
