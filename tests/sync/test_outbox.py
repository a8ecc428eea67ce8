"""The outbox: recompute → at most one pending push per listing, as the switches allow."""

import pytest
from django.db import IntegrityError, connection, transaction

from selling_lists.models import FulfillmentChannel, ListingStatus
from sync.models import PushReason, PushState, QtyPush
from sync.outbox.recompute import listings_recompute
from tests.factories import (
    GlobalProfileFactory,
    InventoryLevelFactory,
    ListingFactory,
    UserFactory,
    stocked_listing,
)

pytestmark = pytest.mark.django_db


def set_stock(listing, available):
    level = listing.variant.levels.get()
    level.available = available
    level.save()


def pending(listing):
    return list(QtyPush.objects.filter(listing=listing, state=PushState.PENDING))


def test_stock_change_queues_one_pending_push_and_marks_listing_pending():
    listing = stocked_listing(10)

    summary = listings_recompute(listing_ids=[listing.pk], reason="stock_change")

    listing.refresh_from_db()
    [push] = pending(listing)
    assert push.quantity == 10
    assert push.reason == PushReason.STOCK_CHANGE
    assert push.trace[-1] == "Amazon gets 10"
    assert listing.status == ListingStatus.PENDING
    assert listing.computed_quantity == 10
    assert summary.queued == 1


def test_two_changes_coalesce_into_one_pending_push_with_the_latest_target():
    listing = stocked_listing(10)
    listings_recompute(listing_ids=[listing.pk], reason="stock_change")
    set_stock(listing, 7)

    listings_recompute(variant_ids=[listing.variant_id], reason="stock_change")

    [push] = pending(listing)
    assert push.quantity == 7
    assert QtyPush.objects.filter(listing=listing).count() == 1


def test_database_refuses_a_second_pending_push_for_a_listing():
    listing = stocked_listing(10)
    QtyPush.objects.create(
        listing=listing, account=listing.amazon_account, quantity=1, reason="manual"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        QtyPush.objects.create(
            listing=listing, account=listing.amazon_account, quantity=2, reason="manual"
        )


def test_nothing_is_queued_when_the_target_equals_what_amazon_was_last_told():
    listing = stocked_listing(10, last_sent_quantity=10, status=ListingStatus.LINKED)

    summary = listings_recompute(listing_ids=[listing.pk], reason="stock_change")

    listing.refresh_from_db()
    assert pending(listing) == []
    assert summary.unchanged == 1 and summary.queued == 0
    assert listing.status == ListingStatus.LINKED


def test_a_pending_push_is_dropped_when_stock_returns_to_what_amazon_has():
    listing = stocked_listing(10, last_sent_quantity=10, status=ListingStatus.LINKED)
    set_stock(listing, 4)
    listings_recompute(listing_ids=[listing.pk], reason="stock_change")
    set_stock(listing, 10)

    listings_recompute(listing_ids=[listing.pk], reason="stock_change")

    listing.refresh_from_db()
    assert pending(listing) == []
    assert QtyPush.objects.get(listing=listing).state == PushState.SUPERSEDED
    assert listing.status == ListingStatus.LINKED


def test_an_in_flight_push_counts_as_told_so_returning_stock_is_queued_again():
    # Amazon was told 10, a push of 4 is on the wire; stock back at 10 must send 10 again.
    listing = stocked_listing(10, last_sent_quantity=10)
    QtyPush.objects.create(
        listing=listing,
        account=listing.amazon_account,
        quantity=4,
        reason="stock_change",
        state=PushState.SENDING,
    )

    listings_recompute(listing_ids=[listing.pk], reason="stock_change")

    [push] = pending(listing)
    assert push.quantity == 10 and push.previous_quantity == 4


def test_auto_update_off_queues_nothing_on_stock_change_but_update_qty_does():
    listing = stocked_listing(10, selling_list__amazon_account__auto_update_qty=False)

    listings_recompute(listing_ids=[listing.pk], reason="stock_change")
    listing.refresh_from_db()
    assert pending(listing) == []
    assert "Automatic updates are off" in listing.status_message
    assert listing.computed_quantity == 10

    user = UserFactory()
    listings_recompute(listing_ids=[listing.pk], reason="manual", acting_user=user, force=True)
    [push] = pending(listing)
    assert push.quantity == 10 and push.created_by == user and push.reason == "manual"


def test_inventory_sync_off_queues_nothing_at_all_not_even_update_qty():
    listing = stocked_listing(10, selling_list__amazon_account__inventory_sync_enabled=False)

    summary = listings_recompute(listing_ids=[listing.pk], reason="manual", force=True)

    listing.refresh_from_db()
    assert QtyPush.objects.count() == 0
    assert listing.status == ListingStatus.SYNC_OFF
    assert summary.sync_off_account_ids == {listing.amazon_account_id}


def test_switching_sync_off_drops_the_pending_push():
    listing = stocked_listing(10)
    listings_recompute(listing_ids=[listing.pk], reason="stock_change")
    listing.amazon_account.inventory_sync_enabled = False
    listing.amazon_account.save()

    listings_recompute(listing_ids=[listing.pk], reason="stock_change")

    assert pending(listing) == []
    assert QtyPush.objects.get(listing=listing).state == PushState.SUPERSEDED


@pytest.mark.parametrize("paused", ["list", "listing"])
def test_paused_selling_list_or_listing_is_paused_and_sends_nothing(paused):
    listing = stocked_listing(10)
    if paused == "list":
        listing.selling_list.paused = True
        listing.selling_list.save()
    else:
        listing.paused = True
        listing.save()

    listings_recompute(listing_ids=[listing.pk], reason="manual", force=True)

    listing.refresh_from_db()
    assert QtyPush.objects.count() == 0
    assert listing.status == ListingStatus.PAUSED
    assert "paused" in listing.status_message


def test_fba_listings_are_never_pushed():
    listing = stocked_listing(10, fulfillment_channel=FulfillmentChannel.FBA)

    summary = listings_recompute(listing_ids=[listing.pk], reason="manual", force=True)

    listing.refresh_from_db()
    assert QtyPush.objects.count() == 0
    assert listing.status == ListingStatus.FBA
    assert summary.fba == 1


@pytest.mark.parametrize("mode,quantity", [("single", None), ("fixed", 5)])
def test_static_modes_are_not_queued_on_stock_change_only_by_update_qty(mode, quantity):
    profile = GlobalProfileFactory(mode=mode, quantity=quantity)
    listing = stocked_listing(10, selling_list__profile=profile)

    listings_recompute(listing_ids=[listing.pk], reason="stock_change")
    assert pending(listing) == []

    listings_recompute(listing_ids=[listing.pk], reason="manual", force=True)
    [push] = pending(listing)
    assert push.quantity == (1 if mode == "single" else 5)


def test_static_mode_keeps_a_manual_push_when_stock_changes_before_it_is_sent():
    profile = GlobalProfileFactory(mode="fixed", quantity=5)
    listing = stocked_listing(10, selling_list__profile=profile)
    listings_recompute(listing_ids=[listing.pk], reason="manual", force=True)

    listings_recompute(listing_ids=[listing.pk], reason="stock_change")

    [push] = pending(listing)
    assert push.reason == "manual" and push.quantity == 5


def test_missing_stock_with_policy_keep_queues_nothing_and_flags_the_listing():
    listing = stocked_listing(10, variant__tracked=False)

    summary = listings_recompute(listing_ids=[listing.pk], reason="manual", force=True)

    listing.refresh_from_db()
    assert QtyPush.objects.count() == 0
    assert listing.stock_missing
    assert "does not track inventory" in listing.status_message
    assert summary.stock_missing == 1


def test_missing_stock_with_policy_zero_sends_zero():
    profile = GlobalProfileFactory(missing_stock="zero")
    listing = stocked_listing(10, variant__tracked=False, selling_list__profile=profile)

    listings_recompute(listing_ids=[listing.pk], reason="stock_change")

    [push] = pending(listing)
    assert push.quantity == 0


def test_a_failed_target_is_not_resent_on_every_stock_event():
    listing = stocked_listing(
        20,
        selling_list__profile=GlobalProfileFactory(mode="cap", quantity=5),
        status=ListingStatus.FAILED,
        computed_quantity=5,
        last_sent_quantity=3,
    )

    listings_recompute(listing_ids=[listing.pk], reason="stock_change")
    assert pending(listing) == []

    listings_recompute(listing_ids=[listing.pk], reason="manual", force=True)
    assert len(pending(listing)) == 1


def test_one_variant_feeding_several_accounts_queues_a_push_in_each():
    first = stocked_listing(8)
    second = ListingFactory(variant=first.variant, sku=first.sku)
    assert second.amazon_account_id != first.amazon_account_id

    summary = listings_recompute(variant_ids=[first.variant_id], reason="stock_change")

    assert summary.queued == 2
    assert summary.queued_account_ids == {first.amazon_account_id, second.amazon_account_id}
    assert sorted(QtyPush.objects.values_list("quantity", flat=True)) == [8, 8]


def test_recompute_queries_grow_with_batches_not_rows(django_assert_max_num_queries, settings):

    listings = [stocked_listing(i) for i in range(30)]
    ids = [lst.pk for lst in listings]
    InventoryLevelFactory(variant=listings[0].variant, available=3)
    with django_assert_max_num_queries(30) as small:
        listings_recompute(listing_ids=ids[:3], reason="stock_change")
    with django_assert_max_num_queries(30) as large:
        listings_recompute(listing_ids=ids, reason="stock_change")
    assert len(large.captured_queries) <= len(small.captured_queries) + 2
    assert settings.SYNC_RECOMPUTE_BATCH_SIZE >= 1000


def test_a_recompute_that_moves_most_of_a_batch_locks_the_next_as_it_reads_it(
    settings, django_assert_max_num_queries
):
    """Decided unlocked first, movers locked and read again; once a batch mostly moved, the
    next is locked by its first read (PostgreSQL: row locks). The Results are the same."""
    if not connection.features.has_select_for_update:
        pytest.skip("no row locks on this database")
    settings.SYNC_RECOMPUTE_BATCH_SIZE = 2
    listings = [stocked_listing(5 + i) for i in range(6)]

    with django_assert_max_num_queries(100) as queries:
        summary = listings_recompute(listing_ids=[x.pk for x in listings], reason="stock_change")

    locking_reads = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith('SELECT "selling_lists_listing"."id" AS "id"')
    ]
    # Batch 1: an unlocked read, then its movers locked; batches 2 and 3: one locked read each.
    assert ["FOR UPDATE" in sql for sql in locking_reads] == [False, True, True, True]
    assert summary.queued == 6 and summary.written == 6
    assert sorted(QtyPush.objects.values_list("quantity", flat=True)) == [5, 6, 7, 8, 9, 10]
