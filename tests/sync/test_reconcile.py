"""Reconcile: Amazon read back and Shopify re-read repair what webhooks missed (over HTTP)."""

import pytest
from celery import current_app
from django.urls import reverse

from accounts.models import ShopifyStore
from sandbox.amazon.models import Listing as AmazonListing
from sandbox.shopify.models import WebhookKnobs
from selling_lists.models import Listing, ListingStatus
from sync.jobs.models import JobKind, JobState
from sync.jobs.services import job_start
from sync.jobs.tasks import RUN_JOB_TASK
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


def test_the_shopify_bulk_operation_is_started_before_amazon_is_read_back(sandbox_world, settings):
    from sandbox.amazon.models import Report
    from sandbox.shopify.models import BulkOperation

    connect(sandbox_world, settings, stock=4)
    summary = reconcile_run()
    assert not summary.errors and summary.variants and summary.read_back
    operation = BulkOperation.objects.latest("pk")
    assert operation.status == BulkOperation.Status.COMPLETED
    assert operation.created_at < Report.objects.latest("pk").created_at


def test_reconcile_with_nothing_changed_sends_nothing(sandbox_world, settings):
    world = connect(sandbox_world, settings, stock=4)
    pushes_before = QtyPush.objects.count()
    summary = reconcile_run()
    drain(world)
    assert summary.drifted == 0
    assert QtyPush.objects.count() == pushes_before


@pytest.mark.parametrize("threshold", [100, 0], ids=["pages", "bulk operation"])
def test_update_qty_re_reads_shopify_by_pages_or_by_one_bulk_operation(
    sandbox_world, settings, threshold
):
    """A held-back webhook left the mirror behind; Update Qty re-reads Shopify first, by
    GraphQL pages for a few listings or by one bulk operation per store for many."""
    world = connect(sandbox_world, settings, stock=10)
    settings.SYNC_UPDATE_QTY_BULK_THRESHOLD = threshold
    knobs = WebhookKnobs.load()
    knobs.drop_share = 1.0  # Shopify never delivers the next change
    knobs.save()
    change_stock(world, 4, sku="SKU-000001")
    listing_ids = list(Listing.objects.values_list("pk", flat=True))
    imported_before = ShopifyStore.objects.get().catalogue_imported_at

    job = job_start(kind=JobKind.UPDATE_QTY, acting_user=None, params={"listing_ids": listing_ids})
    current_app.tasks[RUN_JOB_TASK].apply(args=(job.pk,))
    drain(world)

    job.refresh_from_db()
    assert job.state == JobState.DONE, job.errors
    assert job.summary == "3 listings are Pending Qty Update."
    assert amazon_quantity(world, "SKU-000001") == 4
    assert amazon_quantity(world, "SKU-000002") == 10
    pushes = QtyPush.objects.filter(reason="manual")
    assert sorted(pushes.values_list("quantity", flat=True)) == [4, 10, 10]
    # Only the bulk operation reads (and stamps) the whole catalogue.
    imported = ShopifyStore.objects.get().catalogue_imported_at
    assert (imported != imported_before) is (threshold == 0)
