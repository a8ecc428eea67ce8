"""The Update Qty confirmation page of a large Selling List: the first rows computed, the rest
counted in SQL, in queries that do not grow with the list."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from selling_lists.admin.confirmations import PREVIEW_ROWS
from selling_lists.models import FulfillmentChannel, Listing
from sync.models import QtyPush
from sync.selectors import update_qty_overview
from tests.factories import AmazonAccountFactory, stocked_listing
from tests.selling_lists.test_listing_changelist import make_listings

pytestmark = pytest.mark.django_db
LISTS = reverse("admin:selling_lists_sellinglist_changelist")


def test_overview_counts_every_listing_and_computes_only_the_rows_shown():
    sent = stocked_listing(7, sku="A-1", last_sent_quantity=3)
    stocked_listing(5, sku="A-2", selling_list=sent.selling_list)
    stocked_listing(5, sku="B-PAUSED", selling_list=sent.selling_list, paused=True)
    stocked_listing(5, sku="B-FBA", fulfillment_channel=FulfillmentChannel.FBA)
    stocked_listing(5, sku="B-MISSING", stock_missing=True)
    off = AmazonAccountFactory(name="Seller off", inventory_sync_enabled=False)
    stocked_listing(5, sku="B-OFF", selling_list__amazon_account=off)

    overview = update_qty_overview(Listing.objects.values_list("pk", flat=True), rows=1)

    assert (overview.total, overview.to_send) == (6, 2)
    assert overview.sync_off_accounts == ["Seller off"]
    [row] = overview.rows
    assert (row.listing.sku, row.before, row.after, row.note) == ("A-1", 3, 7, "")


def test_overview_takes_a_list_of_ids_too():
    listing = stocked_listing(4)
    overview = update_qty_overview([listing.pk, listing.pk], rows=10)
    assert (overview.total, overview.to_send, len(overview.rows)) == (1, 1, 1)


def confirmation_page(admin_client):
    selling_list_id = Listing.objects.values_list("selling_list_id", flat=True).first()
    data = {"action": "update_qty", "_selected_action": [selling_list_id]}
    with CaptureQueriesContext(connection) as ctx:
        page = admin_client.post(LISTS, data)
    assert page.status_code == 200
    return page, len(ctx)


def test_selling_list_confirmation_page_queries_do_not_grow_with_listings(admin_client):
    make_listings(5)
    _, small = confirmation_page(admin_client)
    Listing.objects.all().delete()
    make_listings(PREVIEW_ROWS * 3)

    page, large = confirmation_page(admin_client)

    assert large == small
    assert len(page.context["rows"]) == PREVIEW_ROWS
    assert page.context["total"] == PREVIEW_ROWS * 3
    assert page.context["hidden_rows"] == PREVIEW_ROWS * 2
    assert f"… and {PREVIEW_ROWS * 2} more." in page.content.decode()
    assert QtyPush.objects.count() == 0  # nothing is sent before confirmation
