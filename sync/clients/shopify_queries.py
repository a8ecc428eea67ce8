"""Every GraphQL document the Shopify client sends, as module constants.

`DOCUMENTS` lists them all so a test validates each against Shopify's published schema.
"""

import json
from datetime import UTC, datetime

from .shopify_data import iso

SHOP_QUERY = """
query StocklinkShop {
  shop { id name myshopifyDomain }
}
"""

LOCATIONS_QUERY = """
query StocklinkLocations($after: String) {
  locations(first: 100, after: $after, includeInactive: true) {
    pageInfo { hasNextPage endCursor }
    nodes { id name isActive fulfillsOnlineOrders }
  }
}
"""

_VARIANT_FIELDS = """
      id
      sku
      title
      inventoryPolicy
      updatedAt
      product { id title }
      metafield(namespace: $namespace, key: $key) { value type }
      inventoryItem {
        id
        tracked
        inventoryLevels(first: $levels) {
          nodes {
            location { id }
            quantities(names: ["available"]) { name quantity }
          }
        }
      }
"""

VARIANTS_QUERY = (
    """
query StocklinkVariants(
  $first: Int!, $after: String, $query: String, $levels: Int!, $namespace: String!, $key: String!
) {
  productVariants(first: $first, after: $after, query: $query) {
    pageInfo { hasNextPage endCursor }
    nodes {"""
    + _VARIANT_FIELDS
    + """    }
  }
}
"""
)

INVENTORY_ITEMS_QUERY = """
query StocklinkInventoryItems($first: Int!, $after: String, $query: String!, $levels: Int!) {
  inventoryItems(first: $first, after: $after, query: $query) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id
      sku
      tracked
      inventoryLevels(first: $levels) {
        nodes {
          location { id }
          quantities(names: ["available"]) { name quantity }
        }
      }
    }
  }
}
"""

# Bulk queries take no variables: the metafield is written into the text (JSON-quoted).
VARIANTS_BULK_QUERY_TEMPLATE = """
{
  productVariants%(filter)s {
    edges {
      node {
        id
        sku
        title
        inventoryPolicy
        updatedAt
        product { id title }
        metafield(namespace: %(namespace)s, key: %(key)s) { value type }
        inventoryItem {
          id
          tracked
          inventoryLevels {
            edges {
              node {
                id
                location { id }
                quantities(names: ["available"]) { name quantity }
              }
            }
          }
        }
      }
    }
  }
}
"""

BULK_RUN_MUTATION = """
mutation StocklinkBulkRun($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}
"""

BULK_STATUS_QUERY = """
query StocklinkBulkStatus($id: ID!) {
  bulkOperation(id: $id) { id status errorCode objectCount rootObjectCount url partialDataUrl }
}
"""

ADJUST_MUTATION = """
mutation StocklinkAdjust($input: InventoryAdjustQuantitiesInput!, $key: String!) {
  inventoryAdjustQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup {
      id
      changes(quantityNames: ["available"]) { name delta quantityAfterChange }
    }
    userErrors { field message code }
  }
}
"""

WEBHOOK_CREATE_MUTATION = """
mutation StocklinkWebhookCreate($topic: WebhookSubscriptionTopic!, $uri: String!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $uri, format: JSON}) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}
"""

WEBHOOKS_QUERY = """
query StocklinkWebhooks($after: String) {
  webhookSubscriptions(first: 100, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id topic uri }
  }
}
"""


def render_variants_bulk_query(
    *, namespace: str, key: str, updated_since: datetime | None = None
) -> str:
    """The bulk query behind `iter_variants(bulk=True)`."""
    search = f"updated_at:>'{iso(updated_since)}'" if updated_since else ""
    return VARIANTS_BULK_QUERY_TEMPLATE % {
        "namespace": json.dumps(namespace),
        "key": json.dumps(key),
        "filter": f"(query: {json.dumps(search)})" if search else "",
    }


# Everything the client sends, for the schema-validation test.
DOCUMENTS = {
    "SHOP_QUERY": SHOP_QUERY,
    "LOCATIONS_QUERY": LOCATIONS_QUERY,
    "VARIANTS_QUERY": VARIANTS_QUERY,
    "INVENTORY_ITEMS_QUERY": INVENTORY_ITEMS_QUERY,
    "VARIANTS_BULK_QUERY": render_variants_bulk_query(namespace="stocklink", key="amazon_qty"),
    "VARIANTS_BULK_QUERY_SINCE": render_variants_bulk_query(
        namespace="stocklink", key="amazon_qty", updated_since=datetime(2026, 1, 1, tzinfo=UTC)
    ),
    "BULK_RUN_MUTATION": BULK_RUN_MUTATION,
    "BULK_STATUS_QUERY": BULK_STATUS_QUERY,
    "ADJUST_MUTATION": ADJUST_MUTATION,
    "WEBHOOK_CREATE_MUTATION": WEBHOOK_CREATE_MUTATION,
    "WEBHOOKS_QUERY": WEBHOOKS_QUERY,
}
