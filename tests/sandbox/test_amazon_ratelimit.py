"""Published rate limits as shared token buckets, 429 QuotaExceeded, counters and fault knobs."""

import time

import pytest

from sandbox.amazon.models import RateBucket, throttled_count
from sandbox.amazon.ratelimit import USAGE_PLANS, take_token
from sync.clients.amazon import _Feeds
from sync.clients.amazon_data import FEED_CONTENT_TYPE
from sync.clients.errors import RateLimited, TransientError


def test_bucket_allows_the_burst_then_refills_at_the_published_rate(transactional_db):
    plan = USAGE_PLANS["patchListingsItem"]  # 5 per second, burst 5
    start = 1_000_000.0

    burst = [take_token("A1", "patchListingsItem", now=start) for _ in range(plan.burst + 1)]
    # 0.25 s refills 1.25 tokens: one request fits, a second at the same instant does not.
    after_a_quarter = take_token("A1", "patchListingsItem", now=start + 0.25)
    too_soon = take_token("A1", "patchListingsItem", now=start + 0.25)

    assert burst == [True] * plan.burst + [False]
    assert after_a_quarter is True
    assert too_soon is False
    assert throttled_count(seller_id="A1") == 2
    assert throttled_count(seller_id="someone else") == 0


def test_buckets_are_per_seller_and_operation(transactional_db):
    for _ in range(USAGE_PLANS["createFeed"].burst):
        assert take_token("A1", "createFeed", now=0.0)

    assert take_token("A1", "createFeed", now=0.0) is False
    assert take_token("A2", "createFeed", now=0.0) is True
    assert take_token("A1", "getFeed", now=0.0) is True


def test_burst_beyond_create_feed_document_limit_gets_counted_429s(
    amazon_seller, amazon_client, monkeypatch
):
    frozen = time.time()  # no refill during the burst, however slow the machine
    monkeypatch.setattr("sandbox.amazon.ratelimit.time.time", lambda: frozen)
    creds = amazon_seller()
    feeds = amazon_client(creds)._client(_Feeds)
    client = amazon_client(creds)
    answers = []
    for _ in range(USAGE_PLANS["createFeedDocument"].burst + 3):  # 15 + 3 at 0.5/s
        try:
            client._call(lambda: feeds.create_feed_document(None, FEED_CONTENT_TYPE))
            answers.append("ok")
        except RateLimited as exc:
            answers.append(exc)

    refused = [a for a in answers if a != "ok"]
    assert answers[:15] == ["ok"] * 15
    assert len(refused) == 3
    assert all(exc.status == 429 and exc.code == "QuotaExceeded" for exc in refused)
    assert refused[0].retry_after == pytest.approx(1 / 0.5)
    assert throttled_count(creds["seller_id"], "createFeedDocument") == len(refused)


def test_patch_burst_gets_429s_and_a_paced_client_gets_none(
    amazon_seller, amazon_client, monkeypatch
):
    burst_creds = amazon_seller([("SKU-1", 10, "DEFAULT")])
    paced_creds = amazon_seller([("SKU-1", 10, "DEFAULT")])
    bursty, paced = amazon_client(burst_creds), amazon_client(paced_creds)

    # The burst happens "at one instant" for the bucket, however slow the database is.
    frozen = time.time()
    with monkeypatch.context() as frozen_clock:
        frozen_clock.setattr("sandbox.amazon.ratelimit.time.time", lambda: frozen)
        refused = 0
        for quantity in range(12):
            try:
                bursty.patch_quantity("SKU-1", "PRODUCT", quantity)
            except RateLimited as exc:
                refused += 1
                assert exc.retry_after == pytest.approx(0.2)
    assert refused == 12 - USAGE_PLANS["patchListingsItem"].burst
    for quantity in range(8):  # more than the burst of 5, at the published 5 per second
        paced.patch_quantity("SKU-1", "PRODUCT", quantity)
        time.sleep(0.21)

    assert throttled_count(burst_creds["seller_id"]) == refused
    assert throttled_count(paced_creds["seller_id"]) == 0
    assert RateBucket.objects.get(seller_id=paced_creds["seller_id"]).requests_count == 8


def test_rate_limit_knob_off_lets_a_benchmark_run_unthrottled(
    amazon_seller, amazon_client, amazon_knobs
):
    amazon_knobs(rate_limits_enabled=False)
    creds = amazon_seller([("SKU-1", 10, "DEFAULT")])
    client = amazon_client(creds)

    for quantity in range(15):
        assert client.patch_quantity("SKU-1", "PRODUCT", quantity).accepted

    assert throttled_count() == 0


def test_random_429_knob_throttles_without_blaming_the_caller(
    amazon_seller, amazon_client, amazon_knobs
):
    amazon_knobs(fault_429_share=1.0)
    creds = amazon_seller()

    with pytest.raises(RateLimited):
        amazon_client(creds).get_listing("SKU-1")

    assert throttled_count(creds["seller_id"]) == 0
    bucket = RateBucket.objects.get(seller_id=creds["seller_id"], operation="getListingsItem")
    assert bucket.injected_429_count == 1


def test_5xx_knob_gives_transient_errors(amazon_seller, amazon_client, amazon_knobs):
    amazon_knobs(fault_5xx_share=1.0)

    with pytest.raises(TransientError) as error:
        amazon_client(amazon_seller()).get_listing("SKU-1")

    assert error.value.status in (500, 503)
    assert not isinstance(error.value, RateLimited)


def test_unreachable_amazon_is_a_transient_error(amazon_seller, amazon_client):
    client = amazon_client(
        amazon_seller(), endpoint="http://127.0.0.1:9", token_url="http://127.0.0.1:9/token"
    )

    with pytest.raises(TransientError):
        client.get_listing("SKU-1")
