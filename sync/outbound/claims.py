"""The life of a claimed push: claim, release, fail, done (the outbox's state changes).

No row lock is held across a network call: pushes are claimed in one short transaction
(`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL; a conditional `UPDATE … WHERE state =
'pending'` that only one claimer can win, everywhere), sent without a transaction, and their
outcome is written in another short one. Every write after a network call checks that the
claim is still ours: a worker that outlived its lease must not overwrite a newer send.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.models import AmazonAccount
from selling_lists.models import Listing, ListingStatus

from .. import conf
from ..models import PushState, PushTransport, QtyPush
from ..ratelimit import Limiter
from .circuit import jittered
from .heartbeat import watch

logger = logging.getLogger(__name__)


def limiter_for(account: AmazonAccount, limiter: Limiter | None = None) -> Limiter:
    """The seller's shared limiter (tests hand in one that never waits)."""
    return limiter or Limiter(seller_id=account.seller_id, region=account.region)


def backoff(attempts: int) -> timedelta:
    """2, 4, 8 … seconds, at most SYNC_MAX_BACKOFF_SECONDS (5 minutes), with jitter."""
    return jittered(2 ** min(max(attempts, 1), 20), conf.max_backoff())


def issues_text(issues) -> str:
    errors = [i for i in issues if getattr(i, "severity", "") == "ERROR"] or list(issues)
    return "; ".join(f"{i.message} ({i.code})" if i.code else i.message for i in errors)


@dataclass
class SendSummary:
    """What one send did (`send.py` and `feeds.py` fill it in)."""

    claimed: int = 0
    accepted: int = 0
    invalid: int = 0
    not_found: int = 0
    failed: int = 0
    retried: int = 0
    fed: int = 0  # pushes submitted in feeds
    feeds: list[int] = field(default_factory=list)
    blocked: int = 0  # pending pushes dropped because sync is off, paused or FBA
    retry_after: float | None = None
    stopped: bool = False  # the seller's circuit opened or its credentials were refused
    refused: str = ""  # Amazon's words when it refused the credentials


# --- claiming ----------------------------------------------------------------------------------


def _busy_listing() -> Exists:
    # A listing with a push on the wire, or in a feed Amazon has not processed yet: sending a
    # newer one now could arrive before the older one and be overwritten by it.
    return Exists(
        QtyPush.objects.filter(listing_id=OuterRef("listing_id")).filter(
            Q(state=PushState.SENDING)
            | Q(state=PushState.SENT, transport=PushTransport.FEED, feed__applied_at__isnull=True)
        )
    )


def pushes_claim(
    *,
    account_id: int,
    limit: int,
    marketplace_id: str | None = None,
    now: datetime | None = None,
    due_only: bool = True,
) -> list[QtyPush]:
    """Take up to `limit` due pending pushes of one seller; no two claimers get the same one.

    The claim is a lease renewed by the caller's `claim_heartbeat()`; the listings show
    "Sending". `due_only=False` takes pushes still in their back-off (a circuit's probe).
    """
    now = now or timezone.now()
    token = uuid.uuid4()
    watch(token)
    with transaction.atomic():
        candidates = QtyPush.objects.filter(account_id=account_id, state=PushState.PENDING)
        if due_only:
            candidates = candidates.filter(next_attempt_at__lte=now)
        candidates = candidates.filter(~_busy_listing()).order_by("next_attempt_at", "pk")
        if marketplace_id is not None:
            candidates = candidates.filter(listing__marketplace_id=marketplace_id)
        if connection.features.has_select_for_update_skip_locked:
            # Lock the listing too: a recompute holding it is replacing this push's target.
            candidates = candidates.select_related("listing").select_for_update(
                skip_locked=True, of=("self", "listing")
            )
        ids = [push.pk for push in candidates[:limit]]
        if not ids:
            return []
        # The claim itself: only rows still pending change, so a concurrent claimer that read
        # the same ids (SQLite has no SKIP LOCKED) finds them taken and gets none of them.
        QtyPush.objects.filter(pk__in=ids, state=PushState.PENDING).update(
            state=PushState.SENDING, claim_token=token, claimed_at=now, updated_at=now
        )
        Listing.objects.filter(
            qty_pushes__claim_token=token, qty_pushes__state=PushState.SENDING
        ).update(status=ListingStatus.SENDING, status_message="", retry_at=None, updated_at=now)
    claimed = list(
        QtyPush.objects.filter(claim_token=token, state=PushState.SENDING)
        .select_related("listing")
        .order_by("pk")
    )
    if claimed:
        # An older ACCEPTED push still awaiting its read-back is moot: the newer number wins.
        QtyPush.objects.filter(
            listing_id__in=[p.listing_id for p in claimed],
            state=PushState.SENT,
            transport=PushTransport.PATCH,
        ).update(
            state=PushState.SUPERSEDED,
            message="A newer quantity was sent before this one was confirmed.",
            updated_at=now,
        )
    return claimed


def push_release(
    push: QtyPush,
    *,
    delay: timedelta,
    message: str,
    count_attempt: bool = True,
    listing_status: str = ListingStatus.WAITING,
):
    """Put a claimed push back to pending (nothing lost), or drop it if a newer one is pending.

    A transient failure never gives up (DESIGN.md, "Convergence is the promise"): the push is
    tried again after `delay`, and its listing shows "Waiting for Amazon — next try HH:MM".
    """
    now = timezone.now()
    attempts = push.attempts + (1 if count_attempt else 0)
    ours = {"pk": push.pk, "state": PushState.SENDING, "claim_token": push.claim_token}
    try:
        with transaction.atomic():
            released = QtyPush.objects.filter(**ours).update(
                state=PushState.PENDING,
                claim_token=None,
                attempts=attempts,
                next_attempt_at=now + delay,
                message=message,
                updated_at=now,
            )
            if released:
                waiting = listing_status == ListingStatus.WAITING
                Listing.objects.filter(pk=push.listing_id).update(
                    status=listing_status,
                    status_message=message if waiting else "",
                    retry_at=now + delay if waiting else None,
                    updated_at=now,
                )
    except IntegrityError:
        # A newer target was queued while this one was on the wire: it replaces this one.
        QtyPush.objects.filter(**ours).update(
            state=PushState.SUPERSEDED,
            message=f"{message} A newer target is pending.",
            updated_at=now,
        )


def push_fail(
    push: QtyPush,
    *,
    message: str,
    listing_status: str = ListingStatus.FAILED,
    amazon_status: str = "",
    response: dict | None = None,
) -> None:
    now = timezone.now()
    with transaction.atomic():
        # Only while the claim is still ours: a worker that outlived its lease must not
        # overwrite a push that was sent again since.
        updated = QtyPush.objects.filter(
            pk=push.pk, state=PushState.SENDING, claim_token=push.claim_token
        ).update(
            state=PushState.FAILED,
            claim_token=None,
            attempts=push.attempts + 1,
            amazon_status=amazon_status,
            message=message,
            response=response,
            sent_at=push.sent_at or now,
            updated_at=now,
        )
        if updated:
            Listing.objects.filter(pk=push.listing_id).update(
                status=listing_status, status_message=message, updated_at=now
            )


def listing_status_after_push(listing_id: int) -> str:
    """Linked, unless another push of the listing is still queued or on the wire."""
    waiting = QtyPush.objects.filter(
        listing_id=listing_id,
        state__in=[PushState.PENDING, PushState.SENDING, PushState.SENT],
    ).exists()
    return ListingStatus.PENDING if waiting else ListingStatus.LINKED


def push_done(push: QtyPush, *, amazon_quantity: int | None, now: datetime, message: str = ""):
    with transaction.atomic():
        updated = QtyPush.objects.filter(
            pk=push.pk, state__in=[PushState.SENT, PushState.SENDING]
        ).update(
            state=PushState.DONE,
            confirmed_at=now,
            amazon_shown=amazon_quantity,
            claim_token=None,
            message=message,
            updated_at=now,
        )
        if not updated:
            return
        fields = {
            "last_sent_quantity": push.quantity,
            "last_sent_at": push.sent_at or now,
            "status": listing_status_after_push(push.listing_id),
            "status_message": "",
            "updated_at": now,
        }
        if amazon_quantity is not None:
            fields["amazon_quantity"] = amazon_quantity
        Listing.objects.filter(pk=push.listing_id).update(**fields)


def push_resend(push: QtyPush, message: str) -> None:
    """An ACCEPTED push Amazon never showed: queue the same quantity again (unless a newer
    push is pending, which wins). Not applied is not a reason to give up."""
    now = timezone.now()
    try:
        with transaction.atomic():
            QtyPush.objects.filter(pk=push.pk, state=PushState.SENT).update(
                state=PushState.PENDING,
                checks=0,
                next_attempt_at=now,
                message=message,
                updated_at=now,
            )
    except IntegrityError:
        QtyPush.objects.filter(pk=push.pk, state=PushState.SENT).update(
            state=PushState.SUPERSEDED,
            message=f"{message} A newer target is pending.",
            updated_at=now,
        )


def push_fail_sent(push: QtyPush, message: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        updated = QtyPush.objects.filter(pk=push.pk, state=PushState.SENT).update(
            state=PushState.FAILED, checks=push.checks + 1, message=message, updated_at=now
        )
        if updated:
            Listing.objects.filter(pk=push.listing_id).update(
                status=ListingStatus.FAILED, status_message=message, updated_at=now
            )


# --- housekeeping ------------------------------------------------------------------------------


def pushes_release_stale(*, now: datetime | None = None) -> int:
    """Pushes left "sending" by a worker that died go back to pending."""
    now = now or timezone.now()
    stale = list(
        QtyPush.objects.filter(state=PushState.SENDING, claimed_at__lt=now - conf.claim_lease())
    )
    for push in stale:
        push_release(
            push,
            delay=timedelta(0),
            message="The worker sending it stopped; sent again.",
            listing_status=ListingStatus.PENDING,
        )
    return len(stale)
