"""The shared token bucket: published rates kept, across processes, on the database or Redis."""

import threading
import time

import pytest
from django.conf import settings

from sync.clients.errors import RateLimited
from sync.ratelimit import DatabaseBucket, Limiter, Rate, rate_for


def reserve_many(bucket, key, rate, n):
    return [bucket.reserve(key, rate, max_wait=60) for _ in range(n)]


def check_bucket_keeps_the_rate(bucket):
    key = f"test:{time.monotonic_ns()}"
    rate = Rate(5.0, 5)
    waits = reserve_many(bucket, key, rate, 8)
    # The burst goes at once, then one token every 1/5 s, in the order they were reserved.
    assert waits[:5] == [0.0] * 5
    assert waits[5:] == pytest.approx([0.2, 0.4, 0.6], abs=0.05)


def check_too_long_a_wait_takes_nothing(bucket):
    key = f"test:{time.monotonic_ns()}"
    rate = Rate(1.0, 1)
    assert bucket.reserve(key, rate, max_wait=0.5) == 0.0
    refused = bucket.reserve(key, rate, max_wait=0.5)
    assert refused < 0  # refused: the negative wait says when to come back
    # Nothing was taken by the refusal: the next token is still one second away, not two.
    assert bucket.reserve(key, rate, max_wait=5) == pytest.approx(1.0, abs=0.05)


@pytest.mark.django_db
def test_database_bucket_serves_the_burst_then_the_rate():
    now = time.time()
    check_bucket_keeps_the_rate(DatabaseBucket(clock=lambda: now))


@pytest.mark.django_db
def test_database_bucket_refuses_without_taking_a_token():
    check_too_long_a_wait_takes_nothing(DatabaseBucket())


@pytest.mark.django_db
def test_database_bucket_refills_with_time():
    bucket = DatabaseBucket()
    rate = Rate(20.0, 2)
    reserve_many(bucket, "test:refill", rate, 2)
    time.sleep(0.11)
    assert bucket.reserve("test:refill", rate, max_wait=1) == 0.0


@pytest.mark.django_db(transaction=True)
def test_database_bucket_is_shared_by_concurrent_workers():
    """Threads stand in for processes: each has its own database connection."""
    from django.db import connection

    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("in-memory SQLite (shared cache) has no busy timeout; runs on PostgreSQL")
    now = time.time()
    bucket = DatabaseBucket(clock=lambda: now)  # a frozen clock: no refill, exact slots
    rate = Rate(10.0, 3)
    waits: list[float] = []
    lock = threading.Lock()

    def worker():
        from django.db import connection

        try:
            got = reserve_many(bucket, "test:shared", rate, 3)
            with lock:
                waits.extend(got)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 9 reservations: 3 from the burst, then 6 spaced 0.1 s apart — never two on one slot.
    assert sorted(round(w, 1) for w in waits) == [0.0, 0.0, 0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]


def redis_bucket():
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL is not set: the Redis bucket runs on CI (make test-services)")
    from sync.ratelimit import RedisBucket

    return RedisBucket(settings.REDIS_URL)


def test_redis_bucket_serves_the_burst_then_the_rate():
    check_bucket_keeps_the_rate(redis_bucket())


def test_redis_bucket_refuses_without_taking_a_token():
    check_too_long_a_wait_takes_nothing(redis_bucket())


@pytest.mark.django_db
def test_limiter_sleeps_for_its_token_and_raises_when_the_wait_is_too_long():
    slept = []
    limiter = Limiter(
        seller_id="A1TEST", region="NA", bucket=DatabaseBucket(), max_wait=1.0, sleep=slept.append
    )
    for _ in range(rate_for("patch_listing").burst):
        limiter.wait("patch_listing")
    limiter.wait("patch_listing")
    assert slept and slept[-1] == pytest.approx(1 / rate_for("patch_listing").per_second, abs=0.05)

    for _ in range(rate_for("create_feed").burst):  # createFeed: 5 per 5 minutes
        limiter.wait("create_feed")
    with pytest.raises(RateLimited) as raised:
        limiter.wait("create_feed")
    assert raised.value.retry_after > 1.0


def test_rates_stay_below_amazons_published_ones():
    assert rate_for("patch_listing").per_second < 5.0
    # One token of Amazon's burst is held back to absorb jitter between workers.
    assert rate_for("patch_listing").burst == 4
    assert rate_for("get_listing").burst == 4
    assert rate_for("create_feed").per_second * 300 <= 5
