"""Shopify global ids (`gid://shopify/<Type>/<number>`) for sandbox rows.

The number is the primary key plus a per-type offset, so ids look like real ones and inventory
item ids exceed 2**53 (clients that parse them as floats break here, as they would on Shopify).
"""

import re

OFFSETS = {
    "Shop": 60_000_000_000,
    "Location": 75_000_000_000,
    "Product": 8_000_000_000_000,
    "ProductVariant": 45_000_000_000_000,
    "InventoryItem": 2**53,
    "InventoryLevel": 110_000_000_000,
    "Metafield": 30_000_000_000_000,
    "InventoryAdjustmentGroup": 50_000_000_000,
    "WebhookSubscription": 1_400_000_000_000,
    "BulkOperation": 4_000_000_000_000,
}

_GID = re.compile(r"^gid://shopify/(?P<type>[A-Za-z]+)/(?P<num>\d+)(?:\?.*)?$")


def legacy_id(type_name: str, pk: int) -> int:
    """The numeric (REST, "legacy resource") id of a row."""
    return pk + OFFSETS[type_name]


def gid(type_name: str, pk: int) -> str:
    return f"gid://shopify/{type_name}/{legacy_id(type_name, pk)}"


def level_gid(level_pk: int, variant_pk: int) -> str:
    """Inventory level gids carry the item id as a query string, as Shopify's do."""
    return (
        f"{gid('InventoryLevel', level_pk)}"
        f"?inventory_item_id={legacy_id('InventoryItem', variant_pk)}"
    )


def parse(value: str) -> tuple[str, int] | None:
    """`gid://shopify/Location/75000000001` → ("Location", 1) (the pk); None if not ours."""
    match = _GID.match(value or "")
    if not match:
        return None
    type_name = match["type"]
    if type_name not in OFFSETS:
        return None
    pk = int(match["num"]) - OFFSETS[type_name]
    if pk <= 0:
        return None
    return type_name, pk


def pk_of(value: str, type_name: str) -> int | None:
    """The pk behind a gid of the given type, or None when it is malformed or another type."""
    parsed = parse(value)
    if parsed is None or parsed[0] != type_name:
        return None
    return parsed[1]
