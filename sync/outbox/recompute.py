"""Recompute listings and write the outbox: the target quantity lands in the same transaction as
the change that caused it (DESIGN.md, "Outbox" and "Coalescing").

    listings_recompute(listing_ids=..., variant_ids=..., reason=...)
    listing_forget_amazon_side(listing=...)

Every account that got a push is asked to send, on commit (`sync.queues`).
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import NamedTuple

from django.db import connection, transaction
from django.utils import timezone

from accounts.bulk import column_in
from profiles.rules import Result
from selling_lists.models import Listing, ListingStatus

from .. import conf, queues
from ..models import PushReason, PushState, QtyPush, SellerCircuit
from .decide import Decision, decide
from .results import rule_results
from .rows import AT, DECIDED_BY, ListingRow, PendingPush, listing_rows, unsent_pushes
from .writes import insert_pushes, replace_pushes, write_recorded

logger = logging.getLogger(__name__)


@dataclass
class RecomputeSummary:
    """What a recompute did, in counts a merchant can read."""

    listings: int = 0
    queued: int = 0  # pending pushes written or replaced
    unchanged: int = 0  # Amazon has (or is being sent) the target already
    held: int = 0  # differs, but not sent automatically (auto updates off, static mode)
    sync_off: int = 0
    fba: int = 0
    stock_missing: int = 0  # policy "keep": Amazon is left as it is
    not_retried: int = 0  # failed or not on Amazon, target unchanged: waits for Update Qty
    written: int = 0  # listings whose row or pushes were written (and so locked)
    queued_account_ids: set[int] = field(default_factory=set)
    sync_off_account_ids: set[int] = field(default_factory=set)

    def count(self, decision: Decision, account, listings: int) -> None:
        """Count `listings` listings of `account` decided so."""
        if not listings:
            return
        self.listings += listings
        setattr(self, decision.outcome, getattr(self, decision.outcome) + listings)
        if decision.outcome == "sync_off" and not account.inventory_sync_enabled:
            self.sync_off_account_ids.add(account.pk)

    def add(self, other: RecomputeSummary) -> None:
        for name in (
            "listings",
            "queued",
            "unchanged",
            "held",
            "sync_off",
            "fba",
            "stock_missing",
            "not_retried",
            "written",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.queued_account_ids |= other.queued_account_ids
        self.sync_off_account_ids |= other.sync_off_account_ids


def _chunks(ids: Sequence[int], size: int) -> Iterator[list[int]]:
    iterator = iter(ids)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _listing_ids(listing_ids, variant_ids) -> list[int]:
    """The listings to recompute, in one query per argument whatever their number."""
    ids: set[int] = set()
    listings = Listing.objects.order_by()
    if listing_ids is not None:
        ids.update(
            listings.filter(column_in(Listing, "id", set(listing_ids))).values_list("pk", flat=True)
        )
    if variant_ids is not None:
        wanted = column_in(Listing, "variant_id", set(variant_ids))
        ids.update(listings.filter(wanted).values_list("pk", flat=True))
    return sorted(ids)


def listings_recompute(
    *,
    listing_ids: Iterable[int] | None = None,
    variant_ids: Iterable[int] | None = None,
    reason: str,
    acting_user=None,
    force: bool = False,
    hold: bool = False,
) -> RecomputeSummary:
    """Recompute the Result of these listings (and of every listing fed by these variants) and
    queue a push wherever Amazon must be told a new quantity.

    Per batch of `SYNC_RECOMPUTE_BATCH_SIZE` listings, in one transaction: the listings'
    computed quantity, status and flags are saved and the pending push is written or replaced
    (at most one per listing; a newer target replaces the quantity of the pending one). The
    switches decide what may be queued (see `decide`): sync off, paused and FBA → nothing;
    automatic updates off and static modes → only explicit reasons (manual, profile change,
    listing edit) or `force`. `force` (manual
    Update Qty) queues the Result even when Amazon was already told that number. `hold` queues
    nothing: a rule saved but not confirmed yet shows as held where the Result moved.

    A worker is asked to send (on commit) for every account that got a push.
    """
    if listing_ids is None and variant_ids is None:
        raise ValueError("recompute_listings needs listing_ids or variant_ids")
    reason = PushReason(reason)
    summary = RecomputeSummary()
    lock_first = False
    for chunk in _chunks(_listing_ids(listing_ids, variant_ids), conf.recompute_batch_size()):
        batch = _recompute_batch(
            chunk,
            reason=reason,
            acting_user=acting_user,
            force=force,
            hold=hold,
            lock_first=lock_first,
        )
        summary.add(batch)
        # A change that moved most of one batch (a catalogue-wide stock change, Update Qty)
        # likely moves the next: lock as it is read instead of reading the movers twice.
        lock_first = batch.written * 2 > len(chunk)
    queues.send_pushes_soon(summary.queued_account_ids)
    return summary


class _Plan(NamedTuple):
    """What a recompute decided for one listing that has something to write."""

    pk: int
    account_id: int
    result: Result
    decision: Decision
    push: PendingPush | None
    told: int | None
    recorded: tuple  # (computed quantity, stock missing, status, message) to store
    changed: bool  # `recorded` differs from what is stored


class _Decided:
    """One decision, shared by every listing of a batch with the same inputs."""

    __slots__ = ("account", "changed", "decision", "listings", "recorded", "writes")

    def __init__(self, decision: Decision, listing: ListingRow, recorded: tuple, push):
        self.decision = decision
        self.account = listing.amazon_account
        self.recorded = recorded
        before = (
            listing.computed_quantity,
            listing.stock_missing,
            listing.status,
            listing.status_message,
        )
        self.changed = recorded != before
        self.writes = (
            self.changed or decision.queue or bool(decision.supersede_pending and push is not None)
        )
        self.listings = 0  # that share it


def _recompute_batch(
    ids: list[int],
    *,
    reason: str,
    acting_user,
    force: bool,
    hold: bool = False,
    lock_first: bool = False,
) -> RecomputeSummary:
    now = timezone.now()
    lock_first = lock_first and connection.features.has_select_for_update
    decide_batch = functools.partial(_plan, reason=reason, force=force, hold=hold)
    with transaction.atomic():
        # A first read without locks decides every listing; only those with something to write
        # are then locked and decided again, so a recompute that changes nothing locks and
        # writes nothing (locking a row writes to it on PostgreSQL). `lock_first`: most rows
        # are expected to move, so they are locked by the first read.
        summary, moving, plans = decide_batch(ids, lock=lock_first)
        if connection.features.has_select_for_update and not lock_first and plans:
            # Serialises with other recomputes and with claimers (which lock the listing
            # too), so a pending push is never replaced while a worker takes it.
            quiet, moving, plans = decide_batch([plan.pk for plan in plans], lock=True)
            summary.add(quiet)
        summary.add(moving)
        summary.written += moving.listings
        if not plans:
            return summary

        new_pushes: list[tuple] = []
        replaced: list[tuple] = []
        drop: dict[str, list[int]] = defaultdict(list)
        changed: list[tuple] = []
        for pk, account_id, result, decision, push, told, recorded, moved in plans:
            if moved:
                changed.append((pk, *recorded))
            if decision.supersede_pending and push is not None:
                drop[decision.supersede_pending].append(push.pk)
            if not decision.queue:
                continue
            summary.queued_account_ids.add(account_id)
            if push is not None:
                replaced.append(
                    (push.pk, result.quantity, told, result.source_quantity, result.trace)
                )
            else:
                new_pushes.append(
                    (pk, account_id, result.quantity, told, result.source_quantity, result.trace)
                )

        write_recorded(changed, now)
        for why, push_ids in drop.items():
            QtyPush.objects.filter(pk__in=push_ids, state=PushState.PENDING).update(
                state=PushState.SUPERSEDED, message=f"Not sent: {why}.", updated_at=now
            )
        replace_pushes(replaced, reason=reason, acting_user=acting_user, now=now)
        insert_pushes(new_pushes, reason=reason, acting_user=acting_user, now=now)
        summary.queued = len(new_pushes) + len(replaced)
    return summary


def _plan(
    ids: list[int], *, reason: str, force: bool, hold: bool, lock: bool
) -> tuple[RecomputeSummary, RecomputeSummary, list[_Plan]]:
    """Decide each listing (`decide`), reading plain rows; `lock` takes their row locks.

    Returns the summaries of the listings with nothing to write and of the others, and a plan
    for each of the others. Listings that share every input of the decision (most of a
    catalogue: one profile, a few stock levels) share one decision, computed once: per listing,
    only a key is built.
    """
    rows, lists, accounts = listing_rows(ids, lock=lock)
    quiet, moving = RecomputeSummary(), RecomputeSummary()
    if not rows:
        return quiet, moving, []
    results = rule_results(
        [
            (
                lists[row[AT.selling_list_id]],
                row[AT.override_mode],
                row[AT.override_quantity],
                row[AT.variant_id],
            )
            for row in rows
        ]
    )
    in_flight, pending = unsent_pushes([row[AT.id] for row in rows])
    stopped = _stopped_accounts(set(accounts))

    decided: dict[tuple, _Decided] = {}
    plans = []
    for row, (rule, result) in zip(rows, results, strict=True):
        pk, amazon_quantity = row[AT.id], row[AT.amazon_quantity]
        push = pending.get(pk)
        flying = pk in in_flight
        if flying:
            told = in_flight[pk]
        elif amazon_quantity is not None:
            # What Amazon shows: read back (confirm, link, reconcile), lowered by its sales.
            told = amazon_quantity
        else:
            told = row[AT.last_sent_quantity]
        pending_quantity = push.quantity if push else None
        # Every input `decide` reads; rules and results are shared objects within a batch.
        key = (id(rule), id(result), row[DECIDED_BY], told, flying, pending_quantity)
        known = decided.get(key)
        if known is None:
            listing = ListingRow(row, lists, accounts)
            decision = decide(
                listing,
                rule,
                result,
                reason=reason,
                force=force,
                hold=hold,
                told=told,
                in_flight=flying,
                pending_quantity=pending_quantity,
                previous_target=listing.computed_quantity,
            )
            status, message = decision.status, decision.message
            if status in _WAITS_FOR_CIRCUIT and listing.amazon_account_id in stopped:
                # The seller's circuit is open or its credentials were refused: say so.
                status, message = stopped[listing.amazon_account_id]
            recorded = (result.quantity, result.stock_missing, status, message)
            known = decided[key] = _Decided(decision, listing, recorded, push)
        known.listings += 1
        if known.writes:
            plans.append(
                _Plan(
                    pk,
                    row[AT.amazon_account_id],
                    result,
                    known.decision,
                    push,
                    told,
                    known.recorded,
                    known.changed,
                )
            )
    for known in decided.values():
        (moving if known.writes else quiet).count(known.decision, known.account, known.listings)
    return quiet, moving, plans


_WAITS_FOR_CIRCUIT = (ListingStatus.PENDING, ListingStatus.SENDING, ListingStatus.WAITING)


def _stopped_accounts(account_ids: set[int]) -> dict[int, tuple[str, str]]:
    """Status and reason of the listings with a push of sellers whose circuit is not closed."""
    stopped = {}
    for account_id, state, reason in (
        SellerCircuit.objects.filter(account_id__in=account_ids)
        .exclude(state=SellerCircuit.State.CLOSED)
        .values_list("account_id", "state", "reason")
    ):
        status = (
            ListingStatus.FAILED
            if state == SellerCircuit.State.CREDENTIALS
            else ListingStatus.WAITING
        )
        stopped[account_id] = (status, reason)
    return stopped


def listing_forget_amazon_side(*, listing: Listing) -> int:
    """The listing now points at another Amazon SKU or list: drop what the old one was told.

    Unsent and unconfirmed pushes were meant for the old SKU (or the old seller): superseded.
    Returns how many pushes were dropped.
    """
    now = timezone.now()
    dropped = QtyPush.objects.filter(
        listing_id=listing.pk, state__in=[PushState.PENDING, PushState.SENT]
    ).update(state=PushState.SUPERSEDED, message="The listing was re-linked.", updated_at=now)
    listing.last_sent_quantity = None
    listing.last_sent_at = None
    listing.amazon_quantity = None
    listing.asin = ""
    listing.status = ListingStatus.PENDING
    listing.status_message = ""
    return dropped
