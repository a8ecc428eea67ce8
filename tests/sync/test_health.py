"""Sync health (sync/health.py): the problem banners and the home page read the seller circuit,
in a fixed number of queries; the home page shows queue depth and rate-limit headroom."""

import time

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from kombu import Connection

from config.celery import app
from sync.health import sync_health, sync_problems
from sync.models import PushState, QtyPush
from sync.outbound.circuit import circuit_close, circuit_refused, circuit_reset, circuit_trip
from sync.queues import queue_depths
from sync.ratelimit import (
    PUBLISHED_RATES,
    DatabaseBucket,
    RedisBucket,
    bucket_key,
    headroom,
    rate_for,
)
from tests.factories import ListingFactory

pytestmark = pytest.mark.django_db


def kinds(problems):
    return [p.kind for p in problems if p.kind in ("credentials", "unreachable")]


def account_with_a_push(name):
    listing = ListingFactory(selling_list__amazon_account__name=name)
    QtyPush.objects.create(
        listing=listing, account=listing.amazon_account, quantity=3, reason="manual"
    )
    return listing.amazon_account


def test_refused_credentials_show_a_banner_until_the_account_is_saved_again():
    account = account_with_a_push("Amazon US")
    circuit_refused(account, "invalid_grant")
    problems = sync_problems(heartbeat=time.time())
    assert kinds(problems) == ["credentials"]
    assert "refuses the credentials of Amazon US" in problems[0].text

    circuit_reset(account)
    assert kinds(sync_problems(heartbeat=time.time())) == []


def test_an_open_circuit_shows_amazon_unreachable_with_its_reason_and_next_try():
    account = account_with_a_push("Amazon EU")
    next_try = circuit_trip(account, "Amazon is not answering: 503 Service Unavailable")
    (problem,) = [p for p in sync_problems(heartbeat=time.time()) if p.kind == "unreachable"]
    assert "Amazon cannot be reached for Amazon EU" in problem.text
    assert "503 Service Unavailable" in problem.text
    assert timezone.localtime(next_try).strftime("%H:%M:%S") in problem.text

    circuit_close(account)
    assert kinds(sync_problems(heartbeat=time.time())) == []


def test_a_push_message_alone_raises_no_banner_when_the_circuit_is_closed():
    listing = ListingFactory()
    QtyPush.objects.create(
        listing=listing,
        account=listing.amazon_account,
        quantity=3,
        reason="manual",
        attempts=2,
        message="Amazon refused the account's credentials: invalid_grant",
    )
    assert kinds(sync_problems(heartbeat=time.time())) == []


def test_home_page_shows_each_accounts_circuit():
    refused = account_with_a_push("Refused")
    down = account_with_a_push("Down")
    account_with_a_push("Fine")
    circuit_refused(refused, "invalid_grant")
    next_try = circuit_trip(down, "Amazon is not answering: timeout")
    by_name = {h.account.name: h for h in sync_health()}
    assert by_name["Refused"].circuit == "credentials"
    assert "invalid_grant" in by_name["Refused"].circuit_reason
    assert (by_name["Down"].circuit, by_name["Down"].next_try) == ("open", next_try)
    assert by_name["Fine"].circuit == ""


def test_home_page_and_banners_read_the_circuit_in_a_constant_number_of_queries():
    def count():
        with CaptureQueriesContext(connection) as queries:
            sync_problems(heartbeat=time.time())
            sync_health()
        return len(queries)

    circuit_trip(account_with_a_push("One"), "Amazon is not answering: 503")
    one = count()
    for i in range(3):
        circuit_refused(account_with_a_push(f"Refused {i}"), "invalid_grant")
        circuit_trip(account_with_a_push(f"Down {i}"), "Amazon is not answering: 503")
    assert count() == one


def test_the_home_page_says_credentials_refused_and_the_banner_links_to_the_accounts(
    admin_client,
):
    circuit_refused(account_with_a_push("Amazon US"), "invalid_grant")
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert "health-circuit-credentials" in html
    assert "sync-problem-credentials" in html
    assert reverse("admin:accounts_amazonaccount_changelist") in html


# --- queue depth and rate-limit headroom ------------------------------------------------------


def test_home_page_counts_pushes_waiting_to_be_sent_per_account_and_marketplace(admin_client):
    account = account_with_a_push("Amazon US")
    listing = ListingFactory(selling_list__amazon_account=account)
    QtyPush.objects.create(listing=listing, account=account, quantity=1, reason="manual")
    QtyPush.objects.create(
        listing=listing, account=account, quantity=2, reason="manual", state=PushState.DONE
    )
    (health,) = sync_health()
    assert health.pending_pushes == 2
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert '<strong class="pending-pushes">2</strong> pushes waiting' in html


def test_headroom_shows_tokens_left_of_the_burst_and_the_published_rate_per_operation():
    bucket = DatabaseBucket(clock=lambda: 1_000.0)  # a still clock: nothing refills meanwhile
    seller = ("A2Q3Y263D00KWC", "NA")
    for _ in range(3):
        bucket.reserve(bucket_key(*seller, "patch_listing"), rate_for("patch_listing"), max_wait=0)
    budgets = {h.operation: h for h in headroom([seller], bucket=bucket)[seller]}
    assert set(budgets) == set(PUBLISHED_RATES)
    patch = budgets["patch_listing"]
    assert (patch.available, patch.burst) == (rate_for("patch_listing").burst - 3, 4)
    assert (patch.per_second, patch.published_burst) == (5.0, 5)
    assert budgets["get_listing"].available == budgets["get_listing"].burst  # untouched
    assert budgets["create_feed"].rate_text == "1 every 60 s"


def test_home_page_shows_each_accounts_headroom_and_says_queues_are_not_measured_on_files(
    admin_client,
):
    account = account_with_a_push("Amazon US")
    DatabaseBucket().reserve(
        bucket_key(account.seller_id, account.region, "patch_listing"),
        rate_for("patch_listing"),
        max_wait=0,
    )
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert 'data-operation="patch_listing"' in html
    assert "5 per second, burst 5" in html
    assert "queues-unmeasured" in html
    assert queue_depths() is None  # the embedded filesystem broker


def redis_url():
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL is not set: the Redis broker runs on CI (make test-services)")
    return settings.REDIS_URL


@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
def test_queue_depths_are_the_lengths_of_each_queue_on_a_redis_broker():
    url = redis_url()
    client = redis.Redis.from_url(url)
    keys = [q + s for q in settings.STOCKLINK_QUEUES for s in ("", "\x06\x163", "\x06\x166")]
    keys += [q + "\x06\x169" for q in settings.STOCKLINK_QUEUES]
    keys += [
        f"_kombu.binding{kind}.{q}"
        for q in settings.STOCKLINK_QUEUES
        for kind in ("", "_permanent")
    ]
    client.delete(*keys)
    try:
        # Published through Celery's routing, as a service queues them (send_task is never eager).
        with Connection(url) as connection:
            app.send_task("sync.reconcile_all", connection=connection)
            app.send_task("sync.reconcile_all", connection=connection)
            app.send_task("sync.process_webhook_event", args=[0], connection=connection, priority=9)
        assert queue_depths(url) == {"webhooks": 1, "pushes": 0, "orders": 0, "jobs": 2}
    finally:
        client.delete(*keys)


def test_headroom_reads_the_redis_limiter_without_taking_a_token():
    bucket = RedisBucket(redis_url())
    seller = ("HEADROOM-TEST", "EU")
    key = bucket_key(*seller, "get_feed_document")  # refills one token every 50 s
    bucket.reset(key)
    try:
        for _ in range(2):
            bucket.reserve(key, rate_for("get_feed_document"), max_wait=0)
        for _ in range(2):  # reading twice takes nothing
            budget = {h.operation: h for h in headroom([seller], bucket=bucket)[seller]}
        left = budget["get_feed_document"].available
        assert (
            rate_for("get_feed_document").burst - 2
            <= left
            < rate_for("get_feed_document").burst - 1.5
        )
    finally:
        bucket.reset(key)


def test_queue_depths_are_not_measured_when_the_redis_broker_does_not_answer():
    assert queue_depths("redis://127.0.0.1:9/0") is None  # a closed loopback port
