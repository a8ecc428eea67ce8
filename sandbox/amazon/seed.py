"""Create a sandbox seller and its listings in bulk (used by ``sandbox_seed`` and the tests)."""

from __future__ import annotations

import secrets
import string
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from .listings import initial_attributes
from .models import FBA_CHANNELS, FBM_CHANNEL, Listing, Seller

_ALNUM = string.ascii_uppercase + string.digits
BATCH_SIZE = 5000


def _random_code(length: int, alphabet: str = _ALNUM) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


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
    given. Rows go in with ``bulk_create`` so 100,000 listings take seconds.

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
        batch: list[Listing] = []
        for sku, quantity, channel in listings:
            if channel != FBM_CHANNEL and channel not in FBA_CHANNELS:
                raise ValueError(f"unknown fulfillment channel {channel!r} for SKU {sku!r}")
            if quantity < 0:
                raise ValueError(f"negative quantity for SKU {sku!r}")
            asin = new_asin()
            for marketplace_id in marketplace_ids:
                item_name = f"Sandbox product {sku}"
                batch.append(
                    Listing(
                        seller=seller,
                        sku=sku,
                        marketplace_id=marketplace_id,
                        asin=asin,
                        listing_id=now.strftime("%m%d") + _random_code(6),
                        item_name=item_name,
                        fulfillment_channel_code=channel,
                        quantity=quantity,
                        attributes=initial_attributes(
                            marketplace_id=marketplace_id,
                            item_name=item_name,
                            quantity=quantity,
                            channel=channel,
                        ),
                        created_at=now,
                        updated_at=now,
                    )
                )
            if len(batch) >= BATCH_SIZE:
                Listing.objects.bulk_create(batch)
                batch.clear()
        if batch:
            Listing.objects.bulk_create(batch)
    return {
        "seller_id": seller.seller_id,
        "refresh_token": seller.refresh_token,
        "client_id": seller.client_id,
        "client_secret": seller.client_secret,
        "marketplace_ids": marketplace_ids,
    }
