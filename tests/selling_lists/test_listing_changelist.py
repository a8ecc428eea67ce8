"""The listing changelist: columns, filters, search, and a query count that does not grow."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import InventoryLevel, Product, Variant
from selling_lists.models import Listing
from tests.factories import (
    InventoryLevelFactory,
    ListingFactory,
    LocationFactory,
    SellingListFactory,
)

pytestmark = pytest.mark.django_db
URL = reverse("admin:selling_lists_listing_changelist")


def make_listings(count: int):
    """`count` linked listings with stock, created in bulk (10,000 in a few seconds)."""
    selling_list = SellingListFactory(profile__mode="cap", profile__quantity=7)
    store = selling_list.shopify_store
    location = LocationFactory(store=store)
    product = Product.objects.create(store=store, shopify_id=1, title="Candle")
    variants = Variant.objects.bulk_create(
        Variant(
            store=store,
            product=product,
            product_title=product.title,
            shopify_id=10 + i,
            title=f"V{i}",
            sku=f"BULK-{i:05d}",
            inventory_item_id=2**60 + i,
        )
        for i in range(count)
    )
    InventoryLevel.objects.bulk_create(
        InventoryLevel(variant=v, location=location, available=i % 20)
        for i, v in enumerate(variants)
    )
    Listing.objects.bulk_create(
        Listing(
            selling_list=selling_list,
            amazon_account=selling_list.amazon_account,
            marketplace=selling_list.marketplace,
            variant=v,
            sku=v.sku,
        )
        for v in variants
    )


def count_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(URL)
    assert response.status_code == 200
    return len(ctx)


def test_changelist_query_count_is_the_same_for_10_and_10000_listings(admin_client):
    make_listings(10)
    small = count_queries(admin_client)
    Listing.objects.all().delete()
    make_listings(10_000)
    large = count_queries(admin_client)
    assert large == small, f"{small} queries for 10 listings, {large} for 10,000"


def test_changelist_shows_stock_result_last_sent_and_status(admin_client):
    listing = ListingFactory(
        sku="YOGA-M",
        selling_list__profile__mode="cap",
        selling_list__profile__quantity=7,
        last_sent_quantity=5,
    )
    InventoryLevelFactory(variant=listing.variant, available=10)
    response = admin_client.get(URL)
    row = next(r for r in response.context["cl"].result_list if r.sku == "YOGA-M")
    assert (row.shopify_stock, row.result.quantity, row.last_sent_quantity) == (10, 7, 5)
    html = response.content.decode()
    assert "Pending Qty Update" in html and "Not more than 7 = 7" in html


def test_out_of_sync_filter_uses_the_state_model_and_never_lists_fba_or_paused(admin_client):
    ListingFactory(sku="SAME", status="linked", computed_quantity=4, amazon_quantity=4)
    ListingFactory(sku="QUEUED", status="pending", computed_quantity=4, amazon_quantity=9)
    ListingFactory(sku="REFUSED", status="failed", computed_quantity=2)
    ListingFactory(sku="AMAZONS", status="fba", fulfillment_channel="FBA", computed_quantity=1)
    ListingFactory(sku="PAUSED", status="pending", paused=True, computed_quantity=3)

    out = admin_client.get(URL, {"sync": "out"}).context["cl"].result_list
    in_sync = admin_client.get(URL, {"sync": "in"}).context["cl"].result_list

    assert {r.sku for r in out} == {"QUEUED", "REFUSED"}
    assert {r.sku for r in in_sync} == {"SAME"}


@pytest.mark.parametrize("term", ["YOGA-M", "B0TEST1234", "Lavender"])
def test_search_by_sku_asin_or_title(admin_client, term):
    ListingFactory(sku="YOGA-M", asin="B0TEST1234", variant__product__title="Lavender candle")
    ListingFactory(sku="OTHER", asin="B0OTHER000")
    response = admin_client.get(URL, {"q": term})
    assert [r.sku for r in response.context["cl"].result_list] == ["YOGA-M"]


def test_filters_by_status_selling_list_and_profile(admin_client):
    listing = ListingFactory(status="failed")
    ListingFactory(status="linked")
    for params in (
        {"status__exact": "failed"},
        {"selling_list__id__exact": listing.selling_list_id},
        {"selling_list__profile__id__exact": listing.selling_list.profile_id},
    ):
        response = admin_client.get(URL, params)
        assert [r.pk for r in response.context["cl"].result_list] == [listing.pk], params


def test_the_listing_page_says_its_state_with_the_reason_and_how_fresh_its_stock_is(
    admin_client,
):
    listing = ListingFactory(status="failed", status_message="Amazon refused: 8541")
    InventoryLevelFactory(variant=listing.variant, available=3)

    page = admin_client.get(
        reverse("admin:selling_lists_listing_change", args=[listing.pk])
    ).content.decode()

    assert "Amazon refused: 8541" in page
    assert "Stock read from Shopify at" in page
