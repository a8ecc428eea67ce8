"""Create a sandbox seller and its listings in bulk (used by ``sandbox_seed`` and the tests)."""

from __future__ import annotations

import random
import secrets
import string
from collections.abc import Iterable

from django.db import connection, transaction
from django.utils import timezone

from .listings import initial_attributes
from .models import FBA_CHANNELS, FBM_CHANNEL, Listing, Seller

_ALNUM = string.ascii_uppercase + string.digits
BATCH_SIZE = 5000


# ASINs and listing ids only need to look random, not be secret: a seeded PRNG is 10x faster.
_rng = random.Random(secrets.randbits(64))


def _random_code(length: int, alphabet: str = _ALNUM) -> str:
    return "".join(_rng.choices(alphabet, k=length))


def new_seller_id() -> str:
    """A merchant token shaped like Amazon's (A + 13 upper-case letters and digits)."""
    return "A" + _random_code(13)


def new_asin() -> str:
    return "B0" + _random_code(8)


def seed_seller(
    *,
    listings: Iterable[tuple[str, int, str]],
    marketplace_ids: Iterable[str] = ("ATVPDKIKX0DER",),
    seller_id: str | None = None,
) -> dict:
    """Create a seller with fresh LWA credentials and its listings; return what a client needs.

    ``listings`` yields ``(sku, quantity, fulfillment_channel_code)``: "DEFAULT" for FBM,
    "AMAZON_NA" (or another AMAZON_* network) for FBA. Each SKU is listed in every marketplace
    given. Rows go in with batched ``executemany`` (about 2 s for 100,000 listings on SQLite).

    Returns ``{"seller_id", "refresh_token", "client_id", "client_secret", "marketplace_ids"}``.
    """
    marketplace_ids = list(marketplace_ids)
    now = timezone.now()
    with transaction.atomic():
        seller = Seller.objects.create(
            seller_id=seller_id or new_seller_id(),
            client_id="amzn1.application-oa2-client." + secrets.token_hex(16),
            client_secret="amzn1.oa2-cs.v1." + secrets.token_hex(32),
            refresh_token="Atzr|" + secrets.token_urlsafe(48),
            marketplace_ids=marketplace_ids,
            created_at=now,
        )
        _insert_listings(seller, listings, marketplace_ids, now)
    return {
        "seller_id": seller.seller_id,
        "refresh_token": seller.refresh_token,
        "client_id": seller.client_id,
        "client_secret": seller.client_secret,
        "marketplace_ids": marketplace_ids,
    }


_COLUMNS = (
    "seller",
    "sku",
    "marketplace_id",
    "asin",
    "listing_id",
    "product_type",
    "item_name",
    "price",
    "fulfillment_channel_code",
    "quantity",
    "attributes",
    "issues",
    "created_at",
    "updated_at",
)


def _insert_listings(seller, listings, marketplace_ids, now) -> None:
    """Insert rows with executemany: the ORM's bulk_create spends most of its time preparing
    16 fields per row, which made 100,000 listings take 15 s instead of a few."""
    fields = {f.name: f for f in Listing._meta.concrete_fields}
    table = connection.ops.quote_name(Listing._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(fields[c].column) for c in _COLUMNS)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(_COLUMNS))})"
    # Values that are the same on every row are prepared once.
    timestamp = fields["created_at"].get_db_prep_save(now, connection)
    price = fields["price"].get_db_prep_save(fields["price"].get_default(), connection)
    no_issues = fields["issues"].get_db_prep_save([], connection)
    attributes_field = fields["attributes"]
    listing_prefix = now.strftime("%m%d")
    rows: list[tuple] = []
    with connection.cursor() as cursor:
        for sku, quantity, channel in listings:
            if channel != FBM_CHANNEL and channel not in FBA_CHANNELS:
                raise ValueError(f"unknown fulfillment channel {channel!r} for SKU {sku!r}")
            if quantity < 0:
                raise ValueError(f"negative quantity for SKU {sku!r}")
            asin = new_asin()
            item_name = f"Sandbox product {sku}"
            for marketplace_id in marketplace_ids:
                attributes = initial_attributes(
                    marketplace_id=marketplace_id,
                    item_name=item_name,
                    quantity=quantity,
                    channel=channel,
                )
                rows.append(
                    (
                        seller.pk,
                        sku,
                        marketplace_id,
                        asin,
                        listing_prefix + _random_code(6),
                        "PRODUCT",
                        item_name,
                        price,
                        channel,
                        quantity,
                        attributes_field.get_db_prep_save(attributes, connection),
                        no_issues,
                        timestamp,
                        timestamp,
                    )
                )
            if len(rows) >= BATCH_SIZE:
                cursor.executemany(sql, rows)
                rows.clear()
        if rows:
            cursor.executemany(sql, rows)
