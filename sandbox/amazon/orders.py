"""Orders: place and cancel them (admin actions, tests) and answer searchOrders (2026-01-01).

Placing an order takes the units off the listing's Amazon quantity, as Amazon does when it
sells; cancelling gives them back, once.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .listings import iso
from .models import Listing, Order, OrderItem

MARKETPLACE_NAMES = {
    "ATVPDKIKX0DER": "Amazon.com",
    "A2EUQ1WTGCTBG2": "Amazon.ca",
    "A1F83G8C2ARO7P": "Amazon.co.uk",
    "A1PA6795UKMFR9": "Amazon.de",
}
FULFILLED_BY = ("MERCHANT", "AMAZON")
INCLUDED_DATA = (
    "BUYER",
    "RECIPIENT",
    "PROCEEDS",
    "EXPENSE",
    "PROMOTION",
    "CANCELLATION",
    "FULFILLMENT",
    "PACKAGES",
    "TAX",
    "PAYMENT",
    "FULFILLMENT_ORDERS",
)


class OrderError(ValueError):
    """The order cannot be placed (no stock) or changed."""


def _digits(n: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(n))


def place_order(*, listing: Listing, quantity: int = 1, fulfilled_by: str | None = None) -> Order:
    """Sell ``quantity`` units of a listing; lowers the quantity Amazon shows.

    ``fulfilled_by`` defaults to the listing's channel: MERCHANT (MFN) for DEFAULT, AMAZON (AFN)
    for an FBA SKU. Raises ``OrderError`` when there are not enough units to sell.
    """
    if quantity < 1:
        raise OrderError("an order needs at least one unit")
    fulfilled_by = fulfilled_by or ("AMAZON" if listing.is_fba else "MERCHANT")
    if fulfilled_by not in FULFILLED_BY:
        raise OrderError(f"fulfilled_by must be one of {FULFILLED_BY}")
    with transaction.atomic():
        locked = Listing.objects.select_for_update().get(pk=listing.pk)
        if locked.quantity < quantity:
            raise OrderError(
                f"{locked.sku} has {locked.quantity} unit(s) on Amazon; cannot sell {quantity}"
            )
        locked.set_amazon_quantity(locked.quantity - quantity)
        locked.save()
        now = timezone.now()
        order = Order.objects.create(
            order_id=f"{_digits(3)}-{_digits(7)}-{_digits(7)}",
            seller_id=locked.seller_id,
            marketplace_id=locked.marketplace_id,
            fulfilled_by=fulfilled_by,
            fulfillment_status=Order.Status.UNSHIPPED,
            created_at=now,
            last_updated_at=now,
        )
        OrderItem.objects.create(
            order=order,
            order_item_id=_digits(14),
            listing=locked,
            sku=locked.sku,
            asin=locked.asin,
            title=locked.item_name,
            quantity_ordered=quantity,
        )
    listing.refresh_from_db()
    return order


def cancel_order(*, order: Order) -> bool:
    """Cancel an order and give its units back to the listings. False if already cancelled."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.fulfillment_status == Order.Status.CANCELLED:
            return False
        for item in locked.items.select_related("listing"):
            if item.listing_id is None:
                continue
            listing = Listing.objects.select_for_update().get(pk=item.listing_id)
            listing.set_amazon_quantity(listing.quantity + item.quantity_ordered)
            listing.save()
        locked.fulfillment_status = Order.Status.CANCELLED
        locked.last_updated_at = timezone.now()
        locked.save(update_fields=["fulfillment_status", "last_updated_at"])
    order.refresh_from_db()
    return True


def order_json(order: Order, included: set[str]) -> dict:
    """An ``Order`` of the Orders API 2026-01-01 with the requested ``includedData``."""
    items = []
    for item in order.items.all():
        entry: dict = {
            "orderItemId": item.order_item_id,
            "quantityOrdered": item.quantity_ordered,
            "product": {"asin": item.asin, "title": item.title, "sellerSku": item.sku},
        }
        if "FULFILLMENT" in included:
            shipped = order.fulfillment_status == Order.Status.SHIPPED
            entry["fulfillment"] = {
                "quantityFulfilled": item.quantity_ordered if shipped else 0,
                "quantityUnfulfilled": 0 if shipped else item.quantity_ordered,
            }
        if "CANCELLATION" in included and order.fulfillment_status == Order.Status.CANCELLED:
            entry["cancellation"] = {"cancellationExecution": {"cancelledBy": "SELLER"}}
        items.append(entry)
    data: dict = {
        "orderId": order.order_id,
        "createdTime": iso(order.created_at),
        "lastUpdatedTime": iso(order.last_updated_at),
        "salesChannel": {
            "channelName": "AMAZON",
            "marketplaceId": order.marketplace_id,
            "marketplaceName": MARKETPLACE_NAMES.get(order.marketplace_id, "Amazon"),
        },
        "orderItems": items,
    }
    if "FULFILLMENT" in included:
        data["fulfillment"] = {
            "fulfillmentStatus": order.fulfillment_status,
            "fulfilledBy": order.fulfilled_by,
        }
    return data


class SearchError(ValueError):
    """An invalid searchOrders request (answered 400 InvalidInput)."""


@dataclass(frozen=True)
class OrderSearch:
    """The filters of one searchOrders request, frozen across its pages."""

    time_field: str  # "created_at" or "last_updated_at"
    after: datetime
    before: datetime
    fulfilled_by: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    marketplace_ids: tuple[str, ...] = ()


def encode_token(search: OrderSearch, last: tuple[datetime, int]) -> str:
    payload = {"before": search.before.isoformat(), "t": last[0].isoformat(), "id": last[1]}
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def decode_token(token: str) -> tuple[datetime, datetime, int]:
    """(before, last time, last id) from a pagination token; SearchError if it is not ours."""
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return (
            datetime.fromisoformat(payload["before"]),
            datetime.fromisoformat(payload["t"]),
            int(payload["id"]),
        )
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise SearchError("Invalid paginationToken.") from exc


def search_orders(
    *, seller_id: int, search: OrderSearch, page_size: int, after_key: tuple | None
) -> tuple[list[Order], tuple[datetime, int] | None]:
    """One page of orders in (time, id) order, and the key of its last order if more follow."""
    field = search.time_field
    qs = Order.objects.filter(
        seller_id=seller_id, **{f"{field}__gte": search.after, f"{field}__lte": search.before}
    )
    if search.fulfilled_by:
        qs = qs.filter(fulfilled_by__in=search.fulfilled_by)
    if search.statuses:
        qs = qs.filter(fulfillment_status__in=search.statuses)
    if search.marketplace_ids:
        qs = qs.filter(marketplace_id__in=search.marketplace_ids)
    if after_key is not None:
        last_time, last_id = after_key
        qs = qs.filter(
            Q(**{f"{field}__gt": last_time}) | Q(**{field: last_time, "pk__gt": last_id})
        )
    page = list(qs.order_by(field, "pk").prefetch_related("items")[: page_size + 1])
    if len(page) > page_size:
        page = page[:page_size]
        last = page[-1]
        return page, (getattr(last, field), last.pk)
    return page, None
