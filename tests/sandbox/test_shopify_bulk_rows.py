"""The set-based bulk reader (bulk_rows.py) writes the same lines as the plan executor."""

from datetime import timedelta

import pytest
from django.utils import timezone
from graphql import parse

from sandbox.shopify import bulk
from sandbox.shopify.bulk_exec import compile_plan
from sandbox.shopify.bulk_rows import compile_reader
from sandbox.shopify.models import InventoryLevel, Location, Metafield, Shop, Variant
from sandbox.shopify.schema import admin_schema
from sandbox.shopify.seed import seed_shop
from sync.clients.shopify_queries import render_variants_bulk_query

ITEMS_QUERY = """
{
  inventoryItems(query: "tracked:true") {
    edges {
      cursor
      node {
        id sku tracked createdAt
        inventoryLevels {
          edges {
            node {
              id
              location { id name isActive }
              quantities(names: ["available", "on_hand", "committed", "incoming"]) { name quantity }
            }
          }
        }
      }
    }
  }
}
"""
RICH_QUERY = """
{
  productVariants(query: "sku:SKU-00001*") {
    pageInfo { hasNextPage }
    nodes {
      id legacyResourceId displayName sku title position inventoryQuantity availableForSale
      selectedOptions { name value }
      product { id title handle status tags createdAt }
      amazon: metafield(namespace: "stocklink", key: "amazon_qty") { id value jsonValue type }
      custom: metafield(namespace: "custom", key: "note") { value }
      metafields { edges { node { id namespace key value } } }
      inventoryItem {
        id legacyResourceId requiresShipping trackedEditable { locked }
        inventoryLevels(includeInactive: true) {
          nodes {
            id isActive
            item { id sku }
            location { id name fulfillsOnlineOrders address { countryCode } }
            quantities(names: ["available"]) { id name quantity updatedAt }
          }
        }
      }
    }
  }
}
"""


@pytest.fixture
def shop(db):
    """Variants at three locations (one inactive), interleaved with another shop's, metafields
    in two namespaces, a variant without SKU, committed stock, later updates."""
    creds, _ = seed_shop(variants=14, locations=3)
    seed_shop(variants=5, locations=1)  # another shop's rows between this one's ids
    seed_shop(variants=9, locations=1, shop=creds["shop"])
    shop = Shop.objects.get(domain=creds["shop"])
    Location.objects.filter(pk=Location.objects.filter(shop=shop).latest("pk").pk).update(
        is_active=False
    )
    variants = list(Variant.objects.filter(shop=shop).order_by("pk"))
    Metafield.objects.create(variant=variants[1], namespace="custom", key="note", value="hi")
    Metafield.objects.create(variant=variants[3], namespace="custom", key="note", value="x")
    Variant.objects.filter(pk=variants[5].pk).update(sku="")
    Variant.objects.filter(pk__in=[v.pk for v in variants[::4]]).update(
        updated_at=timezone.now() + timedelta(days=2)
    )
    levels = InventoryLevel.objects.filter(variant__shop=shop).order_by("pk")
    InventoryLevel.objects.filter(pk__in=[level.pk for level in levels[::3]]).update(committed=4)
    return shop


def _lines(shop, query, *, reader: bool) -> list[dict]:
    schema = admin_schema()
    document = parse(query)
    plan = compile_plan(schema, document)
    assert plan is not None
    assert (bulk.compile_reader(plan) is not None) is reader
    return [line for lines, _ in bulk._windows(schema, document, plan, shop) for line in lines]


QUERIES = {
    "catalogue": render_variants_bulk_query(namespace="stocklink", key="amazon_qty"),
    "catalogue since": render_variants_bulk_query(
        namespace="stocklink", key="amazon_qty", updated_since=timezone.now() + timedelta(days=1)
    ),
    "items": ITEMS_QUERY,
    "rich": RICH_QUERY,
}


@pytest.mark.parametrize("name", list(QUERIES))
def test_the_reader_writes_the_lines_the_plan_executor_writes(shop, monkeypatch, name):
    query = QUERIES[name]
    assert bulk.check_bulk_query(query) is None
    monkeypatch.setattr(bulk, "ROWS_CHUNK", 4)  # several windows, on each path
    monkeypatch.setattr(bulk, "CHUNK", 4)
    by_rows = _lines(shop, query, reader=True)
    monkeypatch.setattr(bulk, "compile_reader", lambda plan: None)
    by_plan = _lines(shop, query, reader=False)
    assert by_rows
    assert by_rows == by_plan


def test_a_query_that_needs_model_rows_is_left_to_the_plan_executor(shop):
    query = "{ productVariants { edges { node { id product { totalInventory } } } } }"
    lines = _lines(shop, query, reader=False)
    assert len(lines) == 23
    locations = compile_plan(admin_schema(), parse("{ locations { nodes { id } } }"))
    assert compile_reader(locations) is None
