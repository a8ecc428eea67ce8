"""“Update Qty”: the service and the admin actions on listings and Selling Lists."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from selling_lists.models import FulfillmentChannel, ListingStatus
from sync.clients.factory import substitute
from sync.jobs.models import JobState
from sync.models import PushState, QtyPush
from sync.outbox.actions import listings_update_qty as update_qty
from tests.conftest import job_page_text
from tests.factories import GlobalProfileFactory, UserFactory, stocked_listing
from tests.sync.fakes import FakeShopify

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:selling_lists_listing_changelist"


@pytest.fixture
def shopify_as_mirrored():
    """The Update Qty job re-reads Shopify first: here Shopify holds what the mirror holds."""
    with substitute(shopify=lambda store: FakeShopify()):
        yield


def test_update_qty_sends_the_result_even_when_amazon_already_has_it():
    listing = stocked_listing(10, last_sent_quantity=10, status=ListingStatus.LINKED)
    user = UserFactory()

    summary = update_qty(listing_ids=[listing.pk], acting_user=user)

    push = QtyPush.objects.get()
    listing.refresh_from_db()
    assert summary.queued == 1
    assert (push.quantity, push.reason, push.created_by, push.state) == (
        10,
        "manual",
        user,
        PushState.PENDING,
    )
    assert listing.status == ListingStatus.PENDING


def test_update_qty_works_when_automatic_updates_are_off_and_for_static_modes():
    listing = stocked_listing(
        10,
        selling_list__amazon_account__auto_update_qty=False,
        selling_list__profile=GlobalProfileFactory(mode="fixed", quantity=3),
    )

    summary = update_qty(listing_ids=[listing.pk], acting_user=UserFactory())

    assert summary.queued == 1 and QtyPush.objects.get().quantity == 3


def test_update_qty_is_refused_for_an_account_with_inventory_sync_off():
    listing = stocked_listing(10, selling_list__amazon_account__inventory_sync_enabled=False)

    summary = update_qty(listing_ids=[listing.pk], acting_user=UserFactory())

    assert summary.queued == 0
    assert summary.sync_off_accounts == [listing.amazon_account.name]
    assert summary.paused == 0
    assert QtyPush.objects.count() == 0


def test_update_qty_counts_paused_fba_and_missing_stock_listings_it_does_not_send():
    paused = stocked_listing(10, paused=True)
    fba = stocked_listing(10, fulfillment_channel=FulfillmentChannel.FBA)
    missing = stocked_listing(10, variant__tracked=False)

    summary = update_qty(listing_ids=[paused.pk, fba.pk, missing.pk], acting_user=UserFactory())

    assert (summary.queued, summary.paused, summary.fba, summary.stock_missing) == (0, 1, 1, 1)


def test_listing_action_shows_before_and_after_then_queues_on_confirmation(
    admin_client, run_job_request, shopify_as_mirrored
):
    listing = stocked_listing(7, last_sent_quantity=4)
    data = {"action": "update_qty", "_selected_action": [listing.pk]}

    page = admin_client.post(reverse(CHANGELIST), data)

    assert page.status_code == 200
    assert "selling_lists/update_qty_confirmation.html" in [t.name for t in page.templates]
    rows = page.context["rows"]
    assert [(r.before, r.after) for r in rows] == [(4, 7)]
    assert QtyPush.objects.count() == 0  # nothing before confirmation

    response, job = run_job_request(
        lambda: admin_client.post(reverse(CHANGELIST), {**data, "post": "yes"})
    )

    assert response["Location"] == reverse("admin:sync_job_change", args=[job.pk])
    assert job.state == JobState.DONE
    assert QtyPush.objects.get().quantity == 7
    assert "1 listing is Pending Qty Update" in job_page_text(admin_client, job)


def test_listing_action_says_clearly_when_sync_is_off_for_the_account(
    admin_client, run_job_request, shopify_as_mirrored
):
    listing = stocked_listing(7, selling_list__amazon_account__inventory_sync_enabled=False)
    data = {"action": "update_qty", "_selected_action": [listing.pk]}

    page = admin_client.post(reverse(CHANGELIST), data)
    assert listing.amazon_account.name in page.context["sync_off_accounts"]
    assert page.context["to_send"] == 0

    _, job = run_job_request(
        lambda: admin_client.post(reverse(CHANGELIST), {**data, "post": "yes"})
    )
    text = job_page_text(admin_client, job)
    assert f"Nothing was sent for {listing.amazon_account.name}" in text
    assert "is off" in text
    assert QtyPush.objects.count() == 0


def test_selling_list_action_updates_every_listing_of_the_list(
    admin_client, run_job_request, shopify_as_mirrored
):
    first = stocked_listing(5)
    second = stocked_listing(6, selling_list=first.selling_list)
    url = reverse("admin:selling_lists_sellinglist_changelist")
    data = {"action": "update_qty", "_selected_action": [first.selling_list.pk], "post": "yes"}

    _, job = run_job_request(lambda: admin_client.post(url, data))

    assert job.state == JobState.DONE and job.done == job.total == 2
    assert set(QtyPush.objects.values_list("listing_id", "quantity")) == {
        (first.pk, 5),
        (second.pk, 6),
    }


def test_update_qty_needs_the_change_permission(client):
    listing = stocked_listing(5)
    viewer = UserFactory()
    viewer.user_permissions.add(
        Permission.objects.get(codename="view_listing", content_type__app_label="selling_lists")
    )
    client.force_login(viewer)

    client.post(
        reverse(CHANGELIST),
        {"action": "update_qty", "_selected_action": [listing.pk], "post": "yes"},
    )

    assert QtyPush.objects.count() == 0


def test_listing_page_shows_its_push_history(admin_client):
    listing = stocked_listing(5)
    update_qty(listing_ids=[listing.pk], acting_user=UserFactory(username="maria"))

    page = admin_client.get(reverse("admin:selling_lists_listing_change", args=[listing.pk]))

    assert page.status_code == 200
    body = page.content.decode()
    assert "Qty push history" in body
    assert "Update Qty (manual)" in body and "maria" in body
    assert "Amazon gets 5" in body


@pytest.mark.parametrize("name", ["qtypush", "webhookevent", "webhookrejection", "amazonfeed"])
def test_sync_changelists_open(admin_client, name):
    listing = stocked_listing(5)
    update_qty(listing_ids=[listing.pk], acting_user=None)
    assert admin_client.get(reverse(f"admin:sync_{name}_changelist")).status_code == 200
