"""Sending the outbox: claims, transports, Amazon's answers, read-back confirmation."""

from datetime import timedelta

import pytest
from django.utils import timezone

from selling_lists.models import ListingStatus
from sync.clients.errors import NotFound, TransientError
from sync.clients.factory import substitute
from sync.models import AmazonFeed, PushState, PushTransport, QtyPush
from sync.outbound.claims import push_release, pushes_claim, pushes_release_stale
from sync.outbound.confirm import pushes_confirm
from sync.outbound.feeds import feed_poll
from sync.outbound.send import pushes_send
from sync.outbox.recompute import listings_recompute
from tests.factories import AmazonAccountFactory, stocked_listing

from .fakes import FakeAmazon, free_limiter

pytestmark = pytest.mark.django_db


def queued_listings(n=1, stock=10, **kwargs):
    account = kwargs.pop("account", None) or AmazonAccountFactory()
    listings = [
        stocked_listing(stock + i, selling_list__amazon_account=account, **kwargs) for i in range(n)
    ]
    listings_recompute(listing_ids=[lst.pk for lst in listings], reason="stock_change")
    return account, listings


def send(account, amazon, **kwargs):
    with substitute(amazon=amazon):
        return pushes_send(account_id=account.pk, limiter=free_limiter(account), **kwargs)


def confirm(account, amazon):
    with substitute(amazon=amazon):
        return pushes_confirm(account_id=account.pk, limiter=free_limiter(account))


def poll(feed_pk, amazon, account):
    with substitute(amazon=amazon):
        return feed_poll(feed_pk=feed_pk, limiter=free_limiter(account))


def due_now():
    QtyPush.objects.update(next_attempt_at=timezone.now())


def test_two_claimers_never_get_the_same_push():
    account, listings = queued_listings(5)

    first = pushes_claim(account_id=account.pk, limit=3)
    second = pushes_claim(account_id=account.pk, limit=3)
    third = pushes_claim(account_id=account.pk, limit=3)

    assert len(first) == 3 and len(second) == 2 and third == []
    assert not {p.pk for p in first} & {p.pk for p in second}
    assert QtyPush.objects.filter(state=PushState.SENDING).count() == 5


def test_a_claim_only_wins_rows_that_are_still_pending():
    # What a second SQLite claimer that read the same ids before the first one's UPDATE sees.
    account, [listing] = queued_listings(1)
    push = QtyPush.objects.get()
    QtyPush.objects.filter(pk=push.pk).update(state=PushState.SENDING)

    assert pushes_claim(account_id=account.pk, limit=10) == []


def test_a_listing_with_a_push_on_the_wire_is_not_claimed_again():
    account, [listing] = queued_listings(1)
    [first] = pushes_claim(account_id=account.pk, limit=10)
    listing.variant.levels.update(available=3)
    listings_recompute(listing_ids=[listing.pk], reason="stock_change")

    assert pushes_claim(account_id=account.pk, limit=10) == []


def test_accepted_then_read_back_makes_the_listing_linked():
    account, [listing] = queued_listings(1, stock=10)
    amazon = FakeAmazon(quantities={listing.sku: 3})

    summary = send(account, amazon)

    push = QtyPush.objects.get()
    assert summary.accepted == 1
    assert push.state == PushState.SENT and push.transport == PushTransport.PATCH
    assert push.amazon_status == "ACCEPTED"
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PENDING  # ACCEPTED is not applied

    due_now()
    confirmed = confirm(account, amazon)

    push.refresh_from_db()
    listing.refresh_from_db()
    assert confirmed.confirmed == 1
    assert push.state == PushState.DONE and push.confirmed_at
    assert listing.status == ListingStatus.LINKED
    assert listing.last_sent_quantity == 10 and listing.amazon_quantity == 10
    assert listing.last_sent_at == push.sent_at


def test_accepted_but_not_yet_applied_is_checked_again_later():
    account, [listing] = queued_listings(1, stock=10)
    amazon = FakeAmazon(quantities={listing.sku: 3}, answers={listing.sku: ["LATE"]})
    send(account, amazon)
    due_now()

    first = confirm(account, amazon)
    push = QtyPush.objects.get()
    assert first.waiting == 1 and push.state == PushState.SENT and push.checks == 1
    assert push.next_attempt_at > timezone.now()

    due_now()
    second = confirm(account, amazon)
    push.refresh_from_db()
    assert second.confirmed == 1 and push.state == PushState.DONE


def test_invalid_answer_fails_the_listing_with_amazons_message():
    account, [listing] = queued_listings(1)
    amazon = FakeAmazon(quantities={listing.sku: 3}, answers={listing.sku: ["INVALID"]})

    summary = send(account, amazon)

    push = QtyPush.objects.get()
    listing.refresh_from_db()
    assert summary.invalid == 1
    assert push.state == PushState.FAILED and push.amazon_status == "INVALID"
    assert listing.status == ListingStatus.FAILED
    assert "The value of quantity is invalid" in listing.status_message


def test_unknown_sku_makes_the_listing_not_on_amazon():
    account, [listing] = queued_listings(1)

    send(account, FakeAmazon(quantities={}))

    listing.refresh_from_db()
    assert listing.status == ListingStatus.NOT_ON_AMAZON
    assert QtyPush.objects.get().state == PushState.FAILED


def test_429_puts_the_push_and_the_rest_back_to_pending_with_a_back_off():
    account, listings = queued_listings(3)
    first_sku = QtyPush.objects.order_by("pk").first().listing.sku
    amazon = FakeAmazon(quantities={lst.sku: 0 for lst in listings}, answers={first_sku: ["429"]})

    summary = send(account, amazon)

    assert summary.retry_after == 2.0
    assert QtyPush.objects.filter(state=PushState.PENDING).count() == 3
    assert all(p.next_attempt_at > timezone.now() for p in QtyPush.objects.all())
    assert len(amazon.amazon_calls("patch")) == 1  # stopped at the first 429

    due_now()
    send(account, amazon)
    assert QtyPush.objects.filter(state=PushState.SENT).count() == 3


def test_a_newer_target_queued_while_sending_survives_a_429():
    account, [listing] = queued_listings(1)
    [claimed] = pushes_claim(account_id=account.pk, limit=1)
    listing.variant.levels.update(available=2)
    listings_recompute(listing_ids=[listing.pk], reason="stock_change")  # new pending: 2

    push_release(claimed, delay=timedelta(seconds=5), message="throttled", count_attempt=False)

    states = dict(QtyPush.objects.values_list("quantity", "state"))
    assert states == {10: PushState.SUPERSEDED, 2: PushState.PENDING}


def test_nothing_is_sent_when_nothing_changed():
    account, [listing] = queued_listings(1, stock=10)
    amazon = FakeAmazon(quantities={listing.sku: 3})
    send(account, amazon)
    due_now()
    confirm(account, amazon)
    amazon.calls.clear()

    listings_recompute(listing_ids=[listing.pk], reason="stock_change")
    send(account, amazon)

    assert amazon.calls == []


def test_sync_switched_off_after_queueing_sends_nothing():
    account, [listing] = queued_listings(1)
    account.inventory_sync_enabled = False
    account.save()
    amazon = FakeAmazon(quantities={listing.sku: 3})

    summary = send(account, amazon)

    listing.refresh_from_db()
    assert amazon.calls == [] and summary.blocked == 1
    assert listing.status == ListingStatus.SYNC_OFF
    assert QtyPush.objects.get().state == PushState.SUPERSEDED


def test_many_pushes_go_in_one_feed_and_its_report_is_applied_per_sku():
    account, listings = queued_listings(4)
    amazon = FakeAmazon(quantities={lst.sku: 0 for lst in listings}, feed_errors={2: "Bad SKU"})

    summary = send(account, amazon, feed_threshold=3)

    assert summary.fed == 4 and amazon.amazon_calls("patch") == []
    feed = AmazonFeed.objects.get()
    assert feed.messages == 4
    assert set(QtyPush.objects.values_list("state", "transport")) == {
        (PushState.SENT, PushTransport.FEED)
    }

    status = poll(feed.pk, amazon, account)

    assert status == "DONE"
    failed = QtyPush.objects.get(state=PushState.FAILED)
    assert failed.feed_message_id == 2 and "Bad SKU" in failed.message
    assert QtyPush.objects.filter(state=PushState.DONE).count() == 3
    failed.listing.refresh_from_db()
    assert failed.listing.status == ListingStatus.FAILED
    done = QtyPush.objects.filter(state=PushState.DONE).first()
    done.listing.refresh_from_db()
    assert done.listing.status == ListingStatus.LINKED
    assert done.listing.last_sent_quantity == done.quantity


def test_a_feed_still_in_progress_is_polled_again_later():
    account, listings = queued_listings(3)
    amazon = FakeAmazon(quantities={lst.sku: 0 for lst in listings}, feed_status="IN_PROGRESS")
    send(account, amazon, feed_threshold=2)
    feed = AmazonFeed.objects.get()

    assert poll(feed.pk, amazon, account) == ("IN_PROGRESS")
    feed.refresh_from_db()
    assert feed.applied_at is None and feed.next_poll_at > timezone.now()
    assert QtyPush.objects.filter(state=PushState.SENT).count() == 3


def test_a_fatal_feed_puts_its_pushes_back_to_pending():
    account, listings = queued_listings(2)
    amazon = FakeAmazon(quantities={lst.sku: 0 for lst in listings}, feed_status="FATAL")
    send(account, amazon, feed_threshold=2)

    poll(AmazonFeed.objects.get().pk, amazon, account)

    assert QtyPush.objects.filter(state=PushState.PENDING).count() == 2


def test_pushes_of_a_dead_worker_go_back_to_pending():
    account, _ = queued_listings(2)
    pushes_claim(account_id=account.pk, limit=10)
    QtyPush.objects.update(claimed_at=timezone.now() - timedelta(hours=1))

    assert pushes_release_stale() == 2
    assert QtyPush.objects.filter(state=PushState.PENDING).count() == 2


def test_a_feed_amazon_will_not_report_on_sends_its_pushes_again():
    account, listings = queued_listings(2)
    amazon = FakeAmazon(quantities={lst.sku: 0 for lst in listings})
    send(account, amazon, feed_threshold=2)
    feed = AmazonFeed.objects.get()

    def feed_gone(feed_id):
        raise NotFound("Feed not found", status=404)

    amazon.get_feed = feed_gone
    poll(feed.pk, amazon, account)

    feed.refresh_from_db()
    assert feed.applied_at is not None  # never polled again
    assert QtyPush.objects.filter(state=PushState.PENDING).count() == 2
    assert "would not report" in QtyPush.objects.first().message


def test_a_feed_stuck_in_progress_for_a_day_is_given_up_and_resent():
    account, listings = queued_listings(2)
    amazon = FakeAmazon(quantities={lst.sku: 0 for lst in listings}, feed_status="IN_PROGRESS")
    send(account, amazon, feed_threshold=2)
    AmazonFeed.objects.update(submitted_at=timezone.now() - timedelta(hours=25))

    poll(AmazonFeed.objects.get().pk, amazon, account)

    assert QtyPush.objects.filter(state=PushState.PENDING).count() == 2


def test_a_5xx_on_read_back_does_not_use_up_the_checks():
    account, listings = queued_listings(1)
    amazon = FakeAmazon(quantities={listings[0].sku: 0})
    send(account, amazon)

    def unavailable(sku):
        raise TransientError("Service unavailable", status=503)

    real_get = amazon.get_listing
    amazon.get_listing = unavailable
    for _ in range(10):  # more than SYNC_MAX_CHECKS outages in a row
        due_now()
        confirm(account, amazon)
    push = QtyPush.objects.get()
    assert push.state == PushState.SENT and push.checks == 0

    amazon.get_listing = real_get
    due_now()
    confirm(account, amazon)
    assert QtyPush.objects.get().state == PushState.DONE
