"""Sync health, as the merchant's home page and the problem banners show it.

sync_problems(heartbeat=...)   what is broken now: one line each, shown on every admin page
sync_health()                  per Amazon account and marketplace: states, ages, failures, last runs
push_activity(hours=, buckets=) pushes confirmed and failed per time bucket, for the chart

Every function runs a fixed number of grouped queries, whatever the number of listings.
"""

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone

from accounts.models import AmazonAccount, Marketplace, ShopifyStore
from selling_lists.models import Listing, ListingStatus, state_expression

from .models import (
    AmazonOrder,
    PushState,
    QtyPush,
    SellerCircuit,
    WebhookEvent,
    WebhookRejection,
)

OPEN_STATES = (PushState.PENDING, PushState.SENDING, PushState.SENT)


@dataclass(frozen=True)
class Problem:
    """One banner: what is wrong, in the merchant's words, and where to look."""

    kind: str  # credentials | unreachable | webhooks | beat
    text: str
    url_name: str = ""
    query: str = ""


def sync_problems(*, heartbeat: float | None, now: datetime | None = None) -> list[Problem]:
    """What stops Stocklink from keeping Amazon in step, now (four small queries).

    Credentials refused and Amazon unreachable are the seller circuit's states
    (sync/outbound/circuit.py): the banner goes as soon as the circuit closes or is reset."""
    now = now or timezone.now()
    problems = []
    circuits = SellerCircuit.objects.exclude(state=SellerCircuit.State.CLOSED).select_related(
        "account"
    )
    for circuit in sorted(circuits, key=lambda c: (c.state, c.account.name)):
        name = circuit.account.name
        if circuit.state == SellerCircuit.State.CREDENTIALS:
            problems.append(
                Problem(
                    "credentials",
                    f"Amazon refuses the credentials of {name}: nothing is sent until they are "
                    "fixed. Enter a new refresh token on the Amazon account's page.",
                    "admin:accounts_amazonaccount_changelist",
                )
            )
        else:
            problems.append(
                Problem(
                    "unreachable",
                    f"Amazon cannot be reached for {name}: quantities wait and are retried, "
                    f"next try {_clock(circuit.next_probe_at)} ({circuit.reason or 'no answer'}).",
                    "admin:selling_lists_listing_changelist",
                    f"state=waiting&amazon_account__id__exact={circuit.account_id}",
                )
            )
    silence = timedelta(hours=settings.STOCKLINK_WEBHOOK_SILENCE_HOURS)
    stores = ShopifyStore.objects.filter(selling_lists__isnull=False).distinct()
    last = dict(
        WebhookEvent.objects.filter(store__in=stores)
        .values_list("store__name")
        .annotate(last=Max("received_at"))
    )
    for store in stores.values_list("name", "created_at"):
        name, created = store
        seen = last.get(name) or created
        if now - seen > silence:
            problems.append(
                Problem(
                    "webhooks",
                    f"No webhook from {name} for {_age(now - seen)}: stock changes reach "
                    "Amazon only at the next reconcile. Check the store's webhook subscription.",
                    "admin:sync_webhookevent_changelist",
                )
            )
    stale = settings.STOCKLINK_BEAT_STALE_SECONDS
    if heartbeat is None or time.time() - heartbeat > stale:
        since = (
            "has not run yet" if heartbeat is None else f"last ran {_age_seconds(heartbeat)} ago"
        )
        problems.append(
            Problem(
                "beat",
                f"The scheduler (Celery beat) {since}: scheduled order imports, retries and "
                "the reconcile do not run. Start it (make demo-beat, or the beat service).",
            )
        )
    return problems


@dataclass
class MarketHealth:
    """One Amazon account in one marketplace, as the home page shows it."""

    account: AmazonAccount
    marketplace: Marketplace
    states: list[tuple[str, str, int]] = field(default_factory=list)  # value, label, count
    total: int = 0
    open_pushes: int = 0
    pending_pushes: int = 0  # queued, not yet sent
    oldest_open: datetime | None = None
    failures: list[tuple[str, int]] = field(default_factory=list)  # message, listings
    last_confirmed: datetime | None = None
    last_order: datetime | None = None
    last_reconcile: datetime | None = None
    # The seller's circuit when it is not closed: "open" (unreachable) or "credentials".
    circuit: str = ""
    circuit_reason: str = ""
    next_try: datetime | None = None
    # Filled by the home page from the shared limiter (sync.ratelimit.headroom).
    headroom: list = field(default_factory=list)


def sync_health() -> list[MarketHealth]:
    """Per Amazon account and marketplace that has listings, in a constant number of queries."""
    labels = dict(ListingStatus.choices)
    rows: dict[tuple[int, str], MarketHealth] = {}
    accounts = {a.pk: a for a in AmazonAccount.objects.all()}
    markets = {m.pk: m for m in Marketplace.objects.filter(listings__isnull=False).distinct()}
    # Counted by the state model (docs/convergence.md), as the Listings changelist filters.
    states = Listing.objects.annotate(sync_state=state_expression())
    counts = (
        states.values("amazon_account", "marketplace", "sync_state")
        .annotate(n=Count("pk"))
        .order_by("amazon_account", "marketplace", "sync_state")
    )
    for row in counts:
        key = (row["amazon_account"], row["marketplace"])
        health = rows.setdefault(key, MarketHealth(accounts[key[0]], markets[key[1]]))
        state = row["sync_state"]
        health.states.append((state, labels.get(state, state), row["n"]))
        health.total += row["n"]
    pushes = (
        QtyPush.objects.filter(state__in=OPEN_STATES)
        .values("account", "listing__marketplace")
        .annotate(
            n=Count("pk"),
            pending=Count("pk", filter=Q(state=PushState.PENDING)),
            oldest=Min("created_at"),
        )
    )
    for row in pushes:
        if health := rows.get((row["account"], row["listing__marketplace"])):
            health.open_pushes, health.oldest_open = row["n"], row["oldest"]
            health.pending_pushes = row["pending"]
    failures = (
        states.filter(sync_state=ListingStatus.FAILED)
        .values("amazon_account", "marketplace", "status_message")
        .annotate(n=Count("pk"))
        .order_by("-n")
    )
    for row in failures:
        if health := rows.get((row["amazon_account"], row["marketplace"])):
            health.failures.append((row["status_message"], row["n"]))
    lasts = (
        QtyPush.objects.filter(state=PushState.DONE)
        .values("account", "listing__marketplace")
        .annotate(
            confirmed=Max("confirmed_at"),
            reconciled=Max("confirmed_at", filter=Q(reason="reconcile")),
        )
    )
    for row in lasts:
        if health := rows.get((row["account"], row["listing__marketplace"])):
            health.last_confirmed, health.last_reconcile = row["confirmed"], row["reconciled"]
    circuits = SellerCircuit.objects.exclude(state=SellerCircuit.State.CLOSED).values(
        "account", "state", "reason", "next_probe_at"
    )
    by_account = {row["account"]: row for row in circuits}
    for health in rows.values():
        if row := by_account.get(health.account.pk):
            health.circuit, health.circuit_reason = row["state"], row["reason"]
            health.next_try = row["next_probe_at"]
    orders = AmazonOrder.objects.values("account", "marketplace").annotate(
        last=Max("first_seen_at")
    )
    for row in orders:
        if health := rows.get((row["account"], row["marketplace"])):
            health.last_order = row["last"]
    return sorted(rows.values(), key=lambda h: (h.account.name, h.marketplace.country))


def webhook_health(*, now: datetime | None = None) -> list[dict]:
    """Per Shopify store: the last webhook received and the rejections of the last 7 days."""
    now = now or timezone.now()
    week = now.date() - timedelta(days=7)
    received = dict(
        WebhookEvent.objects.values_list("store").annotate(last=Max("received_at")).order_by()
    )
    rejected = dict(
        WebhookRejection.objects.filter(day__gte=week, store__isnull=False)
        .values_list("store")
        .annotate(n=Sum("count"))
        .order_by()
    )
    return [
        {"store": store, "last": received.get(store.pk), "rejected": rejected.get(store.pk, 0)}
        for store in ShopifyStore.objects.order_by("name")
    ]


def push_activity(*, hours: int, now: datetime | None = None) -> list[dict]:
    """Pushes confirmed and failed per hour (hours ≤ 48) or per day, oldest first, gaps as 0."""
    now = now or timezone.now()
    hourly = hours <= 48
    step = timedelta(hours=1) if hourly else timedelta(days=1)
    trunc = TruncHour if hourly else TruncDay
    start = now - timedelta(hours=hours)
    buckets = (
        QtyPush.objects.filter(updated_at__gte=start, state__in=[PushState.DONE, PushState.FAILED])
        .annotate(bucket=trunc("updated_at"))
        .values("bucket")
        .annotate(
            done=Count("pk", filter=Q(state=PushState.DONE)),
            failed=Count("pk", filter=Q(state=PushState.FAILED)),
        )
        .order_by("bucket")
    )
    found = {row["bucket"]: row for row in buckets}
    cursor = _floor(start, hourly)
    series = []
    while cursor <= now:
        row = found.get(cursor, {})
        label = cursor.strftime("%H:00") if hourly else cursor.strftime("%d %b")
        series.append({"label": label, "done": row.get("done", 0), "failed": row.get("failed", 0)})
        cursor += step
    return series


def _floor(moment: datetime, hourly: bool) -> datetime:
    moment = moment.astimezone(timezone.get_current_timezone())
    moment = moment.replace(minute=0, second=0, microsecond=0)
    return moment if hourly else moment.replace(hour=0)


def _clock(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%H:%M:%S") if moment else "soon"


def _age(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f} hours" if hours < 48 else f"{hours / 24:.0f} days"


def _age_seconds(unix_time: float) -> str:
    seconds = max(time.time() - unix_time, 0)
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"
