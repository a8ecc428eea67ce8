"""Inventory writes against the sandbox: @idempotent, changeFromQuantity, all-or-nothing."""

import uuid

import pytest
import requests

from sandbox.shopify import gids
from sandbox.shopify.models import AdjustmentGroup, InventoryLevel
from sync.clients.errors import MarketplaceError
from sync.clients.shopify_data import StaleQuantity, quantity_after
from sync.clients.shopify_queries import ADJUST_MUTATION

from .shopify_fixtures import *  # noqa: F403  (pytest fixtures)

REF = "gid://stocklink/AmazonOrderItem/111-2222222-3333333/1"
# The sandbox answers inventorySetQuantities as Shopify does; Stocklink itself only adjusts.
SET_MUTATION = """
mutation StocklinkSet($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup {
      id
      changes(quantityNames: ["available"]) { name delta quantityAfterChange }
    }
    userErrors { field message code }
  }
}
"""


def _first_level():
    level = InventoryLevel.objects.select_related("variant").order_by("pk").first()
    return (
        level,
        gids.legacy_id("InventoryItem", level.variant_id),
        gids.legacy_id("Location", level.location_id),
    )


def test_adjust_changes_available_and_returns_the_new_quantity(shopify_shop, shopify_client):
    creds, _ = shopify_shop(variants=2, locations=1)
    level, item_id, location_id = _first_level()
    before = level.available
    after = shopify_client(creds).adjust_available(
        item_id,
        location_id,
        -2,
        change_from=before,
        idempotency_key=str(uuid.uuid4()),
        reference_uri=REF,
    )
    level.refresh_from_db()
    assert after == level.available == before - 2


def test_same_idempotency_key_twice_is_applied_once_with_the_same_answer(
    shopify_shop, shopify_client
):
    creds, _ = shopify_shop(variants=2, locations=1)
    level, item_id, location_id = _first_level()
    before = level.available
    client = shopify_client(creds)
    key = str(uuid.uuid4())
    first = client.adjust_available(
        item_id, location_id, -3, change_from=None, idempotency_key=key, reference_uri=REF
    )
    again = client.adjust_available(
        item_id, location_id, -3, change_from=None, idempotency_key=key, reference_uri=REF
    )
    level.refresh_from_db()
    assert first == again == before - 3
    assert level.available == before - 3
    assert AdjustmentGroup.objects.count() == 1


def test_reusing_a_key_with_other_parameters_is_refused(shopify_shop, shopify_client):
    creds, _ = shopify_shop(variants=2, locations=1)
    level, item_id, location_id = _first_level()
    client = shopify_client(creds)
    key = str(uuid.uuid4())
    client.adjust_available(
        item_id, location_id, -1, change_from=None, idempotency_key=key, reference_uri=REF
    )
    with pytest.raises(MarketplaceError) as raised:
        client.adjust_available(
            item_id, location_id, -5, change_from=None, idempotency_key=key, reference_uri=REF
        )
    assert raised.value.code == "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"


def test_stale_change_from_quantity_raises_stale_quantity_and_changes_nothing(
    shopify_shop, shopify_client
):
    creds, _ = shopify_shop(variants=2, locations=1)
    level, item_id, location_id = _first_level()
    before = level.available
    with pytest.raises(StaleQuantity) as raised:
        shopify_client(creds).adjust_available(
            item_id,
            location_id,
            -1,
            change_from=before + 7,
            idempotency_key=str(uuid.uuid4()),
            reference_uri=REF,
        )
    assert raised.value.code == "CHANGE_FROM_QUANTITY_STALE"
    level.refresh_from_db()
    assert level.available == before


def test_set_quantities_sets_an_absolute_value(shopify_shop, shopify_client):
    creds, _ = shopify_shop(variants=2, locations=1)
    level, item_id, location_id = _first_level()
    data = shopify_client(creds).execute(
        SET_MUTATION,
        {
            "key": str(uuid.uuid4()),
            "input": {
                "name": "available",
                "reason": "correction",
                "referenceDocumentUri": REF,
                "quantities": [
                    {
                        "inventoryItemId": f"gid://shopify/InventoryItem/{item_id}",
                        "locationId": f"gid://shopify/Location/{location_id}",
                        "quantity": 42,
                        "changeFromQuantity": level.available,
                    }
                ],
            },
        },
    )
    level.refresh_from_db()
    assert quantity_after(data["inventorySetQuantities"]) == level.available == 42


def _post(url, token, variables, query=ADJUST_MUTATION):
    return requests.post(
        url,
        json={"query": query, "variables": variables},
        headers={"X-Shopify-Access-Token": token},
        timeout=10,
    ).json()


def test_a_mutation_without_the_idempotent_directive_is_refused(shopify_shop, shopify_graphql_url):
    creds, _ = shopify_shop(variants=1, locations=1)
    level, item_id, location_id = _first_level()
    body = _post(
        shopify_graphql_url(creds["shop"]),
        creds["access_token"],
        {
            "input": {
                "name": "available",
                "reason": "correction",
                "changes": [
                    {
                        "inventoryItemId": f"gid://shopify/InventoryItem/{item_id}",
                        "locationId": f"gid://shopify/Location/{location_id}",
                        "delta": 1,
                        "changeFromQuantity": None,
                    }
                ],
            }
        },
        query=ADJUST_MUTATION.replace("@idempotent(key: $key)", "").replace(", $key: String!", ""),
    )
    assert "@idempotent" in body["errors"][0]["message"]
    assert body["data"]["inventoryAdjustQuantities"] is None
    level.refresh_from_db()
    assert not AdjustmentGroup.objects.exists()


def test_a_change_without_change_from_quantity_is_refused(shopify_shop, shopify_graphql_url):
    creds, _ = shopify_shop(variants=1, locations=1)
    level, item_id, location_id = _first_level()
    before = level.available
    body = _post(
        shopify_graphql_url(creds["shop"]),
        creds["access_token"],
        {
            "key": str(uuid.uuid4()),
            "input": {
                "name": "available",
                "reason": "correction",
                "changes": [
                    {
                        "inventoryItemId": f"gid://shopify/InventoryItem/{item_id}",
                        "locationId": f"gid://shopify/Location/{location_id}",
                        "delta": 1,
                    }
                ],
            },
        },
    )
    assert "changeFromQuantity" in body["errors"][0]["message"]
    level.refresh_from_db()
    assert level.available == before


def test_one_bad_change_applies_none_of_the_changes(shopify_shop, shopify_graphql_url):
    creds, _ = shopify_shop(variants=2, locations=1)
    levels = list(InventoryLevel.objects.order_by("pk"))
    before = [lv.available for lv in levels]
    changes = [
        {
            "inventoryItemId": gids.gid("InventoryItem", lv.variant_id),
            "locationId": gids.gid("Location", lv.location_id),
            "delta": 1,
            "changeFromQuantity": lv.available + (5 if n == 1 else 0),
        }
        for n, lv in enumerate(levels)
    ]
    body = _post(
        shopify_graphql_url(creds["shop"]),
        creds["access_token"],
        {
            "key": str(uuid.uuid4()),
            "input": {"name": "available", "reason": "correction", "changes": changes},
        },
    )
    payload = body["data"]["inventoryAdjustQuantities"]
    assert payload["inventoryAdjustmentGroup"] is None
    assert payload["userErrors"] == [
        {
            "field": ["input", "changes", "1", "changeFromQuantity"],
            "message": "The specified compare quantity does not match the current quantity.",
            "code": "CHANGE_FROM_QUANTITY_STALE",
        }
    ]
    assert [lv.available for lv in InventoryLevel.objects.order_by("pk")] == before
