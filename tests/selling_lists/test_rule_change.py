"""Flow 5: a profile or Selling List change shows before → after, and sends on confirmation."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from selling_lists.admin.confirmations import PREVIEW_ROWS
from selling_lists.models import ListingStatus
from sync.models import QtyPush
from tests.conftest import job_page_text
from tests.factories import GlobalProfileFactory, InventoryLevelFactory, ListingFactory

pytestmark = pytest.mark.django_db


def linked(sku, stock, sent, **kwargs):
    listing = ListingFactory(sku=sku, last_sent_quantity=sent, status="linked", **kwargs)
    InventoryLevelFactory(variant=listing.variant, available=stock)
    return listing


def profile_form(profile, **changes):
    data = {
        "name": profile.name,
        "mode": profile.mode,
        "quantity": profile.quantity or "",
        "source": "available",
        "missing_stock": "keep",
        "fixed_after_sale": "lower",
    }
    return data | changes


def test_profile_change_previews_before_and_after_then_sends_on_confirmation(
    admin_client, run_job_request
):
    profile = GlobalProfileFactory(name="Candles", mode="cap", quantity=10)
    big = linked("CANDLE-BIG", stock=20, sent=10, selling_list__profile=profile)
    linked("CANDLE-LOW", stock=3, sent=3, selling_list=big.selling_list)

    response = admin_client.post(
        reverse("admin:profiles_globalprofile_change", args=[profile.pk]),
        profile_form(profile, quantity=5),
    )
    preview_url = reverse("admin:selling_lists_listing_rule_change") + f"?profile={profile.pk}"
    assert response.status_code == 302 and response.url == preview_url

    page = admin_client.get(preview_url)
    assert [(r.listing.sku, r.before, r.after) for r in page.context["rows"]] == [
        ("CANDLE-BIG", 10, 5)
    ]
    assert not QtyPush.objects.exists(), "nothing is sent before the merchant confirms"

    _, job = run_job_request(lambda: admin_client.post(preview_url))
    assert "1 listing is Pending Qty Update with its new quantity." in job_page_text(
        admin_client, job
    )
    push = QtyPush.objects.get()
    assert (push.listing.sku, push.quantity, push.reason) == ("CANDLE-BIG", 5, "profile_change")


def test_selling_list_profile_switch_leads_to_the_preview(admin_client):
    listing = linked("YOGA-1", stock=20, sent=20)
    fixed = GlobalProfileFactory(name="Fixed 10", mode="fixed", quantity=10)
    selling_list = listing.selling_list
    response = admin_client.post(
        reverse("admin:selling_lists_sellinglist_change", args=[selling_list.pk]),
        {
            "name": selling_list.name,
            "amazon_account": selling_list.amazon_account_id,
            "marketplace": selling_list.marketplace_id,
            "shopify_store": selling_list.shopify_store_id,
            "profile": fixed.pk,
        },
    )
    assert response.status_code == 302
    page = admin_client.get(response.url)
    assert [(r.before, r.after) for r in page.context["rows"]] == [(20, 10)]


def test_a_malformed_id_on_the_change_page_is_404(admin_client):
    url = reverse("admin:selling_lists_listing_rule_change")
    assert admin_client.get(url, {"profile": "abc"}).status_code == 404


def test_relinking_a_listing_to_another_sku_forgets_the_old_sku_and_sends_to_the_new(
    admin_client, django_capture_on_commit_callbacks
):
    listing = linked("OLD-SKU", stock=7, sent=7)
    listing.amazon_quantity = 7
    listing.save()
    QtyPush.objects.create(
        listing=listing,
        account=listing.amazon_account,
        quantity=7,
        reason="stock_change",
        state="sent",
    )
    url = reverse("admin:selling_lists_listing_change", args=[listing.pk])
    form = {
        "selling_list": listing.selling_list_id,
        "variant": listing.variant_id,
        "sku": "NEW-SKU",
        "override_mode": "",
        "override_quantity": "",
        "qty_pushes-TOTAL_FORMS": 0,
        "qty_pushes-INITIAL_FORMS": 0,
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]

    listing.refresh_from_db()
    assert (listing.sku, listing.last_sent_quantity, listing.amazon_quantity) == (
        "NEW-SKU",
        None,
        None,
    )
    states = dict(QtyPush.objects.values_list("state", "quantity"))
    assert states == {"superseded": 7, "pending": 7}, "the new SKU gets its own push"


def test_pausing_a_selling_list_in_the_admin_updates_its_listings_states_at_once(admin_client):
    listing = linked("CANDLE-P", stock=5, sent=5)
    selling_list = listing.selling_list
    url = reverse("admin:selling_lists_sellinglist_change", args=[selling_list.pk])
    form = {
        "name": selling_list.name,
        "amazon_account": selling_list.amazon_account_id,
        "marketplace": selling_list.marketplace_id,
        "shopify_store": selling_list.shopify_store_id,
        "profile": selling_list.profile_id,
        "paused": "on",
    }

    response = admin_client.post(url, form, follow=True)

    listing.refresh_from_db()
    assert "paused: 1 listing(s)" in response.content.decode()
    assert listing.state == ListingStatus.PAUSED


def rule_change_page(admin_client, profile):
    url = reverse("admin:selling_lists_listing_rule_change") + f"?profile={profile.pk}"
    with CaptureQueriesContext(connection) as ctx:
        page = admin_client.get(url)
    assert page.status_code == 200
    return page, len(ctx)


def test_rule_change_page_queries_do_not_grow_with_listings(admin_client):
    profile = GlobalProfileFactory(name="Candles", mode="cap", quantity=10)
    first = linked("CANDLE-000", stock=20, sent=20, selling_list__profile=profile)
    _, small = rule_change_page(admin_client, profile)
    for i in range(1, PREVIEW_ROWS * 2):
        linked(f"CANDLE-{i:03d}", stock=20, sent=20, selling_list=first.selling_list)

    page, large = rule_change_page(admin_client, profile)

    assert large == small
    assert len(page.context["rows"]) == PREVIEW_ROWS  # every listing shown moves 20 → 10
    assert (page.context["total"], page.context["unchecked"]) == (PREVIEW_ROWS * 2, PREVIEW_ROWS)
    assert f"the\n  other {PREVIEW_ROWS} are computed when you confirm" in page.content.decode()
    assert not QtyPush.objects.exists(), "nothing is sent before the merchant confirms"
