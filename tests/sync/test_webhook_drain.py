"""One drain task for many webhook deliveries: nothing lost to the race with a drain finishing.

With REDIS_URL set these run against that Redis; without it, against a stand-in that keeps the
three commands the flag uses (SET NX PX, SET PX, DEL).
"""

import pytest
from celery import current_app

from sync import queues
from sync.clients.errors import RateLimited
from sync.clients.factory import substitute
from sync.inbound import events, wakeup
from sync.inbound.events import webhook_events_drain
from sync.models import WebhookEvent
from tests.factories import InventoryLevelFactory
from tests.sync.fakes import FakeShopify
from tests.sync.test_webhooks import deliver, level_payload

pytestmark = pytest.mark.django_db


class StandInRedis:
    def __init__(self):
        self.data = {}

    def set(self, key, value, nx=False, px=None):
        if nx and key in self.data:
            return None
        self.data[key] = value
        return True

    def delete(self, *keys):
        return sum(self.data.pop(key, None) is not None for key in keys)

    def exists(self, key):
        return int(key in self.data)


@pytest.fixture
def flag_redis(settings, monkeypatch):
    """The Redis the flag lives in (REDIS_URL's, or the stand-in), the flag cleared around."""
    if settings.REDIS_URL:
        client = wakeup.redis_client(settings.REDIS_URL)
    else:
        client = StandInRedis()
        settings.REDIS_URL = "redis://stand-in/0"
        monkeypatch.setattr(wakeup, "redis_client", lambda url: client)
    key = wakeup.DrainFlag().key
    client.delete(key)
    yield client
    client.delete(key)


@pytest.fixture
def published(monkeypatch):
    """The drains queued (their countdowns), instead of a broker."""
    sent = []
    task = current_app.tasks[queues.DRAIN_WEBHOOKS]
    monkeypatch.setattr(task, "apply_async", lambda *a, countdown=None, **k: sent.append(countdown))
    return sent


def flag_is_set(client) -> bool:
    return bool(client.exists(wakeup.DrainFlag().key))


def world(n_levels=2, available=7):
    levels = [InventoryLevelFactory() for _ in range(n_levels)]
    shopify = FakeShopify(
        levels={(lv.variant.inventory_item_id, lv.location.shopify_id): available for lv in levels}
    )
    return levels, shopify


def test_many_deliveries_queue_one_drain_until_it_runs(
    client, flag_redis, published, django_capture_on_commit_callbacks
):
    levels, _ = world(3)
    with django_capture_on_commit_callbacks(execute=True):
        for i, level in enumerate(levels):
            response = deliver(client, level.variant.store, level_payload(level), event_id=f"e{i}")
            assert response.status_code == 200 and b"Queued" in response.content

    assert WebhookEvent.objects.filter(processed_at__isnull=True).count() == 3
    assert published == [None], "one drain for the three deliveries"
    assert flag_is_set(flag_redis)


def test_the_drain_processes_every_stores_events_and_lets_the_next_delivery_queue_one(
    client, flag_redis, published, django_capture_on_commit_callbacks
):
    levels, shopify = world(2)
    with django_capture_on_commit_callbacks(execute=True):
        for i, level in enumerate(levels):
            deliver(client, level.variant.store, level_payload(level), event_id=f"e{i}")

    with substitute(shopify=lambda store: shopify):
        summary = webhook_events_drain()

    assert summary.events == 2 and summary.batches == 2  # two stores, a batch each
    assert not WebhookEvent.objects.filter(processed_at__isnull=True).exists()
    for level in levels:
        level.refresh_from_db()
        assert level.available == 7
    assert not flag_is_set(flag_redis)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, levels[0].variant.store, level_payload(levels[0]), event_id="later")
    assert published == [None, None]


def test_a_delivery_that_finds_the_flag_set_just_before_the_drain_ends_is_processed(
    client, flag_redis, published, monkeypatch, django_capture_on_commit_callbacks
):
    """The race: the drain found nothing, and before it deletes the flag a delivery commits
    its row and finds the flag still set (so it queues nothing). The drain's last look must
    see that row."""
    (level,), shopify = world(1)
    store = level.variant.store
    real = events._first_unprocessed
    arrived = []

    def first_unprocessed(*, exclude):
        found = real(exclude=exclude)
        if not found and not arrived:
            with django_capture_on_commit_callbacks(execute=True):
                response = deliver(client, store, level_payload(level), event_id="late")
            arrived.append(response.status_code)
        return found

    monkeypatch.setattr(events, "_first_unprocessed", first_unprocessed)
    wakeup.DrainFlag().take()  # the drain was queued by an earlier delivery
    with substitute(shopify=lambda store: shopify):
        summary = webhook_events_drain()

    assert arrived == [200]
    assert published == [], "the late delivery found the flag set and queued nothing"
    late = WebhookEvent.objects.get(event_id="late")
    assert late.processed_at is not None and summary.events == 1
    level.refresh_from_db()
    assert level.available == 7
    assert not flag_is_set(flag_redis)


def test_a_delivery_while_the_drain_works_is_processed_by_the_same_drain(
    client, flag_redis, published, django_capture_on_commit_callbacks
):
    (level,), shopify = world(1)
    store = level.variant.store
    real_read = shopify.inventory_levels_for_items
    late = []

    def read_while_a_delivery_arrives(item_ids, **kwargs):
        if not late:
            with django_capture_on_commit_callbacks(execute=True):
                late.append(deliver(client, store, level_payload(level), event_id="during"))
        return real_read(item_ids, **kwargs)

    shopify.inventory_levels_for_items = read_while_a_delivery_arrives
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, store, level_payload(level), event_id="first")
    with substitute(shopify=lambda store: shopify):
        summary = webhook_events_drain()

    assert late[0].status_code == 200
    assert published == [None], "only the first delivery queued a drain"
    assert summary.events == 2
    assert not WebhookEvent.objects.filter(processed_at__isnull=True).exists()


def test_a_rate_limited_store_waits_for_a_later_drain_without_holding_up_the_others(
    client, flag_redis, published, django_capture_on_commit_callbacks
):
    (limited, fine), shopify = world(2)
    throttled = FakeShopify()

    def throttled_read(item_ids, **kwargs):
        raise RateLimited("throttled", retry_after=3.0)

    throttled.inventory_levels_for_items = throttled_read
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, limited.variant.store, level_payload(limited), event_id="a")
        deliver(client, fine.variant.store, level_payload(fine), event_id="b")
    clients = {limited.variant.store_id: throttled, fine.variant.store_id: shopify}

    with substitute(shopify=lambda store: clients[store.pk]):
        summary = webhook_events_drain()

    assert summary.failed_stores == [limited.variant.store_id]
    assert WebhookEvent.objects.get(event_id="b").processed_at is not None
    assert WebhookEvent.objects.get(event_id="a").processed_at is None
    assert published == [None, 3.0], "the first delivery's drain, then one after the wait"


def test_a_drain_past_its_budget_queues_the_next_and_keeps_the_flag(
    client, flag_redis, published, django_capture_on_commit_callbacks
):
    levels, shopify = world(2)
    with django_capture_on_commit_callbacks(execute=True):
        for i, level in enumerate(levels):
            deliver(client, level.variant.store, level_payload(level), event_id=f"e{i}")

    with substitute(shopify=lambda store: shopify):
        summary = webhook_events_drain(budget_seconds=0)

    assert "another drain queued" in str(summary)
    assert published == [None, None]
    assert flag_is_set(flag_redis), "deliveries meanwhile leave it to the queued drain"


def test_without_redis_every_delivery_queues_a_drain(
    client, settings, published, django_capture_on_commit_callbacks
):
    settings.REDIS_URL = ""
    levels, _ = world(2)
    with django_capture_on_commit_callbacks(execute=True):
        for i, level in enumerate(levels):
            deliver(client, level.variant.store, level_payload(level), event_id=f"e{i}")
    assert published == [None, None]
