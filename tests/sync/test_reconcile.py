"""Reconcile: Amazon read back and Shopify re-read repair what webhooks missed (over HTTP)."""

import pytest
from django.urls import reverse

from sandbox.amazon.models import Listing as AmazonListing
from sandbox.shopify.models import WebhookKnobs
from selling_lists.models import Listing, ListingStatus
from sync.models import QtyPush
from sync.reconcile import reconcile_run
from tests.sandbox_world import US
from tests.sync.test_end_to_end import amazon_quantity, change_stock, connect, drain

pytestmark = pytest.mark.django_db(transaction=True)


def test_reconcile_repairs_a_missed_webhook_and_an_edit_on_amazon(
    sandbox_world, settings, admin_client
):
    world = connect(sandbox_world, settings, stock=10)
    knobs = WebhookKnobs.load()
    knobs.drop_share = 1.0  # Shopify never delivers the next change
    knobs.save()
    change_stock(world, 6, sku="SKU-000001")
    # Someone edits SKU-000002 in Seller Central: Amazon drifts away from what we sent.
    AmazonListing.objects.filter(
        seller__seller_id=world.account.seller_id, sku="SKU-000002"
    ).update(quantity=3)
    assert not QtyPush.objects.filter(state="pending").exists()

    summary = reconcile_run()
    assert summary.drifted == 1 and not summary.errors
    drifting = (
        admin_client.get(reverse("admin:selling_lists_listing_changelist"), {"sync": "drift"})
        .context["cl"]
        .result_list
    )
    # SKU-000002 was edited on Amazon; SKU-000001's Result moved with the Shopify re-read.
    assert {row.sku for row in drifting} == {"SKU-000001", "SKU-000002"}

    drain(world)
    assert amazon_quantity(world, "SKU-000001") == 6
    assert amazon_quantity(world, "SKU-000002") == 10
    repaired = Listing.objects.get(sku="SKU-000002", marketplace_id=US)
    assert repaired.status == ListingStatus.LINKED and repaired.amazon_quantity == 10
    assert repaired.qty_pushes.latest("pk").reason == "reconcile"


def test_reconcile_with_nothing_changed_sends_nothing(sandbox_world, settings):
    world = connect(sandbox_world, settings, stock=4)
    pushes_before = QtyPush.objects.count()
    summary = reconcile_run()
    drain(world)
    assert summary.drifted == 0
    assert QtyPush.objects.count() == pushes_before
