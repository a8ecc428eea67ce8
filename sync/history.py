"""A listing's history, as its page charts it: Shopify stock, the Result and Amazon's quantity
over time, with each push and each Amazon order marked.

    listing_history(listing_id=..., days=7)

Only what Stocklink recorded is drawn: each push stores the Shopify stock its Result was
computed from (`QtyPush.shopify_stock`) and the quantity Amazon showed when it confirmed it
(`QtyPush.amazon_shown`); the last point of each line is the listing as Stocklink reads it now.
Nothing between two records is guessed. A fixed number of queries, whatever the listing's past:
the window is the last `days` days and at most `MAX_EVENTS` pushes and orders.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from selling_lists.models import Listing
from selling_lists.selectors import listings_with_stock

from .models import AmazonOrderItem, PushState, QtyPush
from .outbox.results import compute_results

MAX_EVENTS = 200  # pushes, and order lines, drawn at most

SERIES = (
    ("stock", "Shopify stock"),
    ("result", "Result"),
    ("amazon", "Amazon's quantity"),
)


@dataclass(frozen=True)
class HistoryEvent:
    """One row of the history table under the chart (and, unless `kind` is empty, a mark)."""

    at: datetime
    kind: str  # push (confirmed) | push-sent | push-failed | order | "" (queued, not sent)
    text: str
    shopify_stock: int | None = None
    result: int | None = None
    amazon: int | None = None


@dataclass
class ListingHistory:
    since: datetime
    now: datetime
    days: int
    events: list[HistoryEvent] = field(default_factory=list)  # oldest first
    current: HistoryEvent | None = None
    pushes: dict[str, int] = field(default_factory=dict)  # confirmed, sent, failed, queued
    orders: int = 0
    units: int = 0

    @property
    def empty(self) -> bool:
        return not self.events

    def chart(self) -> dict:
        """The chart's data, as static/stocklink/charts.js draws a `.line-chart`: times in ms."""
        points: dict[str, list] = {key: [] for key, _ in SERIES}
        for event in [*self.events, *([self.current] if self.current else [])]:
            at = _ms(event.at)
            for key, value in (
                ("stock", event.shopify_stock),
                ("result", event.result),
                ("amazon", event.amazon),
            ):
                if value is not None:
                    points[key].append([at, value])
        return {
            "series": [{"name": name, "key": key, "points": points[key]} for key, name in SERIES],
            "marks": [
                {"at": _ms(e.at), "kind": e.kind, "label": f"{_when(e.at)}: {e.text}"}
                for e in self.events
                if e.kind
            ],
        }

    def summary(self) -> str:
        """The chart in one sentence, for screen readers and a quick look."""
        if self.empty:
            return f"No push and no Amazon order in the last {self.days} days."
        p = self.pushes
        parts = [f"{p[k]} {k}" for k in ("confirmed", "sent", "failed", "queued") if p.get(k)]
        total = sum(p.values())
        text = (
            f"Last {self.days} days: {total} push{'es' if total != 1 else ''}"
            f"{' (' + ', '.join(parts) + ')' if parts else ''}, "
            f"{self.orders} Amazon order line{'s' if self.orders != 1 else ''} "
            f"({self.units} unit{'s' if self.units != 1 else ''})."
        )
        if self.current:
            text += f" Now: {self.current.text}."
        return text


def listing_history(*, listing_id: int, days: int = 7, now: datetime | None = None):
    """The listing's pushes and Amazon orders of the last `days` days, and its values now.

    Seven queries whatever the number of pushes or orders: the listing, the four of its
    Result now (`compute_results`), its pushes, its order lines.
    """
    now = now or timezone.now()
    since = now - timedelta(days=days)
    history = ListingHistory(since=since, now=now, days=days)
    listing = listings_with_stock(Listing.objects.filter(pk=listing_id)).first()
    if listing is None:
        return history
    _, result = compute_results([listing])[listing.pk]
    history.current = HistoryEvent(
        at=now,
        kind="",
        text=(
            f"Shopify stock {_shown(result.source_quantity)}, Result "
            f"{'unchanged' if result.quantity is None else result.quantity}, Amazon shows "
            f"{_shown(listing.amazon_quantity)}"
        ),
        shopify_stock=result.source_quantity,
        result=result.quantity,
        amazon=listing.amazon_quantity,
    )
    events = [*_push_events(listing, since, history), *_order_events(listing, since, history)]
    history.events = sorted(events, key=lambda e: e.at)
    return history


def _push_events(listing: Listing, since: datetime, history: ListingHistory):
    pushes = list(
        QtyPush.objects.filter(listing_id=listing.pk, created_at__gte=since)
        .order_by("-created_at", "-pk")
        .values(
            "pk",
            "state",
            "quantity",
            "shopify_stock",
            "amazon_shown",
            "message",
            "created_at",
            "sent_at",
            "confirmed_at",
            "updated_at",
        )[:MAX_EVENTS]
    )
    for push in reversed(pushes):
        state, quantity = push["state"], push["quantity"]
        name = f"push #{push['pk']} of {quantity}"
        # The Result and the stock it came from, when the push was queued.
        queued = {
            PushState.PENDING: f"{name} queued (not sent yet)",
            PushState.SUPERSEDED: f"{name} queued (replaced)",
        }.get(state, f"{name} queued")
        yield HistoryEvent(push["created_at"], "", queued, push["shopify_stock"], quantity)
        if state in (PushState.PENDING, PushState.SUPERSEDED):
            key = "queued"
        elif state == PushState.DONE:
            key = "confirmed"
            shown = push["amazon_shown"] if push["amazon_shown"] is not None else quantity
            yield HistoryEvent(
                push["confirmed_at"] or push["updated_at"],
                "push",
                f"{name} confirmed: Amazon shows {shown}",
                amazon=shown,
            )
        elif state == PushState.FAILED:
            key = "failed"
            yield HistoryEvent(
                push["updated_at"],
                "push-failed",
                f"{name} failed: {push['message'] or 'no message'}",
            )
        else:  # sending, sent: Amazon has it, not confirmed yet
            key = "sent"
            yield HistoryEvent(
                push["sent_at"] or push["updated_at"],
                "push-sent",
                f"{name} sent, waiting for Amazon to show it",
            )
        history.pushes[key] = history.pushes.get(key, 0) + 1


def _order_events(listing: Listing, since: datetime, history: ListingHistory):
    # Lines matched to the listing, or carrying its SKU in its seller's orders (unmatched).
    lines = (
        AmazonOrderItem.objects.filter(order__purchased_at__gte=since)
        .filter(
            Q(listing_id=listing.pk)
            | Q(
                listing__isnull=True,
                sku=listing.sku,
                order__account_id=listing.amazon_account_id,
                order__marketplace_id=listing.marketplace_id,
            )
        )
        .order_by("-order__purchased_at", "-pk")
        .values("quantity", "order__order_id", "order__purchased_at", "order__status")[:MAX_EVENTS]
    )
    for line in reversed(list(lines)):
        units = line["quantity"]
        history.orders += 1
        history.units += units
        yield HistoryEvent(
            line["order__purchased_at"],
            "order",
            f"Amazon order {line['order__order_id']}: {units} unit{'s' if units != 1 else ''} "
            f"({line['order__status']})",
        )


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _when(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%d %b %H:%M")


def _shown(value: int | None) -> str:
    return "—" if value is None else str(value)
