"""Quantity feeds: submit one JSON_LISTINGS_FEED, poll it, apply its processing report.

send_feed(...)            claimed pushes of one marketplace → one feed (from `send.py`)
feed_poll(feed_pk=...)    getFeed → processing report → done / failed per SKU
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from selling_lists.models import Listing, ListingStatus

from .. import conf, queues
from ..clients.amazon_data import MAX_FEED_MESSAGES
from ..clients.errors import (
    AuthenticationFailed,
    MarketplaceError,
    RateLimited,
    TransientError,
)
from ..clients.factory import amazon_client
from ..models import AmazonFeed, PushState, PushTransport, QtyPush
from ..ratelimit import Limiter
from .circuit import circuit_refused, circuit_trip
from .claims import (
    SendSummary,
    backoff,
    limiter_for,
    push_done,
    push_fail,
    push_fail_sent,
    push_release,
    pushes_claim,
)

logger = logging.getLogger(__name__)


def send_feed(account, marketplace_id, client, limiter, summary: SendSummary) -> None:
    claimed = pushes_claim(
        account_id=account.pk, limit=MAX_FEED_MESSAGES, marketplace_id=marketplace_id
    )
    if not claimed:
        return
    summary.claimed += len(claimed)
    items = [
        (push.listing.sku, push.listing.product_type or "PRODUCT", push.quantity)
        for push in claimed
    ]
    try:
        limiter.wait("create_feed_document")
        limiter.wait("create_feed")
        feed_id = client.submit_quantity_feed(items)
    except (TransientError, AuthenticationFailed) as exc:
        summary.retried += len(claimed)
        message = f"The feed could not be submitted: {exc.message}"
        if isinstance(exc, RateLimited):
            summary.retry_after = exc.retry_after
            delay = timedelta(seconds=max(exc.retry_after, 1.0))
        elif isinstance(exc, TransientError):
            summary.stopped = True
            delay = max(circuit_trip(account, message) - timezone.now(), timedelta(0))
        else:
            summary.stopped = True
            summary.refused = exc.message or "credentials refused."
            delay = timedelta(0)
        for push in claimed:
            push_release(
                push, delay=delay, message=message, count_attempt=not isinstance(exc, RateLimited)
            )
        if summary.refused:
            circuit_refused(account, summary.refused)
        return
    except (MarketplaceError, ValueError) as exc:
        summary.failed += len(claimed)
        for push in claimed:
            push_fail(push, message=f"Amazon refused the feed: {exc}")
        return
    now = timezone.now()
    with transaction.atomic():
        still_ours = set(
            QtyPush.objects.filter(
                pk__in=[p.pk for p in claimed],
                state=PushState.SENDING,
                claim_token=claimed[0].claim_token,
            ).values_list("pk", flat=True)
        )
        claimed = [push for push in claimed if push.pk in still_ours]
        feed = AmazonFeed.objects.create(
            account=account,
            marketplace_id=marketplace_id,
            feed_id=feed_id,
            messages=len(claimed),
            submitted_at=now,
            next_poll_at=now + conf.first_feed_poll(),
        )
        for message_id, push in enumerate(claimed, start=1):
            push.state = PushState.SENT
            push.transport = PushTransport.FEED
            push.feed = feed
            push.feed_message_id = message_id
            push.attempts += 1
            push.sent_at = now
            push.claim_token = None
            push.message = f"In feed {feed_id}"
            push.updated_at = now
        Listing.objects.filter(pk__in=[push.listing_id for push in claimed]).update(
            status=ListingStatus.PENDING, updated_at=now
        )  # in a feed: Pending until Amazon's processing report
        QtyPush.objects.bulk_update(
            claimed,
            [
                "state",
                "transport",
                "feed",
                "feed_message_id",
                "attempts",
                "sent_at",
                "claim_token",
                "message",
                "updated_at",
            ],
            batch_size=1000,
        )
        queues.enqueue_on_commit(
            queues.POLL_FEED, feed.pk, countdown=conf.first_feed_poll().total_seconds()
        )
    summary.fed += len(claimed)
    summary.feeds.append(feed.pk)


# --- feeds -------------------------------------------------------------------------------------

_FEED_RUNNING = {"IN_QUEUE", "IN_PROGRESS"}
# Amazon may take hours over a feed (up to 8 h reported); past this we stop waiting for it and
# send its pushes again.
FEED_GIVE_UP = timedelta(hours=24)


def feed_poll(
    *,
    feed_pk: int,
    limiter: Limiter | None = None,
) -> str:
    """Ask Amazon how a feed is doing; once DONE, apply its processing report per SKU.

    Messages without an ERROR in the report are done (Amazon processed them); messages with one
    are failed with Amazon's message. A CANCELLED or FATAL feed puts its pushes back to pending.
    Returns the feed's processing status.
    """
    feed = AmazonFeed.objects.select_related("account").filter(pk=feed_pk).first()
    if feed is None or feed.applied_at is not None:
        return feed.status if feed else ""
    client = amazon_client(feed.account, feed.marketplace_id)
    limiter = limiter_for(feed.account, limiter)
    now = timezone.now()
    give_up = ""  # why the feed's pushes go back to pending instead of being applied
    report = None
    try:
        limiter.wait("get_feed")
        status = client.get_feed(feed.feed_id)
        if status.processing_status == "DONE" and status.result_document_id:
            limiter.wait("get_feed_document")
            report = client.get_feed_report(status.result_document_id)
    except TransientError as exc:
        AmazonFeed.objects.filter(pk=feed.pk).update(
            next_poll_at=now + timedelta(seconds=max(exc.retry_after, 5.0))
        )
        return feed.status
    except MarketplaceError as exc:
        # Not found, refused credentials: this feed will never report; send its pushes again.
        give_up = f"Amazon would not report on feed {feed.feed_id}: {exc.message}"
    finally:
        close = getattr(client, "close", None)
        if close:
            close()
    feed.polls += 1
    if not give_up:
        feed.status = status.processing_status
        feed.result_document_id = status.result_document_id or ""
        if status.processing_status in _FEED_RUNNING:
            if now - feed.submitted_at < FEED_GIVE_UP:
                feed.next_poll_at = now + min(backoff(feed.polls + 2), timedelta(minutes=5))
                feed.save(update_fields=["polls", "status", "result_document_id", "next_poll_at"])
                return feed.status
            give_up = f"Feed {feed.feed_id} was still {feed.status} after {FEED_GIVE_UP}."
        elif status.processing_status != "DONE" or report is None:
            give_up = f"Amazon ended feed {feed.feed_id} {status.processing_status}."
    with transaction.atomic():
        feed.finished_at = now
        feed.report = report
        feed.applied_at = now
        feed.save()
        if not give_up:
            _apply_report(feed, report, now)
        else:
            for push in QtyPush.objects.filter(feed=feed, state=PushState.SENT):
                push.state = PushState.SENDING  # _release expects a claimed push
                QtyPush.objects.filter(pk=push.pk).update(state=PushState.SENDING)
                push_release(
                    push, delay=backoff(push.attempts), message=give_up, count_attempt=False
                )
    return feed.status


def _apply_report(feed: AmazonFeed, report: dict, now: datetime) -> None:
    errors: dict[int, list[str]] = defaultdict(list)
    feed_level: list[str] = []
    for issue in report.get("issues") or []:
        if issue.get("severity") != "ERROR":
            continue
        text = issue.get("message", "")
        if issue.get("code"):
            text = f"{text} ({issue['code']})"
        if issue.get("messageId") is None:
            feed_level.append(text)
        else:
            errors[int(issue["messageId"])].append(text)
    pushes = list(QtyPush.objects.filter(feed=feed, state=PushState.SENT))
    for push in pushes:
        problems = feed_level or errors.get(push.feed_message_id or -1)
        if problems:
            push_fail_sent(push, "; ".join(problems))
        else:
            push_done(
                push,
                amazon_quantity=push.quantity,  # processed without error: Amazon shows it
                now=now,
                message=f"Processed in feed {feed.feed_id}",
            )
