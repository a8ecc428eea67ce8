"""What the sync engine asks of each vendor: the real clients and the test fakes both fit these.

Services type their clients with these Protocols and get them from `factory.py`; the methods
are the whole surface the engine uses, so a fake that satisfies them is a complete stand-in.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Protocol

from .amazon_data import (
    AmazonListing,
    AmazonOrder,
    FeedStatus,
    ListingReportRow,
    PatchResult,
    ReportStatus,
)
from .shopify_data import ItemStock, Location, VariantStock, Webhook


class AmazonApi(Protocol):
    """SP-API for one seller and marketplace (`amazon.AmazonClient`)."""

    def get_listing(self, sku: str) -> AmazonListing: ...

    def patch_quantity(self, sku: str, product_type: str, quantity: int) -> PatchResult: ...

    def submit_quantity_feed(self, items: Iterable[tuple[str, str, int]]) -> str: ...

    def get_feed(self, feed_id: str) -> FeedStatus: ...

    def get_feed_report(self, result_document_id: str) -> dict: ...

    def request_listings_report(self) -> str: ...

    def get_report(self, report_id: str) -> ReportStatus: ...

    def iter_listings_report(self, report_document_id: str) -> Iterator[ListingReportRow]: ...

    def search_orders(
        self, last_updated_after: datetime, fulfilled_by: str | None = None, *, page_size: int
    ) -> Iterator[AmazonOrder]: ...

    def test_connection(self) -> str: ...

    def close(self) -> None: ...


class ShopifyApi(Protocol):
    """Admin GraphQL for one shop (`shopify.ShopifyClient`)."""

    def test_connection(self) -> dict: ...

    def locations(self) -> list[Location]: ...

    def iter_variants(
        self,
        *,
        metafield: tuple[str, str],
        updated_since: datetime | None,
        max_locations: int,
        bulk: bool,
        bulk_operation: str | None,
    ) -> Iterator[VariantStock]: ...

    def start_variants_bulk(
        self, *, metafield: tuple[str, str], updated_since: datetime | None
    ) -> str: ...

    def inventory_levels_for_items(
        self, item_ids: Iterable[int], *, max_locations: int
    ) -> dict[int, ItemStock]: ...

    def adjust_available(
        self,
        item_id: int,
        location_id: int,
        delta: int,
        *,
        change_from: int | None,
        idempotency_key: str,
        reference_uri: str,
        reason: str,
    ) -> int: ...

    def create_webhook(self, topic: str, callback_url: str) -> Webhook: ...

    def webhooks(self) -> list[Webhook]: ...

    def close(self) -> None: ...
