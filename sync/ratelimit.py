"""Token buckets shared by every worker process: one per seller, region and SP-API operation.

Amazon meters each operation with a token bucket per selling partner and application (rate =
refill per second, burst = bucket size). Several workers sending for the same seller must share
one bucket, or together they exceed the rate and get 429s. So the bucket lives in Redis when
`settings.REDIS_URL` is set (one Lua script: atomic, one round trip) and otherwise in a database
row (`sync.RateLimitBucket`, updated under a row lock; SQLite serialises writers anyway).

A caller *reserves* a token: when the bucket is empty it goes into debt and is told how long to
sleep before its request fits. Reservations are served in the order they were made, so waiting
workers never race each other, and a request is never sent before its token exists. A caller
that would wait longer than `max_wait` takes nothing and gets `RateLimited(retry_after)`, so a
task is rescheduled instead of blocking a worker for minutes (e.g. createFeed).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import redis
from django.db import transaction

from . import conf
from .clients.errors import RateLimited
from .models import RateLimitBucket


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: int


# Published SP-API rates (docs/…-rate-limits; reference/amazon-sp-api.md). getListingsItem's burst
# is 10 in the model but 5 on the rate-limit page: we take 5. JSON_LISTINGS_FEED allows 5 feeds
# per 5 minutes per region (2025 changelog), stricter than createFeed's generic 0.0083/15.
PUBLISHED_RATES: dict[str, Rate] = {
    "patch_listing": Rate(5.0, 5),
    "get_listing": Rate(5.0, 5),
    "create_feed_document": Rate(0.5, 15),
    "create_feed": Rate(5 / 300, 5),
    "get_feed": Rate(2.0, 15),
    "get_feed_document": Rate(0.0222, 10),
}


def rate_for(operation: str) -> Rate:
    """The rate we keep to: the published one, slowed by `SYNC_RATE_SAFETY` (default 0.9),
    with one token of burst held back.

    Our clock and Amazon's see a request at slightly different moments; a margin keeps jitter
    from turning into 429s.
    """
    published = PUBLISHED_RATES[operation]
    safety = conf.rate_safety()
    # One token less than Amazon's burst: requests reserved in order can reach Amazon a few ms
    # out of order (two workers, one host); the spare token absorbs that jitter. Without it,
    # two workers on PostgreSQL + Redis got 429s in tests/workers.
    return Rate(published.per_second * safety, max(published.burst - 1, 1))


def bucket_key(seller_id: str, region: str, operation: str) -> str:
    return f"stocklink:rate:{region}:{seller_id}:{operation}"


class TokenBucket:
    """The interface of both backends: `reserve` a token, getting the seconds to wait."""

    def reserve(self, key: str, rate: Rate, *, max_wait: float) -> float:
        """Take one token, possibly in debt; return the wait (s) before using it.

        If the wait would exceed `max_wait`, take nothing and return the wait as a negative
        number (the time after which trying again makes sense).
        """
        raise NotImplementedError

    def reset(self, key: str) -> None:
        raise NotImplementedError

    def available(self, rates: dict[str, Rate]) -> dict[str, float]:
        """Tokens in each bucket now (negative: in debt), taking nothing; one round trip."""
        raise NotImplementedError


class DatabaseBucket(TokenBucket):
    def __init__(self, clock: Callable[[], float] = time.time):
        # Every worker's clock: fine on one host (the embedded default); Redis for a cluster.
        self.clock = clock

    def reserve(self, key: str, rate: Rate, *, max_wait: float) -> float:
        with transaction.atomic():
            now = self.clock()
            bucket, _ = RateLimitBucket.objects.select_for_update().get_or_create(
                key=key, defaults={"tokens": float(rate.burst), "refilled_at": now}
            )
            tokens = _refilled(bucket.tokens, bucket.refilled_at, now, rate)
            wait = _wait_for(tokens, rate)
            if wait > max_wait:
                return -wait
            RateLimitBucket.objects.filter(pk=bucket.pk).update(
                tokens=tokens - 1.0, refilled_at=max(now, bucket.refilled_at)
            )
            return wait

    def reset(self, key: str) -> None:
        RateLimitBucket.objects.filter(key=key).delete()

    def available(self, rates: dict[str, Rate]) -> dict[str, float]:
        now = self.clock()
        rows = RateLimitBucket.objects.filter(key__in=rates).values_list(
            "key", "tokens", "refilled_at"
        )
        found = {key: (tokens, at) for key, tokens, at in rows}
        return {
            key: _refilled(*found[key], now, rate) if key in found else float(rate.burst)
            for key, rate in rates.items()
        }


# KEYS[1] = bucket; ARGV = rate per second, burst, max_wait. Redis's own clock (TIME) is shared
# by every process, so workers on different hosts agree on how much has refilled.
_LUA_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then
  tokens = burst
  ts = now
end
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate)
  ts = now
end
local wait = 0
if tokens < 1 then
  wait = (1 - tokens) / rate
end
if wait > max_wait then
  return tostring(-wait)
end
redis.call('HSET', KEYS[1], 'tokens', tokens - 1, 'ts', ts)
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate + max_wait + 60))
return tostring(wait)
"""


class RedisBucket(TokenBucket):
    def __init__(self, url: str):
        # Bounded: a Redis that stops answering raises RedisError instead of hanging a send or
        # the home page's headroom read.
        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.script = self.client.register_script(_LUA_RESERVE)

    def reserve(self, key: str, rate: Rate, *, max_wait: float) -> float:
        # Lua numbers come back truncated to integers; a string keeps the fraction.
        return float(self.script(keys=[key], args=[rate.per_second, rate.burst, max_wait]))

    def reset(self, key: str) -> None:
        self.client.delete(key)

    def available(self, rates: dict[str, Rate]) -> dict[str, float]:
        pipe = self.client.pipeline(transaction=False)
        pipe.time()
        for key in rates:
            pipe.hmget(key, "tokens", "ts")
        seconds, micros = (replies := pipe.execute())[0]
        now = seconds + micros / 1_000_000
        return {
            key: float(rate.burst)
            if tokens is None
            else _refilled(float(tokens), float(ts), now, rate)
            for (key, rate), (tokens, ts) in zip(rates.items(), replies[1:], strict=True)
        }


def _refilled(tokens: float, refilled_at: float, now: float, rate: Rate) -> float:
    return min(float(rate.burst), tokens + max(now - refilled_at, 0.0) * rate.per_second)


def _wait_for(tokens: float, rate: Rate) -> float:
    return 0.0 if tokens >= 1.0 else (1.0 - tokens) / rate.per_second


@cache
def _redis_bucket(url: str) -> RedisBucket:
    return RedisBucket(url)


def default_bucket() -> TokenBucket:
    """Redis when `REDIS_URL` is set, else the database."""
    url = conf.redis_url()
    return _redis_bucket(url) if url else DatabaseBucket()


@dataclass(frozen=True)
class Headroom:
    """One seller's budget for one operation, as the home page shows it."""

    operation: str
    available: float  # tokens now; below 1 means the next call waits
    burst: int  # the most we keep (rate_for: Amazon's burst less one)
    per_second: float  # Amazon's published rate
    published_burst: int

    @property
    def rate_text(self) -> str:
        if self.per_second >= 1:
            return f"{self.per_second:g} per second"
        return f"1 every {1 / self.per_second:.0f} s"


def headroom(
    sellers: list[tuple[str, str]], *, bucket: TokenBucket | None = None
) -> dict[tuple[str, str], list[Headroom]]:
    """Per (seller_id, region): tokens available vs burst for each SP-API operation, read in
    one round trip to the shared limiter without taking a token."""
    bucket = bucket or default_bucket()
    ours = {op: rate_for(op) for op in PUBLISHED_RATES}
    keys = {
        (seller, region, op): bucket_key(seller, region, op)
        for seller, region in sellers
        for op in PUBLISHED_RATES
    }
    try:
        tokens = bucket.available({key: ours[op] for (_, _, op), key in keys.items()})
    except redis.RedisError:
        return {}  # the home page says "not measured" rather than failing
    result: dict[tuple[str, str], list[Headroom]] = {seller: [] for seller in sellers}
    for (seller, region, op), key in keys.items():
        published = PUBLISHED_RATES[op]
        result[(seller, region)].append(
            Headroom(op, tokens[key], ours[op].burst, published.per_second, published.burst)
        )
    return result


class Limiter:
    """Paces one seller's calls: `limiter.wait("patch_listing")` before each request."""

    def __init__(
        self,
        *,
        seller_id: str,
        region: str,
        bucket: TokenBucket | None = None,
        max_wait: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.seller_id = seller_id
        self.region = region
        self.bucket = bucket or default_bucket()
        self.max_wait = conf.rate_max_wait() if max_wait is None else max_wait
        self.sleep = sleep

    def wait(self, operation: str) -> float:
        """Block until a token for `operation` is ours; return how long we slept.

        Raises `RateLimited` when the wait would exceed `max_wait` (the caller reschedules).
        """
        rate = rate_for(operation)
        wait = self.bucket.reserve(
            bucket_key(self.seller_id, self.region, operation), rate, max_wait=self.max_wait
        )
        if wait < 0:
            raise RateLimited(
                f"{operation}: our shared budget for seller {self.seller_id} is used up",
                retry_after=-wait,
            )
        if wait > 0:
            self.sleep(wait)
        return wait
