"""Flow 5: a profile or Selling List change shows before → after, and sends on confirmation."""

import pytest
from django.urls import reverse

from sync.models import QtyPush
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


def test_profile_change_previews_before_and_after_then_sends_on_confirmation(admin_client):
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

    admin_client.post(preview_url)
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
