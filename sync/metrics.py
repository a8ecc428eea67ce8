"""Our own Prometheus metrics, read from the database when /metrics is scraped.

    StocklinkCollector()   pushes by outcome, queue lag, convergence lag, webhook rejections

Every process records pushes, webhook events and rejections in the database anyway, so numbers
read from there are right however many gunicorn and Celery processes run, on however many
hosts, with nothing shared between them but PostgreSQL (docs/deployment.md, "Our own
metrics"). A scrape costs five queries whatever the size of the tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, Min, Q, Sum
from django.utils import timezone
from prometheus_client.core import (
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from .models import PushState, QtyPush, WebhookEvent, WebhookRejection
from .orders.models import OrderStockEntry

# Seconds from the change that made a push due to Amazon showing it (docs/convergence.md
# promises seconds, not minutes; a push that waited out an outage lands in the last buckets).
CONVERGENCE_BUCKETS = (1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)

# outcome label → what settled the push (a push row is never deleted while its listing lives).
OUTCOMES = {
    "confirmed": Q(state=PushState.DONE),
    "failed": Q(state=PushState.FAILED),
    "superseded": Q(state=PushState.SUPERSEDED),
}


class StocklinkCollector:
    """A prometheus_client collector; register it on the registry /metrics renders."""

    def describe(self) -> list[Metric]:
        return []  # nothing to query when registered

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        yield from push_metrics()
        yield from queue_metrics(now)
        yield webhook_rejection_metric()


def push_metrics() -> Iterator[Metric]:
    """Pushes by outcome and the convergence lag of the confirmed ones, in one query."""
    lag = ExpressionWrapper(F("confirmed_at") - F("created_at"), output_field=DurationField())
    confirmed = Q(state=PushState.DONE, confirmed_at__isnull=False)
    row = QtyPush.objects.aggregate(
        **{outcome: Count("pk", filter=where) for outcome, where in OUTCOMES.items()},
        # Sends after the first: Amazon did not show an ACCEPTED quantity, or a worker died.
        retried=Sum(F("attempts") - 1, filter=Q(attempts__gt=1)),
        lag_count=Count("pk", filter=confirmed),
        lag_sum=Sum(lag, filter=confirmed),
        **{
            f"le_{index}": Count(
                "pk",
                filter=confirmed & Q(confirmed_at__lte=F("created_at") + timedelta(seconds=bound)),
            )
            for index, bound in enumerate(CONVERGENCE_BUCKETS)
        },
    )
    # Gauges, not counters: they are counts of rows, and deleting a listing deletes its pushes,
    # which a counter would report as a reset (a false jump in increase()).
    pushes = GaugeMetricFamily(
        "stocklink_pushes",
        "Quantity pushes to Amazon by how they ended (retried: sends after the first).",
        labels=["outcome"],
    )
    for outcome in (*OUTCOMES, "retried"):
        pushes.add_metric([outcome], row[outcome] or 0)
    yield pushes
    buckets = [(_le(bound), row[f"le_{index}"]) for index, bound in enumerate(CONVERGENCE_BUCKETS)]
    yield HistogramMetricFamily(
        "stocklink_convergence_lag_seconds",
        "Seconds from the change that made a push due to the read-back showing it on Amazon.",
        buckets=[*buckets, ("+Inf", row["lag_count"])],
        sum_value=(row["lag_sum"] or timedelta(0)).total_seconds(),
    )


def queue_metrics(now: datetime) -> Iterator[Metric]:
    """Age of the oldest work waiting in each queue (0: none waits), and pending pushes."""
    pending = QtyPush.objects.filter(state=PushState.PENDING).aggregate(
        n=Count("pk"), oldest=Min("next_attempt_at", filter=Q(next_attempt_at__lte=now))
    )
    oldest = {
        # Due pushes not yet claimed by a worker (a back-off after a failure is not lag).
        "pushes": pending["oldest"],
        "webhooks": WebhookEvent.objects.filter(processed_at__isnull=True).aggregate(
            oldest=Min("received_at")
        )["oldest"],
        "orders": OrderStockEntry.objects.filter(state=OrderStockEntry.State.PENDING).aggregate(
            oldest=Min("created_at")
        )["oldest"],
    }
    lag = GaugeMetricFamily(
        "stocklink_queue_lag_seconds",
        "Age of the oldest waiting item per queue: due push, unprocessed webhook, order entry.",
        labels=["queue"],
    )
    for queue, since in oldest.items():
        lag.add_metric([queue], max((now - since).total_seconds(), 0.0) if since else 0.0)
    yield lag
    yield GaugeMetricFamily(
        "stocklink_pending_pushes", "Pushes waiting to be sent.", value=pending["n"]
    )


def webhook_rejection_metric() -> Metric:
    """Refused webhook deliveries by reason, as counted in `WebhookRejection` (Redis's counts
    are added there within seconds: sync/inbound/webhooks.py)."""
    counts = dict(
        WebhookRejection.objects.values_list("reason")
        .annotate(n=Sum("count"))
        .order_by("reason")
        .values_list("reason", "n")
    )
    rejections = GaugeMetricFamily(
        "stocklink_webhook_rejections",
        "Shopify webhook deliveries refused, by reason.",
        labels=["reason"],
    )
    for reason in WebhookRejection.Reason.values:
        rejections.add_metric([reason], counts.get(reason) or 0)
    return rejections


def _le(bound: float) -> str:
    return repr(float(bound))
