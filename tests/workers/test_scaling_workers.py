"""Scaling out while a backlog drains: one worker, then three, and nothing is lost or sent twice
(docs/deployment.md, "Scaling workers horizontally").

Three sellers' listings are linked while Amazon shows other quantities, so each listing needs
exactly one change. One worker starts on the backlog; part-way through two more join on the
same broker and database. The sandbox's Amazon, over HTTP, counts every patch it accepts.
"""

import pytest
from django.db.models import Count

from profiles.models import default_profile
from sandbox.amazon.models import Listing as AmazonListing
from sandbox.amazon.models import RateBucket
from selling_lists.models import Listing, ListingStatus, SellingList
from sync.inbound.catalogue import catalogue_import
from sync.linking import selling_list_link_by_sku
from sync.models import PushState, QtyPush
from tests.sandbox_world import US
from tests.workers.conftest import wait_until

pytestmark = [pytest.mark.workers, pytest.mark.django_db(transaction=True)]

SELLERS = 3
LISTINGS_PER_SELLER = 110
# Patches only: one feed would carry a seller's whole backlog in one task, leaving nothing for
# the extra workers to share. Patches are claimed 20 at a time by whichever worker asks.
WORKER_SETTINGS = {"SYNC_FEED_THRESHOLD": "100000"}


def backlog(sandbox_world, settings):
    """Link every seller's listings while Amazon shows 5 more: one push per listing."""
    worlds = []
    for _ in range(SELLERS):
        world = sandbox_world(variants=LISTINGS_PER_SELLER, locations=1)
        settings.STOCKLINK_BASE_URL = world.base_url
        for listing in AmazonListing.objects.filter(seller__seller_id=world.account.seller_id):
            listing.set_amazon_quantity(listing.quantity + 5)
            listing.save()
        catalogue_import(store=world.store)
        selling_list = SellingList.objects.create(
            name=f"US {world.account.seller_id}",
            amazon_account=world.account,
            marketplace_id=US,
            shopify_store=world.store,
            profile=default_profile(),
        )
        selling_list_link_by_sku(selling_list=selling_list)
        worlds.append(world)
    return worlds


def amazon_shows(world) -> dict[str, int]:
    return dict(
        AmazonListing.objects.filter(
            seller__seller_id=world.account.seller_id, marketplace_id=US
        ).values_list("sku", "quantity")
    )


def drained() -> bool:
    return not QtyPush.objects.filter(
        state__in=[PushState.PENDING, PushState.SENDING, PushState.SENT]
    ).exists()


def test_going_from_one_worker_to_three_mid_backlog_loses_nothing_and_sends_nothing_twice(
    sandbox_world, settings, real_workers
):
    worlds = backlog(sandbox_world, settings)
    needed = {
        listing.pk: listing.computed_quantity
        for listing in Listing.objects.filter(qty_pushes__isnull=False).distinct()
    }
    assert len(needed) >= 300, "the backlog is the point of the test"
    for world in worlds:  # every listing with a push differs on Amazon now
        shown = amazon_shows(world)
        for listing in Listing.objects.filter(amazon_account=world.account, pk__in=needed):
            assert shown[listing.sku] != listing.computed_quantity
    assert QtyPush.objects.filter(state=PushState.PENDING).count() == len(needed)

    first = real_workers(1, extra_env=WORKER_SETTINGS)
    assert len(first) == 1
    wait_until(
        lambda: QtyPush.objects.filter(state__in=[PushState.SENT, PushState.DONE]).count() >= 40,
        timeout=120,
        what="the first worker to send part of the backlog",
    )
    waiting = QtyPush.objects.filter(state=PushState.PENDING).count()
    assert waiting > 0, "the backlog drained before the other workers joined"
    everyone = real_workers(2, beat=False, extra_env=WORKER_SETTINGS)
    assert len(everyone) == 3
    print(f"\n{len(needed)} listings; {waiting} pushes still pending when two workers joined")

    wait_until(drained, timeout=300, interval=0.5, what="the backlog to drain on three workers")

    # Nothing lost: every listing shows its Result on Amazon and is In sync.
    for world in worlds:
        shown = amazon_shows(world)
        wrong = {
            listing.sku: (listing.computed_quantity, shown[listing.sku])
            for listing in Listing.objects.filter(amazon_account=world.account, pk__in=needed)
            if shown[listing.sku] != listing.computed_quantity
        }
        assert wrong == {}, f"Amazon does not show the Result: {wrong}"
    assert set(
        Listing.objects.filter(pk__in=needed).values_list("status", flat=True).distinct()
    ) == {ListingStatus.LINKED}
    results_now = dict(Listing.objects.filter(pk__in=needed).values_list("pk", "computed_quantity"))
    assert results_now == needed, "a Result changed while the backlog drained"

    # Nothing sent twice: one push per listing, done, and Amazon accepted exactly as many
    # patches as there were listings to change (each of which now shows its Result). A patch
    # Amazon throttled (429) changed nothing and is sent again: a loaded machine may bunch them.
    pushes = QtyPush.objects.filter(listing_id__in=needed)
    assert set(pushes.values_list("state", flat=True).distinct()) == {PushState.DONE}
    assert not pushes.values("listing_id").annotate(n=Count("pk")).filter(n__gt=1).exists()
    for world in worlds:
        bucket = RateBucket.objects.get(
            seller_id=world.account.seller_id, operation="patchListingsItem"
        )
        accepted = bucket.requests_count - bucket.throttled_count - bucket.injected_429_count
        mine = Listing.objects.filter(amazon_account=world.account, pk__in=needed).count()
        assert accepted == mine, world.account.seller_id
