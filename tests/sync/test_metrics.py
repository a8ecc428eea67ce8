"""Our own metrics at /metrics, as Prometheus reads them (sync/metrics.py).

The production topology test scrapes them through gunicorn after real pushes and a forged
webhook (tests/workers/test_production_topology.py); these pin each figure to the rows.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from sync.models import PushState, QtyPush, WebhookEvent, WebhookRejection
from tests.factories import ListingFactory, ShopifyStoreFactory

pytestmark = pytest.mark.django_db


def scrape(client, settings) -> dict[tuple[str, tuple], float]:
    settings.STOCKLINK_METRICS_TOKEN = "scrape-me"
    response = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def push(*, state, created_ago=0.0, confirmed_after=None, attempts=1, due_in=0.0):
    now = timezone.now()
    listing = ListingFactory()
    created = now - timedelta(seconds=created_ago)
    return QtyPush.objects.create(
        listing=listing,
        account=listing.selling_list.amazon_account,
        quantity=3,
        reason="stock_change",
        state=state,
        attempts=attempts,
        created_at=created,
        next_attempt_at=now + timedelta(seconds=due_in),
        confirmed_at=(
            created + timedelta(seconds=confirmed_after) if confirmed_after is not None else None
        ),
    )


def test_pushes_by_outcome_and_convergence_lag_come_from_the_outbox(client, settings):
    push(state=PushState.DONE, created_ago=100, confirmed_after=2)
    push(state=PushState.DONE, created_ago=100, confirmed_after=45, attempts=3)
    push(state=PushState.DONE, created_ago=5000, confirmed_after=4000, attempts=2)
    push(state=PushState.FAILED, attempts=1)
    push(state=PushState.SUPERSEDED, attempts=0)

    metrics = scrape(client, settings)

    def pushes(outcome):
        return metrics[("stocklink_pushes", (("outcome", outcome),))]

    assert (
        pushes("confirmed"),
        pushes("failed"),
        pushes("superseded"),
        pushes("retried"),
    ) == (3, 1, 1, 3)

    def bucket(le):
        return metrics[("stocklink_convergence_lag_seconds_bucket", (("le", le),))]

    assert [bucket(le) for le in ("1.0", "2.5", "30.0", "60.0", "3600.0", "+Inf")] == [
        0,
        1,
        1,
        2,
        2,
        3,
    ]
    assert metrics[("stocklink_convergence_lag_seconds_count", ())] == 3
    assert metrics[("stocklink_convergence_lag_seconds_sum", ())] == pytest.approx(4047)


def test_queue_lag_is_the_age_of_the_oldest_waiting_item_per_queue(client, settings):
    store = ShopifyStoreFactory()
    now = timezone.now()
    WebhookEvent.objects.create(
        store=store, topic="inventory_levels/update", event_id="a", received_at=now
    )
    WebhookEvent.objects.create(
        store=store,
        topic="inventory_levels/update",
        event_id="b",
        received_at=now - timedelta(seconds=40),
    )
    WebhookEvent.objects.create(
        store=store,
        topic="inventory_levels/update",
        event_id="c",
        received_at=now - timedelta(seconds=900),
        processed_at=now,
    )
    push(state=PushState.PENDING, due_in=-20)  # due 20 s ago, not yet claimed
    push(state=PushState.PENDING, due_in=600)  # in its back-off: not lag
    push(state=PushState.SENT, due_in=-3000)  # on Amazon's side: not in a queue

    metrics = scrape(client, settings)

    def lag(queue):
        return metrics[("stocklink_queue_lag_seconds", (("queue", queue),))]

    assert 40 <= lag("webhooks") < 60
    assert 20 <= lag("pushes") < 40
    assert lag("orders") == 0
    assert metrics[("stocklink_pending_pushes", ())] == 2


def test_webhook_rejections_are_counted_by_reason(client, settings):
    store = ShopifyStoreFactory()
    today = timezone.localdate()
    WebhookRejection.objects.create(store=store, reason="bad_signature", count=7, day=today)
    WebhookRejection.objects.create(
        store=store, reason="bad_signature", count=2, day=today - timedelta(days=1)
    )
    WebhookRejection.objects.create(store=None, reason="unknown_shop", count=4, day=today)

    metrics = scrape(client, settings)

    def rejections(reason):
        return metrics[("stocklink_webhook_rejections", (("reason", reason),))]

    assert rejections("bad_signature") == 9
    assert rejections("unknown_shop") == 4
    assert rejections("missing_signature") == 0
