"""Set-based SQL (accounts.bulk): the same rows as the ORM would write, in one statement."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.bulk import column_in, id_set, insert_rows, update_from_rows
from selling_lists.models import Listing, ListingStatus
from sync.models import PushReason, PushState, QtyPush
from tests.factories import ListingFactory, VariantFactory

pytestmark = pytest.mark.django_db


def test_id_set_filters_by_thousands_of_ids_with_one_parameter():
    variants = VariantFactory.create_batch(3)
    wanted = [variants[0].pk, variants[2].pk, *range(10**6, 10**6 + 5000)]

    with CaptureQueriesContext(connection) as ctx:
        found = set(
            type(variants[0]).objects.filter(pk__in=id_set(wanted)).values_list("pk", flat=True)
        )

    assert found == {variants[0].pk, variants[2].pk}
    assert len(ctx.captured_queries) == 1
    assert ctx.captured_queries[0]["sql"].count("%s") <= 1


def test_id_set_of_no_ids_matches_nothing():
    VariantFactory()
    assert not type(VariantFactory()).objects.filter(pk__in=id_set([])).exists()


@pytest.mark.parametrize("extra", [0, 100_000])
def test_column_in_filters_like_id_set_with_one_parameter(extra):
    variants = VariantFactory.create_batch(3)
    Variant = type(variants[0])
    wanted = [variants[0].pk, variants[2].pk, *range(10**6, 10**6 + extra)]

    with CaptureQueriesContext(connection) as ctx:
        found = set(
            Variant.objects.filter(column_in(Variant, "id", wanted)).values_list("pk", flat=True)
        )

    assert found == {variants[0].pk, variants[2].pk}
    assert len(ctx.captured_queries) == 1
    assert not Variant.objects.filter(column_in(Variant, "id", [])).exists()


def test_update_from_rows_writes_each_row_its_own_values_including_nulls_and_text():
    first, second, untouched = ListingFactory.create_batch(3, computed_quantity=1)
    now = timezone.now()
    stamp = connection.ops.adapt_datetimefield_value(now)

    with CaptureQueriesContext(connection) as ctx:
        updated = update_from_rows(
            Listing,
            ["id", "computed_quantity", "stock_missing", "status", "status_message", "computed_at"],
            [
                (first.pk, 7, False, ListingStatus.PENDING, "", stamp),
                (second.pk, None, True, ListingStatus.LINKED, "Metafield “qty” is empty", stamp),
            ],
        )

    assert updated == 2
    assert len(ctx.captured_queries) == 1
    first.refresh_from_db()
    second.refresh_from_db()
    untouched.refresh_from_db()
    assert (first.computed_quantity, first.stock_missing, first.status) == (7, False, "pending")
    assert first.computed_at == now
    assert (second.computed_quantity, second.stock_missing) == (None, True)
    assert second.status_message == "Metafield “qty” is empty"
    assert untouched.computed_quantity == 1


def test_update_from_rows_with_only_nulls_in_a_column():
    listing = ListingFactory(computed_quantity=4)

    update_from_rows(Listing, ["id", "computed_quantity"], [(listing.pk, None)])

    listing.refresh_from_db()
    assert listing.computed_quantity is None


def test_update_from_rows_keeps_texts_apart_and_sets_shared_columns_once():
    """Texts go as their distinct values and positions, numbers as one text on PostgreSQL:
    commas, the word None and repeated values must come back as written."""
    listings = ListingFactory.create_batch(4, computed_quantity=1)
    messages = ["a, b", "None", "a, b", ""]
    now = timezone.now()

    with CaptureQueriesContext(connection) as ctx:
        update_from_rows(
            Listing,
            ["id", "computed_quantity", "status_message"],
            [
                (listing.pk, quantity, message)
                for listing, quantity, message in zip(
                    listings, [10, None, 10, 0], messages, strict=True
                )
            ],
            same={"updated_at": connection.ops.adapt_datetimefield_value(now)},
        )

    assert len(ctx.captured_queries) == 1
    rows = Listing.objects.filter(pk__in=[x.pk for x in listings]).order_by("pk")
    assert list(rows.values_list("computed_quantity", "status_message", "updated_at")) == [
        (10, "a, b", now),
        (None, "None", now),
        (10, "a, b", now),
        (0, "", now),
    ]


def test_update_from_rows_of_mixed_number_types_uses_the_driver():
    """A value that is not plainly an int (here a bool in a number column) is not spelled as
    text for PostgreSQL to parse ("True"): the column goes through the driver, as the ORM's
    save would store it."""
    first, second = ListingFactory.create_batch(2, computed_quantity=4)

    update_from_rows(Listing, ["id", "computed_quantity"], [(first.pk, True), (second.pk, False)])

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.computed_quantity, second.computed_quantity) == (1, 0)


def test_insert_rows_stores_json_as_the_orm_reads_it_back():
    listing = ListingFactory()
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    columns = ["listing_id", "account_id", "quantity", "trace", "reason", "state", "transport"]
    columns += ["amazon_status", "message", "attempts", "checks", "sold_since_sent"]
    columns += ["next_attempt_at", "created_at", "updated_at"]
    trace = '["Shopify available over all locations = 3", "Amazon gets 3 → ok"]'
    base = [PushReason.STOCK_CHANGE, PushState.DONE, "", "", "", 0, 0, 0, now, now, now]

    insert_rows(
        QtyPush,
        columns,
        [
            (listing.pk, listing.amazon_account_id, 3, trace, *base),
            (listing.pk, listing.amazon_account_id, 4, "[]", *base),
        ],
    )

    pushes = list(QtyPush.objects.filter(listing=listing).order_by("quantity"))
    assert [p.quantity for p in pushes] == [3, 4]
    assert pushes[0].trace == ["Shopify available over all locations = 3", "Amazon gets 3 → ok"]
    assert pushes[1].trace == []


def test_upsert_rows_inserts_new_rows_and_updates_only_those_that_changed():
    from accounts.bulk import upsert_rows
    from accounts.models import Product

    store = VariantFactory().store
    B = 10**12  # ids the factory's product does not use
    Product.objects.create(store=store, shopify_id=B + 1, title="Same")
    Product.objects.create(store=store, shopify_id=B + 2, title="Old")
    xmin = _row_versions(Product, store)

    with CaptureQueriesContext(connection) as ctx:
        upsert_rows(
            Product,
            ["store_id", "shopify_id", "title"],
            [(store.pk, B + 1, "Same"), (store.pk, B + 2, "New"), (store.pk, B + 3, "Added")],
            unique=["store_id", "shopify_id"],
            update=["title"],
            changed_only=True,
        )

    assert len(ctx.captured_queries) == 1
    titles = dict(
        Product.objects.filter(store=store, shopify_id__gt=B, shopify_id__lte=B + 3).values_list(
            "shopify_id", "title"
        )
    )
    assert titles == {B + 1: "Same", B + 2: "New", B + 3: "Added"}
    if xmin:  # PostgreSQL: the unchanged row kept its place (no new row version for a no-op)
        after = _row_versions(Product, store)
        assert after[B + 1] == xmin[B + 1] and after[B + 2] != xmin[B + 2]


def test_upsert_rows_newer_only_leaves_rows_stamped_later():
    from datetime import timedelta

    from accounts.bulk import upsert_rows
    from accounts.models import InventoryLevel, Location

    later, earlier = VariantFactory.create_batch(2)
    location = Location.objects.create(store=later.store, shopify_id=10**9, name="Depot")
    now = timezone.now()
    InventoryLevel.objects.create(variant=later, location=location, available=7, updated_at=now)
    InventoryLevel.objects.create(
        variant=earlier, location=location, available=7, updated_at=now - timedelta(seconds=5)
    )
    stamp = connection.ops.adapt_datetimefield_value(now - timedelta(seconds=1))

    upsert_rows(
        InventoryLevel,
        ["variant_id", "location_id", "available", "updated_at"],
        [(v.pk, location.pk, 3, stamp) for v in (later, earlier)],
        unique=["variant_id", "location_id"],
        update=["available", "updated_at"],
        newer_only="updated_at",
    )

    levels = {lv.variant_id: lv for lv in InventoryLevel.objects.filter(location=location)}
    assert (levels[later.pk].available, levels[later.pk].updated_at) == (7, now)
    assert (levels[earlier.pk].available, levels[earlier.pk].updated_at) == (
        3,
        now - timedelta(seconds=1),
    )


def _row_versions(model, store) -> dict:
    if connection.vendor != "postgresql":
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT shopify_id, ctid::text FROM {model._meta.db_table} WHERE store_id = %s",
            [store.pk],
        )
        return dict(cursor.fetchall())


def test_insert_rows_sends_the_columns_every_row_shares_once():
    listing = ListingFactory()
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    same = {
        "reason": PushReason.MANUAL,
        "state": PushState.PENDING,
        "transport": "",
        "amazon_status": "",
        "message": "",
        "attempts": 0,
        "checks": 0,
        "sold_since_sent": 0,
        "response": None,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }
    statements = []

    def record(execute, sql, params, many, context):
        statements.append(params)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        insert_rows(
            QtyPush,
            ["listing_id", "account_id", "quantity", "trace"],
            [(listing.pk, listing.amazon_account_id, 7, '["a"]')],
            same=same,
        )

    assert len(statements) == 1
    push = QtyPush.objects.get(listing=listing)
    assert (push.quantity, push.trace, push.reason, push.state) == (
        7,
        ["a"],
        PushReason.MANUAL,
        PushState.PENDING,
    )
    assert push.response is None
