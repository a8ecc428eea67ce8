"""The Shopify Admin GraphQL client: the only module that speaks to Shopify.

The requests themselves (session, pacing, retries, token) are `shopify_transport.py`'s job;
vendor errors become `sync.clients.errors` exceptions. The documents it sends are in
`shopify_queries.py`; the values it returns and the parsing of Shopify's answers in
`shopify_data.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime

from .errors import MarketplaceError
from .shopify_data import (
    ItemStock,
    Location,
    VariantStock,
    Webhook,
    gid_number,
    iso,
    levels_of,
    quantity_after,
    to_gid,
    topic_enum,
    variant_stock,
    webhook_of,
)
from .shopify_queries import (
    ADJUST_MUTATION,
    INVENTORY_ITEMS_QUERY,
    LOCATIONS_QUERY,
    SHOP_QUERY,
    VARIANTS_QUERY,
    WEBHOOK_CREATE_MUTATION,
    WEBHOOKS_QUERY,
    render_variants_bulk_query,
)
from .shopify_transport import MAX_QUERY_COST, ShopifyGraphQL

logger = logging.getLogger(__name__)


class ShopifyClient(ShopifyGraphQL):
    """What Stocklink asks of one shop: locations, variants and stock, adjustments, webhooks.

    Not thread-safe: one client per thread or task (see `ShopifyGraphQL`).
    """

    def test_connection(self) -> dict:
        """Check credentials and reachability: {"name", "domain"} of the shop."""
        shop = self.execute(SHOP_QUERY)["shop"]
        return {"name": shop["name"], "domain": shop["myshopifyDomain"]}

    def locations(self) -> list[Location]:
        """All locations, active or not."""
        return [
            Location(
                id=gid_number(node["id"]),
                gid=node["id"],
                name=node["name"],
                is_active=node["isActive"],
                fulfills_online_orders=node.get("fulfillsOnlineOrders", True),
            )
            for node in self.paginate(LOCATIONS_QUERY, "locations")
        ]

    def iter_variants(
        self,
        *,
        metafield: tuple[str, str] = ("stocklink", "amazon_qty"),
        updated_since: datetime | None = None,
        max_locations: int = 10,
        bulk: bool = False,
        bulk_operation: str | None = None,
    ) -> Iterator[VariantStock]:
        """Every variant with its stock per location and one metafield's value.

        `updated_since` (aware) reads only variants changed after it. `max_locations` is how
        many inventory levels to read per variant (the page size is set so a page stays under
        Shopify's cost limit). `bulk=True` reads the catalogue with a bulk operation instead,
        for large shops (no cost limit; rows arrive when the operation completes).
        `bulk_operation` reads the one `start_variants_bulk` started (same `metafield`).
        """
        namespace, key = metafield
        if bulk or bulk_operation:
            operation = bulk_operation or self.start_variants_bulk(
                metafield=metafield, updated_since=updated_since
            )
            yield from self._variants_of_bulk(self.bulk_query_rows(operation))
            return
        levels = max(1, min(max_locations, 250))
        # Per variant: ~5 objects + a level connection of `levels` × ~3 objects.
        page_size = max(1, min(250, (MAX_QUERY_COST - 50) // (8 + 3 * levels)))
        variables = {
            "first": page_size,
            "levels": levels,
            "namespace": namespace,
            "key": key,
            "query": f"updated_at:>'{iso(updated_since)}'" if updated_since else None,
        }
        for node in self.paginate(VARIANTS_QUERY, "productVariants", variables):
            yield variant_stock(node, levels_of(node["inventoryItem"]["inventoryLevels"]))

    def start_variants_bulk(
        self,
        *,
        metafield: tuple[str, str] = ("stocklink", "amazon_qty"),
        updated_since: datetime | None = None,
    ) -> str:
        """Start the bulk operation `iter_variants(bulk=True)` reads and return its id, so that
        Shopify runs it while the caller does other work; then `iter_variants(bulk_operation=)`.
        """
        namespace, key = metafield
        return self.start_bulk_query(
            render_variants_bulk_query(namespace=namespace, key=key, updated_since=updated_since)
        )

    @staticmethod
    def _variants_of_bulk(rows: Iterable[dict]) -> Iterator[VariantStock]:
        # Levels may come before or after their variant: each line is reduced to what we keep
        # as it is read (a VariantStock, a location → available pair), not held as parsed JSON.
        variants: dict[str, VariantStock] = {}
        available: dict[str, dict[int, int]] = {}
        for row in rows:
            parent = row.get("__parentId")
            if parent is None:
                variants[row["id"]] = variant_stock(row, available.setdefault(row["id"], {}))
            else:
                available.setdefault(parent, {}).update(levels_of({"nodes": [row]}))
        yield from variants.values()

    def inventory_levels_for_items(
        self, item_ids: Iterable[int], *, max_locations: int = 10
    ) -> dict[int, ItemStock]:
        """Current stock of these inventory items (a targeted re-read after webhooks)."""
        ids = sorted({int(i) for i in item_ids})
        levels = max(1, min(max_locations, 250))
        batch = max(1, min(100, (MAX_QUERY_COST - 50) // (5 + 3 * levels)))
        result: dict[int, ItemStock] = {}
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            variables = {
                "first": len(chunk),
                "levels": levels,
                "query": " OR ".join(f"id:{i}" for i in chunk),
            }
            for node in self.paginate(INVENTORY_ITEMS_QUERY, "inventoryItems", variables):
                item_id = gid_number(node["id"])
                result[item_id] = ItemStock(
                    inventory_item_id=item_id,
                    sku=node.get("sku") or "",
                    tracked=node["tracked"],
                    available=levels_of(node["inventoryLevels"]),
                )
        return result

    def adjust_available(
        self,
        item_id: int,
        location_id: int,
        delta: int,
        *,
        change_from: int | None,
        idempotency_key: str,
        reference_uri: str,
        reason: str = "correction",
    ) -> int:
        """Add `delta` to `available`; returns the quantity after the change.

        `change_from` is the quantity we believe Shopify has (None opts out of the check);
        a mismatch raises StaleQuantity. Reuse `idempotency_key` when retrying the same
        change: Shopify applies it once.
        """
        data = self.execute(
            ADJUST_MUTATION,
            {
                "key": idempotency_key,
                "input": {
                    "name": "available",
                    "reason": reason,
                    "referenceDocumentUri": reference_uri,
                    "changes": [
                        {
                            "inventoryItemId": to_gid("InventoryItem", item_id),
                            "locationId": to_gid("Location", location_id),
                            "delta": int(delta),
                            "changeFromQuantity": change_from,
                        }
                    ],
                },
            },
        )
        return quantity_after(data["inventoryAdjustQuantities"])

    def create_webhook(self, topic: str, callback_url: str) -> Webhook:
        """Subscribe `callback_url` to `topic` ("inventory_levels/update" or the enum)."""
        data = self.execute(
            WEBHOOK_CREATE_MUTATION, {"topic": topic_enum(topic), "uri": callback_url}
        )["webhookSubscriptionCreate"]
        if data["userErrors"]:
            raise MarketplaceError(
                f"Webhook subscription refused: {data['userErrors'][0]['message']}"
            )
        return webhook_of(data["webhookSubscription"])

    def webhooks(self) -> list[Webhook]:
        return [webhook_of(node) for node in self.paginate(WEBHOOKS_QUERY, "webhookSubscriptions")]
