"""The "Sandbox · Shopify" admin: every page opens, with the shop's credentials in view."""

import pytest
from django.urls import reverse

from sandbox.shopify.models import (
    AdjustmentGroup,
    BulkOperation,
    InventoryLevel,
    Location,
    Product,
    Shop,
    Variant,
    WebhookDelivery,
    WebhookKnobs,
    WebhookSubscription,
)
from sandbox.shopify.seed import seed_shop

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandbox_state():
    creds, _ = seed_shop(variants=30, locations=2)
    shop = Shop.objects.get(domain=creds["shop"])
    subscription = WebhookSubscription.objects.create(
        shop=shop, topic="INVENTORY_LEVELS_UPDATE", uri="http://127.0.0.1:9/hook"
    )
    WebhookDelivery.objects.create(
        shop=shop,
        subscription=subscription,
        topic="inventory_levels/update",
        uri=subscription.uri,
        object_type="InventoryLevel",
        object_id=InventoryLevel.objects.first().pk,
    )
    BulkOperation.objects.create(shop=shop, query="{ locations { edges { node { id } } } }")
    AdjustmentGroup.objects.create(
        shop=shop,
        mutation="inventoryAdjustQuantities",
        idempotency_key="k",
        fingerprint="f",
        reason="correction",
    )
    WebhookKnobs.load()
    return creds


MODELS = [
    Shop,
    Location,
    Product,
    Variant,
    InventoryLevel,
    WebhookSubscription,
    WebhookDelivery,
    WebhookKnobs,
    BulkOperation,
    AdjustmentGroup,
]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_changelist_search_and_change_pages_open(admin_client, sandbox_state, model):
    name = model._meta.model_name
    changelist = reverse(f"admin:sandbox_shopify_{name}_changelist")
    assert admin_client.get(changelist).status_code == 200
    assert admin_client.get(changelist, {"q": "SKU"}).status_code == 200
    obj = model.objects.order_by("pk").first()
    change = reverse(f"admin:sandbox_shopify_{name}_change", args=[obj.pk])
    assert admin_client.get(change).status_code == 200


def test_the_shop_page_shows_the_credentials_a_client_needs(admin_client, sandbox_state):
    shop = Shop.objects.get(domain=sandbox_state["shop"])
    page = admin_client.get(reverse("admin:sandbox_shopify_shop_change", args=[shop.pk]))
    html = page.content.decode()
    for value in (shop.access_token, shop.client_id, shop.client_secret):
        assert value in html
    assert f"/sandbox/shopify/{shop.domain}/admin/api/2026-07/graphql.json" in html


def test_available_is_editable_in_the_inventory_level_list(admin_client, sandbox_state):
    page = admin_client.get(reverse("admin:sandbox_shopify_inventorylevel_changelist"))
    assert 'name="form-0-available"' in page.content.decode()
