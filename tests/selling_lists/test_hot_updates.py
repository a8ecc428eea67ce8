"""On PostgreSQL the engine's writes to a listing are HOT updates (migration selling_lists.0008):
no index reads a column they write, and the table's pages keep room for the new versions."""

import pytest
from django.db import connection

from selling_lists.models import Listing, ListingStatus
from sync.outbox.recompute import listings_recompute
from tests.factories import stocked_listing

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's storage"),
]
TABLE = Listing._meta.db_table
# What a recompute, a push and a read-back write on a listing.
ENGINE_WRITES = {
    "status",
    "status_message",
    "retry_at",
    "computed_quantity",
    "computed_at",
    "last_sent_quantity",
    "last_sent_at",
    "amazon_quantity",
    "updated_at",
}


def updates() -> tuple[int, int]:
    """This transaction's updates of the listing table so far: all of them, and the HOT ones."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = %s",
            [TABLE],
        )
        return cursor.fetchone()


def test_no_index_of_the_listing_table_reads_a_column_the_engine_writes():
    with connection.cursor() as cursor:
        cursor.execute(
            # Every column an index is built on or filtered by (its predicate, its expressions).
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND (a.attnum = ANY(i.indkey) "
            "OR strpos(pg_get_expr(i.indpred, i.indrelid), a.attname) > 0 "
            "OR strpos(pg_get_expr(i.indexprs, i.indrelid), a.attname) > 0) "
            "WHERE i.indrelid = %s::regclass AND a.attnum > 0",
            [TABLE],
        )
        indexed = {name for (name,) in cursor.fetchall()}
    assert indexed & ENGINE_WRITES == set()
    assert {"sku", "selling_list_id", "stock_missing"} <= indexed  # the query reads indexes


def test_the_listing_table_leaves_room_in_its_pages():
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE oid = %s::regclass", [TABLE])
        assert cursor.fetchone()[0] == ["fillfactor=50"]


def test_a_recompute_that_moves_listings_updates_them_in_place():
    listings = [stocked_listing(10 + i, status=ListingStatus.LINKED) for i in range(20)]
    before = updates()

    summary = listings_recompute(listing_ids=[x.pk for x in listings], reason="stock_change")

    assert summary.queued == 20
    assert set(Listing.objects.values_list("status", flat=True)) == {ListingStatus.PENDING}
    total, hot = (after - then for after, then in zip(updates(), before, strict=True))
    assert total >= 20
    assert hot == total
