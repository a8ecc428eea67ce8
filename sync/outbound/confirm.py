"""Confirming patches: read the listing back until Amazon shows the quantity we sent.

pushes_confirm(account_id=...)   sent (ACCEPTED) → read back → done, or check again
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from accounts.models import AmazonAccount
from selling_lists.models import Listing

from .. import conf
from ..clients.errors import (
    MarketplaceError,
    RateLimited,
    TransientError,
)
from ..clients.factory import amazon_client
from ..models import PushReason, PushState, PushTransport, QtyPush
from ..outbox.recompute import listings_recompute
from ..ratelimit import Limiter
from .circuit import circuit_is_closed
from .claims import backoff, issues_text, limiter_for, push_done, push_fail_sent, push_resend

logger = logging.getLogger(__name__)

# --- confirming --------------------------------------------------------------------------------


@dataclass
class ConfirmSummary:
    checked: int = 0
    confirmed: int = 0
    waiting: int = 0
    failed: int = 0
    resent: int = 0
    retry_after: float | None = None


def pushes_confirm(
    *,
    account_id: int,
    limiter: Limiter | None = None,
    limit: int = 50,
) -> ConfirmSummary:
    """Read back the listings of ACCEPTED pushes; done when Amazon shows the quantity.

    ACCEPTED is not applied (Amazon processes it later, and may still reject it): a push
    counts only when getListingsItem shows its quantity, or that many fewer as Amazon sold
    since (a sale during the read-back). Not yet → checked again after a back-off, up to
    `SYNC_MAX_CHECKS` times, then sent again; errors Amazon reports on the listing fail it.
    """
    summary = ConfirmSummary()
    account = AmazonAccount.objects.filter(pk=account_id).first()
    if account is None or not circuit_is_closed(account.pk):
        return summary  # Amazon is failing: the circuit's probe goes first (circuit.py)
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
    limiter = limiter_for(account, limiter)
    by_marketplace: dict[str, list[QtyPush]] = defaultdict(list)
    for push in pushes:
        by_marketplace[push.listing.marketplace_id].append(push)
    for marketplace_id, group in by_marketplace.items():
        client = amazon_client(account, marketplace_id)
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
    # Amazon may have sold units since the push was sent (imported orders count them in
    # `sold_since_sent`): showing that many fewer still means it applied our quantity.
    push.refresh_from_db(fields=["sold_since_sent"])
    shown = remote.quantity
    if shown is not None and push.quantity - push.sold_since_sent <= shown <= push.quantity:
        push_done(push, amazon_quantity=shown, now=now)
        summary.confirmed += 1
        if shown != push.quantity:
            # Sold down meanwhile: what Amazon shows may no longer be the Result.
            listings_recompute(listing_ids=[push.listing_id], reason=PushReason.ORDER)
        return
    Listing.objects.filter(pk=push.listing_id).update(amazon_quantity=remote.quantity)
    errors = [i for i in remote.issues if i.severity == "ERROR"]
    if errors and push.checks + 1 >= 2:
        # Amazon reports problems after ACCEPTED on the listing itself.
        summary.failed += 1
        push_fail_sent(push, f"Amazon accepted {push.quantity} but reports: {issues_text(errors)}")
        return
    _not_yet(push, summary, note=f"Amazon still shows {remote.quantity}.")


def _not_yet(push: QtyPush, summary: ConfirmSummary, *, note: str) -> None:
    now = timezone.now()
    checks = push.checks + 1
    if checks >= conf.max_checks():
        # Not applied after every check: send it again rather than give up.
        summary.resent += 1
        push_resend(
            push,
            f"Amazon accepted {push.quantity} but did not show it after {checks} checks; "
            f"sent again. {note}",
        )
        return
    summary.waiting += 1
    QtyPush.objects.filter(pk=push.pk, state=PushState.SENT).update(
        checks=checks,
        next_attempt_at=now + backoff(checks),
        message=f"Not applied yet (check {checks}). {note}",
        updated_at=now,
    )
