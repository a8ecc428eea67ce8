"""The Listings' SKU and ASIN search reads `ListingSearch` on PostgreSQL (migration
selling_lists.0007): its triggers keep the copy right on every write path, a recompute's UPDATE
never writes it, and the search finds parts of a SKU or ASIN on its trigram indexes."""

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.admin_large import indexed_search
from accounts.bulk import update_from_rows
from selling_lists.admin.listings import ListingAdmin
from selling_lists.models import Listing, ListingSearch, ListingStatus
from sync.outbox.writes import write_recorded
from tests.factories import ListingFactory, SellingListFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's table only"),
]
LISTINGS = reverse("admin:selling_lists_listing_changelist")


def copies() -> dict[int, tuple[str, str]]:
    return {row.pk: (row.sku, row.asin) for row in ListingSearch.objects.all()}


def originals() -> dict[int, tuple[str, str]]:
    return {pk: (sku, asin) for pk, sku, asin in Listing.objects.values_list("pk", "sku", "asin")}


def test_a_created_listing_is_copied():
    listing = ListingFactory(sku="YOGA-M-BLUE", asin="B0CORKMAT1")
    assert copies() == {listing.pk: ("YOGA-M-BLUE", "B0CORKMAT1")}


def test_listings_created_in_bulk_are_copied():
    selling_list = SellingListFactory()
    Listing.objects.bulk_create(
        Listing(
            selling_list=selling_list,
            amazon_account=selling_list.amazon_account,
            marketplace=selling_list.marketplace,
            sku=f"BULK-{i}",
            asin=f"B0BULK{i:04d}",
        )
        for i in range(3)
    )
    assert len(copies()) == 3
    assert copies() == originals()


def test_a_sku_or_asin_changed_by_save_update_or_a_bulk_statement_is_copied():
    listing, other = ListingFactory(), ListingFactory()
    listing.sku = "RELINKED"
    listing.save()
    assert copies()[listing.pk][0] == "RELINKED"
    Listing.objects.filter(pk=listing.pk).update(asin="B0NEWASIN1")
    assert copies()[listing.pk] == ("RELINKED", "B0NEWASIN1")
    update_from_rows(Listing, ["id", "sku", "asin"], [(other.pk, "RAW-SKU", "B0RAWASIN1")])
    assert copies() == originals()
    assert copies()[other.pk] == ("RAW-SKU", "B0RAWASIN1")


def test_a_deleted_or_truncated_listing_leaves_no_copy():
    listing, kept = ListingFactory(), ListingFactory()
    listing.delete()
    assert set(copies()) == {kept.pk}
    kept.selling_list.delete()  # Django's cascade from the Selling List
    assert copies() == {}
    ListingFactory()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # as if in a transaction of its own
        cursor.execute('TRUNCATE "selling_lists_listing" CASCADE')  # as `flush` can
    assert copies() == {}


def function_calls() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(calls), 0) FROM pg_stat_xact_user_functions "
            "WHERE funcname = 'listing_search_copy'"
        )
        return cursor.fetchone()[0]


def copy_versions() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute('SELECT xmin::text FROM "selling_lists_listing_search" ORDER BY 1')
        return [row[0] for row in cursor.fetchall()]


def test_the_recomputes_update_neither_calls_the_trigger_nor_writes_the_copy():
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL track_functions = 'pl'")
    listings = [ListingFactory(), ListingFactory()]
    created = function_calls()
    before = copy_versions()
    write_recorded(
        [(listing.pk, 7, False, ListingStatus.PENDING, "") for listing in listings], timezone.now()
    )

    assert set(Listing.objects.values_list("computed_quantity", flat=True)) == {7}
    assert function_calls() == created
    assert copy_versions() == before
    Listing.objects.filter(pk=listings[0].pk).update(sku="MOVED")  # the trigger does count
    assert function_calls() == created + 1


@pytest.mark.parametrize(("term", "index"), [("GA-M", "sku"), ("cormat", "asin")])
def test_part_of_a_sku_or_asin_is_found_from_the_search_tables_index(admin_client, term, index):
    ListingFactory(sku="YOGA-M-BLUE", asin="B0CORMAT12")
    ListingFactory(sku="OTHER", asin="B0OTHER123")
    response = admin_client.get(LISTINGS, {"q": term})
    assert [row.sku for row in response.context["cl"].result_list] == ["YOGA-M-BLUE"]

    found = indexed_search(
        Listing.objects.all(), ListingAdmin.search_fields, term, search_table=ListingSearch
    )
    with connection.cursor() as cursor:
        # Tables this small would be scanned: leave the planner only bitmap scans.
        for kind in ("seqscan", "indexscan", "indexonlyscan"):
            cursor.execute(f"SET LOCAL enable_{kind} = off")
    plan = found.explain()
    assert f"Bitmap Index Scan on listing_search_{index}_trgm" in plan, plan


def test_the_listing_table_keeps_no_trigram_index():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s",
            ["selling_lists_listing", "%gin_trgm_ops%"],
        )
        assert cursor.fetchall() == []
