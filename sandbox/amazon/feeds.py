"""Feeds 2021-06-30: the JSON_LISTINGS_FEED processor and its processing report.

A feed moves IN_QUEUE → IN_PROGRESS → DONE (or FATAL) as time passes: the first half of the
"feed processing delay" knob it waits in the queue, the second half it is in progress, then the
next read processes it. Processing is done once, under a row lock, by whoever reads it first.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .listings import CODE_SKU_NOT_FOUND, item_json, submit_patches
from .models import Document, Feed, Listing, SandboxSettings
from .specs import json_schema_errors

FEED_SCHEMA = "listings-feed-schema-v2.json"
MESSAGE_SCHEMA = "listings-feed-message-schema-v2.json"
REPORT_SCHEMA = "listings-feed-processing-report-schema-v2.json"
JSON_LISTINGS_FEED = "JSON_LISTINGS_FEED"
# Sandbox codes for feed-level failures (Amazon's own FATAL reports carry similar messages).
CODE_FATAL = "4000001"
CODE_DUPLICATE_MESSAGE = "4000002"
CODE_NOT_SUPPORTED = "4000003"


def new_feed_id() -> str:
    return str(50000000000 + secrets.randbelow(10**10))


def create_document(*, seller, kind: str, content_type: str, content: bytes | None = None):
    """A document with an unguessable URL key (the sandbox's stand-in for S3 pre-signing)."""
    return Document.objects.create(
        document_id=Document.new_id(kind),
        url_key=secrets.token_urlsafe(32),
        seller=seller,
        kind=kind,
        content_type=content_type,
        content=content,
        uploaded_at=timezone.now() if content is not None else None,
    )


def refresh_status(feed: Feed, *, now: datetime | None = None) -> Feed:
    """Move the feed along its states by the time elapsed; process it when its time has come."""
    if feed.processing_status in (Feed.Status.DONE, Feed.Status.FATAL, Feed.Status.CANCELLED):
        return feed
    now = now or timezone.now()
    delay = SandboxSettings.load().feed_processing_delay_seconds
    elapsed = (now - feed.created_at).total_seconds()
    if delay > 0 and elapsed < delay:
        if elapsed >= delay / 2 and feed.processing_status == Feed.Status.IN_QUEUE:
            Feed.objects.filter(pk=feed.pk, processing_status=Feed.Status.IN_QUEUE).update(
                processing_status=Feed.Status.IN_PROGRESS, processing_start_time=now
            )
            feed.refresh_from_db()
        return feed
    process_feed(feed)
    feed.refresh_from_db()
    return feed


def process_feed(feed: Feed) -> None:
    """Process a feed once: validate the document, apply its messages, store the report."""
    with transaction.atomic():
        locked = Feed.objects.select_for_update().select_related("input_document").get(pk=feed.pk)
        if locked.processing_status in (Feed.Status.DONE, Feed.Status.FATAL):
            return
        started = locked.processing_start_time or timezone.now()
        status, report = _run(locked)
        result = create_document(
            seller=locked.seller,
            kind=Document.Kind.FEED_RESULT,
            content_type="application/json; charset=UTF-8",
            content=json.dumps(report).encode("utf-8"),
        )
        locked.result_document = result
        locked.processing_status = status
        locked.processing_start_time = started
        locked.processing_end_time = timezone.now()
        locked.save()


def _fatal(feed: Feed, message: str) -> tuple[str, dict]:
    return Feed.Status.FATAL, {
        "header": {"sellerId": feed.seller.seller_id, "version": "2.0", "feedId": feed.feed_id},
        "issues": [{"code": CODE_FATAL, "severity": "ERROR", "message": message}],
        "summary": {
            "errors": 1,
            "warnings": 0,
            "messagesProcessed": 0,
            "messagesAccepted": 0,
            "messagesInvalid": 0,
        },
    }


def _run(feed: Feed) -> tuple[str, dict]:
    if feed.feed_type != JSON_LISTINGS_FEED:
        return _fatal(feed, f"The feed type {feed.feed_type} is not supported.")
    raw = feed.input_document.content
    if raw is None:
        return _fatal(feed, "The feed document was never uploaded.")
    try:
        document = json.loads(bytes(raw).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return _fatal(feed, f"The feed document is not valid UTF-8 JSON: {exc}")
    errors = json_schema_errors(FEED_SCHEMA, document)
    if not errors:
        for message in document["messages"]:
            errors += json_schema_errors(MESSAGE_SCHEMA, message)
    if errors:
        return _fatal(
            feed, "The feed document does not match the JSON_LISTINGS_FEED schema: " + errors[0]
        )
    header = document["header"]
    if header["sellerId"] != feed.seller.seller_id:
        return _fatal(feed, f"The sellerId {header['sellerId']} does not match your account.")

    knobs = SandboxSettings.load()
    marketplace_id = feed.marketplace_ids[0]
    issues: list[dict] = []
    invalid = 0
    accepted_skus: list[str] = []
    seen: set[int] = set()
    for message in document["messages"]:
        message_id, sku = message["messageId"], message["sku"]
        found = _process_message(feed, message, seen, marketplace_id, knobs)
        seen.add(message_id)
        for problem in found:
            reported = {
                "messageId": message_id,
                "sku": sku,
                "code": problem["code"],
                "severity": problem["severity"],
                "message": problem["message"],
            }
            if problem.get("attributeNames"):
                reported["attributeName"] = problem["attributeNames"][0]
            issues.append(reported)
        if any(problem["severity"] == "ERROR" for problem in found):
            invalid += 1
        else:
            accepted_skus.append(sku)
    report = {
        "header": {"sellerId": feed.seller.seller_id, "version": "2.0", "feedId": feed.feed_id},
        "issues": issues,
        "summary": {
            "errors": sum(1 for i in issues if i["severity"] == "ERROR"),
            "warnings": sum(1 for i in issues if i["severity"] == "WARNING"),
            "messagesProcessed": len(document["messages"]),
            "messagesAccepted": len(document["messages"]) - invalid,
            "messagesInvalid": invalid,
        },
    }
    requested = header.get("report")
    if requested:
        report["header"]["report"] = requested
        listings = Listing.objects.filter(
            seller=feed.seller, marketplace_id=marketplace_id, sku__in=accepted_skus
        )
        report["items"] = [item_json(listing, requested["includedData"]) for listing in listings]
        report["summary"]["itemSummary"] = {
            "items": len(report["items"]),
            "errors": sum(
                1
                for item in report["items"]
                for i in item.get("issues", [])
                if i["severity"] == "ERROR"
            ),
            "warnings": sum(
                1
                for item in report["items"]
                for i in item.get("issues", [])
                if i["severity"] == "WARNING"
            ),
        }
    return Feed.Status.DONE, report


def _process_message(feed, message, seen, marketplace_id, knobs) -> list[dict]:
    """Apply one message; the issues to report for it (as Listings ``Issue`` dicts)."""
    if message["messageId"] in seen:
        return [
            {
                "code": CODE_DUPLICATE_MESSAGE,
                "severity": "ERROR",
                "message": f"The messageId {message['messageId']} is used more than once.",
            }
        ]
    operation = message["operationType"]
    listing = Listing.objects.filter(
        seller=feed.seller, marketplace_id=marketplace_id, sku=message["sku"]
    ).first()
    if listing is None:
        return [
            {
                "code": CODE_SKU_NOT_FOUND,
                "severity": "ERROR",
                "message": f"The SKU '{message['sku']}' does not exist in marketplace "
                f"{marketplace_id}. Only existing listings can be patched in the sandbox.",
            }
        ]
    if operation == "DELETE":
        listing.delete()
        return []
    if operation == "PATCH":
        patches = message["patches"]
    elif operation in ("PARTIAL_UPDATE", "UPDATE"):
        # PARTIAL_UPDATE is "PATCH with replace" (feed schema); UPDATE additionally drops the
        # attributes it does not repeat.
        patches = [
            {"op": "replace", "path": f"/attributes/{name}", "value": value}
            for name, value in message["attributes"].items()
        ]
        if operation == "UPDATE":
            patches += [
                {"op": "delete", "path": f"/attributes/{name}"}
                for name in listing.attributes
                if name not in message["attributes"] and name != "fulfillment_availability"
            ]
    else:  # pragma: no cover - the schema allows no other operation
        return [{"code": CODE_NOT_SUPPORTED, "severity": "ERROR", "message": operation}]
    submission = submit_patches(
        listing=listing, product_type=message["productType"], patches=patches, knobs=knobs
    )
    return submission.issues
