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
from ..models import PushState, PushTransport, QtyPush
from ..ratelimit import Limiter
from .claims import backoff, issues_text, limiter_for, push_done, push_fail_sent

logger = logging.getLogger(__name__)

# --- confirming --------------------------------------------------------------------------------


@dataclass
class ConfirmSummary:
    checked: int = 0
    confirmed: int = 0
    waiting: int = 0
    failed: int = 0
    retry_after: float | None = None


def pushes_confirm(
    *,
    account_id: int,
    limiter: Limiter | None = None,
    limit: int = 50,
) -> ConfirmSummary:
    """Read back the listings of ACCEPTED pushes; done when Amazon shows the quantity.

    ACCEPTED is not applied (Amazon processes it later, and may still reject it): a push
    counts only when getListingsItem shows its quantity. Not yet → checked again after a
    back-off, up to `SYNC_conf.max_checks()` times, then failed with what Amazon shows and says.
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
    if remote.quantity == push.quantity:
        push_done(push, amazon_quantity=remote.quantity, now=now)
        summary.confirmed += 1
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
        summary.failed += 1
        push_fail_sent(
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
