"""Sending the outbox to Amazon: claim, send, record the answer, confirm by reading back.

    send_pending_pushes(account_id=...)  pending → patchListingsItem (few) or one feed (many)
    confirm_pushes(account_id=...)       sent (ACCEPTED) → read back → done, or check again
    poll_feed(feed_pk=...)               getFeed → processing report → done / failed per SKU
    release_stale_claims()               pushes of a worker that died → pending again
    due_work()                           what the beat should queue now

No row lock is held across a network call: pushes are claimed in one short transaction
(`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL; a conditional `UPDATE … WHERE state =
'pending'` that only one claimer can win, everywhere), sent without a transaction, and their
outcome is written in another short one.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from accounts.models import AmazonAccount
from selling_lists.models import FulfillmentChannel, Listing, ListingStatus

from ..clients.errors import (
    AuthenticationFailed,
    MarketplaceError,
    NotFound,
    RateLimited,
    TransientError,
)
from ..models import AmazonFeed, PushState, PushTransport, QtyPush
from ..ratelimit import Limiter

logger = logging.getLogger(__name__)

# Below this many due pushes in one marketplace, one patchListingsItem per listing; at or above
# it, one JSON_LISTINGS_FEED. 100 patches take 20 s of the seller's 5 req/s budget (plus as
# many read-backs); a feed costs 3–5 calls but Amazon takes minutes (up to hours) to process it
# and allows 5 per 5 minutes. Above ~100 the patch budget would starve single, latency-bound
# stock changes for longer than a small feed takes. See docs/BENCHMARKS.md.
FEED_THRESHOLD = int(getattr(settings, "SYNC_FEED_THRESHOLD", 100))
MAX_FEED_MESSAGES = 25_000
# Pushes claimed at a time for patching: ~4 s of the 5 req/s budget, so a lease stays short and
# other workers (and newer changes) interleave.
PATCH_CLAIM = int(getattr(settings, "SYNC_PATCH_CLAIM", 20))
MAX_ATTEMPTS = int(getattr(settings, "SYNC_MAX_ATTEMPTS", 8))
MAX_CHECKS = int(getattr(settings, "SYNC_MAX_CHECKS", 8))
CONFIRM_DELAY = timedelta(seconds=float(getattr(settings, "SYNC_CONFIRM_DELAY", 2.0)))
FIRST_FEED_POLL = timedelta(seconds=float(getattr(settings, "SYNC_FIRST_FEED_POLL", 5.0)))
# A claim older than this belongs to a dead worker (SIGKILL, OOM): its pushes are sent again
# (absolute quantities make that safe).
LEASE = timedelta(seconds=float(getattr(settings, "SYNC_CLAIM_LEASE_SECONDS", 600)))
# Credentials refused: no point retrying soon; the merchant has to fix them.
AUTH_BACKOFF = timedelta(minutes=5)
# Amazon may take hours over a feed (up to 8 h reported); past this we stop waiting for it and
# send its pushes again.
FEED_GIVE_UP = timedelta(hours=24)

ClientFactory = Callable[[AmazonAccount, str], object]


def _default_client(account: AmazonAccount, marketplace_id: str):
    from ..vendors import amazon_client

    return amazon_client(account, marketplace_id)


def _limiter(account: AmazonAccount, limiter: Limiter | None) -> Limiter:
    return limiter or Limiter(seller_id=account.seller_id, region=account.region)


def backoff(attempts: int) -> timedelta:
    """2, 4, 8 … seconds, at most 5 minutes."""
    return timedelta(seconds=min(2 ** max(attempts, 1), 300))


def _issues_text(issues) -> str:
    errors = [i for i in issues if getattr(i, "severity", "") == "ERROR"] or list(issues)
    return "; ".join(f"{i.message} ({i.code})" if i.code else i.message for i in errors)


@dataclass
class SendSummary:
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


def claim_pushes(
    *,
    account_id: int,
    limit: int,
    marketplace_id: str | None = None,
    now: datetime | None = None,
) -> list[QtyPush]:
    """Take up to `limit` due pending pushes of one seller; no two claimers get the same one."""
    now = now or timezone.now()
    token = uuid.uuid4()
    with transaction.atomic():
        candidates = (
            QtyPush.objects.filter(
                account_id=account_id, state=PushState.PENDING, next_attempt_at__lte=now
            )
            .filter(~_busy_listing())
            .order_by("next_attempt_at", "pk")
        )
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


def _release(push: QtyPush, *, delay: timedelta, message: str, count_attempt: bool = True):
    """Put a claimed push back to pending (nothing lost), or drop it if a newer one is pending."""
    now = timezone.now()
    attempts = push.attempts + (1 if count_attempt else 0)
    if count_attempt and attempts >= MAX_ATTEMPTS:
        _fail(push, message=f"Gave up after {attempts} attempts: {message}")
        return
    ours = {"pk": push.pk, "state": PushState.SENDING, "claim_token": push.claim_token}
    try:
        with transaction.atomic():
            QtyPush.objects.filter(**ours).update(
                state=PushState.PENDING,
                claim_token=None,
                attempts=attempts,
                next_attempt_at=now + delay,
                message=message,
                updated_at=now,
            )
    except IntegrityError:
        # A newer target was queued while this one was on the wire: it replaces this one.
        QtyPush.objects.filter(**ours).update(
            state=PushState.SUPERSEDED,
            message=f"{message} A newer target is pending.",
            updated_at=now,
        )


def _fail(
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


def _listing_status_after(listing_id: int) -> str:
    """Linked, unless another push of the listing is still queued or on the wire."""
    waiting = QtyPush.objects.filter(
        listing_id=listing_id,
        state__in=[PushState.PENDING, PushState.SENDING, PushState.SENT],
    ).exists()
    return ListingStatus.PENDING if waiting else ListingStatus.LINKED


def _done(push: QtyPush, *, amazon_quantity: int | None, now: datetime, message: str = ""):
    with transaction.atomic():
        updated = QtyPush.objects.filter(
            pk=push.pk, state__in=[PushState.SENT, PushState.SENDING]
        ).update(
            state=PushState.DONE,
            confirmed_at=now,
            claim_token=None,
            message=message,
            updated_at=now,
        )
        if not updated:
            return
        fields = {
            "last_sent_quantity": push.quantity,
            "last_sent_at": push.sent_at or now,
            "status": _listing_status_after(push.listing_id),
            "status_message": "",
            "updated_at": now,
        }
        if amazon_quantity is not None:
            fields["amazon_quantity"] = amazon_quantity
        Listing.objects.filter(pk=push.listing_id).update(**fields)


# --- sending -----------------------------------------------------------------------------------


def drop_blocked_pushes(*, account: AmazonAccount) -> int:
    """Drop the pending pushes that may no longer be sent (sync off, paused, FBA) and say why.

    The switches may have changed after the push was queued; nothing is sent against them.
    """
    now = timezone.now()
    pending = QtyPush.objects.filter(account=account, state=PushState.PENDING)
    if not account.inventory_sync_enabled:
        groups = [
            (
                pending,
                ListingStatus.SYNC_OFF,
                f"Sync off: “Keep inventory in sync from Shopify to Amazon” is off for {account}.",
            )
        ]
    else:
        groups = [
            (
                pending.filter(listing__fulfillment_channel=FulfillmentChannel.FBA),
                ListingStatus.FBA,
                "",
            ),
            (
                pending.filter(listing__selling_list__paused=True),
                ListingStatus.SYNC_OFF,
                "Sync off: the Selling List is paused.",
            ),
            (
                pending.filter(listing__paused=True),
                ListingStatus.SYNC_OFF,
                "Sync off: this listing is paused.",
            ),
        ]
    dropped = 0
    for queryset, status, message in groups:
        with transaction.atomic():
            rows = list(queryset.values_list("pk", "listing_id"))
            if not rows:
                continue
            QtyPush.objects.filter(pk__in=[pk for pk, _ in rows], state=PushState.PENDING).update(
                state=PushState.SUPERSEDED,
                message=f"Not sent: {message or 'FBA — managed by Amazon'}",
                updated_at=now,
            )
            Listing.objects.filter(pk__in=[lid for _, lid in rows]).update(
                status=status, status_message=message, updated_at=now
            )
            dropped += len(rows)
    return dropped


def send_pending_pushes(
    *,
    account_id: int,
    client_factory: ClientFactory | None = None,
    limiter: Limiter | None = None,
    feed_threshold: int | None = None,
) -> SendSummary:
    """Send one seller's due pending pushes to Amazon and record each answer.

    Per marketplace, fewer than `SYNC_FEED_THRESHOLD` due pushes go one by one with
    patchListingsItem (paced by the shared rate limiter), more go in one JSON_LISTINGS_FEED.
    ACCEPTED → sent (a read-back confirms it later); INVALID → failed with Amazon's message;
    404 → Not on Amazon; 429 and 5xx → pending again after a back-off, nothing lost.
    """
    summary = SendSummary()
    account = AmazonAccount.objects.filter(pk=account_id).first()
    if account is None:
        return summary
    summary.blocked = drop_blocked_pushes(account=account)
    if not account.inventory_sync_enabled:
        return summary
    threshold = FEED_THRESHOLD if feed_threshold is None else feed_threshold
    client_factory = client_factory or _default_client
    limiter = _limiter(account, limiter)
    now = timezone.now()
    due = (
        QtyPush.objects.filter(account=account, state=PushState.PENDING, next_attempt_at__lte=now)
        .values("listing__marketplace_id")
        .annotate(n=Count("pk"))
        .order_by("listing__marketplace_id")
    )
    for row in due:
        marketplace_id = row["listing__marketplace_id"]
        client = client_factory(account, marketplace_id)
        try:
            if row["n"] >= threshold:
                _send_feed(account, marketplace_id, client, limiter, summary)
            else:
                _send_patches(account, marketplace_id, client, limiter, summary)
        finally:
            close = getattr(client, "close", None)
            if close:
                close()
        if summary.retry_after is not None:
            break
    if summary.accepted:
        from ..tasks import confirm_pushes as confirm_task

        confirm_task.apply_async_on_commit(
            args=[account.pk], countdown=CONFIRM_DELAY.total_seconds()
        )
    return summary


def _send_patches(account, marketplace_id, client, limiter, summary: SendSummary) -> None:
    while True:
        claimed = claim_pushes(
            account_id=account.pk, limit=PATCH_CLAIM, marketplace_id=marketplace_id
        )
        if not claimed:
            return
        summary.claimed += len(claimed)
        for index, push in enumerate(claimed):
            stop = _send_one_patch(push, client, limiter, summary)
            if stop is not None:
                # Rate-limited or refused credentials: the rest go back untouched.
                for rest in claimed[index + 1 :]:
                    _release(rest, delay=stop[0], message=stop[1], count_attempt=False)
                    summary.retried += 1
                return


def _send_one_patch(push, client, limiter, summary) -> tuple[timedelta, str] | None:
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
        _release(push, delay=delay, message=message, count_attempt=False)
        return delay, message
    except AuthenticationFailed as exc:
        summary.retried += 1
        summary.retry_after = AUTH_BACKOFF.total_seconds()
        message = f"Amazon refused the account's credentials: {exc.message}"
        _release(push, delay=AUTH_BACKOFF, message=message)
        Listing.objects.filter(pk=listing.pk).update(status_message=message)
        return AUTH_BACKOFF, message
    except NotFound as exc:
        summary.not_found += 1
        _fail(
            push,
            message=f"Amazon has no listing with SKU {listing.sku} in this marketplace"
            + (f" ({exc.message})" if exc.message else ""),
            listing_status=ListingStatus.NOT_ON_AMAZON,
        )
        return None
    except TransientError as exc:
        summary.retried += 1
        _release(push, delay=backoff(push.attempts + 1), message=f"Temporary error: {exc.message}")
        return None
    except MarketplaceError as exc:
        summary.failed += 1
        _fail(push, message=exc.message or str(exc))
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
        _fail(
            push,
            message=_issues_text(result.issues) or f"Amazon answered {result.status}",
            amazon_status=result.status[:10],
            response=response,
        )
        return None
    summary.accepted += 1
    QtyPush.objects.filter(
        pk=push.pk, state=PushState.SENDING, claim_token=push.claim_token
    ).update(
        state=PushState.SENT,
        transport=PushTransport.PATCH,
        amazon_status=result.status,
        response=response,
        attempts=push.attempts + 1,
        sent_at=now,
        next_attempt_at=now + CONFIRM_DELAY,
        claim_token=None,
        message="",
        updated_at=now,
    )
    return None


def _send_feed(account, marketplace_id, client, limiter, summary: SendSummary) -> None:
    from ..tasks import poll_feed as poll_task

    claimed = claim_pushes(
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
        retry = exc.retry_after if isinstance(exc, TransientError) else AUTH_BACKOFF.total_seconds()
        summary.retried += len(claimed)
        summary.retry_after = retry
        for push in claimed:
            _release(
                push,
                delay=timedelta(seconds=max(retry, 1.0)),
                message=f"The feed could not be submitted: {exc.message}",
                count_attempt=not isinstance(exc, RateLimited),
            )
        return
    except (MarketplaceError, ValueError) as exc:
        summary.failed += len(claimed)
        for push in claimed:
            _fail(push, message=f"Amazon refused the feed: {exc}")
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
            next_poll_at=now + FIRST_FEED_POLL,
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
        poll_task.apply_async_on_commit(args=[feed.pk], countdown=FIRST_FEED_POLL.total_seconds())
    summary.fed += len(claimed)
    summary.feeds.append(feed.pk)


# --- confirming --------------------------------------------------------------------------------


@dataclass
class ConfirmSummary:
    checked: int = 0
    confirmed: int = 0
    waiting: int = 0
    failed: int = 0
    retry_after: float | None = None


def confirm_pushes(
    *,
    account_id: int,
    client_factory: ClientFactory | None = None,
    limiter: Limiter | None = None,
    limit: int = 50,
) -> ConfirmSummary:
    """Read back the listings of ACCEPTED pushes; done when Amazon shows the quantity.

    ACCEPTED is not applied (Amazon processes it later, and may still reject it): a push
    counts only when getListingsItem shows its quantity. Not yet → checked again after a
    back-off, up to `SYNC_MAX_CHECKS` times, then failed with what Amazon shows and says.
    """
    summary = ConfirmSummary()
    account = AmazonAccount.objects.filter(pk=account_id).first()
    if account is None:
        return summary
    now = timezone.now()
    pushes = list(
        QtyPush.objects.filter(
            account=account,
            state=PushState.SENT,
            transport=PushTransport.PATCH,
            next_attempt_at__lte=now,
        )
        .select_related("listing")
        .order_by("next_attempt_at", "pk")[:limit]
    )
    if not pushes:
        return summary
    client_factory = client_factory or _default_client
    limiter = _limiter(account, limiter)
    by_marketplace: dict[str, list[QtyPush]] = defaultdict(list)
    for push in pushes:
        by_marketplace[push.listing.marketplace_id].append(push)
    for marketplace_id, group in by_marketplace.items():
        client = client_factory(account, marketplace_id)
        try:
            for index, push in enumerate(group):
                try:
                    limiter.wait("get_listing")
                    remote = client.get_listing(push.listing.sku)
                except RateLimited as exc:
                    summary.retry_after = exc.retry_after
                    later = timezone.now() + timedelta(seconds=max(exc.retry_after, 1.0))
                    QtyPush.objects.filter(
                        pk__in=[p.pk for p in group[index:]], state=PushState.SENT
                    ).update(next_attempt_at=later)
                    return summary
                except TransientError as exc:
                    # Amazon's hiccup says nothing about the push: look again later.
                    QtyPush.objects.filter(pk=push.pk, state=PushState.SENT).update(
                        next_attempt_at=timezone.now() + backoff(push.checks + 1),
                        message=f"Read-back failed for now: {exc.message}",
                    )
                    continue
                except MarketplaceError as exc:
                    _not_yet(push, summary, note=f"Read-back failed: {exc.message}")
                    continue
                summary.checked += 1
                _check(push, remote, summary)
        finally:
            close = getattr(client, "close", None)
            if close:
                close()
    return summary


def _check(push: QtyPush, remote, summary: ConfirmSummary) -> None:
    now = timezone.now()
    if remote.quantity == push.quantity:
        _done(push, amazon_quantity=remote.quantity, now=now)
        summary.confirmed += 1
        return
    Listing.objects.filter(pk=push.listing_id).update(amazon_quantity=remote.quantity)
    errors = [i for i in remote.issues if i.severity == "ERROR"]
    if errors and push.checks + 1 >= 2:
        # Amazon reports problems after ACCEPTED on the listing itself.
        summary.failed += 1
        _fail_sent(push, f"Amazon accepted {push.quantity} but reports: {_issues_text(errors)}")
        return
    _not_yet(push, summary, note=f"Amazon still shows {remote.quantity}.")


def _not_yet(push: QtyPush, summary: ConfirmSummary, *, note: str) -> None:
    now = timezone.now()
    checks = push.checks + 1
    if checks >= MAX_CHECKS:
        summary.failed += 1
        _fail_sent(
            push,
            f"Amazon accepted {push.quantity} but did not show it after {checks} checks. {note}",
        )
        return
    summary.waiting += 1
    QtyPush.objects.filter(pk=push.pk, state=PushState.SENT).update(
        checks=checks,
        next_attempt_at=now + backoff(checks),
        message=f"Not applied yet (check {checks}). {note}",
        updated_at=now,
    )


def _fail_sent(push: QtyPush, message: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        updated = QtyPush.objects.filter(pk=push.pk, state=PushState.SENT).update(
            state=PushState.FAILED, checks=push.checks + 1, message=message, updated_at=now
        )
        if updated:
            Listing.objects.filter(pk=push.listing_id).update(
                status=ListingStatus.FAILED, status_message=message, updated_at=now
            )


# --- feeds -------------------------------------------------------------------------------------

_FEED_RUNNING = {"IN_QUEUE", "IN_PROGRESS"}


def poll_feed(
    *,
    feed_pk: int,
    client_factory: ClientFactory | None = None,
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
    client = (client_factory or _default_client)(feed.account, feed.marketplace_id)
    limiter = _limiter(feed.account, limiter)
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
                _release(push, delay=backoff(push.attempts), message=give_up, count_attempt=False)
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
            _fail_sent(push, "; ".join(problems))
        else:
            _done(
                push,
                amazon_quantity=None,
                now=now,
                message=f"Processed in feed {feed.feed_id}",
            )


# --- housekeeping ------------------------------------------------------------------------------


def release_stale_claims(*, now: datetime | None = None) -> int:
    """Pushes left "sending" by a worker that died go back to pending."""
    now = now or timezone.now()
    stale = list(QtyPush.objects.filter(state=PushState.SENDING, claimed_at__lt=now - LEASE))
    for push in stale:
        _release(push, delay=timedelta(0), message="The worker sending it stopped; sent again.")
    return len(stale)


@dataclass
class DueWork:
    send: list[int] = field(default_factory=list)  # account ids
    confirm: list[int] = field(default_factory=list)  # account ids
    feeds: list[int] = field(default_factory=list)  # AmazonFeed pks


def due_work(*, now: datetime | None = None) -> DueWork:
    """What is due now: accounts with pushes to send or confirm, feeds to poll."""
    now = now or timezone.now()
    return DueWork(
        send=sorted(
            set(
                QtyPush.objects.filter(
                    state=PushState.PENDING, next_attempt_at__lte=now
                ).values_list("account_id", flat=True)
            )
        ),
        confirm=sorted(
            set(
                QtyPush.objects.filter(
                    state=PushState.SENT,
                    transport=PushTransport.PATCH,
                    next_attempt_at__lte=now,
                ).values_list("account_id", flat=True)
            )
        ),
        feeds=list(
            AmazonFeed.objects.filter(applied_at__isnull=True, next_poll_at__lte=now).values_list(
                "pk", flat=True
            )
        ),
    )
