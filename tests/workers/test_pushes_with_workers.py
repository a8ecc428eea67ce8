"""Real Celery worker processes on PostgreSQL and Redis: nothing lost, nothing sent twice.

The sandbox's Shopify delivers real webhooks (from a worker) to the live server; its view
queues on Redis; two worker processes re-read Shopify, recompute and push to the sandbox's
Amazon over HTTP with the shared rate limiter; beat retries and confirms.
"""

import signal

import pytest
from django.db.models import Sum

from profiles.models import default_profile
from sandbox.amazon.models import Listing as AmazonListing
from sandbox.amazon.models import RateBucket, throttled_count
from sandbox.shopify.services import level_for, set_available
from selling_lists.models import FulfillmentChannel, Listing, ListingStatus, SellingList
from sync.inbound.catalogue import catalogue_import
from sync.inbound.webhooks import webhooks_subscribe
from sync.linking import selling_list_link_by_sku
from sync.models import PushState, PushTransport, QtyPush
from tests.sandbox_world import US
from tests.workers.conftest import wait_until

pytestmark = [pytest.mark.workers, pytest.mark.django_db(transaction=True)]

UNSETTLED = [PushState.PENDING, PushState.SENDING, PushState.SENT]


def connect(sandbox_world, settings, variants):
    world = sandbox_world(variants=variants, locations=1)
    settings.STOCKLINK_BASE_URL = world.base_url
    catalogue_import(store=world.store)
    selling_list = SellingList.objects.create(
        name="US",
        amazon_account=world.account,
        marketplace_id=US,
        shopify_store=world.store,
        profile=default_profile(),
    )
    selling_list_link_by_sku(selling_list=selling_list)
    webhooks_subscribe(store=world.store)
    return world


def fbm_listings():
    return Listing.objects.filter(
        fulfillment_channel=FulfillmentChannel.FBM, computed_quantity__isnull=False
    )


def settled():
    if QtyPush.objects.filter(state__in=UNSETTLED).exists():
        return False
    return not fbm_listings().exclude(status=ListingStatus.LINKED).exists()


def change_every_sku(world, delta):
    for sku, _ in world.stock:
        level = level_for(shop=world.shop["shop"], sku=sku)
        if level.variant.tracked:
            set_available(level=level, quantity=max(level.available, 0) + delta)


def amazon_matches_every_result(world):
    shown = dict(
        AmazonListing.objects.filter(
            seller__seller_id=world.account.seller_id, marketplace_id=US
        ).values_list("sku", "quantity")
    )
    return {
        listing.sku: (listing.computed_quantity, shown[listing.sku])
        for listing in fbm_listings()
        if shown[listing.sku] != listing.computed_quantity
    }


def test_two_workers_lose_no_push_send_none_twice_and_never_exceed_the_rate(
    sandbox_world, settings, real_workers
):
    workers = real_workers(2)
    assert len(workers) == 2
    world = connect(sandbox_world, settings, variants=30)
    wait_until(settled, timeout=120, what="the linking pushes to settle")

    for delta in (3, 5, 2):  # three waves of stock changes on every SKU
        change_every_sku(world, delta)
    wait_until(
        lambda: settled() and not amazon_matches_every_result(world),
        timeout=180,
        what="every Result to reach Amazon",
    )

    assert amazon_matches_every_result(world) == {}
    over = dict(
        RateBucket.objects.filter(
            seller_id=world.account.seller_id, throttled_count__gt=0
        ).values_list("operation", "throttled_count")
    )
    assert over == {}, f"requests over Amazon's rate: {over}"
    patch_requests = RateBucket.objects.get(
        seller_id=world.account.seller_id, operation="patchListingsItem"
    ).requests_count
    sent = QtyPush.objects.filter(transport=PushTransport.PATCH).aggregate(n=Sum("attempts"))
    assert patch_requests == sent["n"], "Amazon got more patches than pushes were sent"
    assert not QtyPush.objects.filter(attempts__gt=1).exists(), "a push was sent twice"


def test_workers_killed_mid_push_lose_nothing(sandbox_world, settings, real_workers):
    workers = real_workers(2)
    world = connect(sandbox_world, settings, variants=40)
    wait_until(settled, timeout=120, what="the linking pushes to settle")

    change_every_sku(world, 4)
    wait_until(
        lambda: QtyPush.objects.filter(state=PushState.SENDING).exists(),
        timeout=60,
        interval=0.05,
        what="a push on the wire",
    )
    for worker in workers:
        worker.send_signal(signal.SIGKILL)  # no clean-up: claims and messages are left behind
    for worker in workers:
        worker.wait(timeout=10)
    real_workers(2, beat=False)

    # The dead workers' claims lapse (15 s here), beat puts them back, the new workers send.
    wait_until(
        lambda: settled() and not amazon_matches_every_result(world),
        timeout=180,
        what="every Result to reach Amazon after the kill",
    )
    assert amazon_matches_every_result(world) == {}
    assert throttled_count(world.account.seller_id) == 0
