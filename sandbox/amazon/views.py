"""HTTP face of the simulated Amazon: LWA tokens and the SP-API operations Stocklink uses.

Every SP-API view goes through ``_api``: access token check, fault knobs, the seller's token
bucket, then the handler; answers carry ``x-amzn-RateLimit-Limit`` and ``x-amzn-RequestId``,
and errors use the models' ``ErrorList`` shape. JSON shapes follow the official models.
"""

from __future__ import annotations

import json
import random
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from . import feeds as feeds_service
from . import orders as orders_service
from . import reports as reports_service
from .listings import INCLUDED_DATA, apply_due, iso, item_json, submit_patches
from .models import AccessToken, Document, Feed, Listing, Report, SandboxSettings, Seller
from .ratelimit import USAGE_PLANS, count_injected_5xx, count_injected_429, take_token

TOKEN_LIFETIME = timedelta(hours=1)
UPLOAD_URL_LIFETIME = timedelta(minutes=5)  # Amazon's pre-signed upload URLs live 5 minutes


class ApiError(Exception):
    """An error answered in the SP-API ``{"errors": [...]}`` shape."""

    def __init__(self, status: int, code: str, message: str, details: str = ""):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details

    def response(self) -> JsonResponse:
        error = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return JsonResponse({"errors": [error]}, status=self.status)


def invalid_input(details: str) -> ApiError:
    return ApiError(400, "InvalidInput", "Request has missing or invalid parameters.", details)


def not_found(details: str) -> ApiError:
    return ApiError(404, "NotFound", "The resource specified does not exist.", details)


# ---------------------------------------------------------------------------------------------
# Login with Amazon


def _lwa_error(status: int, error: str, description: str) -> JsonResponse:
    return JsonResponse({"error": error, "error_description": description}, status=status)


@csrf_exempt
def lwa_token(request: HttpRequest) -> JsonResponse:
    """POST /auth/o2/token: exchange a refresh token for a one-hour access token."""
    if request.method != "POST":
        return _lwa_error(405, "invalid_request", "The token endpoint only accepts POST.")
    form = request.POST
    grant_type = form.get("grant_type", "")
    if grant_type != "refresh_token":
        return _lwa_error(
            400, "unsupported_grant_type", f"The grant type {grant_type!r} is not supported."
        )
    missing = [k for k in ("refresh_token", "client_id", "client_secret") if not form.get(k)]
    if missing:
        return _lwa_error(400, "invalid_request", f"Missing parameter(s): {', '.join(missing)}.")
    seller = Seller.objects.filter(client_id=form["client_id"]).first()
    if seller is None or not secrets.compare_digest(seller.client_secret, form["client_secret"]):
        return _lwa_error(401, "invalid_client", "Client authentication failed")
    if not secrets.compare_digest(seller.refresh_token, form["refresh_token"]):
        return _lwa_error(
            400, "invalid_grant", "The request has an invalid grant parameter : refresh_token"
        )
    token = AccessToken.objects.create(
        token="Atza|" + secrets.token_urlsafe(64),
        seller=seller,
        expires_at=timezone.now() + TOKEN_LIFETIME,
    )
    return JsonResponse(
        {
            "access_token": token.token,
            "refresh_token": seller.refresh_token,
            "token_type": "bearer",
            "expires_in": int(TOKEN_LIFETIME.total_seconds()),
        }
    )


# ---------------------------------------------------------------------------------------------
# The SP-API pipeline

Handler = Callable[..., HttpResponse]


def _authenticate(request: HttpRequest) -> Seller:
    token = request.headers.get("x-amz-access-token", "")
    if not token:
        raise ApiError(
            403,
            "Unauthorized",
            "Access to requested resource is denied.",
            "Access token is missing.",
        )
    found = AccessToken.objects.select_related("seller").filter(token=token).first()
    if found is None:
        raise ApiError(
            403,
            "Unauthorized",
            "Access to requested resource is denied.",
            "The access token you provided is revoked, malformed or invalid.",
        )
    if found.is_expired:
        raise ApiError(
            403,
            "Unauthorized",
            "Access to requested resource is denied.",
            "The access token you provided has expired.",
        )
    return found.seller


def _api(handlers: dict[str, tuple[str, Handler]]) -> Callable[..., HttpResponse]:
    """One URL's view: pick the operation by method and run it through the pipeline."""

    @csrf_exempt
    def view(request: HttpRequest, **kwargs) -> HttpResponse:
        request_id = str(uuid.uuid4())
        plan_header = None
        try:
            if request.method not in handlers:
                raise ApiError(405, "MethodNotAllowed", f"{request.method} is not supported here.")
            operation, handler = handlers[request.method]
            plan_header = USAGE_PLANS[operation].header
            seller = _authenticate(request)
            knobs = SandboxSettings.load()
            if knobs.fault_5xx_share and random.random() < knobs.fault_5xx_share:
                count_injected_5xx(seller.seller_id, operation)
                if random.random() < 0.5:
                    raise ApiError(
                        500, "InternalFailure", "We encountered an internal error. Try again."
                    )
                raise ApiError(503, "ServiceUnavailable", "Service temporarily unavailable.")
            if knobs.fault_429_share and random.random() < knobs.fault_429_share:
                count_injected_429(seller.seller_id, operation)
                raise _quota_exceeded()
            if knobs.rate_limits_enabled and not take_token(seller.seller_id, operation):
                raise _quota_exceeded()
            response = handler(request, seller, **kwargs)
        except ApiError as exc:
            response = exc.response()
        if plan_header:
            response["x-amzn-RateLimit-Limit"] = plan_header
        response["x-amzn-RequestId"] = request_id
        return response

    return view


def _quota_exceeded() -> ApiError:
    return ApiError(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")


def _list_param(request: HttpRequest, name: str) -> list[str]:
    """A list parameter sent as CSV (Amazon's format) or repeated (what httpx sends for lists)."""
    values = []
    for raw in request.GET.getlist(name):
        values.extend(part.strip() for part in raw.split(",") if part.strip())
    return values


def _json_body(request: HttpRequest) -> dict:
    try:
        body = json.loads(request.body or b"null")
    except ValueError as exc:
        raise invalid_input(f"The request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise invalid_input("The request body must be a JSON object.")
    return body


def _marketplace(request: HttpRequest, seller: Seller) -> str:
    marketplace_ids = _list_param(request, "marketplaceIds")
    if not marketplace_ids:
        raise invalid_input("Missing required parameter 'marketplaceIds'.")
    unknown = [mp for mp in marketplace_ids if mp not in seller.marketplace_ids]
    if unknown:
        raise invalid_input(f"Invalid marketplaceIds: {', '.join(unknown)}.")
    if len(marketplace_ids) > 1:
        raise invalid_input("Only one marketplace is supported per request.")
    return marketplace_ids[0]


def _check_seller(seller: Seller, seller_id: str) -> None:
    if seller_id != seller.seller_id:
        raise ApiError(
            403,
            "Unauthorized",
            "Access to requested resource is denied.",
            "The seller in the path is not the seller of the access token.",
        )


def _parse_time(request: HttpRequest, name: str) -> datetime | None:
    raw = request.GET.get(name)
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise invalid_input(f"'{name}' must be an ISO 8601 date-time.") from exc
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


# ---------------------------------------------------------------------------------------------
# Listings Items 2021-08-01


def _get_listing(seller: Seller, marketplace_id: str, sku: str) -> Listing:
    listing = Listing.objects.filter(seller=seller, marketplace_id=marketplace_id, sku=sku).first()
    if listing is None:
        raise not_found(f"SKU '{sku}' not found in marketplace {marketplace_id}")
    return listing


def get_listings_item(request: HttpRequest, seller: Seller, seller_id: str, sku: str):
    _check_seller(seller, seller_id)
    marketplace_id = _marketplace(request, seller)
    included = _list_param(request, "includedData") or ["summaries"]
    unknown = [name for name in included if name not in INCLUDED_DATA]
    if unknown:
        raise invalid_input(f"Invalid includedData: {', '.join(unknown)}.")
    listing = _get_listing(seller, marketplace_id, sku)
    if apply_due(listing):
        listing.save()
    return JsonResponse(item_json(listing, included))


def patch_listings_item(request: HttpRequest, seller: Seller, seller_id: str, sku: str):
    _check_seller(seller, seller_id)
    marketplace_id = _marketplace(request, seller)
    body = _json_body(request)
    product_type = body.get("productType")
    patches = body.get("patches")
    if not isinstance(product_type, str) or not product_type:
        raise invalid_input("Missing required field 'productType' in the request body.")
    if not isinstance(patches, list) or not patches:
        raise invalid_input("The request body needs a non-empty 'patches' array.")
    mode = request.GET.get("mode")
    if mode not in (None, "", "VALIDATION_PREVIEW"):
        raise invalid_input(f"Invalid mode {mode!r}.")
    listing = _get_listing(seller, marketplace_id, sku)
    submission = submit_patches(
        listing=listing,
        product_type=product_type,
        patches=patches,
        preview=mode == "VALIDATION_PREVIEW",
    )
    return JsonResponse(
        {
            "sku": sku,
            "status": submission.status,
            "submissionId": submission.submission_id,
            "issues": submission.issues,
        }
    )


# ---------------------------------------------------------------------------------------------
# Feeds 2021-06-30


def _document_url(request: HttpRequest, document: Document) -> str:
    # Absolute and built from the request's host, so it works wherever the sandbox runs.
    return request.build_absolute_uri(reverse("sandbox_amazon:document", args=[document.url_key]))


def create_feed_document(request: HttpRequest, seller: Seller):
    body = _json_body(request)
    content_type = body.get("contentType")
    if not isinstance(content_type, str) or not content_type:
        raise invalid_input("Missing required field 'contentType'.")
    document = feeds_service.create_document(
        seller=seller, kind=Document.Kind.FEED_INPUT, content_type=content_type
    )
    return JsonResponse(
        {"feedDocumentId": document.document_id, "url": _document_url(request, document)},
        status=201,
    )


def create_feed(request: HttpRequest, seller: Seller):
    body = _json_body(request)
    feed_type = body.get("feedType")
    document_id = body.get("inputFeedDocumentId")
    marketplace_ids = body.get("marketplaceIds")
    if not isinstance(feed_type, str) or not feed_type:
        raise invalid_input("Missing required field 'feedType'.")
    if not isinstance(marketplace_ids, list) or not marketplace_ids or len(marketplace_ids) > 25:
        raise invalid_input("'marketplaceIds' must list 1 to 25 marketplaces.")
    unknown = [mp for mp in marketplace_ids if mp not in seller.marketplace_ids]
    if unknown:
        raise invalid_input(f"Invalid marketplaceIds: {', '.join(map(str, unknown))}.")
    document = Document.objects.filter(
        seller=seller, document_id=document_id, kind=Document.Kind.FEED_INPUT
    ).first()
    if document is None:
        raise invalid_input(f"Invalid inputFeedDocumentId {document_id!r}.")
    feed = Feed.objects.create(
        feed_id=feeds_service.new_feed_id(),
        seller=seller,
        feed_type=feed_type,
        marketplace_ids=marketplace_ids,
        input_document=document,
    )
    return JsonResponse({"feedId": feed.feed_id}, status=202)


def get_feed(request: HttpRequest, seller: Seller, feed_id: str):
    feed = Feed.objects.filter(seller=seller, feed_id=feed_id).first()
    if feed is None:
        raise not_found(f"Feed {feed_id} not found.")
    feed = feeds_service.refresh_status(feed)
    data = {
        "feedId": feed.feed_id,
        "feedType": feed.feed_type,
        "marketplaceIds": feed.marketplace_ids,
        "createdTime": iso(feed.created_at),
        "processingStatus": feed.processing_status,
    }
    if feed.processing_start_time:
        data["processingStartTime"] = iso(feed.processing_start_time)
    if feed.processing_end_time:
        data["processingEndTime"] = iso(feed.processing_end_time)
    if feed.result_document_id:
        data["resultFeedDocumentId"] = feed.result_document.document_id
    return JsonResponse(data)


def get_feed_document(request: HttpRequest, seller: Seller, document_id: str):
    document = Document.objects.filter(
        seller=seller,
        document_id=document_id,
        kind__in=[Document.Kind.FEED_INPUT, Document.Kind.FEED_RESULT],
    ).first()
    if document is None:
        raise not_found(f"Feed document {document_id} not found.")
    return JsonResponse(
        {"feedDocumentId": document.document_id, "url": _document_url(request, document)}
    )


# ---------------------------------------------------------------------------------------------
# Reports 2021-06-30


def create_report(request: HttpRequest, seller: Seller):
    body = _json_body(request)
    report_type = body.get("reportType")
    marketplace_ids = body.get("marketplaceIds")
    if not isinstance(report_type, str) or not report_type:
        raise invalid_input("Missing required field 'reportType'.")
    if not isinstance(marketplace_ids, list) or not marketplace_ids:
        raise invalid_input("Missing required field 'marketplaceIds'.")
    unknown = [mp for mp in marketplace_ids if mp not in seller.marketplace_ids]
    if unknown:
        raise invalid_input(f"Invalid marketplaceIds: {', '.join(map(str, unknown))}.")
    report = Report.objects.create(
        report_id=reports_service.new_report_id(),
        seller=seller,
        report_type=report_type,
        marketplace_ids=marketplace_ids,
    )
    return JsonResponse({"reportId": report.report_id}, status=202)


def get_report(request: HttpRequest, seller: Seller, report_id: str):
    report = Report.objects.filter(seller=seller, report_id=report_id).first()
    if report is None:
        raise not_found(f"Report {report_id} not found.")
    report = reports_service.refresh_report(report)
    data = {
        "reportId": report.report_id,
        "reportType": report.report_type,
        "marketplaceIds": report.marketplace_ids,
        "createdTime": iso(report.created_at),
        "processingStatus": report.processing_status,
    }
    if report.processing_start_time:
        data["processingStartTime"] = iso(report.processing_start_time)
    if report.processing_end_time:
        data["processingEndTime"] = iso(report.processing_end_time)
    if report.document_id:
        data["reportDocumentId"] = report.document.document_id
    return JsonResponse(data)


def get_report_document(request: HttpRequest, seller: Seller, document_id: str):
    document = Document.objects.filter(
        seller=seller, document_id=document_id, kind=Document.Kind.REPORT
    ).first()
    if document is None:
        raise not_found(f"Report document {document_id} not found.")
    return JsonResponse(
        {"reportDocumentId": document.document_id, "url": _document_url(request, document)}
    )


# ---------------------------------------------------------------------------------------------
# Orders 2026-01-01


def search_orders(request: HttpRequest, seller: Seller):
    created_after = _parse_time(request, "createdAfter")
    created_before = _parse_time(request, "createdBefore")
    updated_after = _parse_time(request, "lastUpdatedAfter")
    updated_before = _parse_time(request, "lastUpdatedBefore")
    token = request.GET.get("paginationToken")
    if (created_after is None) == (updated_after is None):
        raise invalid_input("Exactly one of 'createdAfter' and 'lastUpdatedAfter' is required.")
    if created_after and (updated_before is not None):
        raise invalid_input("'createdAfter' cannot be combined with 'lastUpdatedBefore'.")
    if updated_after and (created_before is not None):
        raise invalid_input("'lastUpdatedAfter' cannot be combined with 'createdBefore'.")
    fulfilled_by = _list_param(request, "fulfilledBy")
    statuses = _list_param(request, "fulfillmentStatuses")
    included = set(_list_param(request, "includedData"))
    for name, values, allowed in (
        ("fulfilledBy", fulfilled_by, orders_service.FULFILLED_BY),
        ("fulfillmentStatuses", statuses, [s.value for s in orders_service.Order.Status]),
        ("includedData", included, orders_service.INCLUDED_DATA),
    ):
        bad = [v for v in values if v not in allowed]
        if bad:
            raise invalid_input(f"Invalid {name}: {', '.join(sorted(bad))}.")
    try:
        page_size = int(request.GET.get("maxResultsPerPage", "100"))
    except ValueError as exc:
        raise invalid_input("'maxResultsPerPage' must be an integer.") from exc
    if not 1 <= page_size <= 100:
        raise invalid_input("'maxResultsPerPage' must be between 1 and 100.")
    marketplace_ids = _list_param(request, "marketplaceIds")
    if len(marketplace_ids) > 50:
        raise invalid_input("At most 50 marketplaceIds.")
    now = timezone.now()
    after_key = None
    before = updated_before or created_before or now
    if token:
        before, last_time, last_id = orders_service.decode_token(token)
        after_key = (last_time, last_id)
    search = orders_service.OrderSearch(
        time_field="created_at" if created_after else "last_updated_at",
        after=created_after or updated_after,
        before=before,
        fulfilled_by=tuple(fulfilled_by),
        statuses=tuple(statuses),
        marketplace_ids=tuple(marketplace_ids),
    )
    page, last = orders_service.search_orders(
        seller_id=seller.pk, search=search, page_size=page_size, after_key=after_key
    )
    data: dict = {"orders": [orders_service.order_json(order, included) for order in page]}
    if last is not None:
        data["pagination"] = {"nextToken": orders_service.encode_token(search, last)}
    data["createdBefore" if created_after else "lastUpdatedBefore"] = iso(before)
    return JsonResponse(data)


# ---------------------------------------------------------------------------------------------
# Document transfer (the sandbox's stand-in for S3 pre-signed URLs: no access token needed)


def _s3_error(status: int, code: str, message: str) -> HttpResponse:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    )
    return HttpResponse(body, status=status, content_type="application/xml")


@csrf_exempt
def document(request: HttpRequest, url_key: str) -> HttpResponse:
    """PUT uploads a feed document; GET downloads any document."""
    found = get_object_or_404(Document, url_key=url_key)
    if request.method == "PUT":
        if found.kind != Document.Kind.FEED_INPUT:
            return _s3_error(403, "AccessDenied", "This document cannot be written.")
        if timezone.now() - found.created_at > UPLOAD_URL_LIFETIME:
            return _s3_error(403, "AccessDenied", "Request has expired")
        found.content = request.body
        found.content_type = request.content_type or found.content_type
        found.uploaded_at = timezone.now()
        found.save(update_fields=["content", "content_type", "uploaded_at"])
        return HttpResponse(status=200)
    if request.method == "GET":
        if found.content is None:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        return HttpResponse(bytes(found.content), content_type=found.content_type)
    return _s3_error(405, "MethodNotAllowed", "The specified method is not allowed.")


listings_item_view = _api(
    {
        "GET": ("getListingsItem", get_listings_item),
        "PATCH": ("patchListingsItem", patch_listings_item),
    }
)
feed_documents_view = _api({"POST": ("createFeedDocument", create_feed_document)})
feed_document_view = _api({"GET": ("getFeedDocument", get_feed_document)})
feeds_view = _api({"POST": ("createFeed", create_feed)})
feed_view = _api({"GET": ("getFeed", get_feed)})
reports_view = _api({"POST": ("createReport", create_report)})
report_view = _api({"GET": ("getReport", get_report)})
report_document_view = _api({"GET": ("getReportDocument", get_report_document)})
orders_view = _api({"GET": ("searchOrders", search_orders)})
