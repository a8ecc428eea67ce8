"""A push's account is its listing's, kept by the code (no database constraint, sync 0012):
written from the listing, deleted with the account, and the listing's constraint still holds."""

import pytest
from django.db import IntegrityError, connection, transaction

from sync.models import PushState, QtyPush
from sync.outbox.recompute import listings_recompute
from tests.factories import stocked_listing

pytestmark = pytest.mark.django_db


def test_every_push_names_its_listings_account():
    listings = [stocked_listing(5), stocked_listing(6), stocked_listing(7)]
    assert len({x.amazon_account_id for x in listings}) == 3

    listings_recompute(listing_ids=[x.pk for x in listings], reason="stock_change")

    pushes = QtyPush.objects.filter(state=PushState.PENDING).select_related("listing")
    assert len(pushes) == 3
    assert all(push.account_id == push.listing.amazon_account_id for push in pushes)


def test_an_account_goes_once_its_selling_lists_and_their_pushes_are_gone():
    listing, other = stocked_listing(5), stocked_listing(6)
    listings_recompute(listing_ids=[listing.pk, other.pk], reason="stock_change")

    listing.selling_list.delete()  # an account's Selling Lists protect it
    listing.amazon_account.delete()

    assert list(QtyPush.objects.values_list("listing_id", flat=True)) == [other.pk]
    assert QtyPush.objects.get().account_id == other.amazon_account_id


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's deferred constraint")
def test_the_database_refuses_to_delete_a_listing_a_push_still_names():
    listing = stocked_listing(5)
    listings_recompute(listing_ids=[listing.pk], reason="stock_change")

    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("DELETE FROM selling_lists_listing WHERE id = %s", [listing.pk])
