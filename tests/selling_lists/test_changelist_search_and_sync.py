"""The Listings changelist's substring search and "Out of sync" filter, rewritten to read
indexes at 300,000 rows (docs/BENCHMARKS.md, "Changelists"), find exactly what the admin's own
search and the state model find."""

import itertools

import pytest
from django.contrib import admin
from django.db import connection
from django.urls import reverse

from accounts.admin import VariantAdmin
from accounts.admin_large import indexed_search
from accounts.models import Product, Variant
from selling_lists.admin.listings import ListingAdmin
from selling_lists.models import OUT_OF_SYNC_STATES, Listing, ListingSearch, ListingStatus
from selling_lists.selectors import listings_out_of_sync, listings_with_state
from tests.factories import ListingFactory, SellingListFactory, VariantFactory

pytestmark = pytest.mark.django_db
LISTINGS = reverse("admin:selling_lists_listing_changelist")
VARIANTS = reverse("admin:accounts_variant_changelist")


@pytest.fixture
def catalogue():
    """Listings whose words sit in different tables: own SKU and ASIN, variant, product."""
    ListingFactory(sku="MAT-YOGA", asin="B0CORKMAT1", variant__product__title="Cork mat")
    ListingFactory(sku="OTHER-1", variant__title="Blue", variant__product__title="Candle")
    ListingFactory(sku="OTHER-2", variant__title="Red", variant__product__title="Candle")
    ListingFactory(sku="GONE-MAT", variant=None)
    ListingFactory(sku="LAMP", variant__sku="SHOP-LAMP-9", variant__product__title="Desk lamp")


def skus(client, url, params):
    response = client.get(url, params)
    assert response.status_code == 200
    return {row.sku for row in response.context["cl"].result_list}


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("cork mat", {"MAT-YOGA"}),  # product title, both words
        ("corkmat", {"MAT-YOGA"}),  # the ASIN, any case
        ("candle blue", {"OTHER-1"}),  # product title and variant title
        ("-mat", {"GONE-MAT"}),  # inside its own SKU; it has no variant
        ("lamp-9", {"LAMP"}),  # the variant's SKU, not the listing's
        ("'desk lamp'", {"LAMP"}),  # quoted: one phrase
        ("candle nothing", set()),
    ],
)
def test_substring_search_finds_words_in_any_searched_table(
    admin_client, catalogue, term, expected
):
    assert skus(admin_client, LISTINGS, {"q": term}) == expected


@pytest.mark.parametrize("term", ["cork mat", "mat", "candle red", "o", "lamp-9", '"desk lamp"'])
def test_indexed_search_finds_what_the_admins_own_search_finds(rf, catalogue, term):
    searched = ((Listing, ListingAdmin, ListingSearch), (Variant, VariantAdmin, None))
    for model, model_admin, search_table in searched:
        own = model_admin(model, admin.site)
        queryset = model.objects.all()
        expected, _ = admin.ModelAdmin.get_search_results(own, rf.get("/"), queryset, term)
        found = indexed_search(queryset, own.search_fields, term, search_table=search_table)
        assert set(found) == set(expected), (model, term)


def test_variants_search_finds_a_product_title(admin_client, catalogue):
    assert skus(admin_client, VARIANTS, {"q": "desk"}) == {"SHOP-LAMP-9"}


def test_a_search_field_not_reached_by_foreign_keys_keeps_the_admins_own_search():
    assert indexed_search(Listing.objects.all(), ["^sku"], "x") is None
    assert indexed_search(Variant.objects.all(), ["listings__sku"], "x") is None


@pytest.fixture
def every_combination():
    """A listing per stored status, channel and pause, in lists paused or not, on accounts with
    sync on or off."""
    for list_paused, sync_on in itertools.product([False, True], repeat=2):
        selling_list = SellingListFactory(
            paused=list_paused, amazon_account__inventory_sync_enabled=sync_on
        )
        rows = itertools.product(ListingStatus.values, ["FBM", "FBA"], [False, True])
        Listing.objects.bulk_create(
            Listing(
                selling_list=selling_list,
                amazon_account=selling_list.amazon_account,
                marketplace=selling_list.marketplace,
                variant=VariantFactory(product__store=selling_list.shopify_store),
                sku=f"{selling_list.pk}-{status}-{channel}-{paused}",
                status=status,
                fulfillment_channel=channel,
                paused=paused,
            )
            for status, channel, paused in rows
        )


def test_out_of_sync_lists_exactly_the_listings_whose_state_is_out_of_sync(
    admin_client, every_combination
):
    by_state = {row.sku for row in listings_with_state() if row.sync_state in OUT_OF_SYNC_STATES}
    assert len(by_state) == 7  # the 7 out-of-sync statuses, FBM, not paused, list on and running
    assert {row.sku for row in listings_out_of_sync()} == by_state
    response = admin_client.get(LISTINGS, {"sync": "out"})
    assert {row.sku for row in response.context["cl"].result_list} == by_state
    assert response.context["cl"].result_count == 7


def test_in_sync_lists_exactly_the_linked_listings_sent(admin_client, every_combination):
    by_state = {row.sku for row in listings_with_state() if row.sync_state == "linked"}
    assert len(by_state) == 1
    assert skus(admin_client, LISTINGS, {"sync": "in"}) == by_state


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram indexes: PostgreSQL only")
@pytest.mark.parametrize(
    ("model", "column", "index"),
    [
        (ListingSearch, "sku", "listing_search_sku_trgm"),  # the listing's copy (0007)
        (ListingSearch, "asin", "listing_search_asin_trgm"),
        (Variant, "title", "variant_title_trgm"),
        (Variant, "sku", "variant_sku_trgm"),
        (Product, "title", "product_title_trgm"),
    ],
)
def test_each_searched_column_has_a_trigram_index_that_icontains_uses(model, column, index):
    with connection.cursor() as cursor:
        # Tables this small would be scanned, or walked in another index's order: leave the
        # planner only bitmap scans, which need an index whose expression the query matches.
        for kind in ("seqscan", "indexscan", "indexonlyscan"):
            cursor.execute(f"SET LOCAL enable_{kind} = off")
    plan = model.objects.filter(**{f"{column}__icontains": "desk"}).explain()
    assert f"Bitmap Index Scan on {index}" in plan, plan
