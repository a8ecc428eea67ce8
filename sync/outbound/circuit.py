"""One circuit per seller (docs/convergence.md): transient failures never give up, and while
Amazon is down a single probe goes out instead of every worker hammering it.

    circuit_gate(account)              may this send go out? (None: no; "probe": one push only)
    circuit_trip(account, reason)      a 5xx or timeout: open, next probe after a capped back-off
    circuit_close(account)             a probe got through: drain the backlog now, at the rate
    circuit_refused(account, reason)   credentials refused: stop, say so on every waiting listing
    circuit_reset(account)             credentials saved or sync resumed: retry at once

Listings with a push show the circuit: "Waiting for Amazon — next try HH:MM (reason)" while it
is open, "Qty update failed: Amazon refused the account's credentials …" while refused.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.models import AmazonAccount
from selling_lists.models import Listing, ListingStatus

from .. import conf, queues
from ..models import PushState, QtyPush, SellerCircuit

State = SellerCircuit.State
# A probe that never reports back (its worker died) frees the gate after this long.
PROBE_TIMEOUT = timedelta(seconds=60)


def jittered(seconds: float, cap: timedelta) -> timedelta:
    """`seconds`, at most `cap`, less up to a quarter at random: never above the cap, and
    workers that failed together do not come back together."""
    base = min(seconds, cap.total_seconds())
    return timedelta(seconds=base * (0.75 + random.random() * 0.25))


def _circuit(account_id: int) -> SellerCircuit:
    circuit, _ = SellerCircuit.objects.get_or_create(account_id=account_id)
    return circuit


def circuit_gate(account: AmazonAccount, *, now: datetime | None = None) -> str | None:
    """ "all" when the circuit is closed, "probe" when this caller won the one probe of an open
    circuit, None when nothing may be sent now."""
    now = now or timezone.now()
    circuit = SellerCircuit.objects.filter(account_id=account.pk).first()
    if circuit is None or circuit.state == State.CLOSED:
        return "all"
    if circuit.state == State.CREDENTIALS:
        return None
    # Only one caller moves next_probe_at forward: the one that sends the probe.
    won = SellerCircuit.objects.filter(
        pk=circuit.pk, state=State.OPEN, next_probe_at__lte=now
    ).update(next_probe_at=now + PROBE_TIMEOUT)
    return "probe" if won else None


def circuit_is_closed(account_id: int) -> bool:
    return (
        not SellerCircuit.objects.filter(account_id=account_id).exclude(state=State.CLOSED).exists()
    )


def _has_push() -> Exists:
    return Exists(
        QtyPush.objects.filter(
            listing_id=OuterRef("pk"), state__in=[PushState.PENDING, PushState.SENDING]
        )
    )


def circuit_trip(account: AmazonAccount, reason: str, *, now: datetime | None = None) -> datetime:
    """Amazon failed transiently (5xx, timeout): open the circuit, or keep it open one probe
    longer. Returns the next probe's time (2, 4, 8 … s, at most SYNC_CIRCUIT_MAX_PROBE_SECONDS)."""
    now = now or timezone.now()
    with transaction.atomic():
        circuit = SellerCircuit.objects.select_for_update().get(pk=_circuit(account.pk).pk)
        if circuit.state == State.CREDENTIALS:
            return circuit.next_probe_at or now
        if circuit.state == State.CLOSED:
            circuit.opened_at = now
            circuit.failures = 0
        circuit.failures += 1
        circuit.state = State.OPEN
        circuit.reason = reason
        circuit.next_probe_at = now + jittered(2**circuit.failures, conf.circuit_max_probe())
        circuit.save()
        Listing.objects.filter(amazon_account=account).filter(_has_push()).update(
            status=ListingStatus.WAITING,
            status_message=reason,
            retry_at=circuit.next_probe_at,
            updated_at=now,
        )
    return circuit.next_probe_at


def circuit_close(account: AmazonAccount, *, now: datetime | None = None) -> bool:
    """A request got through: close the circuit and make the backlog due now (it drains at
    the seller's published rate through the shared limiter). Returns whether it was open."""
    now = now or timezone.now()
    with transaction.atomic():
        closed = (
            SellerCircuit.objects.filter(account_id=account.pk)
            .exclude(state=State.CLOSED)
            .update(state=State.CLOSED, failures=0, reason="", next_probe_at=None)
        )
        if not closed:
            return False
        _backlog_due(account, now)
    queues.send_pushes_soon([account.pk])
    return True


def circuit_refused(account: AmazonAccount, reason: str, *, now: datetime | None = None) -> None:
    """Amazon refused the account's credentials: a permanent failure until they are saved
    again. Every listing with a push says so (its push stays queued, nothing is lost)."""
    now = now or timezone.now()
    saved = AmazonAccount.objects.filter(pk=account.pk).values_list("updated_at", flat=True)
    if account.updated_at and saved and saved[0] > account.updated_at:
        # The account was saved after this send loaded it (new credentials?): a refusal of
        # the old ones says nothing about them, and must not undo the reset that saving did.
        return
    message = (
        f"Amazon refused the account's credentials: {reason} Save the corrected credentials "
        "on the Amazon account's page; sending resumes at once."
    )
    with transaction.atomic():
        circuit = SellerCircuit.objects.select_for_update().get(pk=_circuit(account.pk).pk)
        circuit.state = State.CREDENTIALS
        circuit.reason = message
        circuit.opened_at = circuit.opened_at or now
        circuit.next_probe_at = None
        circuit.save()
        Listing.objects.filter(amazon_account=account).filter(_has_push()).update(
            status=ListingStatus.FAILED, status_message=message, retry_at=None, updated_at=now
        )


def circuit_reset(account: AmazonAccount, *, now: datetime | None = None) -> bool:
    """Credentials saved, or sync resumed: forget the failures and send the backlog now."""
    now = now or timezone.now()
    with transaction.atomic():
        SellerCircuit.objects.filter(account_id=account.pk).update(
            state=State.CLOSED, failures=0, reason="", next_probe_at=None
        )
        _backlog_due(account, now)
    queues.send_pushes_soon([account.pk])
    return True


def _backlog_due(account: AmazonAccount, now: datetime) -> None:
    QtyPush.objects.filter(account=account, state__in=[PushState.PENDING, PushState.SENT]).update(
        next_attempt_at=now
    )
    Listing.objects.filter(
        amazon_account=account, status__in=[ListingStatus.WAITING, ListingStatus.FAILED]
    ).filter(_has_push()).update(
        status=ListingStatus.PENDING, status_message="", retry_at=None, updated_at=now
    )


def probe_due_account_ids(now: datetime) -> list[int]:
    """Sellers whose open circuit may send its probe now (the beat queues a send for them)."""
    return list(
        SellerCircuit.objects.filter(state=State.OPEN, next_probe_at__lte=now).values_list(
            "account_id", flat=True
        )
    )
