"""Plain values the Shopify client returns, and the helpers that read Shopify's answers.

Shopify ids are gids (`gid://shopify/InventoryItem/123`); the helpers here return the numbers as
Python ints (they can exceed 2**53, so never pass them through a float).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .errors import MarketplaceError

API_VERSION = "2026-07"


def iso(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("aware datetimes only")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class StaleQuantity(MarketplaceError):
    """`changeFromQuantity` did not match Shopify's current quantity: re-read, then retry
    with a new idempotency key."""


@dataclass(frozen=True)
class ShopifyConfig:
    """Where and how to reach one shop. `base_url` blank means the real Shopify."""

    shop_domain: str
    access_token: str = ""
    client_id: str = ""
    client_secret: str = ""
    api_version: str = API_VERSION
    base_url: str = ""

    @property
    def root(self) -> str:
        return (self.base_url or f"https://{self.shop_domain}").rstrip("/")

    @property
    def graphql_url(self) -> str:
        return f"{self.root}/admin/api/{self.api_version}/graphql.json"

    @property
    def token_url(self) -> str:
        return f"{self.root}/admin/oauth/access_token"

    @property
    def uses_client_credentials(self) -> bool:
        return not self.access_token and bool(self.client_id and self.client_secret)


@dataclass(frozen=True)
class Location:
    id: int
    gid: str
    name: str
    is_active: bool
    fulfills_online_orders: bool = True


@dataclass(frozen=True)
class VariantStock:
    """A variant and its stock as Stocklink needs it (one row of `iter_variants`)."""

    id: int
    gid: str
    sku: str
    title: str
    product_id: int
    product_title: str
    inventory_item_id: int
    tracked: bool
    inventory_policy: str
    available: dict[int, int]  # location id → available (negative when oversold)
    metafield_value: str | None
    updated_at: datetime | None


@dataclass(frozen=True)
class ItemStock:
    """One inventory item's stock, from a targeted re-read after a webhook."""

    inventory_item_id: int
    sku: str
    tracked: bool
    available: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Webhook:
    id: int
    gid: str
    topic: str  # GraphQL enum, e.g. INVENTORY_LEVELS_UPDATE
    uri: str


def gid_number(gid: str) -> int:
    """`gid://shopify/InventoryLevel/123?inventory_item_id=4` → 123, as an exact int."""
    return int(gid.rsplit("/", 1)[-1].split("?", 1)[0])


def to_gid(type_name: str, number: int | str) -> str:
    if isinstance(number, str) and number.startswith("gid://"):
        return number
    return f"gid://shopify/{type_name}/{int(number)}"


def topic_enum(topic: str) -> str:
    """`inventory_levels/update` → `INVENTORY_LEVELS_UPDATE` (enums pass through)."""
    return topic.replace("/", "_").upper()


def verify_webhook(secret: str, raw_body: bytes, hmac_header: str) -> bool:
    """Shopify's webhook check: base64(HMAC-SHA256(secret, raw body)) equals the header.

    Call it on the raw request body, before parsing JSON; the comparison is constant-time.
    """
    if not secret or not hmac_header:
        return False
    digest = hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).digest()
    expected = base64.b64encode(digest)
    # Bytes, not str: compare_digest refuses non-ASCII str, and a forged header may hold any.
    given = hmac_header.strip().encode("utf-8", errors="replace")
    return hmac.compare_digest(expected, given)


def levels_of(connection: dict) -> dict[int, int]:
    available: dict[int, int] = {}
    for level in connection.get("nodes") or []:
        for quantity in level.get("quantities") or []:
            if quantity["name"] == "available":
                available[gid_number(level["location"]["id"])] = int(quantity["quantity"])
    return available


def variant_stock(node: dict, available: dict[int, int]) -> VariantStock:
    item = node["inventoryItem"]
    metafield = node.get("metafield")
    return VariantStock(
        id=gid_number(node["id"]),
        gid=node["id"],
        sku=node.get("sku") or "",
        title=node.get("title") or "",
        product_id=gid_number(node["product"]["id"]),
        product_title=node["product"]["title"],
        inventory_item_id=gid_number(item["id"]),
        tracked=item["tracked"],
        inventory_policy=node["inventoryPolicy"],
        available=available,
        metafield_value=metafield["value"] if metafield else None,
        updated_at=parse_time(node.get("updatedAt")),
    )


def quantity_after(payload: dict) -> int:
    errors = payload["userErrors"]
    if errors:
        first = errors[0]
        code = first.get("code") or ""
        error = StaleQuantity if code == "CHANGE_FROM_QUANTITY_STALE" else MarketplaceError
        raise error(f"Shopify refused the inventory change: {first['message']}", code=code)
    for change in payload["inventoryAdjustmentGroup"]["changes"]:
        if change["name"] == "available":
            return int(change["quantityAfterChange"])
    raise MarketplaceError("Shopify's answer has no available quantity change")


def webhook_of(node: dict) -> Webhook:
    return Webhook(id=gid_number(node["id"]), gid=node["id"], topic=node["topic"], uri=node["uri"])
