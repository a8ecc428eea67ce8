"""Every admin page opens for staff, and forms explain what is wrong in a merchant's words."""

import pytest
from django.urls import reverse

from accounts.models import AmazonAccount
from tests.factories import (
    AmazonAccountFactory,
    GlobalProfileFactory,
    InventoryLevelFactory,
    ListingFactory,
    LocationFactory,
    MetafieldValueFactory,
    SellingListFactory,
    ShopifyStoreFactory,
)

pytestmark = pytest.mark.django_db

MODELS = [
    ("accounts", "amazonaccount", AmazonAccountFactory),
    ("accounts", "shopifystore", ShopifyStoreFactory),
    ("accounts", "location", LocationFactory),
    ("accounts", "product", lambda: InventoryLevelFactory().variant.product),
    ("accounts", "variant", lambda: MetafieldValueFactory().variant),
    ("accounts", "marketplace", None),
    ("profiles", "globalprofile", GlobalProfileFactory),
    ("selling_lists", "sellinglist", SellingListFactory),
    ("selling_lists", "listing", ListingFactory),
]


@pytest.mark.parametrize(("app", "model", "factory"), MODELS)
def test_changelist_search_and_change_pages_open(admin_client, app, model, factory):
    obj = factory() if factory else None
    changelist = reverse(f"admin:{app}_{model}_changelist")
    assert admin_client.get(changelist).status_code == 200
    assert admin_client.get(changelist, {"q": "x"}).status_code == 200
    if obj is not None:
        response = admin_client.get(reverse(f"admin:{app}_{model}_change", args=[obj.pk]))
        assert response.status_code == 200


@pytest.mark.parametrize(
    "model", ["amazonaccount", "shopifystore", "globalprofile", "sellinglist", "listing"]
)
def test_add_pages_open(admin_client, model):
    app = {
        "amazonaccount": "accounts",
        "shopifystore": "accounts",
        "globalprofile": "profiles",
    }.get(model, "selling_lists")
    assert admin_client.get(reverse(f"admin:{app}_{model}_add")).status_code == 200


@pytest.mark.parametrize("model", ["location", "product", "variant", "marketplace"])
def test_data_mirrored_from_shopify_or_amazon_cannot_be_added_or_edited(admin_client, model):
    assert admin_client.get(reverse(f"admin:accounts_{model}_add")).status_code == 403


def test_amazon_account_secrets_are_write_only(admin_client):
    account = AmazonAccountFactory(refresh_token="Atzr|very-secret", lwa_client_secret="lwa-s3cret")
    page = admin_client.get(reverse("admin:accounts_amazonaccount_change", args=[account.pk]))
    html = page.content.decode()
    assert "very-secret" not in html and "lwa-s3cret" not in html
    assert "never shown" in html


def amazon_form(**overrides):
    data = {
        "name": "Amazon US",
        "seller_id": "A2Q3Y263D00KWC",
        "region": "NA",
        "marketplaces": ["ATVPDKIKX0DER"],
        "lwa_client_id": "amzn1.application-oa2-client.x",
        "lwa_client_secret": "secret",
        "refresh_token": "Atzr|token",
        "endpoint": "",
        "token_url": "",
        "auto_update_qty": "on",
        "inventory_sync_enabled": "on",
        "sync_fbm_orders": "on",
    }
    data.update(overrides)
    return data


def test_amazon_account_added_through_the_settings_page(admin_client):
    response = admin_client.post(reverse("admin:accounts_amazonaccount_add"), amazon_form())
    assert response.status_code == 302
    account = AmazonAccount.objects.get(name="Amazon US")
    assert account.refresh_token == "Atzr|token" and account.auto_update_qty


def test_blank_secret_on_the_settings_page_keeps_the_saved_one(admin_client):
    account = AmazonAccountFactory(refresh_token="Atzr|keep-me")
    url = reverse("admin:accounts_amazonaccount_change", args=[account.pk])
    form = amazon_form(
        name=account.name,
        seller_id=account.seller_id,
        refresh_token="",
        lwa_client_secret="",
        auto_update_qty="",
    )
    response = admin_client.post(url, form)
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.refresh_token == "Atzr|keep-me" and not account.auto_update_qty


def test_amazon_account_form_errors_are_shown(admin_client):
    response = admin_client.post(
        reverse("admin:accounts_amazonaccount_add"),
        amazon_form(seller_id="bad id", marketplaces=["A1PA6795UKMFR9"], refresh_token=""),
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Seller Central (e.g." in html
    assert "Not in this account&#x27;s region (NA): Germany" in html
    assert "Enter the refresh token" in html


def test_switch_labels_use_the_seeds_words(admin_client):
    html = admin_client.get(reverse("admin:accounts_amazonaccount_add")).content.decode()
    for label in (
        "Update Amazon Item QTY when it has changed in Shopify",
        "Keep inventory in sync from Shopify to Amazon",
        "Sync FBM orders to Shopify stock",
    ):
        assert label in html


def test_profile_form_shows_both_seeds_names_and_validation(admin_client):
    url = reverse("admin:profiles_globalprofile_add")
    html = admin_client.get(url).content.decode()
    for name in (
        "Product value / Inventory Level",
        "Single stock",
        "Custom quantity / Fixed Quantity",
        "Not more than / Max Quantity",
        "Quantity Buffer",
    ):
        assert name in html
    response = admin_client.post(
        url,
        {
            "name": "Cap",
            "mode": "cap",
            "source": "available",
            "missing_stock": "keep",
            "fixed_after_sale": "lower",
        },
    )
    assert "needs a quantity (N)" in response.content.decode()


def test_listing_change_page_shows_the_result_and_its_trace(admin_client):
    listing = ListingFactory(
        selling_list__profile__mode="buffer", selling_list__profile__quantity=2
    )
    InventoryLevelFactory(variant=listing.variant, available=10)
    html = admin_client.get(
        reverse("admin:selling_lists_listing_change", args=[listing.pk])
    ).content.decode()
    assert "<strong>8</strong>" in html
    assert "Quantity buffer 2: keep 2 for Shopify = 8" in html
