"""Refused webhooks are counted off the database's path: in Redis, then flushed to the table.

With REDIS_URL set these run against that Redis; without it, against a small stand-in that
keeps the few commands the counter uses, so the embedded suite proves the same thing.
"""

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext

from sync.inbound import webhooks
from sync.models import WebhookRejection
from sync.tasks import flush_webhook_rejections_task
from tests.factories import ShopifyStoreFactory

pytestmark = pytest.mark.django_db

URL = "/webhooks/shopify/"


@pytest.fixture
def redis_counter(webhook_redis):
    """The Redis the counter uses (tests/sync/conftest.py), emptied before and after."""
    webhook_redis.delete(*webhooks._redis_keys())
    yield webhook_redis
    webhook_redis.delete(*webhooks._redis_keys())


def forged(client, domain, signature="forged=="):
    headers = {"HTTP_X_SHOPIFY_SHOP_DOMAIN": domain, "HTTP_X_SHOPIFY_TOPIC": "products/update"}
    if signature:
        headers["HTTP_X_SHOPIFY_HMAC_SHA256"] = signature
    return client.post(URL, data=b"{}", content_type="application/json", **headers)


def counted(reason=None):
    rows = WebhookRejection.objects.all()
    if reason:
        rows = rows.filter(reason=reason)
    return rows.aggregate(n=Sum("count"))["n"] or 0


def test_refusals_while_a_flush_is_queued_write_nothing_to_the_database(client, redis_counter):
    store = ShopifyStoreFactory()
    redis_counter.set(webhooks._redis_keys()[2], "1")  # a flush is already on its way

    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            assert forged(client, store.shop_domain).status_code == 401
        assert forged(client, store.shop_domain, signature="").status_code == 401
        assert forged(client, "nobody.myshopify.com").status_code == 401

    statements = [q["sql"].lstrip().split()[0].upper() for q in queries.captured_queries]
    assert statements == ["SELECT"] * 7  # one read of the store per request, no write
    assert counted() == 0

    assert flush_webhook_rejections_task() == 3

    assert counted(WebhookRejection.Reason.BAD_SIGNATURE) == 5
    assert counted(WebhookRejection.Reason.MISSING_SIGNATURE) == 1
    assert WebhookRejection.objects.get(store=None).count == 1


def test_a_shop_domain_no_store_could_have_is_refused_without_a_query(
    client, redis_counter, django_assert_num_queries
):
    redis_counter.set(webhooks._redis_keys()[2], "1")
    with django_assert_num_queries(0):
        assert forged(client, "x\x00" * 300).status_code == 401


def test_the_first_refusal_queues_a_flush_that_fills_the_table(client, redis_counter):
    store = ShopifyStoreFactory()

    forged(client, store.shop_domain)  # tests run tasks eagerly: the flush runs at once
    forged(client, store.shop_domain)

    assert WebhookRejection.objects.get().count == 2
    assert redis_counter.hgetall(webhooks._redis_keys()[0]) == {}


def test_a_flush_adds_to_todays_counter_and_keeps_the_latest_time(client, redis_counter):
    store = ShopifyStoreFactory()
    forged(client, store.shop_domain)
    first = WebhookRejection.objects.get()
    redis_counter.set(webhooks._redis_keys()[2], "1")
    forged(client, store.shop_domain)
    forged(client, store.shop_domain)

    webhooks.webhook_rejections_flush()

    latest = WebhookRejection.objects.get()
    assert latest.pk == first.pk and latest.count == 3 and latest.last_at >= first.last_at


def test_counts_for_a_store_deleted_before_the_flush_are_dropped(client, redis_counter):
    store = ShopifyStoreFactory()
    redis_counter.set(webhooks._redis_keys()[2], "1")
    forged(client, store.shop_domain)
    forged(client, "nobody.myshopify.com")
    store.delete()

    webhooks.webhook_rejections_flush()

    assert list(WebhookRejection.objects.values_list("store", "count")) == [(None, 1)]


def test_counts_go_back_to_redis_when_the_database_refuses_them(client, redis_counter, monkeypatch):
    store = ShopifyStoreFactory()
    redis_counter.set(webhooks._redis_keys()[2], "1")
    forged(client, store.shop_domain)

    def refuse(counts, **kwargs):
        raise RuntimeError("database down")

    add_counts = webhooks._add_counts
    monkeypatch.setattr(webhooks, "_add_counts", refuse)
    with pytest.raises(RuntimeError):
        webhooks.webhook_rejections_flush()
    monkeypatch.setattr(webhooks, "_add_counts", add_counts)

    assert webhooks.webhook_rejections_flush() == 1
    assert counted(WebhookRejection.Reason.BAD_SIGNATURE) == 1


def test_without_redis_refusals_are_counted_in_the_database_at_once(client, settings):
    settings.REDIS_URL = ""
    store = ShopifyStoreFactory()

    forged(client, store.shop_domain)

    assert counted(WebhookRejection.Reason.BAD_SIGNATURE) == 1
    assert webhooks.webhook_rejections_flush() == 0
