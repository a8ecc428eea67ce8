"""Fixtures shared by the sync tests."""

import pytest

from sync.inbound import wakeup


class StandInRedis:
    """HINCRBY, HSET, HGETALL, SET NX EX/PX, EXISTS, DEL and pipelines, in memory, as bytes."""

    def __init__(self):
        self.data = {}

    def pipeline(self, transaction=True):
        return StandInPipeline(self)

    def delete(self, *keys):
        return sum(self.data.pop(key, None) is not None for key in keys)

    def exists(self, key):
        return int(key in self.data)

    def set(self, key, value, nx=False, ex=None, px=None):
        if nx and key in self.data:
            return None
        self.data[key] = str(value).encode()
        return True

    def hincrby(self, key, field, amount):
        field = field if isinstance(field, bytes) else field.encode()
        hash_ = self.data.setdefault(key, {})
        hash_[field] = str(int(hash_.get(field) or 0) + amount).encode()
        return int(hash_[field])

    def hset(self, key, field, value):
        field = field if isinstance(field, bytes) else field.encode()
        value = value if isinstance(value, bytes) else str(value).encode()
        self.data.setdefault(key, {})[field] = value
        return 1

    def hgetall(self, key):
        return dict(self.data.get(key) or {})


class StandInPipeline:
    def __init__(self, client):
        self.client, self.calls = client, []

    def __getattr__(self, name):
        return lambda *args, **kwargs: self.calls.append((name, args, kwargs))

    def execute(self):
        return [getattr(self.client, n)(*args, **kwargs) for n, args, kwargs in self.calls]


@pytest.fixture
def webhook_redis(settings, monkeypatch):
    """The webhook path's Redis (`wakeup.redis_client`: drain flags, rejection counters):
    REDIS_URL's when set, else a stand-in that keeps the few commands they use, so the embedded
    suite proves the same thing."""
    if settings.REDIS_URL:
        return wakeup.redis_client(settings.REDIS_URL)
    client = StandInRedis()
    settings.REDIS_URL = "redis://stand-in/0"
    monkeypatch.setattr(wakeup, "redis_client", lambda url: client)
    return client
