"""Plain values the Amazon client returns, and the documents it builds (the quantity feed).

No network and no ``sp_api`` here: a test or a caller can use them without the SDK.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from accounts.marketplaces import REGION_ENDPOINTS

DEFAULT_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
DEFAULT_TIMEOUT = 30.0
FBM_CHANNEL = "DEFAULT"
FULFILLMENT_AVAILABILITY_PATH = "/attributes/fulfillment_availability"
JSON_LISTINGS_FEED = "JSON_LISTINGS_FEED"
FEED_CONTENT_TYPE = "application/json; charset=UTF-8"
MAX_FEED_MESSAGES = 25_000
MAX_FEED_BYTES = 10 * 1024 * 1024  # Amazon's advice: keep feed files under 10 MiB
MERCHANT_LISTINGS_REPORT = "GET_MERCHANT_LISTINGS_ALL_DATA"
LISTING_INCLUDED_DATA = ["summaries", "attributes", "fulfillmentAvailability", "issues"]


@dataclass(frozen=True)
class AmazonConfig:
    """Where and as whom to call SP-API. Blank ``endpoint``/``token_url`` mean Amazon's own."""

    seller_id: str
    marketplace_id: str
    refresh_token: str
    client_id: str
    client_secret: str
    region: str = "NA"
    endpoint: str = ""
    token_url: str = ""

    @property
    def api_endpoint(self) -> str:
        if self.endpoint:
            return self.endpoint.rstrip("/")
        try:
            return REGION_ENDPOINTS[self.region]
        except KeyError:
            raise ValueError(f"unknown SP-API region {self.region!r}") from None

    def __repr__(self) -> str:  # never print secrets in logs or tracebacks
        return (
            f"AmazonConfig(seller_id={self.seller_id!r}, marketplace_id={self.marketplace_id!r}, "
            f"region={self.region!r}, endpoint={self.endpoint!r})"
        )


@dataclass(frozen=True)
class AmazonIssue:
    code: str
    message: str
    severity: str
    attribute_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class AmazonListing:
    """What Amazon holds for one SKU in our marketplace."""

    sku: str
    asin: str | None
    product_type: str | None
    status: tuple[str, ...]
    fulfillment_channels: tuple[str, ...]
    quantity: int | None  # the DEFAULT (merchant-fulfilled) quantity; None when absent
    issues: tuple[AmazonIssue, ...] = ()

    @property
    def is_fba(self) -> bool:
        """Any non-DEFAULT channel means Amazon fulfils it: never push a quantity to it."""
        return any(channel != FBM_CHANNEL for channel in self.fulfillment_channels)


@dataclass(frozen=True)
class PatchResult:
    status: str  # ACCEPTED or INVALID (or VALID for a preview)
    submission_id: str
    issues: tuple[AmazonIssue, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.status == "ACCEPTED"


class FeedStatus(NamedTuple):
    processing_status: str  # IN_QUEUE, IN_PROGRESS, DONE, CANCELLED or FATAL
    result_document_id: str | None


class ReportStatus(NamedTuple):
    processing_status: str
    report_document_id: str | None


@dataclass(frozen=True)
class ListingReportRow:
    """One row of GET_MERCHANT_LISTINGS_ALL_DATA (``raw`` holds every column)."""

    sku: str
    asin: str
    quantity: int | None  # blank for FBA rows
    fulfillment_channel: str
    item_name: str
    status: str
    raw: dict[str, str] = field(repr=False, default_factory=dict)


@dataclass(frozen=True)
class AmazonOrderItem:
    order_item_id: str
    sku: str | None
    asin: str | None
    quantity_ordered: int


@dataclass(frozen=True)
class AmazonOrder:
    order_id: str
    created_time: datetime
    last_updated_time: datetime
    marketplace_id: str | None
    fulfilled_by: str | None  # MERCHANT or AMAZON
    fulfillment_status: str | None  # PENDING, UNSHIPPED, ..., CANCELLED
    items: tuple[AmazonOrderItem, ...]


def build_quantity_feed(seller_id: str, items: Iterable[tuple[str, str, int]]) -> dict:
    """The JSON_LISTINGS_FEED document that sets DEFAULT quantities (messageId 1..n).

    ``items`` yields ``(sku, product_type, quantity)``. Raises ``ValueError`` for an empty or
    oversized feed, a blank SKU or product type, or a quantity that is not an integer ≥ 0.
    """
    messages = []
    for message_id, (sku, product_type, quantity) in enumerate(items, start=1):
        check_quantity(quantity)
        if not sku or not product_type:
            raise ValueError(f"message {message_id}: SKU and product type are required")
        messages.append(
            {
                "messageId": message_id,
                "sku": sku,
                "operationType": "PATCH",
                "productType": product_type,
                "patches": [quantity_patch(quantity)],
            }
        )
    if not messages:
        raise ValueError("a feed needs at least one message")
    if len(messages) > MAX_FEED_MESSAGES:
        raise ValueError(f"a feed takes at most {MAX_FEED_MESSAGES} messages, got {len(messages)}")
    return {"header": {"sellerId": seller_id, "version": "2.0"}, "messages": messages}


def check_quantity(quantity: object) -> None:
    # Amazon must never be told NULL or a negative number (DESIGN.md, the quantity rule).
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
        raise ValueError(f"quantity must be an integer >= 0, got {quantity!r}")


def quantity_patch(quantity: int) -> dict:
    # merge keeps lead_time_to_ship_max_days and restock_date; replace would drop them.
    return {
        "op": "merge",
        "path": FULFILLMENT_AVAILABILITY_PATH,
        "value": [{"fulfillment_channel_code": FBM_CHANNEL, "quantity": quantity}],
    }


def issues_of(raw: Iterable[dict] | None) -> tuple[AmazonIssue, ...]:
    return tuple(
        AmazonIssue(
            code=str(entry.get("code", "")),
            message=entry.get("message", ""),
            severity=entry.get("severity", ""),
            attribute_names=tuple(entry.get("attributeNames") or ()),
        )
        for entry in raw or ()
    )


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def format_time(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("use an aware datetime")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def order_of(raw: dict) -> AmazonOrder:
    fulfillment = raw.get("fulfillment") or {}
    return AmazonOrder(
        order_id=raw["orderId"],
        created_time=parse_time(raw["createdTime"]),
        last_updated_time=parse_time(raw["lastUpdatedTime"]),
        marketplace_id=(raw.get("salesChannel") or {}).get("marketplaceId"),
        fulfilled_by=fulfillment.get("fulfilledBy"),
        fulfillment_status=fulfillment.get("fulfillmentStatus"),
        items=tuple(
            AmazonOrderItem(
                order_item_id=item["orderItemId"],
                sku=(item.get("product") or {}).get("sellerSku"),
                asin=(item.get("product") or {}).get("asin"),
                quantity_ordered=item.get("quantityOrdered", 0),
            )
            for item in raw.get("orderItems") or []
        ),
    )
