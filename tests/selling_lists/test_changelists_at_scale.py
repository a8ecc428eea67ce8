"""Listings and Variants changelists at scale: queries that do not grow with rows, SKU search
first, no full COUNT(*) of a large table."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import admin_large
from accounts.admin_large import EstimatedCountPaginator
from accounts.models import Variant
from selling_lists.models import Listing
from tests.factories import ListingFactory, VariantFactory
from tests.selling_lists.test_listing_changelist import make_listings

pytestmark = pytest.mark.django_db
LISTINGS = reverse("admin:selling_lists_listing_changelist")
VARIANTS = reverse("admin:accounts_variant_changelist")
PAGES = [
    (LISTINGS, {}),
    (LISTINGS, {"q": "BULK-0000"}),
    (LISTINGS, {"q": "bulk-00001"}),
    (LISTINGS, {"q": "Candle"}),
    (LISTINGS, {"q": "candle v1"}),  # words in two tables
    (LISTINGS, {"q": "ulk-0000"}),  # inside a SKU: the listing's search table on PostgreSQL
    (LISTINGS, {"sync": "out", "p": "2"}),
    (LISTINGS, {"sync": "in"}),
    (LISTINGS, {"status__exact": "pending", "p": "2"}),
    (LISTINGS, {"stock_missing__exact": "0", "o": "-1"}),
    (VARIANTS, {}),
    (VARIANTS, {"q": "BULK-0000"}),
    (VARIANTS, {"tracked__exact": "1", "p": "2"}),
    (VARIANTS, {"q": "candle"}),
    (VARIANTS, {"p": "3"}),
]


def queries(client, url, params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(ctx)


def test_changelist_queries_do_not_grow_with_rows_for_pages_searches_and_filters(admin_client):
    make_listings(300)
    small = [queries(admin_client, url, params) for url, params in PAGES]
    make_listings_more(3000)
    large = [queries(admin_client, url, params) for url, params in PAGES]
    assert large == small


def make_listings_more(count):
    Listing.objects.all().delete()
    Variant.objects.all().delete()
    make_listings(count)


def test_sku_search_matches_a_prefix_typed_in_any_case(admin_client):
    ListingFactory(sku="YOGA-M-BLUE")
    ListingFactory(sku="YOGA-L")
    ListingFactory(sku="MAT-YOGA")  # contains the term, does not start with it

    response = admin_client.get(LISTINGS, {"q": "yoga-m"})
    assert [r.sku for r in response.context["cl"].result_list] == ["YOGA-M-BLUE"]
    response = admin_client.get(LISTINGS, {"q": "YOGA"})
    assert [r.sku for r in response.context["cl"].result_list] == ["YOGA-L", "YOGA-M-BLUE"]


def test_a_term_that_starts_no_sku_falls_back_to_the_substring_search(admin_client):
    ListingFactory(sku="MAT-YOGA", variant__product__title="Cork mat")
    ListingFactory(sku="OTHER", variant__product__title="Candle")

    response = admin_client.get(LISTINGS, {"q": "YOGA"})
    assert [r.sku for r in response.context["cl"].result_list] == ["MAT-YOGA"]
    response = admin_client.get(LISTINGS, {"q": "cork mat"})
    assert [r.sku for r in response.context["cl"].result_list] == ["MAT-YOGA"]


def test_variants_changelist_shows_stock_of_active_locations_and_finds_by_sku(admin_client):
    make_listings(3)
    response = admin_client.get(VARIANTS, {"q": "BULK-00002"})
    [row] = response.context["cl"].result_list
    assert (row.sku, row._available) == ("BULK-00002", 2)


def test_unfiltered_count_is_exact_when_small_and_estimated_when_large(monkeypatch):
    make_listings(40)
    assert EstimatedCountPaginator(Listing.objects.all(), 10).count == 40
    assert EstimatedCountPaginator(Listing.objects.filter(sku__gte="BULK-00030"), 10).count == 10

    monkeypatch.setattr(admin_large, "ESTIMATE_ABOVE", 5)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE selling_lists_listing")
        with CaptureQueriesContext(connection) as ctx:
            estimated = EstimatedCountPaginator(Listing.objects.all(), 10).count
        assert estimated == 40  # statistics just gathered: the estimate is the count
        assert "COUNT" not in ctx.captured_queries[0]["sql"].upper()
    else:
        assert EstimatedCountPaginator(Listing.objects.all(), 10).count == 40


def test_variants_changelist_lists_by_product_title_then_variant_title(admin_client):
    for product, variants in (("Lamp", ["Red", "Blue"]), ("Candle", ["Tall", "Small"])):
        first = VariantFactory(product__title=product, title=variants[0])
        VariantFactory(product=first.product, title=variants[1])

    response = admin_client.get(VARIANTS)
    shown = [(v.product_title, v.title) for v in response.context["cl"].result_list]
    assert shown == [("Candle", "Small"), ("Candle", "Tall"), ("Lamp", "Blue"), ("Lamp", "Red")]
