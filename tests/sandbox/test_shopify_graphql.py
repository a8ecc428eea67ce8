"""The simulated Shopify Admin GraphQL API, driven over real HTTP by the real ShopifyClient."""

from datetime import UTC, datetime, timedelta

import pytest
import requests
from graphql import parse, validate

from sandbox.shopify import gids, services
from sandbox.shopify.models import AccessToken, InventoryLevel, Metafield, Variant
from sandbox.shopify.schema import admin_schema
from sync.clients import shopify_queries as shopify_client_module
from sync.clients.errors import AuthenticationFailed, MarketplaceError

from .shopify_fixtures import *  # noqa: F403  (pytest fixtures)


@pytest.mark.parametrize("name", sorted(shopify_client_module.DOCUMENTS))
def test_every_document_the_client_sends_validates_against_the_official_schema(name):
    document = parse(shopify_client_module.DOCUMENTS[name])
    assert validate(admin_schema(), document) == []


def test_every_query_constant_in_the_client_module_is_listed_for_validation():
    constants = {
        value
        for key, value in vars(shopify_client_module).items()
        if key.endswith(("_QUERY", "_MUTATION")) and isinstance(value, str)
    }
    assert constants <= set(shopify_client_module.DOCUMENTS.values())


def test_a_wrong_token_gets_shopifys_401(shopify_shop, shopify_graphql_url):
    creds, _ = shopify_shop(variants=1, locations=1)
    response = requests.post(
        shopify_graphql_url(creds["shop"]),
        json={"query": "{ shop { name } }"},
        headers={"X-Shopify-Access-Token": "shpat_wrong"},
        timeout=10,
    )
    assert response.status_code == 401
    assert response.json() == {
        "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
    }


def test_the_client_maps_a_refused_token_to_authentication_failed(shopify_shop, shopify_client):
    creds, _ = shopify_shop(variants=1, locations=1)
    client = shopify_client({**creds, "access_token": "shpat_wrong"})
    with pytest.raises(AuthenticationFailed):
        client.test_connection()


def test_static_token_reads_the_shop(shopify_shop, shopify_client):
    creds, _ = shopify_shop(variants=1, locations=1)
    assert shopify_client(creds).test_connection() == {
        "name": creds["shop"].split(".")[0].replace("-", " ").title(),
        "domain": creds["shop"],
    }


def test_client_credentials_grant_issues_a_24_hour_token(shopify_shop, shopify_base_url):
    creds, _ = shopify_shop(variants=1, locations=1)
    response = requests.post(
        f"{shopify_base_url(creds['shop'])}/admin/oauth/access_token",
        data={
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "grant_type": "client_credentials",
        },
        timeout=10,
    )
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"access_token", "scope", "expires_in"}
    assert body["expires_in"] == 86399
    assert "write_inventory" in body["scope"]
    bad = requests.post(
        f"{shopify_base_url(creds['shop'])}/admin/oauth/access_token",
        data={
            "client_id": creds["client_id"],
            "client_secret": "nope",
            "grant_type": "client_credentials",
        },
        timeout=10,
    )
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_client"


def test_client_obtains_a_token_with_the_grant_and_hands_it_to_the_caller(
    shopify_shop, shopify_client
):
    creds, _ = shopify_shop(variants=1, locations=1)
    kept = []
    client = shopify_client(creds, grant=True, on_token=lambda t, at: kept.append((t, at)))
    client.test_connection()
    assert len(kept) == 1
    token, expires_at = kept[0]
    assert AccessToken.objects.filter(token=token).exists()
    assert timedelta(hours=23) < expires_at - datetime.now(UTC) <= timedelta(hours=24)


def test_client_refreshes_a_token_that_is_about_to_expire(shopify_shop, shopify_client):
    creds, _ = shopify_shop(variants=1, locations=1)
    kept = []
    client = shopify_client(
        creds,
        grant=True,
        token="shpat_old",
        token_expires_at=datetime.now(UTC) + timedelta(minutes=1),
        on_token=lambda t, at: kept.append(t),
    )
    client.test_connection()
    assert len(kept) == 1 and kept[0] != "shpat_old"


def test_client_gets_a_new_token_when_shopify_refuses_a_revoked_one(shopify_shop, shopify_client):
    creds, _ = shopify_shop(variants=1, locations=1)
    kept = []
    client = shopify_client(creds, grant=True, on_token=lambda t, at: kept.append(t))
    client.test_connection()
    AccessToken.objects.all().delete()  # revoked on Shopify's side, still "valid" for us
    client.test_connection()
    assert len(kept) == 2


def test_a_query_shopify_would_reject_is_rejected_with_shopifys_error_shape(
    shopify_shop, shopify_client, shopify_graphql_url
):
    creds, _ = shopify_shop(variants=1, locations=1)
    response = requests.post(
        shopify_graphql_url(creds["shop"]),
        json={"query": "{ productVariants(first: 5) { nodes { id stock } } }"},
        headers={"X-Shopify-Access-Token": creds["access_token"]},
        timeout=10,
    )
    error = response.json()["errors"][0]
    assert response.status_code == 200
    assert "stock" in error["message"]
    assert error["locations"] == [{"line": 1, "column": 42}]
    assert error["extensions"]["code"] == "undefinedField"
    assert "data" not in response.json()

    with pytest.raises(MarketplaceError) as raised:  # required argument missing
        shopify_client(creds).execute("{ productVariant { id } }")
    assert raised.value.code == "missingRequiredArguments"


def test_a_connection_without_first_or_last_is_refused(shopify_shop, shopify_client):
    creds, _ = shopify_shop(variants=1, locations=1)
    with pytest.raises(MarketplaceError, match="first or last"):
        shopify_client(creds).execute("{ productVariants { nodes { id } } }")


def test_locations_lists_active_and_inactive_ones_with_their_ids(shopify_shop, shopify_client):
    creds, _ = shopify_shop(variants=1, locations=3)
    locations = shopify_client(creds).locations()
    assert [loc.name for loc in locations] == ["Main warehouse", "Warehouse 2", "Warehouse 3"]
    assert all(loc.is_active for loc in locations)
    assert locations[0].gid == f"gid://shopify/Location/{locations[0].id}"


def test_iter_variants_reads_every_variant_with_stock_per_location_and_metafield(
    shopify_shop, shopify_client
):
    creds, totals = shopify_shop(variants=23, locations=2)
    variants = list(shopify_client(creds).iter_variants())
    assert [(v.sku, sum(v.available.values())) for v in variants] == totals
    assert all(len(v.available) == 2 for v in variants)
    with_metafield = [v for v in variants if v.metafield_value is not None]
    assert with_metafield and all(v.metafield_value.isdigit() for v in with_metafield)
    assert Metafield.objects.count() == len(with_metafield)
    # Inventory item ids are above 2**53 in the sandbox: they must arrive as exact ints.
    first = Variant.objects.order_by("pk").first()
    assert variants[0].inventory_item_id == gids.legacy_id("InventoryItem", first.pk) > 2**53


def test_cursor_pagination_walks_every_page(shopify_shop, shopify_client):
    creds, _ = shopify_shop(variants=23, locations=1)
    client = shopify_client(creds)
    seen_pages = []
    original = client.execute

    def counting(query, variables=None):
        data = original(query, variables)
        seen_pages.append(len(data["productVariants"]["nodes"]))
        return data

    client.execute = counting
    nodes = list(
        client.paginate(
            shopify_client_module.VARIANTS_QUERY,
            "productVariants",
            {"first": 5, "levels": 1, "namespace": "stocklink", "key": "amazon_qty", "query": None},
        )
    )
    assert seen_pages == [5, 5, 5, 5, 3]
    assert len({node["id"] for node in nodes}) == 23


def test_updated_at_filter_returns_only_variants_whose_stock_changed(shopify_shop, shopify_client):
    creds, _ = shopify_shop(variants=5, locations=1)
    Variant.objects.update(updated_at=datetime.now(UTC) - timedelta(days=1))
    level = InventoryLevel.objects.order_by("pk")[2]
    services.set_available(level=level, quantity=level.available + 3)
    since = datetime.now(UTC) - timedelta(hours=1)
    changed = list(shopify_client(creds).iter_variants(updated_since=since))
    assert [v.sku for v in changed] == [level.variant.sku]


def test_inventory_levels_for_items_rereads_only_the_items_asked_for(shopify_shop, shopify_client):
    creds, totals = shopify_shop(variants=6, locations=2)
    client = shopify_client(creds)
    wanted = [gids.legacy_id("InventoryItem", v.pk) for v in Variant.objects.order_by("pk")[1:4]]
    stock = client.inventory_levels_for_items(wanted)
    assert sorted(stock) == sorted(wanted)
    assert [sum(stock[item].available.values()) for item in wanted] == [t for _, t in totals[1:4]]


def test_nodes_resolves_ids_of_several_types_and_null_for_unknown_ones(
    shopify_shop, shopify_client
):
    creds, _ = shopify_shop(variants=1, locations=1)
    variant = Variant.objects.get()
    data = shopify_client(creds).execute(
        """query($ids: [ID!]!) { nodes(ids: $ids) {
             __typename
             ... on ProductVariant { sku }
             ... on InventoryItem { tracked }
           } }""",
        {
            "ids": [
                gids.gid("ProductVariant", variant.pk),
                gids.gid("InventoryItem", variant.pk),
                "gid://shopify/ProductVariant/1",
            ]
        },
    )
    assert data["nodes"] == [
        {"__typename": "ProductVariant", "sku": variant.sku},
        {"__typename": "InventoryItem", "tracked": True},
        None,
    ]
