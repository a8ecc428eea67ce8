import pytest
from django.urls import reverse

from accounts.models import ShopifyStore
from accounts.services import shopify_store_forget_secrets_of_old_domain
from tests.factories import ShopifyStoreFactory

pytestmark = pytest.mark.django_db


def store_form(store, **overrides):
    data = {
        "name": store.name,
        "shop_domain": store.shop_domain,
        "api_version": store.api_version,
        "default_location": "",
        "auth_method": store.auth_method,
        "access_token": "",
        "client_id": store.client_id,
        "client_secret": "",
        "webhook_secret": "",
        "base_url": store.base_url,
        "locations-TOTAL_FORMS": "0",
        "locations-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def test_changing_the_shop_domain_clears_every_saved_secret():
    store = ShopifyStoreFactory(
        shop_domain="old-shop.myshopify.com",
        client_secret="shpss_old",
        oauth_token="oauth-old",
    )
    store.shop_domain = "new-shop.myshopify.com"
    store.save()
    cleared = shopify_store_forget_secrets_of_old_domain(
        store=store, previous_domain="old-shop.myshopify.com"
    )
    assert set(cleared) == {"access_token", "client_secret", "webhook_secret", "oauth_token"}
    fresh = ShopifyStore.objects.get(pk=store.pk)
    assert (fresh.access_token, fresh.client_secret, fresh.webhook_secret, fresh.oauth_token) == (
        "",
        "",
        "",
        "",
    )


def test_the_same_domain_keeps_the_secrets():
    store = ShopifyStoreFactory(access_token="shpat_keep")
    assert (
        shopify_store_forget_secrets_of_old_domain(store=store, previous_domain=store.shop_domain)
        == []
    )
    assert ShopifyStore.objects.get(pk=store.pk).access_token == "shpat_keep"


def test_moving_a_store_on_its_page_clears_the_old_shops_credentials(admin_client):
    store = ShopifyStoreFactory(access_token="shpat_old-shop", webhook_secret="whsec-old")
    url = reverse("admin:accounts_shopifystore_change", args=[store.pk])
    response = admin_client.post(
        url, store_form(store, shop_domain="other-shop.myshopify.com"), follow=True
    )
    assert "credentials saved for the old shop were cleared" in response.content.decode()
    store.refresh_from_db()
    assert store.shop_domain == "other-shop.myshopify.com"
    assert (store.access_token, store.webhook_secret) == ("", "")


def test_secrets_typed_in_with_the_new_domain_are_kept(admin_client):
    store = ShopifyStoreFactory(access_token="shpat_old-shop", webhook_secret="whsec-old")
    url = reverse("admin:accounts_shopifystore_change", args=[store.pk])
    form = store_form(store, shop_domain="other-shop.myshopify.com", access_token="shpat_new")
    assert admin_client.post(url, form).status_code == 302
    store.refresh_from_db()
    assert (store.access_token, store.webhook_secret) == ("shpat_new", "")


def test_editing_other_fields_keeps_the_secrets(admin_client):
    store = ShopifyStoreFactory(access_token="shpat_same-shop")
    url = reverse("admin:accounts_shopifystore_change", args=[store.pk])
    assert admin_client.post(url, store_form(store, name="Renamed")).status_code == 302
    store.refresh_from_db()
    assert (store.name, store.access_token) == ("Renamed", "shpat_same-shop")
