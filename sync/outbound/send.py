"""Sending the outbox to Amazon: one seller's due pushes, by patch or by feed.

    pushes_send(account_id=...)  pending → patchListingsItem (few) or one feed (many)
    pushes_drop_blocked(account=...)     pending pushes the switches no longer allow → dropped

ACCEPTED is not applied: a sent patch is confirmed by `confirm.py`, a feed by `feeds.py`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from accounts.models import AmazonAccount
from selling_lists.models import Listing, ListingStatus

from .. import conf, queues
from ..clients.errors import (
    AuthenticationFailed,
    MarketplaceError,
    NotFound,
    RateLimited,
    TransientError,
)
from ..clients.factory import amazon_client
from ..models import PushState, PushTransport, QtyPush
from ..outbox.decide import blocked_listings, sync_block
from ..ratelimit import Limiter
from .circuit import circuit_close, circuit_gate, circuit_refused, circuit_trip
from .claims import (
    SendSummary,
    issues_text,
    limiter_for,
    push_fail,
    push_release,
    pushes_claim,
)
from .feeds import send_feed
from .heartbeat import claim_heartbeat

logger = logging.getLogger(__name__)


def pushes_drop_blocked(*, account: AmazonAccount) -> int:
    """Drop the pending pushes that may no longer be sent (`sync_block`) and say why.

    The switches may have changed after the push was queued; nothing is sent against them.
    """
    now = timezone.now()
    with transaction.atomic():
        blocked = list(
            QtyPush.objects.filter(account=account, state=PushState.PENDING)
            .filter(blocked_listings("listing__"))
            .select_related("listing__selling_list", "listing__amazon_account")
        )
        by_block: dict = defaultdict(list)
        for push in blocked:
            by_block[sync_block(push.listing)].append(push)
        for block, pushes in by_block.items():
            QtyPush.objects.filter(
                pk__in=[push.pk for push in pushes], state=PushState.PENDING
            ).update(
                state=PushState.SUPERSEDED,
                message=f"Not sent: {block.message or 'FBA — managed by Amazon'}",
                updated_at=now,
            )
            Listing.objects.filter(pk__in=[push.listing_id for push in pushes]).update(
                status=block.status, status_message=block.message, updated_at=now
            )
    return len(blocked)


def pushes_send(
    *,
    account_id: int,
    limiter: Limiter | None = None,
    feed_threshold: int | None = None,
) -> SendSummary:
    """Send one seller's due pending pushes to Amazon and record each answer.

    Per marketplace, fewer than `SYNC_conf.feed_threshold()` due pushes go one by one with
    patchListingsItem (paced by the shared rate limiter), more go in one JSON_LISTINGS_FEED.
    ACCEPTED → sent (a read-back confirms it later); INVALID → failed with Amazon's message;
    404 → Not on Amazon; 429 → pending again after Amazon's back-off; 5xx or a timeout →
    the seller's circuit opens (one probe at a time, `circuit.py`); refused credentials →
    stopped until they are saved. Nothing is lost and a transient failure never gives up.
    Claims are leases renewed by a heartbeat while this runs.
    """
    summary = SendSummary()
    account = AmazonAccount.objects.filter(pk=account_id).first()
    if account is None:
        return summary
    summary.blocked = pushes_drop_blocked(account=account)
    if not account.inventory_sync_enabled:
        return summary
    gate = circuit_gate(account)
    if gate is None:
        return summary  # the circuit is open (a probe is out or not due) or credentials refused
    threshold = conf.feed_threshold() if feed_threshold is None else feed_threshold
    limiter = limiter_for(account, limiter)
    now = timezone.now()
    due = QtyPush.objects.filter(account=account, state=PushState.PENDING)
    if gate == "all":
        due = due.filter(next_attempt_at__lte=now)
    due = (
        due.values("listing__marketplace_id")
        .annotate(n=Count("pk"))
        .order_by("listing__marketplace_id")
    )
    due = list(due)
    if gate == "probe" and not due:
        circuit_close(account)  # nothing left to probe with: see `_probe`
    with claim_heartbeat():
        for row in due:
            marketplace_id = row["listing__marketplace_id"]
            client = amazon_client(account, marketplace_id)
            try:
                if gate == "probe":
                    _probe(account, marketplace_id, client, limiter, summary)
                elif row["n"] >= threshold:
                    send_feed(account, marketplace_id, client, limiter, summary)
                else:
                    _send_patches(account, marketplace_id, client, limiter, summary)
            finally:
                close = getattr(client, "close", None)
                if close:
                    close()
            if summary.retry_after is not None or summary.stopped or gate == "probe":
                break
    if summary.accepted:
        queues.enqueue_on_commit(
            queues.CONFIRM_PUSHES, account.pk, countdown=conf.confirm_delay().total_seconds()
        )
    return summary


def _probe(account, marketplace_id, client, limiter, summary: SendSummary) -> None:
    """The circuit is open: one push goes out; if it gets through, the circuit closes."""
    claimed = pushes_claim(
        account_id=account.pk, limit=1, marketplace_id=marketplace_id, due_only=False
    )
    if not claimed:
        # Nothing left to probe with (dropped or superseded meanwhile): the next send that
        # fails opens the circuit again; read-backs must not wait for a probe that never comes.
        circuit_close(account)
        return
    summary.claimed += 1
    if _send_one_patch(claimed[0], client, limiter, summary, account=account) is None:
        circuit_close(account)
    elif summary.refused:
        circuit_refused(account, summary.refused)


def _send_patches(account, marketplace_id, client, limiter, summary: SendSummary) -> None:
    while True:
        claimed = pushes_claim(
            account_id=account.pk, limit=conf.patch_claim(), marketplace_id=marketplace_id
        )
        if not claimed:
            return
        summary.claimed += len(claimed)
        for index, push in enumerate(claimed):
            stop = _send_one_patch(push, client, limiter, summary, account=account)
            if stop is not None:
                # Throttled, Amazon failing or credentials refused: the rest go back untouched.
                for rest in claimed[index + 1 :]:
                    push_release(rest, delay=stop[0], message=stop[1], count_attempt=False)
                    summary.retried += 1
                break
        if summary.stopped or summary.retry_after is not None:
            break
    if summary.refused:
        circuit_refused(account, summary.refused)


def _send_one_patch(push, client, limiter, summary, *, account) -> tuple[timedelta, str] | None:
    """Send one push; returns (delay, reason) when the seller's other pushes must wait too."""
    listing = push.listing
    try:
        limiter.wait("patch_listing")
        result = client.patch_quantity(
            listing.sku, listing.product_type or "PRODUCT", push.quantity
        )
    except RateLimited as exc:
        summary.retried += 1
        summary.retry_after = exc.retry_after
        delay = timedelta(seconds=max(exc.retry_after, 1.0))
        message = f"Amazon is throttling: retrying in {delay.total_seconds():.0f} s."
        push_release(push, delay=delay, message=message, count_attempt=False)
        return delay, message
    except AuthenticationFailed as exc:
        summary.retried += 1
        summary.stopped = True
        summary.refused = exc.message or "credentials refused."
        push_release(push, delay=timedelta(0), message=exc.message, count_attempt=False)
        return timedelta(0), exc.message
    except NotFound as exc:
        summary.not_found += 1
        push_fail(
            push,
            message=f"Amazon has no listing with SKU {listing.sku} in this marketplace"
            + (f" ({exc.message})" if exc.message else ""),
            listing_status=ListingStatus.NOT_ON_AMAZON,
        )
        return None
    except TransientError as exc:
        # Amazon is failing (5xx, timeout): the seller's circuit opens; one probe at a time.
        summary.retried += 1
        summary.stopped = True
        reason = f"Amazon is not answering: {exc.message}"
        next_try = circuit_trip(account, reason)
        delay = max(next_try - timezone.now(), timedelta(0))
        push_release(push, delay=delay, message=reason)
        return delay, reason
    except MarketplaceError as exc:
        summary.failed += 1
        push_fail(push, message=exc.message or str(exc))
        return None
    now = timezone.now()
    response = {
        "status": result.status,
        "submissionId": result.submission_id,
        "issues": [
            {"code": i.code, "message": i.message, "severity": i.severity} for i in result.issues
        ],
    }
    if not result.accepted:
        summary.invalid += 1
        push_fail(
            push,
            message=issues_text(result.issues) or f"Amazon answered {result.status}",
            amazon_status=result.status[:10],
            response=response,
        )
        return None
    summary.accepted += 1
    Listing.objects.filter(pk=listing.pk, status=ListingStatus.SENDING).update(
        status=ListingStatus.PENDING, updated_at=now
    )  # ACCEPTED is not applied: Pending until the read-back shows it
    QtyPush.objects.filter(
        pk=push.pk, state=PushState.SENDING, claim_token=push.claim_token
    ).update(
        state=PushState.SENT,
        transport=PushTransport.PATCH,
        amazon_status=result.status,
        response=response,
        attempts=push.attempts + 1,
        sent_at=now,
        next_attempt_at=now + conf.confirm_delay(),
        claim_token=None,
        message="",
        updated_at=now,
    )
    return None
