"""What the beat should queue now: sends whose back-off is over, probes of open circuits, due
read-backs, feed polls."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from ..models import AmazonFeed, PushState, PushTransport, QtyPush
from .circuit import probe_due_account_ids

logger = logging.getLogger(__name__)


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
            | set(probe_due_account_ids(now))  # an open circuit's probe ignores back-offs
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
