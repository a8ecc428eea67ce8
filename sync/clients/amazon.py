"""Amazon Selling Partner API client: the only module of Stocklink that imports ``sp_api``.

It drives the real python-amazon-sp-api classes with credentials passed in code (never read
from the environment or files), an endpoint and token URL that can point at the sandbox, and a
timeout. It turns every vendor failure into ``sync.clients.errors`` exceptions, never retries
(callers own retry and back-off), and never touches the database.

    client = AmazonClient(AmazonConfig(seller_id=..., marketplace_id="ATVPDKIKX0DER",
                                       refresh_token=..., client_id=..., client_secret=...))
    listing = client.get_listing("SKU-1")
    client.patch_quantity("SKU-1", listing.product_type, 7)
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar
from urllib.parse import urlsplit

import httpx
from sp_api.api.feeds.feeds_2021_06_30 import FeedsV20210630
from sp_api.api.listings_items.listings_items_2021_08_01 import ListingsItemsV20210801
from sp_api.api.orders.orders_2026_01_01 import OrdersV20260101
from sp_api.api.reports.reports import Reports
from sp_api.auth import access_token_client
from sp_api.auth._core import build_cache_key
from sp_api.auth.access_token_client import AccessTokenClient
from sp_api.auth.exceptions import AuthorizationError
from sp_api.base import exceptions as sp_exceptions
from sp_api.base._transport_httpx import HttpxTransport
from sp_api.base.credential_provider import FromCodeCredentialProvider

from .amazon_data import (
    DEFAULT_TIMEOUT,
    DEFAULT_TOKEN_URL,
    FBM_CHANNEL,
    FEED_CONTENT_TYPE,
    JSON_LISTINGS_FEED,
    LISTING_INCLUDED_DATA,
    MAX_FEED_BYTES,
    MERCHANT_LISTINGS_REPORT,
    AmazonConfig,
    AmazonListing,
    AmazonOrder,
    FeedStatus,
    ListingReportRow,
    PatchResult,
    ReportStatus,
    build_quantity_feed,
    check_quantity,
    format_time,
    issues_of,
    order_of,
    quantity_patch,
)
from .errors import (
    AuthenticationFailed,
    MarketplaceError,
    NotFound,
    RateLimited,
    TransientError,
)

T = TypeVar("T")


def clear_token_cache() -> None:
    """Forget every cached LWA access token (the library keeps them in module-level caches)."""
    access_token_client.cache.clear()
    access_token_client.grantless_cache.clear()


def _forget_token(refresh_token: str) -> None:
    access_token_client.cache.pop(build_cache_key(refresh_token), None)


def _retry_after(headers) -> float:
    """Seconds until one request fits again: 1 / the rate in x-amzn-RateLimit-Limit, else 1."""
    try:
        rate = float((headers or {}).get("x-amzn-RateLimit-Limit"))
    except (TypeError, ValueError):
        return 1.0
    return 1.0 / rate if rate > 0 else 1.0


@dataclass(frozen=True)
class _Marketplace:
    """What sp_api reads from a ``Marketplaces`` member, for any endpoint."""

    endpoint: str
    marketplace_id: str
    region: str


class _EndpointFixMixin:
    """Send the right Host header and refuse silent HTTP errors; the library is unchanged.

    sp_api builds ``Host`` as ``endpoint[8:]``, which only works for ``https://`` (an
    ``http://127.0.0.1:8000`` endpoint becomes ``27.0.0.1:8000``). It also returns an empty
    payload for an error status without a JSON ``errors`` body (e.g. a proxy's 502 page).
    """

    @property
    def headers(self):
        headers = super().headers
        headers["host"] = urlsplit(self.endpoint).netloc
        return headers

    def _check_response(self, res, *args, **kwargs):
        response = super()._check_response(res, *args, **kwargs)
        if res.status_code >= 400:
            raise _status_error(res.status_code, res.headers, res.text[:200])
        return response


class _ListingsItems(_EndpointFixMixin, ListingsItemsV20210801):
    pass


class _Feeds(_EndpointFixMixin, FeedsV20210630):
    pass


class _Reports(_EndpointFixMixin, Reports):
    pass


class _Orders(_EndpointFixMixin, OrdersV20260101):
    pass


def _token_client_class(token_url: str, timeout: float) -> type[AccessTokenClient]:
    """An AccessTokenClient posting to ``token_url`` (the library's URL is class attributes)."""
    parts = urlsplit(token_url)

    class _AccessTokenClient(AccessTokenClient):
        scheme = f"{parts.scheme}://"
        host = parts.netloc
        path = parts.path

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            # The library gives the token call no timeout of its own.
            self._transport = HttpxTransport(timeout=timeout, verify=self.verify)

    return _AccessTokenClient


def _status_error(status: int, headers, message: str, code: str = "") -> MarketplaceError:
    if status == 429:
        return RateLimited(
            message or "QuotaExceeded", retry_after=_retry_after(headers), code=code, status=status
        )
    if status >= 500:
        return TransientError(message or "Amazon server error", code=code, status=status)
    if status == 404:
        return NotFound(message or "Not found", code=code, status=status)
    if status in (401, 403):
        return AuthenticationFailed(message or "Access denied", code=code, status=status)
    return MarketplaceError(message or f"HTTP {status}", code=code, status=status)


class AmazonClient:
    """SP-API operations Stocklink needs, for one seller and marketplace.

    Every method raises ``RateLimited`` (429), ``TransientError`` (5xx, timeouts, connection
    errors), ``NotFound`` (404), ``AuthenticationFailed`` (refused credentials or token) or
    ``MarketplaceError`` (anything else, with Amazon's message and code). Nothing is retried.
    """

    def __init__(self, config: AmazonConfig, *, timeout: float = DEFAULT_TIMEOUT):
        self.config = config
        self.timeout = timeout
        self._marketplace = _Marketplace(
            endpoint=config.api_endpoint, marketplace_id=config.marketplace_id, region=config.region
        )
        self._token_class = _token_client_class(config.token_url or DEFAULT_TOKEN_URL, timeout)
        self._clients: dict[type, object] = {}

    # -- plumbing --------------------------------------------------------------------------

    def _client(self, cls: type[T], **kwargs) -> T:
        if cls not in self._clients:
            client = cls(
                marketplace=self._marketplace,
                credentials={
                    "refresh_token": self.config.refresh_token,
                    "lwa_app_id": self.config.client_id,
                    "lwa_client_secret": self.config.client_secret,
                },
                # Code only: never fall back to SP_API_* variables or credentials.yml.
                credential_providers=(FromCodeCredentialProvider,),
                timeout=self.timeout,
                auth_token_client_class=self._token_class,
                **kwargs,
            )
            # SP_API_DEFAULT_MARKETPLACE would override the marketplace we passed.
            client.endpoint = self._marketplace.endpoint
            client.marketplace_id = self._marketplace.marketplace_id
            client.region = self._marketplace.region
            self._clients[cls] = client
        return self._clients[cls]

    def _call(self, fn: Callable[[], T]) -> T:
        """Run one library call, translating every failure into our exceptions."""
        try:
            return fn()
        except MarketplaceError as exc:
            if isinstance(exc, AuthenticationFailed):
                _forget_token(self.config.refresh_token)
            raise
        except sp_exceptions.SellingApiException as exc:
            status = getattr(exc, "code", None)
            message = getattr(exc, "message", "") or ""
            details = (exc.error or [{}])[0].get("details") if exc.error else None
            if details:
                message = f"{message} ({details})"
            error = _status_error(
                status if status != 999 else 400,
                exc.headers,
                message,
                getattr(exc, "amzn_code", "") or "",
            )
            if isinstance(error, AuthenticationFailed):
                # A revoked or expired token must not be served again from the cache.
                _forget_token(self.config.refresh_token)
            raise error from exc
        except AuthorizationError as exc:
            status = exc.status_code
            message = f"Login with Amazon refused the credentials: {exc.error_code}"
            if exc.message:
                message += f" ({exc.message})"
            if status == 429 or status >= 500:
                raise _status_error(status, {}, message, exc.error_code or "") from exc
            raise AuthenticationFailed(message, code=exc.error_code or "", status=status) from exc
        except httpx.TimeoutException as exc:
            raise TransientError(f"Amazon did not answer in time: {exc}") from exc
        except httpx.TransportError as exc:
            raise TransientError(f"Could not reach Amazon: {exc}") from exc
        except json.JSONDecodeError as exc:
            # An S3 upload/download error or a proxy page: not an SP-API JSON answer.
            raise TransientError(f"Amazon answered something that is not JSON: {exc}") from exc

    def close(self) -> None:
        """Close the HTTP connections of every library client made so far."""
        for client in self._clients.values():
            client.close()
            client._auth._transport.close()  # the token client keeps its own connections
        self._clients.clear()

    def __enter__(self) -> AmazonClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- Listings Items ----------------------------------------------------------------------

    def get_listing(self, sku: str) -> AmazonListing:
        """Read one SKU: product type, status, channels and the DEFAULT quantity Amazon shows."""
        response = self._call(
            lambda: self._client(_ListingsItems).get_listings_item(
                self.config.seller_id,
                sku,
                marketplaceIds=[self.config.marketplace_id],
                includedData=LISTING_INCLUDED_DATA,
            )
        )
        payload = response.payload
        summaries = payload.get("summaries") or []
        summary = next(
            (s for s in summaries if s.get("marketplaceId") == self.config.marketplace_id),
            summaries[0] if summaries else {},
        )
        availability = payload.get("fulfillmentAvailability") or []
        default = next(
            (a for a in availability if a.get("fulfillmentChannelCode") == FBM_CHANNEL), None
        )
        return AmazonListing(
            sku=payload.get("sku", sku),
            asin=summary.get("asin"),
            product_type=summary.get("productType"),
            status=tuple(summary.get("status") or ()),
            fulfillment_channels=tuple(a.get("fulfillmentChannelCode") for a in availability),
            quantity=default.get("quantity") if default else None,
            issues=issues_of(payload.get("issues")),
        )

    def patch_quantity(self, sku: str, product_type: str, quantity: int) -> PatchResult:
        """Set the DEFAULT (FBM) quantity with a ``merge`` patch. ACCEPTED is not yet applied.

        INVALID comes back as a result (with Amazon's issues), not as an exception.
        """
        check_quantity(quantity)
        body = {"productType": product_type, "patches": [quantity_patch(quantity)]}
        response = self._call(
            lambda: self._client(_ListingsItems).patch_listings_item(
                self.config.seller_id,
                sku,
                marketplaceIds=[self.config.marketplace_id],
                body=body,
            )
        )
        payload = response.payload
        return PatchResult(
            status=payload.get("status", ""),
            submission_id=payload.get("submissionId", ""),
            issues=issues_of(payload.get("issues")),
        )

    # -- Feeds -------------------------------------------------------------------------------

    def submit_quantity_feed(self, items: Iterable[tuple[str, str, int]]) -> str:
        """Upload a JSON_LISTINGS_FEED setting DEFAULT quantities; returns the feed id.

        ``items`` yields ``(sku, product_type, quantity)``; messageIds follow their order, 1..n.
        """
        document = build_quantity_feed(self.config.seller_id, items)
        content = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if len(content) > MAX_FEED_BYTES:
            raise ValueError(f"feed document is {len(content)} bytes; split it below 10 MiB")
        feeds = self._client(_Feeds)
        # Bytes, not str: the library would encode a str as ISO-8859-1.
        upload = self._call(
            lambda: feeds.create_feed_document(io.BytesIO(content), FEED_CONTENT_TYPE)
        )
        response = self._call(
            lambda: feeds.create_feed(
                JSON_LISTINGS_FEED,
                upload.payload["feedDocumentId"],
                marketplaceIds=[self.config.marketplace_id],
            )
        )
        return response.payload["feedId"]

    def get_feed(self, feed_id: str) -> FeedStatus:
        """(processing_status, result_document_id) of a feed."""
        response = self._call(lambda: self._client(_Feeds).get_feed(feed_id))
        payload = response.payload
        return FeedStatus(payload.get("processingStatus", ""), payload.get("resultFeedDocumentId"))

    def get_feed_report(self, result_document_id: str) -> dict:
        """The parsed processing report (header, issues with messageId, summary)."""
        text = self._call(lambda: self._client(_Feeds).get_feed_result_document(result_document_id))
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise MarketplaceError(f"the processing report is not JSON: {exc}") from exc

    # -- Reports -----------------------------------------------------------------------------

    def request_listings_report(self) -> str:
        """Ask for GET_MERCHANT_LISTINGS_ALL_DATA; returns the report id."""
        response = self._call(
            lambda: self._client(_Reports).create_report(
                reportType=MERCHANT_LISTINGS_REPORT, marketplaceIds=[self.config.marketplace_id]
            )
        )
        return response.payload["reportId"]

    def get_report(self, report_id: str) -> ReportStatus:
        """(processing_status, report_document_id) of a report."""
        response = self._call(lambda: self._client(_Reports).get_report(report_id))
        payload = response.payload
        return ReportStatus(payload.get("processingStatus", ""), payload.get("reportDocumentId"))

    def iter_listings_report(self, report_document_id: str) -> Iterator[ListingReportRow]:
        """The rows of a GET_MERCHANT_LISTINGS_ALL_DATA document (tab-separated flat file)."""
        response = self._call(
            lambda: self._client(_Reports).get_report_document(
                report_document_id, download=True, timeout=self.timeout
            )
        )
        text = response.payload.get("document") or ""
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        reader = csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
        for row in reader:
            quantity = (row.get("quantity") or "").strip()
            yield ListingReportRow(
                sku=row.get("seller-sku", ""),
                asin=row.get("asin1", ""),
                quantity=int(quantity) if quantity.isdigit() else None,
                fulfillment_channel=row.get("fulfillment-channel", ""),
                item_name=row.get("item-name", ""),
                status=row.get("status", ""),
                raw=dict(row),
            )

    # -- Orders ------------------------------------------------------------------------------

    def search_orders(
        self,
        last_updated_after: datetime,
        fulfilled_by: str | None = None,
        *,
        fulfillment_statuses: Iterable[str] = (),
        page_size: int = 100,
    ) -> Iterator[AmazonOrder]:
        """Every order updated at or after ``last_updated_after``, walking all pages.

        ``fulfilled_by`` is "MERCHANT" (FBM) or "AMAZON" (FBA); items are included. A 429 in
        the middle raises ``RateLimited``; the orders already yielded stay valid.
        """
        params: dict = {
            "lastUpdatedAfter": format_time(last_updated_after),
            "marketplaceIds": [self.config.marketplace_id],
            "includedData": ["FULFILLMENT"],
            "maxResultsPerPage": page_size,
        }
        if fulfilled_by:
            params["fulfilledBy"] = [fulfilled_by]
        statuses = list(fulfillment_statuses)
        if statuses:
            params["fulfillmentStatuses"] = statuses
        orders = self._client(_Orders, version="2026-01-01")
        token = None
        while True:
            page_params = dict(params, paginationToken=token) if token else dict(params)
            response = self._call(lambda p=page_params: orders.search_orders(**p))
            for raw in response.payload.get("orders") or []:
                yield order_of(raw)
            # sp_api lifts "pagination" out of the payload into ApiResponse.pagination.
            token = (response.pagination or {}).get("nextToken")
            if not token:
                return

    # -- Connection --------------------------------------------------------------------------

    def test_connection(self) -> str:
        """Get a token and make one harmless call; returns a sentence for the merchant.

        Raises ``AuthenticationFailed`` and friends when the credentials or seller are wrong.
        """
        listings = self._client(_ListingsItems)
        self._call(lambda: listings.auth)
        # The SKU is made up: a 404 proves the seller and the token are good.
        with contextlib.suppress(NotFound):
            self._call(
                lambda: listings.get_listings_item(
                    self.config.seller_id,
                    "stocklink-connection-test",
                    marketplaceIds=[self.config.marketplace_id],
                )
            )
        return (
            f"Connected to Amazon as seller {self.config.seller_id} "
            f"(marketplace {self.config.marketplace_id}, region {self.config.region})."
        )
