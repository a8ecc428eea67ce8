"""The Listings changelist's state filter, its counts and each row's badge come from the state
model (docs/convergence.md), not the stored status: FBA, a pause and the account's sync switch
win at once, before the engine has rewritten `status`."""

import re

import pytest
from django.urls import reverse

from selling_lists.models import Listing, ListingStatus
from selling_lists.selectors import listings_in_state, listings_with_state
from tests.factories import ListingFactory, SellingListFactory

pytestmark = pytest.mark.django_db
URL = reverse("admin:selling_lists_listing_changelist")


@pytest.fixture
def disagreeing():
    """Listings whose stored status says something their state does not, and one that agrees."""
    fba = ListingFactory(sku="AMAZONS", fulfillment_channel="FBA", status="pending")
    paused = ListingFactory(sku="PAUSED", status="linked", selling_list__paused=True)
    off = ListingFactory(
        sku="OFF", status="failed", selling_list__amazon_account__inventory_sync_enabled=False
    )
    queued = ListingFactory(sku="QUEUED", status="pending")
    return {"fba": fba, "paused": paused, "sync_off": off, "pending": queued}


def skus(client, params):
    response = client.get(URL, params)
    assert response.status_code == 200
    return {row.sku for row in response.context["cl"].result_list}


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("fba", {"AMAZONS"}),
        ("paused", {"PAUSED"}),
        ("sync_off", {"OFF"}),
        ("pending", {"QUEUED"}),  # not the FBA listing stored as "pending"
        ("linked", set()),  # not the paused listing stored as "linked"
        ("failed", set()),  # not the sync-off listing stored as "failed"
    ],
)
def test_the_state_filter_lists_listings_by_their_computed_state(
    admin_client, disagreeing, state, expected
):
    assert skus(admin_client, {"state": state}) == expected


def test_out_of_sync_never_lists_fba_paused_or_sync_off_whatever_their_stored_status(
    admin_client, disagreeing
):
    assert skus(admin_client, {"sync": "out"}) == {"QUEUED"}
    assert skus(admin_client, {"sync": "in"}) == set()


def test_each_rows_badge_shows_its_computed_state(admin_client, disagreeing):
    html = admin_client.get(URL).content.decode()
    rows = re.findall(r"<tr>.*?</tr>", html, flags=re.S)
    badges = {}
    for row in rows:
        sku = re.search(r'<span class="sku">([^<]+)</span>', row)
        badge = re.search(r'<span class="badge badge-([a-z_]+)"[^>]*>([^<]+)</span>', row)
        if sku and badge:
            badges[sku.group(1)] = (badge.group(1), badge.group(2))
    assert badges == {
        "AMAZONS": ("fba", "FBA — managed by Amazon"),
        "PAUSED": ("paused", "Paused"),
        "OFF": ("sync_off", "Sync off"),
        "QUEUED": ("pending", "Pending Qty Update"),
    }


def test_the_state_filters_counts_are_of_computed_states(admin_client, disagreeing):
    response = admin_client.get(URL, {"_facets": "1"})
    cl = response.context["cl"]
    [spec] = [spec for spec in cl.filter_specs if getattr(spec, "parameter_name", "") == "state"]
    shown = {choice["display"] for choice in spec.choices(cl)}
    for text in (
        "FBA — managed by Amazon (1)",
        "Paused (1)",
        "Sync off (1)",
        "Pending Qty Update (1)",
        "Linked — in sync (0)",
        "Qty update failed (0)",
    ):
        assert text in shown


def test_the_home_pages_counts_and_links_are_of_computed_states(admin_client):
    selling_list = SellingListFactory(paused=True)
    ListingFactory(selling_list=selling_list, sku="PAUSED", status="linked")
    ListingFactory(selling_list=selling_list, sku="FBA", fulfillment_channel="FBA", status="failed")

    response = admin_client.get(reverse("admin:index"))
    [market] = response.context["markets"]
    assert {(value, count) for value, _, count in market.states} == {("paused", 1), ("fba", 1)}
    assert market.failures == []  # the FBA listing's stored "failed" is not a failure
    assert f"{URL}?state=paused&amp;" in response.content.decode()


def test_the_state_filter_agrees_with_the_state_annotation_for_every_state(disagreeing):
    ListingFactory(status="waiting", paused=True)
    ListingFactory(status="held")
    annotated = listings_with_state()
    for state in ListingStatus.values:
        by_filter = set(listings_in_state(state).values_list("pk", flat=True))
        by_case = set(annotated.filter(sync_state=state).values_list("pk", flat=True))
        by_property = {
            listing.pk
            for listing in Listing.objects.select_related("selling_list", "amazon_account")
            if listing.state == state
        }
        assert by_filter == by_case == by_property, state
