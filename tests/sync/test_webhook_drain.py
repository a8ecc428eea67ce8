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


@pytest.fixture
def flag_redis(webhook_redis):
    """The Redis the flags live in (tests/sync/conftest.py), emptied of them around."""
    keys = [wakeup.DrainFlag(store_id).key for store_id in range(1, 200)]
    webhook_redis.delete(*keys)
    yield webhook_redis
    webhook_redis.delete(*keys)


@pytest.fixture
def published(monkeypatch):
    """The drains queued, (store id, countdown) each, instead of a broker."""
    sent = []
    task = current_app.tasks[queues.DRAIN_WEBHOOKS]
    monkeypatch.setattr(
        task,
        "apply_async",
        lambda args=None, countdown=None, **k: sent.append((args[0], countdown)),
    )
    return sent


def flag_is_set(client, store_id) -> bool:
    return bool(client.exists(wakeup.DrainFlag(store_id).key))


def world(n_levels=2, available=7):
    """Levels in as many stores, and a Shopify that shows each at `available`."""
    levels = [InventoryLevelFactory() for _ in range(n_levels)]
    shopify = FakeShopify(
        levels={(lv.variant.inventory_item_id, lv.location.shopify_id): available for lv in levels}
    )
    return levels, shopify


def delivered_once(client, on_commit):
    """One level, and one delivery about it (event "a") stored and its drain queued."""
    (level,), _ = world(1)
    with on_commit(execute=True):
        deliver(client, level.variant.store, level_payload(level), event_id="a")
    return level


def shopify_raising(error: Exception) -> FakeShopify:
    """A Shopify whose stock read raises `error`."""
    shopify = FakeShopify()

    def read(item_ids, **kwargs):
        raise error

    shopify.inventory_levels_for_items = read
    return shopify


def second_level(level):
    """Another variant of the same store, stocked at the same location."""
    return InventoryLevelFactory(
        variant__product__store=level.variant.store, location=level.location
    )


def test_many_deliveries_queue_one_drain_per_store_until_it_runs(
    client, flag_redis, published, django_capture_on_commit_callbacks
):
    (one, two), _ = world(2)
    with django_capture_on_commit_callbacks(execute=True):
        for i, level in enumerate([one, second_level(one), two, one]):
            response = deliver(client, level.variant.store, level_payload(level), event_id=f"e{i}")
            assert response.status_code == 200 and b"Queued" in response.content

    assert WebhookEvent.objects.filter(processed_at__isnull=True).count() == 4
    stores = [one.variant.store_id, two.variant.store_id]
    assert published == [(stores[0], None), (stores[1], None)], "one drain per store"
    assert flag_is_set(flag_redis, stores[0]) and flag_is_set(flag_redis, stores[1])


def test_the_drain_processes_the_stores_events_and_lets_the_next_delivery_queue_one(
    client, flag_redis, published, django_capture_on_commit_callbacks
):
    (level, other), shopify = world(2)
    store_id = level.variant.store_id
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, level.variant.store, level_payload(level), event_id="a")
        deliver(client, level.variant.store, level_payload(level, 6), event_id="b")
        deliver(client, other.variant.store, level_payload(other), event_id="elsewhere")

    with substitute(shopify=lambda store: shopify):
        summary = webhook_events_drain(store_id=store_id)

    assert summary.events == 2 and summary.batches == 1  # the store's two events, one read
    assert not WebhookEvent.objects.filter(store_id=store_id, processed_at__isnull=True).exists()
    assert WebhookEvent.objects.get(event_id="elsewhere").processed_at is None, "its own drain's"
    level.refresh_from_db()
    assert level.available == 7
    assert not flag_is_set(flag_redis, store_id)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, level.variant.store, level_payload(level), event_id="later")
    assert published[-1] == (store_id, None)
    assert len(published) == 3


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

    def first_unprocessed(store_id):
        found = real(store_id)
        if found is None and not arrived:
            with django_capture_on_commit_callbacks(execute=True):
                response = deliver(client, store, level_payload(level), event_id="late")
            arrived.append(response.status_code)
        return found

    monkeypatch.setattr(events, "_first_unprocessed", first_unprocessed)
    wakeup.DrainFlag(store.pk).take()  # the drain was queued by an earlier delivery
    with substitute(shopify=lambda store: shopify):
        summary = webhook_events_drain(store_id=store.pk)

    assert arrived == [200]
    assert published == [], "the late delivery found the flag set and queued nothing"
    late = WebhookEvent.objects.get(event_id="late")
    assert late.processed_at is not None and summary.events == 1
    level.refresh_from_db()
    assert level.available == 7
    assert not flag_is_set(flag_redis, store.pk)


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
        summary = webhook_events_drain(store_id=store.pk)

    assert late[0].status_code == 200
    assert published == [(store.pk, None)], "only the first delivery queued a drain"
    assert summary.events == 2 and summary.batches == 2
    assert not WebhookEvent.objects.filter(processed_at__isnull=True).exists()


def test_a_rate_limited_drain_queues_the_next_after_the_wait_and_keeps_the_flag(
    client, flag_redis, published, django_capture_on_commit_callbacks
):
    level = delivered_once(client, django_capture_on_commit_callbacks)
    store = level.variant.store
    throttled = shopify_raising(RateLimited("throttled", retry_after=3.0))

    with substitute(shopify=lambda store: throttled):
        summary = webhook_events_drain(store_id=store.pk)

    assert "another drain in 3 s" in str(summary)
    assert WebhookEvent.objects.get(event_id="a").processed_at is None
    assert published == [(store.pk, None), (store.pk, 3.0)]
    assert flag_is_set(flag_redis, store.pk), "deliveries meanwhile leave it to that drain"


def test_a_drain_that_fails_lets_the_next_delivery_queue_another(
    client, flag_redis, published, django_capture_on_commit_callbacks
):
    level = delivered_once(client, django_capture_on_commit_callbacks)
    store = level.variant.store
    broken = shopify_raising(KeyError("a bug"))

    with substitute(shopify=lambda store: broken), pytest.raises(KeyError):
        webhook_events_drain(store_id=store.pk)

    assert not flag_is_set(flag_redis, store.pk)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, store, level_payload(level), event_id="b")
    assert published == [(store.pk, None), (store.pk, None)]


def test_a_drain_past_its_budget_queues_the_next_and_keeps_the_flag(
    client, flag_redis, published, django_capture_on_commit_callbacks
):
    (level,), shopify = world(1)
    store = level.variant.store
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, store, level_payload(level), event_id="a")

    with substitute(shopify=lambda store: shopify):
        summary = webhook_events_drain(store_id=store.pk, budget_seconds=0)

    assert "another drain queued" in str(summary)
    assert published == [(store.pk, None), (store.pk, None)]
    assert flag_is_set(flag_redis, store.pk), "deliveries meanwhile leave it to the queued drain"


def test_without_redis_every_delivery_queues_a_drain(
    client, settings, published, django_capture_on_commit_callbacks
):
    settings.REDIS_URL = ""
    (level,), _ = world(1)
    store = level.variant.store
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(2):
            deliver(client, store, level_payload(level), event_id=f"e{i}")
    assert published == [(store.pk, None), (store.pk, None)]
